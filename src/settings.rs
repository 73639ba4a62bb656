//! The process-wide settings, each written once below with its default: the `gpt_reverse_proxy:`
//! section of the config file is read straight into [`Settings`] (a typo there is an error),
//! over defaults that LiteLLM's own keys (`request_timeout`, `num_retries`, …) may have changed.

use serde::de::Error;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::path::PathBuf;
use std::time::Duration;

/// Tunables and defaults. Durations are written as seconds in the file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// TCP + TLS (+ proxy CONNECT) setup of an upstream connection.
    #[serde(with = "seconds")]
    pub connect_timeout: Duration,
    /// From the request being sent to the upstream's response head: the model's thinking time.
    #[serde(with = "seconds")]
    pub response_header_timeout: Duration,
    /// The longest silence allowed between two reads of an upstream's response body.
    #[serde(with = "seconds")]
    pub stream_idle_timeout: Duration,
    /// How long a client may leave a response unread before writing to it fails and its worker
    /// (and the upstream call) is freed (`SO_SNDTIMEO` on every connection).
    #[serde(with = "seconds")]
    pub client_send_timeout: Duration,
    /// How long a connection may stay silent while the proxy waits to read from it (a request
    /// head, a body, the next request on a kept-alive connection) before it is closed
    /// (`SO_RCVTIMEO` inherited from the listener). tiny_http reads the next head while an
    /// answer streams, so a connection that outlives this in silence is closed after the answer.
    #[serde(with = "seconds")]
    pub client_read_timeout: Duration,
    /// How long a worker thread may wait for a request before it leaves, when enough others
    /// wait too: after a burst, memory goes back to the system.
    #[serde(with = "seconds")]
    pub idle_worker_exit: Duration,
    /// How long a shutdown (SIGTERM, SIGINT) waits for running requests, streams included.
    #[serde(with = "seconds")]
    pub shutdown_grace: Duration,
    /// How often the watchdog checks that connections are still accepted (three misses: exit 1).
    #[serde(with = "seconds")]
    pub watchdog_interval: Duration,
    /// Most requests served at once (one worker thread each); beyond that a fast 503.
    #[serde(deserialize_with = "at_least_one")]
    pub max_concurrent_requests: usize,
    /// Largest accepted request body. Claude Code sessions with screenshots are tens of MB.
    #[serde(deserialize_with = "at_least_one")]
    pub max_body_bytes: usize,
    /// Largest accepted request head (all header names and values together).
    #[serde(deserialize_with = "at_least_one")]
    pub max_header_bytes: usize,
    /// How long an upstream's model list is reused for `GET /v1/models`.
    #[serde(with = "seconds")]
    pub model_list_ttl: Duration,
    /// How long an upstream host's resolved addresses are reused.
    #[serde(with = "seconds")]
    pub dns_cache_ttl: Duration,
    /// Time limit for fetching one upstream's model list.
    #[serde(with = "seconds")]
    pub model_list_timeout: Duration,
    /// Extra attempts over a deployment group (LiteLLM's `num_retries`).
    pub num_retries: u32,
    /// Failures in a row (connect errors, timeouts, 429, 5xx) before a deployment cools down.
    #[serde(deserialize_with = "at_least_one")]
    pub allowed_fails: u32,
    /// How long a deployment that kept failing is tried last (LiteLLM's `cooldown_time`; 0: never).
    #[serde(with = "seconds_or_zero")]
    pub cooldown_time: Duration,
    /// Upstream model names (globs) that want `max_completion_tokens` instead of `max_tokens`.
    pub max_completion_tokens_models: Vec<String>,
    /// Drop `"finish_reason": null` from stream chunks (the original's `cursor-compatible`),
    /// for entries that do not say.
    pub drop_null_finish_reason: bool,
    /// Mirror reasoning into the content as `<think>…</think>` (the original's
    /// `reasoning-to-think`), for entries that do not say.
    pub reasoning_as_think_tags: bool,
    /// LiteLLM's `drop_params` for entries that do not set their own.
    pub drop_params: bool,
    /// LiteLLM's `ssl_verify` for entries that do not set their own.
    pub ssl_verify: bool,
    /// Where dumps go (`DUMP_HTTP_CONTENT`), one directory per request path.
    #[serde(deserialize_with = "not_empty")]
    pub dump_dir: PathBuf,
    /// Most dump files kept; the oldest are removed first.
    #[serde(deserialize_with = "at_least_one")]
    pub dump_max_files: usize,
    /// Most bytes of dump files kept; the oldest are removed first.
    #[serde(deserialize_with = "at_least_one")]
    pub dump_max_bytes: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            connect_timeout: Duration::from_secs(10),
            response_header_timeout: Duration::from_secs(600),
            stream_idle_timeout: Duration::from_secs(300),
            client_send_timeout: Duration::from_secs(120),
            client_read_timeout: Duration::from_secs(60),
            idle_worker_exit: Duration::from_secs(60),
            shutdown_grace: Duration::from_secs(30),
            watchdog_interval: Duration::from_secs(10),
            max_concurrent_requests: 1024,
            max_body_bytes: 64 << 20,
            max_header_bytes: 64 << 10,
            model_list_ttl: Duration::from_secs(60),
            dns_cache_ttl: Duration::from_secs(30),
            model_list_timeout: Duration::from_secs(5),
            num_retries: 0,
            allowed_fails: 3,
            cooldown_time: Duration::from_secs(5),
            max_completion_tokens_models: ["o1*", "o3*", "o4*", "gpt-5*"].map(String::from).to_vec(),
            drop_null_finish_reason: false,
            reasoning_as_think_tags: false,
            drop_params: false,
            ssl_verify: true,
            dump_dir: "log".into(),
            dump_max_files: 1000,
            dump_max_bytes: 512 << 20,
        }
    }
}

