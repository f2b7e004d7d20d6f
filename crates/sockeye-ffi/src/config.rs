//! Limits, timers and switches, set one option at a time on an opaque
//! [`sockeye_config`] (new options never change the layout of anything).

use core::time::Duration;

use sockeye::{Config, SharedConfig};

use crate::boundary;
use crate::status::sockeye_status;

/// An opaque set of connection options, created with `sockeye_config_new`
/// with the engine's safe defaults and freed with `sockeye_config_free`.
///
/// A handle created from a configuration copies it: the configuration may
/// be changed or freed afterwards without affecting the handle. The copy is
/// shared: the handles made from one configuration, until it is next
/// changed, point to one set of settings instead of each keeping its own.
pub struct sockeye_config {
    pub(crate) inner: SharedConfig,
}

/// An option for `sockeye_config_set`. Sizes are in bytes, durations in
/// milliseconds; for the optional timers and limits, 0 turns them off.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum sockeye_option {
    /// Largest received frame payload. Default 16 MiB. Must be > 0.
    MaxFrameSize = 1,
    /// Largest received message (all fragments). Default 64 MiB. Must be > 0.
    MaxMessageSize = 2,
    /// Most frames one received message may span. Default 65 536. Must be > 0.
    MaxFragments = 3,
    /// Most bytes in the handshake's header block. Default 8 KiB. Must be > 0.
    MaxHeaderBytes = 4,
    /// Most header fields in the handshake. Default 64. Must be > 0.
    MaxHeaders = 5,
    /// Answer pings automatically: 1 (default) or 0.
    AutoPong = 6,
    /// Deliver data as `SOCKEYE_EVENT_KIND_FRAGMENT` pieces as they arrive
    /// instead of whole messages: 1 or 0 (default).
    Streaming = 7,
    /// Split sent messages into frames of at most this many payload bytes;
    /// 0 (default) sends each message as one frame.
    MaxSendFrameSize = 8,
    /// Queued-output level at which `sockeye_conn_is_write_blocked` reports
    /// true. Default 1 MiB.
    WriteHighWaterMark = 9,
    /// How long to wait for the peer's close frame after sending ours; 0
    /// waits forever. Default 5000.
    CloseTimeoutMs = 10,
    /// Send a ping every this long, at a fixed interval whether or not
    /// anything was received meanwhile; 0 (default) disables keepalive.
    KeepaliveIntervalMs = 11,
    /// After a keepalive ping, how long to wait for any traffic before
    /// failing the connection with `SOCKEYE_ERROR_KEEPALIVE_TIMEOUT` (no
    /// close frame is sent; the code is 1006). Default 20 000. Must be > 0.
    PongTimeoutMs = 12,
    /// Close with 1000 after this long without traffic; 0 (default) disables it.
    IdleTimeoutMs = 13,
    /// Deadline for the opening handshake; 0 waits forever. Default 10 000.
    HandshakeTimeoutMs = 14,
}

impl sockeye_option {
    fn from_raw(raw: u32) -> Option<Self> {
        use sockeye_option::*;
        [
            MaxFrameSize,
            MaxMessageSize,
            MaxFragments,
            MaxHeaderBytes,
            MaxHeaders,
            AutoPong,
            Streaming,
            MaxSendFrameSize,
            WriteHighWaterMark,
            CloseTimeoutMs,
            KeepaliveIntervalMs,
            PongTimeoutMs,
            IdleTimeoutMs,
            HandshakeTimeoutMs,
        ]
        .into_iter()
        .find(|option| *option as u32 == raw)
    }
}

/// Apply `value` for `option` to `config`.
fn apply(config: &mut Config, option: sockeye_option, value: u64) -> Result<(), sockeye_status> {
    let invalid = sockeye_status::ErrInvalidArgument;
    let size = |value: u64| usize::try_from(value).map_err(|_| invalid);
    let positive = |value: u64| if value == 0 { Err(invalid) } else { Ok(value) };
    let flag = |value: u64| match value {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(invalid),
    };
    let optional_ms = |value: u64| (value != 0).then(|| Duration::from_millis(value));
    match option {
        sockeye_option::MaxFrameSize => config.max_frame_size = positive(value)?,
        sockeye_option::MaxMessageSize => config.max_message_size = positive(value)?,
        sockeye_option::MaxFragments => config.max_fragments = size(positive(value)?)?,
        sockeye_option::MaxHeaderBytes => config.max_header_bytes = size(positive(value)?)?,
        sockeye_option::MaxHeaders => config.max_headers = size(positive(value)?)?,
        sockeye_option::AutoPong => config.auto_pong = flag(value)?,
        sockeye_option::Streaming => config.streaming = flag(value)?,
        sockeye_option::MaxSendFrameSize => {
            config.max_send_frame_size = (value != 0).then(|| size(value)).transpose()?;
        }
        sockeye_option::WriteHighWaterMark => config.write_high_water_mark = size(value)?,
        sockeye_option::CloseTimeoutMs => config.close_timeout = optional_ms(value),
        sockeye_option::KeepaliveIntervalMs => config.keepalive_interval = optional_ms(value),
        sockeye_option::PongTimeoutMs => {
            config.pong_timeout = Duration::from_millis(positive(value)?);
        }
        sockeye_option::IdleTimeoutMs => config.idle_timeout = optional_ms(value),
        sockeye_option::HandshakeTimeoutMs => config.handshake_timeout = optional_ms(value),
    }
    Ok(())
}

