//! The config file as serde sees it: LiteLLM's sections and entries mirrored field by field
//! (numbers may be strings, sections may be empty), the keys this proxy does not read, and the
//! settings LiteLLM's keys imply.

use super::{ModelInfo, Settings};
use crate::litellm;
use crate::settings::positive_seconds;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

// ---- the raw file, as serde sees it -------------------------------------------------------

pub(super) type Extra = BTreeMap<String, serde_yaml::Value>;

/// A section or map that may be written empty (`litellm_settings:` with every line commented out).
fn or_default<'de, D: serde::Deserializer<'de>, T: Deserialize<'de> + Default>(d: D) -> Result<T, D::Error> {
    Option::<T>::deserialize(d).map(Option::unwrap_or_default)
}

#[derive(Deserialize, Default)]
pub(super) struct RawFile {
    #[serde(default, deserialize_with = "or_default")]
    pub(super) model_list: Vec<serde_yaml::Value>,
    #[serde(default, deserialize_with = "or_default")]
    pub(super) litellm_settings: RawLitellmSettings,
    #[serde(default, deserialize_with = "or_default")]
    pub(super) router_settings: RawRouterSettings,
    #[serde(default, deserialize_with = "or_default")]
    pub(super) general_settings: RawGeneralSettings,
    #[serde(default, deserialize_with = "or_default")]
    pub(super) gpt_reverse_proxy: serde_yaml::Mapping,
    #[serde(flatten)]
    pub(super) other: Extra,
}

#[derive(Deserialize)]
pub(super) struct RawModel {
    pub(super) model_name: String,
    #[serde(default, deserialize_with = "or_default")]
    pub(super) litellm_params: RawParams,
    #[serde(default, deserialize_with = "or_default")]
    pub(super) model_info: ModelInfo,
    #[serde(default, deserialize_with = "or_default")]
    pub(super) gpt_reverse_proxy: RawModelOptions,
    #[serde(flatten)]
    pub(super) other: Extra,
}

/// The proxy's own options on one `model_list` entry.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawModelOptions {
    #[serde(default)]
    pub(super) force_params: serde_json::Map<String, serde_json::Value>,
    pub(super) drop_null_finish_reason: Option<bool>,
    pub(super) reasoning_as_think_tags: Option<bool>,
    pub(super) max_completion_tokens: Option<bool>,
    pub(super) responses_api: Option<bool>,
}

/// `litellm_params` keys that are request parameters: the deployment's defaults for them.
pub(super) const REQUEST_PARAMS: &[&str] = &[
    "temperature",
    "top_p",
    "top_k",
    "min_p",
    "repetition_penalty",
    "max_tokens",
    "max_completion_tokens",
    "stop",
    "presence_penalty",
    "frequency_penalty",
    "seed",
    "reasoning_effort",
    "response_format",
    "parallel_tool_calls",
    "verbosity",
    "n",
    "logit_bias",
    "user",
    "thinking",
];

#[derive(Deserialize, Default)]
pub(super) struct RawParams {
    #[serde(default)]
    pub(super) model: String,
    pub(super) custom_llm_provider: Option<String>,
    pub(super) api_base: Option<String>,
    pub(super) api_key: Option<String>,
    pub(super) api_version: Option<String>,
    #[serde(default, deserialize_with = "or_default")]
    pub(super) extra_headers: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "or_default")]
    pub(super) extra_body: serde_json::Map<String, serde_json::Value>,
    #[serde(default, deserialize_with = "litellm::de_number")]
    pub(super) timeout: Option<f64>,
    #[serde(default, deserialize_with = "litellm::de_number")]
    pub(super) stream_timeout: Option<f64>,
    #[serde(default, deserialize_with = "litellm::de_count")]
    pub(super) num_retries: Option<u32>,
    #[serde(default, deserialize_with = "litellm::de_count")]
    pub(super) max_retries: Option<u32>,
    #[serde(default, deserialize_with = "litellm::de_number")]
    pub(super) weight: Option<f64>,
    #[serde(default, deserialize_with = "litellm::de_number")]
    pub(super) rpm: Option<f64>,
    #[serde(default, deserialize_with = "litellm::de_number")]
    pub(super) tpm: Option<f64>,
    #[serde(default, deserialize_with = "litellm::de_count")]
    pub(super) order: Option<u32>,
    #[serde(default, deserialize_with = "litellm::de_bool")]
    pub(super) drop_params: Option<bool>,
    #[serde(default, deserialize_with = "or_default")]
    pub(super) additional_drop_params: Vec<String>,
    #[serde(default, deserialize_with = "litellm::de_bool")]
    pub(super) ssl_verify: Option<bool>,
    pub(super) mock_response: Option<String>,
    #[serde(flatten)]
    pub(super) other: Extra,
}

