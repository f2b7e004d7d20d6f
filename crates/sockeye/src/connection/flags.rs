//! The connection's yes/no state, packed into one byte: every connection
//! carries it for its whole life, and eight `bool`s would take eight.

/// Declares [`Flags`] with a getter and a setter per bit; a bit's
/// attributes (its doc, a `cfg_attr`) go on both.
macro_rules! flags {
    ($($(#[$doc:meta])* $bit:literal: $get:ident, $set:ident;)*) => {
        /// One bit per yes/no state; all clear when a connection starts.
        #[derive(Clone, Copy, Debug, Default)]
        pub(crate) struct Flags(u8);

        impl Flags {
            $(
                $(#[$doc])*
                pub(crate) fn $get(self) -> bool {
                    self.0 & (1 << $bit) != 0
                }

                $(#[$doc])*
                pub(crate) fn $set(&mut self, on: bool) {
                    if on {
                        self.0 |= 1 << $bit;
                    } else {
                        self.0 &= !(1 << $bit);
                    }
                }
            )*
        }
    };
}

flags! {
    /// The transport has no more input.
    0: eof, set_eof;
    /// A close frame has been queued.
    1: close_sent, set_close_sent;
    /// The connection is closed: nothing more is parsed or sent.
    2: closed, set_closed;
    /// Bytes arrived since the pong deadline was armed.
    3: received_since_ping, set_received_since_ping;
    /// Bytes arrived or a message was queued since the last idle check.
    4: active_since_idle_check, set_active_since_idle_check;
    /// The client has waited long enough for the server to close the
    /// transport.
    5: linger_over, set_linger_over;
    /// The message being sent in pieces is compressed (permessage-deflate).
    #[cfg_attr(not(feature = "deflate"), allow(dead_code))]
    6: sending_compressed, set_sending_compressed;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_flag_is_its_own_bit() {
        let mut flags = Flags::default();
        flags.set_closed(true);
        flags.set_sending_compressed(true);
        assert!(flags.closed() && flags.sending_compressed());
        assert!(!flags.eof() && !flags.close_sent() && !flags.linger_over());
        flags.set_closed(false);
        assert!(!flags.closed() && flags.sending_compressed());
        assert_eq!(flags.0, 1 << 6);
    }
}
