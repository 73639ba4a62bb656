//! Configuration: the environment (with `.env`, `.env.local`), the LiteLLM-format model list, and
//! the validated [`Config`] the rest of the proxy reads. Parsing is never mixed with doing: raw
//! serde structs mirror the file, [`Config::from_parts`] checks everything and says exactly what
//! is wrong. All defaults live in [`Settings::default`].

use crate::connect::CaFile;
pub use crate::env::Env;
use crate::scrub::mask_url;
use crate::{litellm, providers};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

/// The model list used when no config file exists: one local `demo` model, so a first `curl`
/// works offline.
pub const DEMO_CONFIG: &str = r#"model_list:
  - model_name: demo
    litellm_params:
      model: openai/demo
      mock_response: "Hello from gpt-reverse-proxy! This is the built-in demo model answering locally. Create litellm_config.yaml to route to a real provider."
"#;

pub use crate::providers::Provider;
use crate::providers::{Family, Layout};
use crate::settings::positive_seconds;
pub use crate::settings::{Rewrites, Settings, Timeouts};

/// A secret string (token or key) that never shows up in `Debug` or logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The secret's value, for the one place that must send or compare it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<secret, {} chars>", self.0.chars().count())
    }
}

/// What the proxy reports about a model (`model_info` in the config).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ModelInfo {
    /// Context window, for Ollama's `context_length` and token checks.
    pub max_input_tokens: Option<u64>,
    /// Largest `max_tokens` the model accepts.
    pub max_output_tokens: Option<u64>,
    /// Accepts images.
    pub supports_vision: Option<bool>,
    /// Accepts tools.
    pub supports_function_calling: Option<bool>,
    /// Has a reasoning / thinking mode.
    pub supports_reasoning: Option<bool>,
    /// Other keys (e.g. the original's `sponsor`), kept for logs.
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_yaml::Value>,
}

/// One validated `model_list` entry.
#[derive(Debug, Clone)]
pub struct Deployment {
    /// Position among the servable deployments: the key of per-deployment bookkeeping.
    pub index: usize,
    /// `"#<entry> <provider>/<model>"`, made once: see [`Deployment::label`].
    label: String,
    /// The name clients use: exact, or a glob with `*`.
    pub model_name: String,
    /// Which wire format the upstream speaks.
    pub provider: Provider,
    /// The provider prefix's row: auth, URL layout, name.
    pub family: &'static Family,
    /// The model name sent upstream; `None` for `<provider>/*` (the client's own name).
    pub upstream_model: Option<String>,
    /// Base URL without a trailing `/`.
    pub api_base: String,
    /// Why `api_base` cannot be called (not a URL): each request to it fails with a 502 saying so.
    pub broken: Option<String>,
    /// Azure's `api-version` (`api_version`, or LiteLLM's default).
    pub api_version: Option<String>,
    /// Credential injected upstream.
    pub api_key: Option<Secret>,
    /// Headers added to every upstream request of this deployment.
    pub extra_headers: Vec<(String, String)>,
    /// Timeouts for non-streamed calls.
    pub timeouts: Timeouts,
    /// Timeouts for streamed calls (`stream_timeout` in LiteLLM).
    pub stream_timeouts: Timeouts,
    /// LiteLLM's `mock_response`: answer locally with this text, never call upstream.
    pub mock_response: Option<String>,
    /// Capabilities reported to clients.
    pub info: ModelInfo,
    /// Request parameters set when the client sent none (LiteLLM's `litellm_params` keys).
    pub default_params: serde_json::Map<String, serde_json::Value>,
    /// Request parameters that always replace the client's (`extra_body`, our `force_params`).
    pub force_params: serde_json::Map<String, serde_json::Value>,
    /// Parameters removed before the body goes upstream (`additional_drop_params`).
    pub drop_params: Vec<String>,
    /// LiteLLM's `drop_params`: a parameter the upstream refuses by name is dropped and the
    /// request sent again.
    pub drop_refused_params: bool,
    /// Share of traffic under simple-shuffle (`weight`, else `rpm`, else `tpm`; 1 by default).
    pub weight: f64,
    /// LiteLLM's `order`: lower goes first; the next order only when all of one are down.
    pub order: u32,
    /// Extra attempts for a group this entry is in (`num_retries`/`max_retries`).
    pub num_retries: Option<u32>,
    /// Verify the upstream's TLS certificate (`ssl_verify: false` turns it off).
    pub tls_verify: bool,
    /// Opt-in rewrites for this model.
    pub rewrites: Rewrites,
    /// Send `max_completion_tokens` instead of `max_tokens`: set for this entry, or `None` to
    /// decide per request from `max_completion_tokens_models` (wildcard entries serve any model).
    pub max_completion_tokens: Option<bool>,
    /// The upstream serves OpenAI's Responses API: `/v1/responses` passes through untranslated
    /// (`responses_api`; by default only the `openai` provider at api.openai.com).
    pub responses_api: bool,
}

