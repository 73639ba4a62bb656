//! One `model_list` entry validated: its provider (LiteLLM's rules), address, key and options,
//! or the reason it cannot be served; and what the file as a whole should say at startup.

use super::raw::{RawGeneralSettings, RawModel, RawParams, REQUEST_PARAMS};
use super::{Deployment, Env, Rewrites, Secret, Settings, Skipped, Timeouts};
use crate::litellm;
use crate::providers::{self, Family, Layout};
use crate::scrub::mask_url;
use crate::settings::positive_seconds;
use std::collections::BTreeMap;

/// Azure's `api-version` when an entry gives none: LiteLLM's default.
pub(super) const AZURE_DEFAULT_API_VERSION: &str = "2025-02-01-preview";

/// One `model_list` entry: a deployment, or the reason it cannot be served (`Err` inside).
/// The outer error refuses the file: a value that is wrong whatever the provider.
pub(super) fn deployment(
    entry: usize,
    index: usize,
    m: RawModel,
    settings: &Settings,
    env: &Env,
) -> Result<Result<Deployment, Skipped>, String> {
    if m.model_name.trim().is_empty() {
        return Err("model_name: must not be empty".into());
    }
    let lp = m.litellm_params;
    let skip = |reason: String| Ok(Err(Skipped { model_name: m.model_name.clone(), model: lp.model.clone(), reason }));
    let (family, model) = match provider_of(&lp) {
        Ok(found) => found,
        Err(reason) => return skip(reason),
    };
    let (api_base, api_version, api_key) = match address(family, &lp, env) {
        Ok(found) => found,
        Err(reason) => return skip(reason),
    };
    let is_http = api_base.starts_with("http://") || api_base.starts_with("https://");
    let broken = (!is_http || api_base.parse::<ureq::http::Uri>().is_err())
        .then(|| format!("api_base {:?} is not an http(s) URL", mask_url(&api_base)));
    let extra_headers = extra_headers(&lp.extra_headers)?;
    let timeouts_with = |key: &str, v: Option<f64>| -> Result<Timeouts, String> {
        let mut t = settings.timeouts();
        if let Some(v) = v {
            let d = positive_seconds(v)
                .ok_or_else(|| format!("litellm_params.{key}: must be a positive number of seconds, got {v}"))?;
            (t.response_header, t.idle) = (d, d);
        }
        Ok(t)
    };
    let mut default_params = serde_json::Map::new();
    for (k, v) in lp.other.iter().filter(|(k, _)| REQUEST_PARAMS.contains(&k.as_str())) {
        default_params.insert(k.clone(), serde_json::to_value(v).map_err(|e| format!("litellm_params.{k}: {e}"))?);
    }
    let o = m.gpt_reverse_proxy;
    let responses_api =
        o.responses_api.unwrap_or(family.name == "openai" && api_base.starts_with("https://api.openai.com/"));
    let mut force_params = lp.extra_body;
    force_params.extend(o.force_params);
    let weight = lp.weight.or(lp.rpm).or(lp.tpm).unwrap_or(1.0);
    if !(weight.is_finite() && weight >= 0.0) {
        return Err(format!("litellm_params.weight: must be a number of at least 0, got {weight}"));
    }
    Ok(Ok(Deployment {
        index,
        label: format!("#{entry} {}/{model}", family.name),
        model_name: m.model_name,
        provider: family.wire,
        family,
        upstream_model: (model != "*").then(|| family.upstream_model(&model)),
        api_base,
        broken,
        api_version,
        secrets: crate::scrub::Secrets::new(api_key.as_deref(), &extra_headers),
        api_key: api_key.map(Secret),
        extra_headers,
        timeouts: timeouts_with("timeout", lp.timeout)?,
        stream_timeouts: timeouts_with("stream_timeout", lp.stream_timeout.or(lp.timeout))?,
        mock_response: lp.mock_response,
        info: m.model_info,
        default_params,
        force_params,
        drop_params: lp.additional_drop_params,
        drop_refused_params: lp.drop_params.unwrap_or(settings.drop_params),
        weight,
        order: lp.order.unwrap_or(u32::MAX),
        num_retries: lp.num_retries.or(lp.max_retries),
        tls_verify: lp.ssl_verify.unwrap_or(settings.ssl_verify),
        rewrites: Rewrites {
            drop_null_finish_reason: o.drop_null_finish_reason.unwrap_or(settings.drop_null_finish_reason),
            reasoning_as_think_tags: o.reasoning_as_think_tags.unwrap_or(settings.reasoning_as_think_tags),
        },
        max_completion_tokens: o.max_completion_tokens,
        responses_api,
    }))
}

