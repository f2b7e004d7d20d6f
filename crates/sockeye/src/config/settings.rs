//! A [`Config`] as connections keep it, laid out compactly: timeouts are
//! nanoseconds with a sentinel for "none" (8 bytes instead of 16 for an
//! `Option<Duration>`) and the flags sit together. A [`SharedConfig`]
//! holds one behind an `Arc`, so the connections of a server share it.
//!
//! [`SharedConfig`]: super::SharedConfig

use core::time::Duration;

use crate::config::Config;
use crate::nanos::{UNSET, nanos};

/// `timeout` in nanoseconds, [`UNSET`] for `None`.
const fn optional_nanos(timeout: Option<Duration>) -> u64 {
    match timeout {
        Some(timeout) => nanos(timeout),
        None => UNSET,
    }
}

fn optional_duration(nanos: u64) -> Option<Duration> {
    (nanos != UNSET).then(|| Duration::from_nanos(nanos))
}

/// Everything in a [`Config`], as the connection stores it. Converting back
/// gives the same `Config`, except that a timeout longer than
/// `u64::MAX - 1` nanoseconds (584 years) reads back as that.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Settings {
    pub(crate) max_frame_size: u64,
    pub(crate) max_message_size: u64,
    pub(crate) max_fragments: usize,
    pub(crate) write_high_water_mark: usize,
    /// [`Config::max_send_frame_size`] when `has_max_send_frame_size`.
    max_send_frame_size: usize,
    // The opening handshake's limits.
    pub(crate) max_header_bytes: usize,
    pub(crate) max_headers: usize,
    pub(crate) max_rejection_body: usize,
    handshake_timeout: u64,
    close_timeout: u64,
    keepalive_interval: u64,
    pong_timeout: u64,
    idle_timeout: u64,
    pub(crate) auto_pong: bool,
    pub(crate) streaming: bool,
    has_max_send_frame_size: bool,
    #[cfg(feature = "deflate")]
    pub(crate) deflate: Option<crate::deflate::DeflateConfig>,
}

/// The settings of [`Config::default`], which connections made with the
/// defaults point to instead of keeping a copy.
pub(crate) static DEFAULT_SETTINGS: Settings = Settings::from_config(Config::DEFAULT);

impl From<Config> for Settings {
    fn from(config: Config) -> Self {
        Self::from_config(config)
    }
}

impl Settings {
    /// `config`, compactly (a `const fn`, so that the defaults can be a
    /// `static`).
    pub(crate) const fn from_config(config: Config) -> Self {
        Self {
            max_frame_size: config.max_frame_size,
            max_message_size: config.max_message_size,
            max_fragments: config.max_fragments,
            write_high_water_mark: config.write_high_water_mark,
            max_send_frame_size: match config.max_send_frame_size {
                Some(size) => size,
                None => 0,
            },
            max_header_bytes: config.max_header_bytes,
            max_headers: config.max_headers,
            max_rejection_body: config.max_rejection_body,
            handshake_timeout: optional_nanos(config.handshake_timeout),
            close_timeout: optional_nanos(config.close_timeout),
            keepalive_interval: optional_nanos(config.keepalive_interval),
            pong_timeout: nanos(config.pong_timeout),
            idle_timeout: optional_nanos(config.idle_timeout),
            auto_pong: config.auto_pong,
            streaming: config.streaming,
            has_max_send_frame_size: config.max_send_frame_size.is_some(),
            #[cfg(feature = "deflate")]
            deflate: config.deflate,
        }
    }

    pub(crate) fn max_send_frame_size(&self) -> Option<usize> {
        self.has_max_send_frame_size
            .then_some(self.max_send_frame_size)
    }

    pub(crate) fn handshake_timeout(&self) -> Option<Duration> {
        optional_duration(self.handshake_timeout)
    }

    pub(crate) fn close_timeout(&self) -> Option<Duration> {
        optional_duration(self.close_timeout)
    }

    pub(crate) fn keepalive_interval(&self) -> Option<Duration> {
        optional_duration(self.keepalive_interval)
    }

    pub(crate) fn pong_timeout(&self) -> Duration {
        Duration::from_nanos(self.pong_timeout)
    }

    pub(crate) fn idle_timeout(&self) -> Option<Duration> {
        optional_duration(self.idle_timeout)
    }

    /// The settings as a [`Config`] again.
    pub(crate) fn to_config(&self) -> Config {
        Config {
            max_frame_size: self.max_frame_size,
            max_message_size: self.max_message_size,
            max_fragments: self.max_fragments,
            max_header_bytes: self.max_header_bytes,
            max_headers: self.max_headers,
            max_rejection_body: self.max_rejection_body,
            auto_pong: self.auto_pong,
            streaming: self.streaming,
            max_send_frame_size: self.max_send_frame_size(),
            write_high_water_mark: self.write_high_water_mark,
            close_timeout: self.close_timeout(),
            keepalive_interval: self.keepalive_interval(),
            pong_timeout: self.pong_timeout(),
            idle_timeout: self.idle_timeout(),
            handshake_timeout: self.handshake_timeout(),
            #[cfg(feature = "deflate")]
            deflate: self.deflate.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_config_reads_back_unchanged() {
        let mut config = Config::default();
        assert_eq!(Settings::from(config.clone()).to_config(), config);
        config.max_send_frame_size = Some(0);
        config.keepalive_interval = Some(Duration::new(30, 123));
        config.idle_timeout = Some(Duration::ZERO);
        config.close_timeout = None;
        config.handshake_timeout = None;
        config.pong_timeout = Duration::from_nanos(1);
        config.max_headers = usize::MAX;
        config.auto_pong = false;
        config.streaming = true;
        assert_eq!(Settings::from(config.clone()).to_config(), config);
    }

    #[test]
    fn timeouts_beyond_584_years_saturate() {
        let config = Config {
            idle_timeout: Some(Duration::MAX),
            pong_timeout: Duration::MAX,
            ..Config::default()
        };
        let settings = Settings::from(config);
        let longest = Duration::from_nanos(u64::MAX - 1);
        assert_eq!(settings.idle_timeout(), Some(longest));
        assert_eq!(settings.pong_timeout(), longest);
    }
}