/// A `model_list` entry this proxy cannot serve, and why: named at startup and by `--check`,
/// and in the error a request for its model gets.
#[derive(Debug, Clone)]
pub struct Skipped {
    /// The entry's `model_name`.
    pub model_name: String,
    /// What the entry asked for (`bedrock/…`), for the message.
    pub model: String,
    /// Why it cannot be served.
    pub reason: String,
}

/// LiteLLM's router: fallbacks, aliases, the routing strategy.
#[derive(Debug, Clone, Default)]
pub struct Router {
    /// `fallbacks`: model group → the groups tried when it fails (errors, 429, 5xx).
    pub fallbacks: BTreeMap<String, Vec<String>>,
    /// `context_window_fallbacks`: tried when the prompt is too long for the group.
    pub context_window_fallbacks: BTreeMap<String, Vec<String>>,
    /// `content_policy_fallbacks`: tried when the group refuses the content.
    pub content_policy_fallbacks: BTreeMap<String, Vec<String>>,
    /// `model_group_alias`: a name clients use → the group that serves it (and whether the
    /// alias is left out of model lists).
    pub aliases: BTreeMap<String, (String, bool)>,
    /// How the first deployment of a group is chosen.
    pub strategy: Strategy,
    /// `retry_after`: the least time between two attempts of one request.
    pub retry_after: Duration,
}

/// LiteLLM's `routing_strategy`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Strategy {
    /// `simple-shuffle`: random, weighted by `weight`/`rpm`/`tpm` (round robin when unweighted).
    #[default]
    SimpleShuffle,
    /// `least-busy`: the deployment with the fewest requests in flight.
    LeastBusy,
    /// `latency-based-routing`: the deployment with the lowest recent time to answer.
    LatencyBased,
}

impl Config {
    /// Whether `upstream_model` on `d` wants `max_completion_tokens` (o-series, gpt-5 family).
    pub fn wants_completion_tokens(&self, d: &Deployment, upstream_model: &str) -> bool {
        d.max_completion_tokens
            .unwrap_or_else(|| self.settings.max_completion_tokens_models.iter().any(|g| glob_match(g, upstream_model)))
    }
}

impl Deployment {
    /// Whether `model_name` is a glob (contains `*`).
    pub fn is_glob(&self) -> bool {
        self.model_name.contains('*')
    }

    /// `"#<index> <provider>/<model>"`: names the deployment without its URL or key, safe to log.
    pub fn label(&self) -> &str {
        &self.label
    }
}

/// The validated configuration, shared read-only by all workers.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where to listen.
    pub listen: SocketAddr,
    /// Whether `HOST`/`--host` was given (otherwise a token-less proxy stays on loopback).
    pub host_explicit: bool,
    /// Client tokens; empty means no auth.
    pub tokens: Vec<Secret>,
    /// `LOCAL_PATH_PREFIX`, normalised to `/x/y` (no trailing `/`), or `None`.
    pub path_prefix: Option<String>,
    /// `LOCAL_OLLAMA_SECRET` without slashes.
    pub ollama_secret: String,
    /// Whether the Ollama secret was set explicitly (then the path itself is the credential).
    pub ollama_secret_explicit: bool,
    /// `DUMP_HTTP_CONTENT`.
    pub dump: bool,
    /// Outbound HTTP(S) proxy URL and its `NO_PROXY` list.
    pub outbound_proxy: Option<(String, String)>,
    /// `SSL_CERT_FILE`: the roots trusted for upstream TLS instead of the built-in Mozilla ones.
    pub ca_file: Option<CaFile>,
    /// Log level name.
    pub log_level: log::LevelFilter,
    /// The model list, in file order.
    pub deployments: Vec<Deployment>,
    /// Tunables and defaults.
    pub settings: Settings,
    /// Where the model list came from (a path, or the built-in demo).
    pub source: String,
    /// Keys present in the file that would change behaviour under LiteLLM and do nothing here.
    pub unused_keys: Vec<String>,
    /// Entries that cannot be served, and why.
    pub skipped: Vec<Skipped>,
    /// Fallbacks, aliases and the routing strategy.
    pub router: Router,
    /// Notices about the file worth a line at startup (a LiteLLM feature without effect here).
    pub notices: Vec<String>,
}