/// Create a configuration holding the engine's defaults; `*out` receives it.
/// Free it with `sockeye_config_free`.
///
/// # Safety
/// `out` must be null or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sockeye_config_new(out: *mut *mut sockeye_config) -> sockeye_status {
    boundary::guard(|| {
        let out = boundary::out_ptr(out)?;
        let config = Box::new(sockeye_config {
            inner: SharedConfig::default(),
        });
        // SAFETY: `out` is non-null and the caller guarantees it is writable.
        unsafe { out.write(Box::into_raw(config)) };
        Ok(())
    })
}

/// Set `option` (a `sockeye_option`) to `value`.
///
/// Returns `SOCKEYE_STATUS_ERR_INVALID_ARGUMENT` for an unknown option or a
/// value out of its range (see each option); the configuration is then
/// unchanged.
///
/// # Safety
/// `config` must be null or a configuration from `sockeye_config_new` that
/// has not been freed and is not used by another thread during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sockeye_config_set(
    config: *mut sockeye_config,
    option: u32,
    value: u64,
) -> sockeye_status {
    boundary::guard(|| {
        // SAFETY: the caller guarantees a live, unshared configuration or null.
        let config = unsafe { config.as_mut() }.ok_or(sockeye_status::ErrNull)?;
        let option = sockeye_option::from_raw(option).ok_or(sockeye_status::ErrInvalidArgument)?;
        let mut updated = config.inner.to_config();
        apply(&mut updated, option, value)?;
        config.inner = updated.into();
        Ok(())
    })
}

/// Free a configuration. Freeing null does nothing and returns
/// `SOCKEYE_STATUS_OK`.
///
/// # Safety
/// `config` must be null or a configuration from `sockeye_config_new` that
/// has not been freed; it must not be used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sockeye_config_free(config: *mut sockeye_config) -> sockeye_status {
    boundary::guard(|| {
        if !config.is_null() {
            // SAFETY: the caller guarantees `config` came from
            // `Box::into_raw` in `sockeye_config_new` and is freed only once.
            drop(unsafe { Box::from_raw(config) });
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_config() -> *mut sockeye_config {
        let mut config = core::ptr::null_mut();
        // SAFETY: `config` is a valid place for one pointer.
        let status = unsafe { sockeye_config_new(&mut config) };
        assert_eq!(status, sockeye_status::Ok);
        assert!(!config.is_null());
        config
    }

    #[test]
    fn new_rejects_null_out_pointer() {
        // SAFETY: null is an allowed argument.
        let status = unsafe { sockeye_config_new(core::ptr::null_mut()) };
        assert_eq!(status, sockeye_status::ErrNull);
    }

    #[test]
    fn set_applies_each_option() {
        let config = new_config();
        let set = |option: sockeye_option, value: u64| {
            // SAFETY: `config` is live and used by this thread only.
            unsafe { sockeye_config_set(config, option as u32, value) }
        };
        assert_eq!(
            set(sockeye_option::MaxMessageSize, 1 << 30),
            sockeye_status::Ok
        );
        assert_eq!(
            set(sockeye_option::KeepaliveIntervalMs, 1500),
            sockeye_status::Ok
        );
        assert_eq!(set(sockeye_option::CloseTimeoutMs, 0), sockeye_status::Ok);
        assert_eq!(
            set(sockeye_option::MaxSendFrameSize, 4096),
            sockeye_status::Ok
        );
        // SAFETY: `config` is live.
        let inner = unsafe { (*config).inner.to_config() };
        assert_eq!(inner.max_message_size, 1 << 30);
        assert_eq!(inner.keepalive_interval, Some(Duration::from_millis(1500)));
        assert_eq!(inner.close_timeout, None);
        assert_eq!(inner.max_send_frame_size, Some(4096));
        // SAFETY: `config` came from `sockeye_config_new`.
        assert_eq!(unsafe { sockeye_config_free(config) }, sockeye_status::Ok);
    }

    #[test]
    fn set_rejects_unknown_options_and_bad_values_without_change() {
        let config = new_config();
        // SAFETY: `config` is live and used by this thread only.
        unsafe {
            assert_eq!(
                sockeye_config_set(config, 0, 1),
                sockeye_status::ErrInvalidArgument
            );
            assert_eq!(
                sockeye_config_set(config, 999, 1),
                sockeye_status::ErrInvalidArgument
            );
            let auto_pong = sockeye_option::AutoPong as u32;
            assert_eq!(
                sockeye_config_set(config, auto_pong, 2),
                sockeye_status::ErrInvalidArgument
            );
            let frame = sockeye_option::MaxFrameSize as u32;
            assert_eq!(
                sockeye_config_set(config, frame, 0),
                sockeye_status::ErrInvalidArgument
            );
            assert_eq!((*config).inner.to_config(), Config::default());
            assert_eq!(
                sockeye_config_set(core::ptr::null_mut(), frame, 1),
                sockeye_status::ErrNull
            );
            assert_eq!(sockeye_config_free(config), sockeye_status::Ok);
            assert_eq!(
                sockeye_config_free(core::ptr::null_mut()),
                sockeye_status::Ok
            );
        }
    }
}