#[derive(Deserialize, Default)]
pub(super) struct RawLitellmSettings {
    #[serde(default, deserialize_with = "litellm::de_count")]
    pub(super) num_retries: Option<u32>,
    #[serde(default, deserialize_with = "litellm::de_number")]
    pub(super) request_timeout: Option<f64>,
    #[serde(default, deserialize_with = "litellm::de_number")]
    pub(super) timeout: Option<f64>,
    #[serde(default, deserialize_with = "litellm::de_bool")]
    pub(super) drop_params: Option<bool>,
    #[serde(default, deserialize_with = "litellm::de_bool")]
    pub(super) ssl_verify: Option<bool>,
    #[serde(default, deserialize_with = "litellm::de_count")]
    pub(super) allowed_fails: Option<u32>,
    #[serde(default, deserialize_with = "litellm::de_number")]
    pub(super) cooldown_time: Option<f64>,
    #[serde(flatten)]
    pub(super) router: RawRouting,
    /// The original registered `openai2claudecode` here; it is built in, so accepted and ignored.
    #[allow(dead_code)] // read only to accept the key
    pub(super) custom_provider_map: Option<serde_yaml::Value>,
    #[serde(flatten)]
    pub(super) other: Extra,
}

/// The routing keys LiteLLM reads from `router_settings` and from `litellm_settings` alike.
#[derive(Deserialize, Default)]
pub(super) struct RawRouting {
    pub(super) fallbacks: Option<serde_yaml::Value>,
    pub(super) context_window_fallbacks: Option<serde_yaml::Value>,
    pub(super) content_policy_fallbacks: Option<serde_yaml::Value>,
    pub(super) default_fallbacks: Option<serde_yaml::Value>,
}

#[derive(Deserialize, Default)]
pub(super) struct RawRouterSettings {
    #[serde(default, deserialize_with = "litellm::de_count")]
    pub(super) num_retries: Option<u32>,
    #[serde(default, deserialize_with = "litellm::de_number")]
    pub(super) timeout: Option<f64>,
    #[serde(default, deserialize_with = "litellm::de_count")]
    pub(super) allowed_fails: Option<u32>,
    #[serde(default, deserialize_with = "litellm::de_number")]
    pub(super) cooldown_time: Option<f64>,
    #[serde(default, deserialize_with = "litellm::de_bool")]
    pub(super) disable_cooldowns: Option<bool>,
    #[serde(default, deserialize_with = "litellm::de_number")]
    pub(super) retry_after: Option<f64>,
    pub(super) routing_strategy: Option<String>,
    pub(super) model_group_alias: Option<serde_yaml::Value>,
    #[serde(flatten)]
    pub(super) router: RawRouting,
    #[serde(flatten)]
    pub(super) other: Extra,
}

#[derive(Deserialize, Default)]
pub(super) struct RawGeneralSettings {
    pub(super) master_key: Option<String>,
    #[serde(default, deserialize_with = "litellm::de_number")]
    pub(super) timeout: Option<f64>,
    #[serde(flatten)]
    pub(super) other: Extra,
}

/// The process-wide settings: defaults, then LiteLLM's keys, then the `gpt_reverse_proxy` section.
pub(super) fn settings(raw: &RawFile, source: &str) -> Result<Settings, String> {
    let mut s = Settings::default();
    let (l, r) = (&raw.litellm_settings, &raw.router_settings);
    let secs = |key: &str, v: f64| {
        positive_seconds(v).ok_or_else(|| format!("{source}: {key}: must be a positive number of seconds, got {v}"))
    };
    // LiteLLM's request timeout bounds the wait for an answer: the head and the gaps inside it.
    if let Some(v) = l.request_timeout.or(l.timeout).or(r.timeout).or(raw.general_settings.timeout) {
        let d = secs("litellm_settings.request_timeout", v)?;
        (s.response_header_timeout, s.stream_idle_timeout) = (d, d);
    }
    s.num_retries = r.num_retries.or(l.num_retries).unwrap_or(s.num_retries);
    s.allowed_fails = r.allowed_fails.or(l.allowed_fails).unwrap_or(s.allowed_fails).max(1);
    // 0 (or `disable_cooldowns`) means a failing deployment is never set aside.
    if let Some(v) = r.cooldown_time.or(l.cooldown_time) {
        s.cooldown_time = if v == 0.0 { Duration::ZERO } else { secs("router_settings.cooldown_time", v)? };
    }
    if r.disable_cooldowns == Some(true) {
        s.cooldown_time = Duration::ZERO;
    }
    s.drop_params = l.drop_params.unwrap_or(s.drop_params);
    s.ssl_verify = l.ssl_verify.unwrap_or(s.ssl_verify);
    s.with_section(&raw.gpt_reverse_proxy).map_err(|e| format!("{source}: {e}"))
}

/// Keys of LiteLLM's sections this proxy does not read, logging and telemetry left out.
pub(super) fn unused_sections(raw: &RawFile) -> Vec<String> {
    let mut unused: Vec<String> = raw.other.keys().filter(|k| !quiet(k)).cloned().collect();
    for (section, extra) in [
        ("litellm_settings", &raw.litellm_settings.other),
        ("router_settings", &raw.router_settings.other),
        ("general_settings", &raw.general_settings.other),
    ] {
        unused.extend(extra.keys().filter(|k| !quiet(k)).map(|k| format!("{section}.{k}")));
    }
    unused
}