/// Command-line overrides (they win over the environment).
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--config PATH`.
    pub config_path: Option<String>,
    /// `--host ADDR`.
    pub host: Option<String>,
    /// `--port N`.
    pub port: Option<String>,
}

/// `*` matches any run of characters; everything else matches itself.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let (p, n) = (pattern.as_bytes(), name.as_bytes());
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ni));
            pi += 1;
        } else if pi < p.len() && p[pi] == n[ni] {
            pi += 1;
            ni += 1;
        } else if let Some((sp, sn)) = star {
            pi = sp + 1;
            ni = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

// ---- the raw file, as serde sees it -------------------------------------------------------

type Extra = BTreeMap<String, serde_yaml::Value>;

/// A section or map that may be written empty (`litellm_settings:` with every line commented out).
fn or_default<'de, D: serde::Deserializer<'de>, T: Deserialize<'de> + Default>(d: D) -> Result<T, D::Error> {
    Option::<T>::deserialize(d).map(Option::unwrap_or_default)
}

#[derive(Deserialize, Default)]
struct RawFile {
    #[serde(default, deserialize_with = "or_default")]
    model_list: Vec<serde_yaml::Value>,
    #[serde(default, deserialize_with = "or_default")]
    litellm_settings: RawLitellmSettings,
    #[serde(default, deserialize_with = "or_default")]
    router_settings: RawRouterSettings,
    #[serde(default, deserialize_with = "or_default")]
    general_settings: RawGeneralSettings,
    #[serde(default, deserialize_with = "or_default")]
    gpt_reverse_proxy: serde_yaml::Mapping,
    #[serde(flatten)]
    other: Extra,
}

#[derive(Deserialize)]
struct RawModel {
    model_name: String,
    #[serde(default, deserialize_with = "or_default")]
    litellm_params: RawParams,
    #[serde(default, deserialize_with = "or_default")]
    model_info: ModelInfo,
    #[serde(default, deserialize_with = "or_default")]
    gpt_reverse_proxy: RawModelOptions,
    #[serde(flatten)]
    other: Extra,
}

/// The proxy's own options on one `model_list` entry.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawModelOptions {
    #[serde(default)]
    force_params: serde_json::Map<String, serde_json::Value>,
    drop_null_finish_reason: Option<bool>,
    reasoning_as_think_tags: Option<bool>,
    max_completion_tokens: Option<bool>,
    responses_api: Option<bool>,
}

/// `litellm_params` keys that are request parameters: the deployment's defaults for them.
const REQUEST_PARAMS: &[&str] = &[
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
struct RawParams {
    #[serde(default)]
    model: String,
    custom_llm_provider: Option<String>,
    api_base: Option<String>,
    api_key: Option<String>,
    api_version: Option<String>,
    #[serde(default, deserialize_with = "or_default")]
    extra_headers: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "or_default")]
    extra_body: serde_json::Map<String, serde_json::Value>,
    #[serde(default, deserialize_with = "litellm::de_number")]
    timeout: Option<f64>,
    #[serde(default, deserialize_with = "litellm::de_number")]
    stream_timeout: Option<f64>,
    #[serde(default, deserialize_with = "litellm::de_count")]
    num_retries: Option<u32>,
    #[serde(default, deserialize_with = "litellm::de_count")]
    max_retries: Option<u32>,
    #[serde(default, deserialize_with = "litellm::de_number")]
    weight: Option<f64>,
    #[serde(default, deserialize_with = "litellm::de_number")]
    rpm: Option<f64>,
    #[serde(default, deserialize_with = "litellm::de_number")]
    tpm: Option<f64>,
    #[serde(default, deserialize_with = "litellm::de_count")]
    order: Option<u32>,
    #[serde(default, deserialize_with = "litellm::de_bool")]
    drop_params: Option<bool>,
    #[serde(default, deserialize_with = "or_default")]
    additional_drop_params: Vec<String>,
    #[serde(default, deserialize_with = "litellm::de_bool")]
    ssl_verify: Option<bool>,
    mock_response: Option<String>,
    #[serde(flatten)]
    other: Extra,
}

#[derive(Deserialize, Default)]
struct RawLitellmSettings {
    #[serde(default, deserialize_with = "litellm::de_count")]
    num_retries: Option<u32>,
    #[serde(default, deserialize_with = "litellm::de_number")]
    request_timeout: Option<f64>,
    #[serde(default, deserialize_with = "litellm::de_number")]
    timeout: Option<f64>,
    #[serde(default, deserialize_with = "litellm::de_bool")]
    drop_params: Option<bool>,
    #[serde(default, deserialize_with = "litellm::de_bool")]
    ssl_verify: Option<bool>,
    #[serde(default, deserialize_with = "litellm::de_count")]
    allowed_fails: Option<u32>,
    #[serde(default, deserialize_with = "litellm::de_number")]
    cooldown_time: Option<f64>,
    #[serde(flatten)]
    router: RawRouting,
    /// The original registered `openai2claudecode` here; it is built in, so accepted and ignored.
    #[allow(dead_code)] // read only to accept the key
    custom_provider_map: Option<serde_yaml::Value>,
    #[serde(flatten)]
    other: Extra,
}

/// The routing keys LiteLLM reads from `router_settings` and from `litellm_settings` alike.
#[derive(Deserialize, Default)]
struct RawRouting {
    fallbacks: Option<serde_yaml::Value>,
    context_window_fallbacks: Option<serde_yaml::Value>,
    content_policy_fallbacks: Option<serde_yaml::Value>,
    default_fallbacks: Option<serde_yaml::Value>,
}

#[derive(Deserialize, Default)]
struct RawRouterSettings {
    #[serde(default, deserialize_with = "litellm::de_count")]
    num_retries: Option<u32>,
    #[serde(default, deserialize_with = "litellm::de_number")]
    timeout: Option<f64>,
    #[serde(default, deserialize_with = "litellm::de_count")]
    allowed_fails: Option<u32>,
    #[serde(default, deserialize_with = "litellm::de_number")]
    cooldown_time: Option<f64>,
    #[serde(default, deserialize_with = "litellm::de_bool")]
    disable_cooldowns: Option<bool>,
    #[serde(default, deserialize_with = "litellm::de_number")]
    retry_after: Option<f64>,
    routing_strategy: Option<String>,
    model_group_alias: Option<serde_yaml::Value>,
    #[serde(flatten)]
    router: RawRouting,
    #[serde(flatten)]
    other: Extra,
}

#[derive(Deserialize, Default)]
struct RawGeneralSettings {
    master_key: Option<String>,
    #[serde(default, deserialize_with = "litellm::de_number")]
    timeout: Option<f64>,
    #[serde(flatten)]
    other: Extra,
}

// ---- validation --------------------------------------------------------------------------

impl Config {
    /// Loads the configuration the way the binary does: the model list file named by
    /// `--config`, `LITELLM_CONFIG_PATH` or `litellm_config.yaml`; the built-in demo list when the
    /// default file does not exist.
    pub fn load(env: &Env, ov: &Overrides) -> Result<Config, String> {
        let explicit = ov.config_path.clone().or_else(|| env.get("LITELLM_CONFIG_PATH").map(String::from));
        let path = explicit.clone().unwrap_or_else(|| "litellm_config.yaml".to_string());
        match std::fs::read_to_string(&path) {
            Ok(text) => Config::from_parts(&text, &path, env, ov),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && explicit.is_none() => {
                Config::from_parts(DEMO_CONFIG, "built-in demo model list", env, ov)
            }
            Err(e) => Err(format!("{path}: cannot read: {e}")),
        }
    }

    /// Validates a model list text (from `source`) together with the environment.
    pub fn from_parts(yaml: &str, source: &str, env: &Env, ov: &Overrides) -> Result<Config, String> {
        let raw: RawFile = match litellm::load(yaml, env).map_err(|e| format!("{source}: {e}"))? {
            serde_yaml::Value::Null => RawFile::default(),
            v => serde_yaml::from_value(v).map_err(|e| format!("{source}: {e}"))?,
        };
        let mut unused = unused_sections(&raw);
        let mut notices = Vec::new();
        let settings = settings(&raw, source)?;
        let router = router(&raw, source, &mut notices)?;
        let mut deployments = Vec::new();
        let mut skipped = Vec::new();
        for (i, entry) in raw.model_list.into_iter().enumerate() {
            let m: RawModel = serde_yaml::from_value(entry).map_err(|e| format!("{source}: model_list[{i}]: {e}"))?;
            let at = format!("{source}: model_list[{i}] (model_name {:?})", m.model_name);
            unused.extend(unused_in_entry(i, &m));
            match deployment(i, deployments.len(), m, &settings, env).map_err(|e| format!("{at}: {e}"))? {
                Ok(d) => deployments.push(d),
                Err(s) => skipped.push(s),
            }
        }
        notices.extend(file_notices(&raw.general_settings, &deployments, &skipped));

        let master_key = match &raw.general_settings.master_key {
            Some(k) => match litellm::unresolved(k) {
                Some(name) => {
                    Err(format!("{source}: general_settings.master_key: environment variable {name} is not set"))?
                }
                None => Some(Secret(k.clone())),
            },
            None => None,
        };
        let e = environment(env, ov, master_key)?;
        Ok(Config {
            listen: e.listen,
            host_explicit: e.host_explicit,
            tokens: e.tokens,
            path_prefix: e.path_prefix,
            ollama_secret: e.ollama_secret.clone().unwrap_or_else(|| "ollama".into()),
            ollama_secret_explicit: e.ollama_secret.is_some(),
            dump: e.dump,
            outbound_proxy: e.outbound_proxy,
            ca_file: e.ca_file,
            log_level: e.log_level,
            deployments,
            settings,
            source: source.to_string(),
            unused_keys: unused,
            skipped,
            router,
            notices,
        })
    }

    /// The startup summary: effective settings, secrets masked.
    pub fn summary(&self) -> Vec<String> {
        let mut lines = vec![
            format!("listen address: {}", self.listen),
            format!("model list: {} ({} entries)", self.source, self.deployments.len()),
        ];
        lines.push(match self.tokens.len() {
            0 if self.host_explicit => "auth: NO TOKEN SET and HOST is explicit: anyone who can reach this port can use your upstream keys. Set LOCAL_AUTH_TOKEN.".into(),
            0 => "auth: no token set, so only loopback (127.0.0.1) is served. Set LOCAL_AUTH_TOKEN to serve other machines (a token alone makes it listen on 0.0.0.0).".into(),
            n => format!("auth: {n} token(s) configured"),
        });
        if let Some(p) = &self.path_prefix {
            lines.push(format!("path prefix: {p}"));
        }
        let mount = format!("{}/<LOCAL_OLLAMA_SECRET>", self.path_prefix.as_deref().unwrap_or(""));
        lines.push(match (self.ollama_secret_explicit, self.tokens.is_empty()) {
            (true, _) => format!("ollama surface: at {mount}; the secret path is the credential, no token asked (use this URL for Copilot)"),
            (false, true) => "ollama surface: at /ollama, open like every route (no token set)".to_string(),
            (false, false) => "ollama surface: at /ollama, token required; Copilot cannot send one, so set LOCAL_OLLAMA_SECRET to a random value for it".to_string(),
        });
        if self.dump {
            let (dir, prefix) = (self.settings.dump_dir.display(), self.path_prefix.as_deref().unwrap_or(""));
            lines.push(format!("dumps: on, one file per request under {dir}/; viewer at {prefix}/dumps/"));
        }
        if let Some((url, no)) = &self.outbound_proxy {
            lines.push(format!("outbound proxy: {} (NO_PROXY={no:?})", mask_url(url)));
        }
        if let Some(ca) = &self.ca_file {
            let n = ca.certs.len();
            lines.push(format!(
                "upstream TLS: trusts the {n} certificate(s) of {} (SSL_CERT_FILE), not the built-in roots",
                ca.path
            ));
        }
        for d in &self.deployments {
            let key = match &d.api_key {
                Some(k) => format!("key {:?}", k),
                None => "no key".into(),
            };
            let target = match &d.mock_response {
                Some(_) => "answered locally (mock_response)".to_string(),
                None => format!("at {} ({key})", mask_url(&d.api_base)),
            };
            lines.push(format!("model {:?} -> {} {target}", d.model_name, d.label()));
        }
        lines
    }

    /// What deserves a warning at startup and in `--check`: skipped entries, LiteLLM features
    /// without effect here, keys ignored.
    pub fn warnings(&self) -> Vec<String> {
        let mut lines: Vec<String> = (self.skipped.iter())
            .map(|s| format!("model {:?} ({}) skipped: {}", s.model_name, s.model, s.reason))
            .collect();
        lines.extend(self.notices.iter().cloned());
        if !self.unused_keys.is_empty() {
            let keys = self.unused_keys.join(", ");
            lines.push(format!("keys that change LiteLLM's behaviour but not this proxy's (ignored): {keys}"));
        }
        lines
    }
}

/// What the environment (and the command line) says, read in one place.
struct Environment {
    listen: SocketAddr,
    host_explicit: bool,
    tokens: Vec<Secret>,
    path_prefix: Option<String>,
    ollama_secret: Option<String>,
    dump: bool,
    outbound_proxy: Option<(String, String)>,
    ca_file: Option<CaFile>,
    log_level: log::LevelFilter,
}

/// Reads the environment: tokens (plus the file's `master_key`), where to listen, the path
/// prefix and Ollama mount, dumps, the outbound proxy, the CA bundle and the log level.
fn environment(env: &Env, ov: &Overrides, master_key: Option<Secret>) -> Result<Environment, String> {
    let mut tokens: Vec<Secret> = env
        .get("LOCAL_AUTH_TOKEN")
        .map(|t| t.split(',').map(str::trim).filter(|t| !t.is_empty()).map(|t| Secret(t.into())).collect())
        .unwrap_or_default();
    tokens.extend(master_key);
    let host_arg = ov.host.as_deref().or(env.get("HOST"));
    let host: IpAddr = match host_arg {
        Some(h) => h.trim().parse().map_err(|_| format!("HOST: {h:?} is not an IP address"))?,
        // Without a token nobody but this machine may use the proxy unless the user says so.
        None if tokens.is_empty() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        None => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
    };
    let port_arg = ov.port.as_deref().or(env.get("PORT")).unwrap_or("12000");
    let port: u16 = port_arg.trim().parse().map_err(|_| format!("PORT: {port_arg:?} is not a port number"))?;
    let path_prefix = env.get("LOCAL_PATH_PREFIX").and_then(|p| {
        let p = p.trim().trim_matches('/');
        (!p.is_empty()).then(|| format!("/{p}"))
    });
    let ollama = env.get("LOCAL_OLLAMA_SECRET").map(|s| s.trim().trim_matches('/')).filter(|s| !s.is_empty());
    if let Some(first) = ollama.and_then(|s| s.split('/').next()) {
        if ["v1", "chat", "models", "health"].contains(&first)
            || ollama.is_some_and(|s| s.contains(['?', '#', '%', ' ']))
        {
            return Err(format!(
                "LOCAL_OLLAMA_SECRET: {first:?} would hide other routes or is not a plain path; choose a random value"
            ));
        }
    }
    let dump = env.get("DUMP_HTTP_CONTENT").map(|v| v.trim().to_ascii_lowercase());
    let proxy_url = ["HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY"].iter().find_map(|k| env.get(k));
    let outbound_proxy = proxy_url.map(|u| (u.to_string(), env.get("NO_PROXY").unwrap_or("").to_string()));
    if let Some((url, no_proxy)) = &outbound_proxy {
        crate::connect::outbound_proxy(url, no_proxy)?; // so that --check sees a bad one
    }
    let level = env.get("RUST_LOG").or(env.get("LOG_LEVEL")).unwrap_or("info");
    let log_level = level
        .trim()
        .parse()
        .map_err(|_| format!("RUST_LOG/LOG_LEVEL: {level:?} is not one of off, error, warn, info, debug, trace"))?;
    Ok(Environment {
        listen: SocketAddr::new(host, port),
        host_explicit: host_arg.is_some(),
        tokens,
        path_prefix,
        ollama_secret: ollama.map(String::from),
        dump: matches!(dump.as_deref(), Some("true" | "1" | "yes" | "on")),
        outbound_proxy,
        ca_file: env.get("SSL_CERT_FILE").map(CaFile::load).transpose()?,
        log_level,
    })
}

/// The process-wide settings: defaults, then LiteLLM's keys, then the `gpt_reverse_proxy` section.
fn settings(raw: &RawFile, source: &str) -> Result<Settings, String> {
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
    match r.cooldown_time.or(l.cooldown_time) {
        Some(0.0) => s.cooldown_time = Duration::ZERO,
        Some(v) => s.cooldown_time = secs("router_settings.cooldown_time", v)?,
        None => {}
    }
    if r.disable_cooldowns == Some(true) {
        s.cooldown_time = Duration::ZERO;
    }
    s.drop_params = l.drop_params.unwrap_or(s.drop_params);
    s.ssl_verify = l.ssl_verify.unwrap_or(s.ssl_verify);
    s.with_section(&raw.gpt_reverse_proxy).map_err(|e| format!("{source}: {e}"))
}

/// Azure's `api-version` when an entry gives none: LiteLLM's default.
const AZURE_DEFAULT_API_VERSION: &str = "2025-02-01-preview";

/// One `model_list` entry: a deployment, or the reason it cannot be served (`Err` inside).
/// The outer error refuses the file: a value that is wrong whatever the provider.
fn deployment(
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
    let unset = |key: &str, v: &Option<String>| {
        let name = v.as_deref().and_then(litellm::unresolved)?;
        Some(format!("environment variable {name} is not set (litellm_params.{key})"))
    };
    let unset =
        unset("api_key", &lp.api_key).or(unset("api_base", &lp.api_base)).or(unset("api_version", &lp.api_version));
    if let Some(reason) = unset {
        return Err(reason);
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

/// Keys of LiteLLM's sections this proxy does not read, logging and telemetry left out.
fn unused_sections(raw: &RawFile) -> Vec<String> {
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
fn unused_in_entry(i: usize, m: &RawModel) -> Vec<String> {
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
fn quiet(key: &str) -> bool {
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

/// What a user switching from LiteLLM should hear once about the file as a whole.
fn file_notices(g: &RawGeneralSettings, deployments: &[Deployment], skipped: &[Skipped]) -> Vec<String> {
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

/// The router settings (from `router_settings` and `litellm_settings`, LiteLLM reads both).
fn router(raw: &RawFile, source: &str, notices: &mut Vec<String>) -> Result<Router, String> {
    let r = &raw.router_settings;
    let mut router = Router::default();
    for routing in [&raw.litellm_settings.router, &r.router] {
        let lists = [
            ("fallbacks", &routing.fallbacks, &mut router.fallbacks),
            ("context_window_fallbacks", &routing.context_window_fallbacks, &mut router.context_window_fallbacks),
            ("content_policy_fallbacks", &routing.content_policy_fallbacks, &mut router.content_policy_fallbacks),
        ];
        for (key, v, into) in lists {
            into.extend(fallbacks(v.as_ref()).map_err(|e| format!("{source}: {key}: {e}"))?);
        }
        if let Some(v) = &routing.default_fallbacks {
            let all = names(v).map_err(|e| format!("{source}: default_fallbacks: {e}"))?;
            router.fallbacks.entry("*".into()).or_insert(all);
        }
    }
    if let Some(serde_yaml::Value::Mapping(m)) = &r.model_group_alias {
        for (k, v) in m {
            let alias = k.as_str().ok_or_else(|| format!("{source}: model_group_alias: keys must be names"))?;
            let (target, hidden) = match v {
                serde_yaml::Value::String(s) => (s.clone(), false),
                // A list reads as "this group, then these": the rest become the alias's fallbacks.
                serde_yaml::Value::Sequence(_) => {
                    let mut all = names(v).map_err(|e| format!("{source}: model_group_alias.{alias}: {e}"))?;
                    if all.is_empty() {
                        return Err(format!("{source}: model_group_alias.{alias}: needs a model name"));
                    }
                    let first = all.remove(0);
                    router.fallbacks.entry(alias.to_string()).or_insert(all);
                    (first, false)
                }
                v => match v.get("model").and_then(|m| m.as_str()) {
                    Some(m) => (m.to_string(), v.get("hidden").and_then(|h| h.as_bool()).unwrap_or(false)),
                    None => return Err(format!("{source}: model_group_alias.{alias}: needs a model name")),
                },
            };
            router.aliases.insert(alias.to_string(), (target, hidden));
        }
    }
    router.strategy = match r.routing_strategy.as_deref().map(str::trim) {
        None | Some("simple-shuffle") => Strategy::SimpleShuffle,
        Some("least-busy") => Strategy::LeastBusy,
        Some("latency-based-routing" | "latency-based") => Strategy::LatencyBased,
        Some(other) => {
            notices.push(format!(
                "router_settings.routing_strategy: {other:?} is not available here; simple-shuffle is used"
            ));
            Strategy::SimpleShuffle
        }
    };
    if let Some(v) = r.retry_after {
        if !(v.is_finite() && (0.0..1e6).contains(&v)) {
            return Err(format!("{source}: router_settings.retry_after: must be a number of seconds, got {v}"));
        }
        router.retry_after = Duration::from_secs_f64(v);
    }
    Ok(router)
}

/// LiteLLM's fallback lists: `[{group: [fallback, …]}, …]` (or one mapping of them).
fn fallbacks(v: Option<&serde_yaml::Value>) -> Result<BTreeMap<String, Vec<String>>, String> {
    let mut out = BTreeMap::new();
    let maps: Vec<&serde_yaml::Value> = match v {
        None | Some(serde_yaml::Value::Null) => return Ok(out),
        Some(serde_yaml::Value::Sequence(items)) => items.iter().collect(),
        Some(m @ serde_yaml::Value::Mapping(_)) => vec![m],
        Some(other) => return Err(format!("expected a list of {{model: [fallbacks]}}, got {}", litellm::show(other))),
    };
    for m in maps {
        let serde_yaml::Value::Mapping(m) = m else {
            return Err(format!("expected {{model: [fallbacks]}}, got {}", litellm::show(m)));
        };
        for (k, v) in m {
            let group = k.as_str().ok_or("model group names must be strings")?;
            out.insert(group.to_string(), names(v)?);
        }
    }
    Ok(out)
}

/// A list of model names, or one name.
fn names(v: &serde_yaml::Value) -> Result<Vec<String>, String> {
    match v {
        serde_yaml::Value::String(s) => Ok(vec![s.clone()]),
        serde_yaml::Value::Sequence(items) => items
            .iter()
            .map(|i| i.as_str().map(String::from).ok_or_else(|| format!("{} is not a model name", litellm::show(i))))
            .collect(),
        other => Err(format!("{} is not a list of model names", litellm::show(other))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(yaml: &str, env: &[(&str, &str)]) -> Result<Config, String> {
        Config::from_parts(yaml, "test.yaml", &Env::from_pairs(env), &Overrides::default())
    }

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
    fn an_api_base_that_is_not_a_url_loads_with_a_warning() {
        let y = "model_list:\n  - {model_name: m, litellm_params: {model: openai/x, api_base: __X_API_BASE__}}\n";
        let c = cfg(y, &[]).unwrap();
        assert!(c.deployments[0].broken.as_ref().unwrap().contains("__X_API_BASE__"));
        assert!(c.warnings().iter().any(|w| w.contains("502")));
    }

    #[test]
    fn router_settings_fallbacks_aliases_and_strategy() {
        let y = r#"model_list:
  - {model_name: a, litellm_params: {model: openai/a}}
router_settings:
  fallbacks: [{a: [b, c]}]
  context_window_fallbacks: [{a: big}]
  model_group_alias: {gpt-4: a, hidden-one: {model: a, hidden: true}}
  routing_strategy: usage-based-routing-v2
  retry_after: 1
litellm_settings:
  content_policy_fallbacks: [{a: [safe]}]
  default_fallbacks: [z]
"#;
        let c = cfg(y, &[]).unwrap();
        let r = &c.router;
        assert_eq!(r.fallbacks["a"], ["b", "c"]);
        assert_eq!(r.fallbacks["*"], ["z"]);
        assert_eq!(r.context_window_fallbacks["a"], ["big"]);
        assert_eq!(r.content_policy_fallbacks["a"], ["safe"]);
        assert_eq!(r.aliases["gpt-4"], ("a".to_string(), false));
        assert_eq!(r.aliases["hidden-one"], ("a".to_string(), true));
        assert_eq!((r.strategy, r.retry_after), (Strategy::SimpleShuffle, Duration::from_secs(1)));
        assert!(c.warnings().iter().any(|w| w.contains("usage-based-routing-v2")));
    }

    #[test]
    fn secrets_do_not_appear_in_debug_or_summary() {
        let y = "model_list:\n  - model_name: m\n    litellm_params: {model: openai/x, api_key: sk-very-secret, api_base: 'http://u:pw@h/v1'}\n";
        let c = cfg(y, &[("LOCAL_AUTH_TOKEN", "tok-secret")]).unwrap();
        let all = format!("{c:?}{}", c.summary().join("\n"));
        assert!(!all.contains("sk-very-secret") && !all.contains("tok-secret"), "{all}");
        assert!(!c.summary().join("\n").contains(":pw@"));
    }

    #[test]
    fn printed_urls_never_carry_credentials_valid_or_not() {
        assert_eq!(mask_url("https://u:pw@h/v1"), "https://***@h/v1");
        assert_eq!(mask_url("u:pw@h:1/v1"), "***@h:1/v1");
        assert_eq!(mask_url("https://h/v1?api_key=sk-1&x"), "https://h/v1?api_key=***&x");
        assert_eq!(mask_url("https://h/a@b"), "https://h/a@b", "an @ in the path is not user info");
        let y = "model_list:\n  - {model_name: m, litellm_params: {model: openai/x, api_base: 'htp://user:hunter2@h/v1?api_key=sk-live'}}\n";
        let c = cfg(y, &[]).unwrap();
        let all = format!("{}{}", c.summary().join("\n"), c.warnings().join("\n"));
        assert!(all.contains("not an http(s) URL"), "{all}");
        assert!(!all.contains("hunter2") && !all.contains("sk-live"), "{all}");
    }

    #[test]
    fn no_token_and_no_host_binds_loopback_only() {
        let c = cfg("", &[]).unwrap();
        assert!(c.listen.ip().is_loopback());
        let c = cfg("", &[("LOCAL_AUTH_TOKEN", "t")]).unwrap();
        assert!(c.listen.ip().is_unspecified());
        let c = cfg("", &[("HOST", "0.0.0.0")]).unwrap();
        assert!(c.listen.ip().is_unspecified() && c.tokens.is_empty());
    }

    #[test]
    fn several_tokens_and_master_key_all_count() {
        let c = cfg("general_settings:\n  master_key: sk-master\n", &[("LOCAL_AUTH_TOKEN", "a, b,")]).unwrap();
        let t: Vec<_> = c.tokens.iter().map(Secret::expose).collect();
        assert_eq!(t, ["a", "b", "sk-master"]);
    }

    #[test]
    fn prefix_and_ollama_secret_are_normalised() {
        let c = cfg("", &[("LOCAL_PATH_PREFIX", "p/q/"), ("LOCAL_OLLAMA_SECRET", "/s3cret")]).unwrap();
        assert_eq!(c.path_prefix.as_deref(), Some("/p/q"));
        assert_eq!(c.ollama_secret, "s3cret");
        assert!(c.ollama_secret_explicit);
        let c = cfg("", &[("LOCAL_PATH_PREFIX", "/")]).unwrap();
        assert_eq!(c.path_prefix, None);
        assert_eq!(c.ollama_secret, "ollama");
        assert!(!c.ollama_secret_explicit);
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