/// Where an entry's requests go and with which key: `(api_base, Azure api-version, key)`, or
/// why the entry cannot be served (an unset variable, no base for a provider without a default).
fn address(family: &Family, lp: &RawParams, env: &Env) -> Result<(String, Option<String>, Option<String>), String> {
    for (key, v) in [("api_key", &lp.api_key), ("api_base", &lp.api_base), ("api_version", &lp.api_version)] {
        if let Some(name) = v.as_deref().and_then(litellm::unresolved) {
            return Err(format!("environment variable {name} is not set (litellm_params.{key})"));
        }
    }
    let base_env = env.get(&family.base_env()).map(String::from);
    let Some(base) = family.base(lp.api_base.as_deref().or(base_env.as_deref())) else {
        return Err(format!("provider {:?} needs an api_base (or {})", family.name, family.base_env()));
    };
    // The provider's own key variable goes only to the provider's own address, never to a base
    // the entry points elsewhere (LiteLLM would send OPENAI_API_KEY to any openai/ server).
    let own_address = lp.api_base.is_none() || family.base(None) == family.base(lp.api_base.as_deref());
    let env_key = || family.key_env.iter().find_map(|k| env.get(k)).map(String::from);
    let api_key = lp.api_key.clone().filter(|k| !k.trim().is_empty()).or_else(|| own_address.then(env_key).flatten());
    let version = lp.api_version.as_deref().or(env.get("AZURE_API_VERSION").filter(|_| family.layout == Layout::Azure));
    let (api_base, api_version) = layout(family, base, version);
    Ok((api_base, api_version, api_key))
}

/// `extra_headers`, each a valid header name and value.
fn extra_headers(headers: &BTreeMap<String, String>) -> Result<Vec<(String, String)>, String> {
    let valid = |k: &str, v: &str| {
        ureq::http::HeaderName::from_bytes(k.as_bytes()).is_ok() && ureq::http::HeaderValue::from_str(v).is_ok()
    };
    (headers.iter())
        .map(|(k, v)| match valid(k, v) {
            true => Ok((k.clone(), v.clone())),
            false => Err(format!("litellm_params.extra_headers: {k:?} is not a valid header name and value")),
        })
        .collect()
}

/// The provider and the model name an entry names (LiteLLM's rules: `custom_llm_provider`, then
/// the prefix, then the name's family), or why it cannot be served.
fn provider_of(lp: &RawParams) -> Result<(&'static Family, String), String> {
    let model = lp.model.trim();
    if let Some(name) = litellm::unresolved(model) {
        return Err(format!("environment variable {name} is not set (litellm_params.model)"));
    }
    let custom = lp.custom_llm_provider.as_deref().map(str::trim).filter(|c| !c.is_empty());
    let (family, name) = match (custom, model.split_once('/')) {
        (Some(c), _) => {
            let f = providers::family(c).ok_or_else(|| providers::unsupported(c))?;
            (f, model.strip_prefix(c).and_then(|m| m.strip_prefix('/')).unwrap_or(model))
        }
        (None, Some((prefix, rest))) => {
            (providers::family(prefix).ok_or_else(|| providers::unsupported(prefix))?, rest)
        }
        (None, None) if model.is_empty() => return Err("litellm_params.model is missing".into()),
        (None, None) => match providers::infer(model) {
            Some(f) => (f, model),
            None => {
                return Err(format!("{model:?} names no provider and LiteLLM infers none: write <provider>/{model}"))
            }
        },
    };
    if name.is_empty() {
        return Err(format!("{model:?} names no model after the provider"));
    }
    Ok((family, name.to_string()))
}

/// The base URL requests are joined to, and Azure's `api-version` for deployment URLs: Ollama's
/// root gets `/v1`; Azure's `v1`/`latest`/`preview` versions use the v1 API under `/openai/v1`.
fn layout(family: &Family, base: String, api_version: Option<&str>) -> (String, Option<String>) {
    match family.layout {
        Layout::Root => (format!("{base}/v1"), None),
        Layout::Azure => {
            let root = base.trim_end_matches("/openai/v1").trim_end_matches("/openai").to_string();
            match api_version.map(str::trim).unwrap_or(AZURE_DEFAULT_API_VERSION) {
                "v1" | "latest" | "preview" => (format!("{root}/openai/v1"), None),
                v => (root, Some(v.to_string())),
            }
        }
        Layout::Plain | Layout::Anthropic => (base, None),
    }
}