/// Every timeout of an upstream call. There is deliberately no total cap: a healthy stream may
/// run for as long as the model writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// TCP + TLS (+ proxy CONNECT) setup.
    pub connect: Duration,
    /// From the request being sent to the upstream's response head: the model's thinking time.
    pub response_header: Duration,
    /// The longest silence allowed between two reads of a response body.
    pub idle: Duration,
}

/// Opt-in rewrites, set globally in `gpt_reverse_proxy:` and per entry in its own
/// `gpt_reverse_proxy:` block.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rewrites {
    /// Drop `"finish_reason": null` from stream chunks.
    pub drop_null_finish_reason: bool,
    /// Mirror reasoning into the content as `<think>…</think>` and strip such blocks from
    /// assistant turns of later requests.
    pub reasoning_as_think_tags: bool,
}

impl Settings {
    /// The upstream timeouts of a deployment that sets none.
    pub fn timeouts(&self) -> Timeouts {
        Timeouts {
            connect: self.connect_timeout,
            response_header: self.response_header_timeout,
            idle: self.stream_idle_timeout,
        }
    }

    /// These settings with the keys of `section` (the file's `gpt_reverse_proxy:`) set one at a
    /// time, so that an error names its key.
    pub fn with_section(&self, section: &serde_yaml::Mapping) -> Result<Settings, String> {
        let mut all = serde_yaml::to_value(self).map_err(|e| e.to_string())?;
        let mut s = self.clone();
        for (k, v) in section {
            let key = k.as_str().unwrap_or("?");
            all[k] = v.clone();
            s = serde_yaml::from_value(all.clone()).map_err(|e| format!("gpt_reverse_proxy.{key}: {e}"))?;
        }
        Ok(s)
    }
}

/// A positive, finite number of seconds (also written as a string, as LiteLLM accepts).
pub fn positive_seconds(v: f64) -> Option<Duration> {
    (v.is_finite() && v > 0.0 && v < 1e9).then(|| Duration::from_secs_f64(v))
}

/// A duration written as seconds: a positive number, or also 0 (meaning "never") when `zero_ok`.
fn de_seconds<'de, D: Deserializer<'de>>(d: D, zero_ok: bool) -> Result<Duration, D::Error> {
    let v = crate::litellm::de_number(d)?.ok_or_else(|| Error::custom("a number of seconds is needed"))?;
    match v {
        0.0 if zero_ok => Ok(Duration::ZERO),
        _ => positive_seconds(v).ok_or_else(|| {
            Error::custom(format!(
                "must be {}a positive number of seconds, got {v}",
                if zero_ok { "0 or " } else { "" }
            ))
        }),
    }
}

/// Durations as seconds: positive numbers.
mod seconds {
    use super::*;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        de_seconds(d, false)
    }
}

/// Durations as seconds where 0 means "never".
mod seconds_or_zero {
    pub use super::seconds::serialize;

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<std::time::Duration, D::Error> {
        super::de_seconds(d, true)
    }
}

/// A count that must be at least 1.
fn at_least_one<'de, D: Deserializer<'de>, T: Deserialize<'de> + PartialOrd + From<u8>>(d: D) -> Result<T, D::Error> {
    let n = T::deserialize(d)?;
    (n >= T::from(1)).then_some(n).ok_or_else(|| Error::custom("must be at least 1"))
}

/// A path that must not be empty.
fn not_empty<'de, D: Deserializer<'de>>(d: D) -> Result<PathBuf, D::Error> {
    let p = String::deserialize(d)?;
    (!p.trim().is_empty()).then(|| p.into()).ok_or_else(|| Error::custom("is empty"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(yaml: &str) -> Result<Settings, String> {
        Settings::default().with_section(&serde_yaml::from_str(yaml).unwrap())
    }

    #[test]
    fn each_key_overrides_its_default_and_errors_name_the_key() {
        let s = section("connect_timeout: 2\nmax_body_bytes: 10\nreasoning_as_think_tags: true\n").unwrap();
        assert_eq!((s.connect_timeout, s.max_body_bytes), (Duration::from_secs(2), 10));
        assert!(s.reasoning_as_think_tags && s.timeouts().idle == Duration::from_secs(300));
        for (yaml, key) in [
            ("conect_timeout: 2", "conect_timeout"),
            ("connect_timeout: -1", "connect_timeout"),
            ("max_concurrent_requests: 0", "max_concurrent_requests"),
            ("dump_dir: ' '", "dump_dir"),
        ] {
            let e = section(yaml).unwrap_err();
            assert!(e.contains(key), "{yaml}: {e}");
        }
        assert_eq!(section("cooldown_time: 0").unwrap().cooldown_time, Duration::ZERO);
    }

    #[test]
    fn defaults_survive_a_round_trip() {
        assert_eq!(section("{}").unwrap(), Settings::default());
    }
}