/// Keys of one entry this proxy does not read (unknown `model_info` keys included).
pub(super) fn unused_in_entry(i: usize, m: &RawModel) -> Vec<String> {
    let params = m.litellm_params.other.keys().filter(|k| !REQUEST_PARAMS.contains(&k.as_str()));
    let info = m.model_info.other.keys().filter(|k| !quiet(k));
    let at = |group: &str, k: &String| format!("model_list[{i}].{group}{k}");
    m.other
        .keys()
        .map(|k| at("", k))
        .chain(params.map(|k| at("litellm_params.", k)))
        .chain(info.map(|k| at("model_info.", k)))
        .collect()
}

/// Keys that only change what LiteLLM logs, reports or shows: not worth a notice.
pub(super) fn quiet(key: &str) -> bool {
    const QUIET: &[&str] = &[
        "set_verbose",
        "json_logs",
        "success_callback",
        "failure_callback",
        "callbacks",
        "service_callback",
        "callback_settings",
        "turn_off_message_logging",
        "redact_messages_in_exceptions",
        "redact_user_api_key_info",
        "log_raw_request_response",
        "alerting",
        "alerting_threshold",
        "alert_to_webhook_url",
        "alert_types",
        "alerting_args",
        "detailed_debug",
        "disable_spend_logs",
        "disable_error_logs",
        "store_prompts_in_spend_logs",
        "proxy_batch_write_at",
        "telemetry",
        "environment_variables",
        "description",
        "mode",
        "id",
        "sponsor",
        "database_url",
        "store_model_in_db",
        "input_cost_per_token",
        "output_cost_per_token",
    ];
    // `x-…` top-level keys hold YAML anchors by convention (as in Compose files).
    QUIET.contains(&key)
        || key.starts_with("x-")
        || key.starts_with("langfuse")
        || key.starts_with("prometheus")
        || key.starts_with("otel")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::cfg;

    #[test]
    fn litellm_loading_rules_merge_keys_duplicates_and_string_numbers() {
        let y = r#"x-creds: &creds {api_key: sk-anchor, api_base: "http://h/v1", timeout: "30"}
model_list:
  - model_name: m
    litellm_params:
      <<: *creds
      model: openai/x
      rpm: "20_000"
router_settings: {cooldown_time: 0, num_retries: "2"}
router_settings: {num_retries: 3}
"#;
        let c = cfg(y, &[]).unwrap();
        let d = &c.deployments[0];
        assert_eq!(d.api_key.as_ref().unwrap().expose(), "sk-anchor");
        assert_eq!((d.api_base.as_str(), d.timeouts.idle), ("http://h/v1", Duration::from_secs(30)));
        assert_eq!(d.weight, 20000.0);
        assert_eq!(c.settings.num_retries, 3, "the key written last wins");
        assert_eq!(c.settings.cooldown_time, Duration::from_secs(5), "the first router_settings is replaced whole");
    }

    #[test]
    fn timeouts_come_from_litellm_keys_and_our_section() {
        let y = "model_list:\n  - model_name: m\n    litellm_params: {model: openai/x, timeout: 30, stream_timeout: 5}\ngpt_reverse_proxy:\n  connect_timeout: 2\n";
        let c = cfg(y, &[]).unwrap();
        let d = &c.deployments[0];
        assert_eq!(d.timeouts.response_header, Duration::from_secs(30));
        assert_eq!(d.stream_timeouts.idle, Duration::from_secs(5));
        assert_eq!(d.timeouts.connect, Duration::from_secs(2));
        let e = cfg("gpt_reverse_proxy:\n  conect_timeout: 2\n", &[]).unwrap_err();
        assert!(e.contains("conect_timeout"), "{e}");
        let e = cfg("gpt_reverse_proxy:\n  connect_timeout: -1\n", &[]).unwrap_err();
        assert!(e.contains("connect_timeout"), "{e}");
    }

    #[test]
    fn unused_litellm_keys_are_collected_not_fatal() {
        let y = "model_list:\n  - model_name: m\n    litellm_params: {model: openai/x, rpm: 5, input_cost_per_token: 1, use_in_pass_through: true}\n    model_info: {mode: chat, base_model: x}\nlitellm_settings:\n  drop_params: true\n  success_callback: [langfuse]\n  cache: true\nenvironment_variables: {}\n";
        let c = cfg(y, &[]).unwrap();
        assert_eq!(
            c.unused_keys,
            [
                "litellm_settings.cache",
                "model_list[0].litellm_params.input_cost_per_token",
                "model_list[0].litellm_params.use_in_pass_through",
                "model_list[0].model_info.base_model"
            ]
        );
    }
}