/// What a user switching from LiteLLM should hear once about the file as a whole.
pub(super) fn file_notices(g: &RawGeneralSettings, deployments: &[Deployment], skipped: &[Skipped]) -> Vec<String> {
    let mut notes = Vec::new();
    let db = g.other.contains_key("database_url")
        || g.other.get("store_model_in_db").is_some_and(|v| v.as_bool() == Some(true));
    if db {
        notes.push("general_settings: this proxy has no database; models, keys and budgets kept in LiteLLM's database are not served".into());
    }
    for d in deployments.iter().filter(|d| !d.tls_verify) {
        notes.push(format!("{}: TLS certificates are NOT verified (ssl_verify: false)", d.label()));
    }
    if let Some(reason) = deployments.iter().find_map(|d| d.broken.as_ref().map(|b| (d.label(), b))) {
        notes.push(format!("{}: {}; requests for it will fail with 502", reason.0, reason.1));
    }
    if deployments.is_empty() {
        let why = if skipped.is_empty() { "the model list is empty" } else { "every entry was skipped" };
        notes.push(format!("NO MODEL CAN BE SERVED: {why}; every chat request will fail until models are added"));
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::cfg;

    #[test]
    fn entries_that_cannot_be_served_are_skipped_with_the_reason() {
        let y = "model_list:\n  - model_name: aws\n    litellm_params: {model: bedrock/claude}\n  - model_name: odd\n    litellm_params: {model: foo/bar}\n  - model_name: bare\n    litellm_params: {model: llama3}\n  - model_name: ok\n    litellm_params: {model: gpt-4o}\n";
        let c = cfg(y, &[]).unwrap();
        assert_eq!(c.deployments.len(), 1);
        assert_eq!((c.deployments[0].family.name, c.deployments[0].index), ("openai", 0));
        assert_eq!(c.deployments[0].label(), "#3 openai/gpt-4o", "labels keep the file position");
        let why: Vec<&str> = c.skipped.iter().map(|s| s.reason.as_str()).collect();
        assert!(why[0].contains("bedrock") && why[0].contains("SigV4"), "{why:?}");
        assert!(why[1].contains("\"foo\" is not supported"), "{why:?}");
        assert!(why[2].contains("write <provider>/llama3"), "{why:?}");
        assert!(c.warnings().iter().any(|w| w.contains("\"aws\"") && w.contains("skipped")));
    }

    #[test]
    fn a_file_with_nothing_servable_says_so() {
        let c = cfg("model_list:\n  - {model_name: a, litellm_params: {model: vertex_ai/gemini}}\ngeneral_settings: {store_model_in_db: true}\n", &[]).unwrap();
        let w = c.warnings().join("\n");
        assert!(w.contains("NO MODEL CAN BE SERVED") && w.contains("no database"), "{w}");
    }

    #[test]
    fn missing_environment_key_skips_the_entry_naming_the_variable() {
        let y = "model_list:\n  - model_name: m\n    litellm_params: {model: openai/x, api_key: os.environ/NOPE_KEY}\n";
        let c = cfg(y, &[]).unwrap();
        assert!(c.deployments.is_empty());
        assert!(c.skipped[0].reason.contains("NOPE_KEY") && c.skipped[0].reason.contains("api_key"));
        let c = cfg(y, &[("NOPE_KEY", "sk-1")]).unwrap();
        assert_eq!(c.deployments[0].api_key.as_ref().unwrap().expose(), "sk-1");
        let e = cfg("general_settings: {master_key: os.environ/NO_MASTER}\n", &[]).unwrap_err();
        assert!(e.contains("NO_MASTER"), "an unset master key never means an open proxy: {e}");
    }

    #[test]
    fn providers_get_their_default_base_auth_and_layout() {
        let y = r#"model_list:
  - {model_name: g, litellm_params: {model: gemini/gemini-2.5-flash}}
  - {model_name: o, litellm_params: {model: ollama_chat/llama3, api_base: "http://ollama:11434"}}
  - {model_name: a, litellm_params: {model: azure/my-gpt, api_base: "https://r.openai.azure.com/"}}
  - {model_name: a1, litellm_params: {model: azure/my-gpt, api_base: "https://r.openai.azure.com", api_version: preview}}
  - {model_name: m, litellm_params: {model: meta-llama/Llama-3, custom_llm_provider: openai, api_base: "http://vllm/v1"}}
  - {model_name: e, litellm_params: {model: os.environ/MODEL_NAME}}
"#;
        let c = cfg(y, &[("MODEL_NAME", "groq/llama-3.3-70b")]).unwrap();
        let base = |i: usize| c.deployments[i].api_base.as_str();
        assert_eq!(base(0), "https://generativelanguage.googleapis.com/v1beta/openai");
        assert_eq!(base(1), "http://ollama:11434/v1");
        assert_eq!(
            (base(2), c.deployments[2].api_version.as_deref()),
            ("https://r.openai.azure.com", Some(AZURE_DEFAULT_API_VERSION))
        );
        assert_eq!((base(3), c.deployments[3].api_version.as_deref()), ("https://r.openai.azure.com/openai/v1", None));
        assert_eq!(c.deployments[4].upstream_model.as_deref(), Some("meta-llama/Llama-3"));
        assert_eq!((c.deployments[5].family.name, base(5)), ("groq", "https://api.groq.com/openai/v1"));
    }

    #[test]
    fn provider_key_variables_are_used_only_for_the_providers_own_address() {
        let y = "model_list:\n  - {model_name: a, litellm_params: {model: groq/llama}}\n  - {model_name: b, litellm_params: {model: groq/llama, api_base: 'http://elsewhere/v1'}}\n  - {model_name: c, litellm_params: {model: azure/d}}\n";
        let env = [
            ("GROQ_API_KEY", "gsk-1"),
            ("AZURE_API_BASE", "https://r.openai.azure.com"),
            ("AZURE_API_KEY", "az"),
            ("AZURE_API_VERSION", "2024-06-01"),
        ];
        let c = cfg(y, &env).unwrap();
        let key = |i: usize| c.deployments[i].api_key.as_ref().map(|k| k.expose().to_string());
        assert_eq!((key(0), key(1)), (Some("gsk-1".into()), None));
        assert_eq!((c.deployments[2].api_base.as_str(), key(2)), ("https://r.openai.azure.com", Some("az".into())));
        assert_eq!(c.deployments[2].api_version.as_deref(), Some("2024-06-01"));
    }

    #[test]
    fn an_api_base_that_is_not_a_url_loads_with_a_warning() {
        let y = "model_list:\n  - {model_name: m, litellm_params: {model: openai/x, api_base: __X_API_BASE__}}\n";
        let c = cfg(y, &[]).unwrap();
        assert!(c.deployments[0].broken.as_ref().unwrap().contains("__X_API_BASE__"));
        assert!(c.warnings().iter().any(|w| w.contains("502")));
    }

    #[test]
    fn request_params_rewrites_and_completion_tokens_per_entry() {
        let y = r#"model_list:
  - model_name: fast
    litellm_params: {model: openai/gpt-5-mini, temperature: 0.2, rpm: 3}
    gpt_reverse_proxy: {force_params: {top_p: 0.9}, reasoning_as_think_tags: true}
  - model_name: "*"
    litellm_params: {model: openai/*}
gpt_reverse_proxy:
  drop_null_finish_reason: true
"#;
        let c = cfg(y, &[]).unwrap();
        let (a, b) = (&c.deployments[0], &c.deployments[1]);
        assert_eq!(a.default_params["temperature"], 0.2);
        assert_eq!(a.force_params["top_p"], 0.9);
        assert!(c.wants_completion_tokens(a, "gpt-5-mini") && !c.wants_completion_tokens(b, "gpt-4o"));
        assert!(c.wants_completion_tokens(b, "o3-mini"), "wildcard entries decide per model");
        assert!(a.rewrites.reasoning_as_think_tags && a.rewrites.drop_null_finish_reason);
        assert!(!b.rewrites.reasoning_as_think_tags);
        assert!(c.unused_keys.is_empty(), "rpm is a routing weight now: {:?}", c.unused_keys);
        assert_eq!(a.weight, 3.0);
        let e = cfg("model_list:\n  - model_name: m\n    litellm_params: {model: openai/m}\n    gpt_reverse_proxy: {forse_params: {}}\n", &[]).unwrap_err();
        assert!(e.contains("forse_params"), "{e}");
    }

    #[test]
    fn invalid_extra_header_is_rejected() {
        let y = "model_list:\n  - model_name: m\n    litellm_params:\n      model: openai/x\n      extra_headers: {\"bad header\": v}\n";
        assert!(cfg(y, &[]).unwrap_err().contains("extra_headers"));
    }
}
