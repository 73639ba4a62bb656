//! Configuration: the environment (with `.env`, `.env.local`), the LiteLLM-format model list, and
//! the validated [`Config`] the rest of the proxy reads. Parsing is never mixed with doing: raw
//! serde structs mirror the file, [`Config::from_parts`] checks everything and says exactly what
//! is wrong. All defaults live in [`Settings::default`].

use crate::connect::CaFile;
pub use crate::env::Env;
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

/// The providers an entry's `litellm_params.model` may name before the `/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    /// Any OpenAI-compatible API; `api_base` includes `/v1`.
    OpenAi,
    /// Anthropic's Messages API; `api_base` is the origin, `/v1/messages` is appended.
    Anthropic,
    /// Anthropic wire format plus the Claude Code client identity.
    OpenAi2ClaudeCode,
}

impl Provider {
    const KNOWN: &'static str = "openai, anthropic, openai2claudecode";

    fn parse(s: &str) -> Option<Provider> {
        match s {
            "openai" => Some(Provider::OpenAi),
            "anthropic" => Some(Provider::Anthropic),
            "openai2claudecode" => Some(Provider::OpenAi2ClaudeCode),
            _ => None,
        }
    }

    /// The name used in the config file and in logs.
    pub fn name(self) -> &'static str {
        match self {
            Provider::OpenAi => "openai",
            Provider::Anthropic => "anthropic",
            Provider::OpenAi2ClaudeCode => "openai2claudecode",
        }
    }

    fn default_api_base(self) -> &'static str {
        match self {
            Provider::OpenAi => "https://api.openai.com/v1",
            Provider::Anthropic | Provider::OpenAi2ClaudeCode => "https://api.anthropic.com",
        }
    }
}

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

/// Process-wide settings with their defaults; the `gpt_reverse_proxy:` section overrides them.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Upstream timeouts used when a deployment sets none.
    pub timeouts: Timeouts,
    /// How long a client may leave a response unread before writing to it fails and its worker
    /// (and the upstream call) is freed (`SO_SNDTIMEO` on every connection).
    pub client_send_timeout: Duration,
    /// How long a connection may stay silent while the proxy waits to read from it (a request
    /// head, a body, the next request on a kept-alive connection) before it is closed
    /// (`SO_RCVTIMEO` inherited from the listener). tiny_http reads the next head while an
    /// answer streams, so a connection that outlives this in silence is closed after the answer.
    pub client_read_timeout: Duration,
    /// How long a worker thread may wait for a request before it leaves, when enough others
    /// wait too: after a burst, memory goes back to the system.
    pub idle_worker_exit: Duration,
    /// How long a shutdown (SIGTERM, SIGINT) waits for running requests, streams included.
    pub shutdown_grace: Duration,
    /// How often the watchdog checks that connections are still accepted (three misses: exit 1).
    pub watchdog_interval: Duration,
    /// Most requests served at once (one worker thread each); beyond that a fast 503.
    pub max_concurrent_requests: usize,
    /// Largest accepted request body. Claude Code sessions with screenshots are tens of MB.
    pub max_body_bytes: usize,
    /// Largest accepted request head (all header names and values together).
    pub max_header_bytes: usize,
    /// How long an upstream's model list is reused for `GET /v1/models`.
    pub model_list_ttl: Duration,
    /// How long an upstream host's resolved addresses are reused.
    pub dns_cache_ttl: Duration,
    /// Time limit for fetching one upstream's model list.
    pub model_list_timeout: Duration,
    /// Extra attempts over a deployment group (LiteLLM's `num_retries`).
    pub num_retries: u32,
    /// Failures in a row (connect errors, timeouts, 429, 5xx) before a deployment cools down.
    pub allowed_fails: u32,
    /// How long a deployment that kept failing is skipped (LiteLLM's `cooldown_time`).
    pub cooldown_time: Duration,
    /// Upstream model names (globs) that want `max_completion_tokens` instead of `max_tokens`.
    pub max_completion_tokens_models: Vec<String>,
    /// The per-model rewrites' defaults.
    pub rewrites: Rewrites,
    /// Where dumps go (`DUMP_HTTP_CONTENT`), one directory per request path.
    pub dump_dir: std::path::PathBuf,
    /// Most dump files kept; the oldest are removed first.
    pub dump_max_files: usize,
    /// Most bytes of dump files kept; the oldest are removed first.
    pub dump_max_bytes: u64,
}

/// Opt-in rewrites, set globally in `gpt_reverse_proxy:` and per entry in its own
/// `gpt_reverse_proxy:` block.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rewrites {
    /// Drop `"finish_reason": null` from stream chunks (the original's `cursor-compatible`).
    pub drop_null_finish_reason: bool,
    /// Mirror reasoning into the content as `<think>…</think>` and strip such blocks from
    /// assistant turns of later requests (the original's `reasoning-to-think`).
    pub reasoning_as_think_tags: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            timeouts: Timeouts {
                connect: Duration::from_secs(10),
                response_header: Duration::from_secs(600),
                idle: Duration::from_secs(300),
            },
            client_send_timeout: Duration::from_secs(120),
            client_read_timeout: Duration::from_secs(60),
            idle_worker_exit: Duration::from_secs(60),
            shutdown_grace: Duration::from_secs(30),
            watchdog_interval: Duration::from_secs(10),
            max_concurrent_requests: 1024,
            max_body_bytes: 64 * 1024 * 1024,
            max_header_bytes: 64 * 1024,
            model_list_ttl: Duration::from_secs(60),
            dns_cache_ttl: Duration::from_secs(30),
            model_list_timeout: Duration::from_secs(5),
            num_retries: 0,
            allowed_fails: 3,
            cooldown_time: Duration::from_secs(5),
            max_completion_tokens_models: ["o1*", "o3*", "o4*", "gpt-5*"].map(String::from).to_vec(),
            rewrites: Rewrites::default(),
            dump_dir: "log".into(),
            dump_max_files: 1000,
            dump_max_bytes: 512 << 20,
        }
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
    /// Position in `model_list`, for logs and failover bookkeeping.
    pub index: usize,
    /// `"#<index> <provider>/<model>"`, made once: see [`Deployment::label`].
    label: String,
    /// The name clients use: exact, or a glob with `*`.
    pub model_name: String,
    /// Which wire format and URL layout the upstream speaks.
    pub provider: Provider,
    /// The model name sent upstream; `None` for `<provider>/*` (the client's own name).
    pub upstream_model: Option<String>,
    /// Base URL without a trailing `/`.
    pub api_base: String,
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
    /// Request parameters that always replace the client's.
    pub force_params: serde_json::Map<String, serde_json::Value>,
    /// Opt-in rewrites for this model.
    pub rewrites: Rewrites,
    /// Send `max_completion_tokens` instead of `max_tokens`: set for this entry, or `None` to
    /// decide per request from `max_completion_tokens_models` (wildcard entries serve any model).
    pub max_completion_tokens: Option<bool>,
}

impl Config {
    /// Whether `upstream_model` on `d` wants `max_completion_tokens` (o-series, gpt-5 family).
    pub fn wants_completion_tokens(&self, d: &Deployment, upstream_model: &str) -> bool {
        d.max_completion_tokens.unwrap_or_else(|| {
            self.settings.max_completion_tokens_models.iter().any(|g| crate::route::glob_match(g, upstream_model))
        })
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
    /// Keys present in the file that the proxy does not use (logged once at startup).
    pub unused_keys: Vec<String>,
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

// ---- the raw file, as serde sees it -------------------------------------------------------

type Extra = BTreeMap<String, serde_yaml::Value>;

#[derive(Deserialize, Default)]
struct RawFile {
    #[serde(default)]
    model_list: Vec<RawModel>,
    #[serde(default)]
    litellm_settings: RawLitellmSettings,
    #[serde(default)]
    router_settings: RawRouterSettings,
    #[serde(default)]
    general_settings: RawGeneralSettings,
    #[serde(default)]
    gpt_reverse_proxy: RawProxySettings,
    #[serde(flatten)]
    other: Extra,
}

#[derive(Deserialize)]
struct RawModel {
    model_name: String,
    litellm_params: RawParams,
    #[serde(default)]
    model_info: ModelInfo,
    #[serde(default)]
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
}

/// `litellm_params` keys that are request parameters: the deployment's defaults for them.
const REQUEST_PARAMS: &[&str] = &[
    "temperature",
    "top_p",
    "top_k",
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

#[derive(Deserialize)]
struct RawParams {
    model: String,
    api_base: Option<String>,
    api_key: Option<String>,
    #[serde(default)]
    extra_headers: BTreeMap<String, String>,
    timeout: Option<f64>,
    stream_timeout: Option<f64>,
    mock_response: Option<String>,
    #[serde(flatten)]
    other: Extra,
}

#[derive(Deserialize, Default)]
struct RawLitellmSettings {
    num_retries: Option<u32>,
    request_timeout: Option<f64>,
    /// The original registered `openai2claudecode` here; it is built in, so accepted and ignored.
    #[allow(dead_code)] // read only to accept the key
    custom_provider_map: Option<serde_yaml::Value>,
    #[serde(flatten)]
    other: Extra,
}

#[derive(Deserialize, Default)]
struct RawRouterSettings {
    num_retries: Option<u32>,
    timeout: Option<f64>,
    allowed_fails: Option<u32>,
    cooldown_time: Option<f64>,
    #[serde(flatten)]
    other: Extra,
}

#[derive(Deserialize, Default)]
struct RawGeneralSettings {
    master_key: Option<String>,
    #[serde(flatten)]
    other: Extra,
}

/// The proxy's own section; unlike LiteLLM's sections, a typo here is an error.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawProxySettings {
    connect_timeout: Option<f64>,
    response_header_timeout: Option<f64>,
    stream_idle_timeout: Option<f64>,
    client_send_timeout: Option<f64>,
    client_read_timeout: Option<f64>,
    idle_worker_exit: Option<f64>,
    max_concurrent_requests: Option<usize>,
    max_body_bytes: Option<usize>,
    max_header_bytes: Option<usize>,
    model_list_ttl: Option<f64>,
    dns_cache_ttl: Option<f64>,
    model_list_timeout: Option<f64>,
    shutdown_grace: Option<f64>,
    watchdog_interval: Option<f64>,
    max_completion_tokens_models: Option<Vec<String>>,
    drop_null_finish_reason: Option<bool>,
    reasoning_as_think_tags: Option<bool>,
    dump_dir: Option<String>,
    dump_max_files: Option<usize>,
    dump_max_bytes: Option<u64>,
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
        let raw: RawFile = match yaml.trim() {
            "" => RawFile::default(),
            _ => serde_yaml::from_str(yaml).map_err(|e| format!("{source}: {e}"))?,
        };
        let mut unused: Vec<String> = raw.other.keys().cloned().collect();
        for (section, extra) in [
            ("litellm_settings", &raw.litellm_settings.other),
            ("router_settings", &raw.router_settings.other),
            ("general_settings", &raw.general_settings.other),
        ] {
            unused.extend(extra.keys().map(|k| format!("{section}.{k}")));
        }
        let settings = settings(&raw, source)?;
        let mut deployments = Vec::new();
        for (i, m) in raw.model_list.into_iter().enumerate() {
            let at = format!("{source}: model_list[{i}] (model_name {:?})", m.model_name);
            unused.extend(m.other.keys().map(|k| format!("model_list[{i}].{k}")));
            let params = m.litellm_params.other.keys().filter(|k| !REQUEST_PARAMS.contains(&k.as_str()));
            unused.extend(params.map(|k| format!("model_list[{i}].litellm_params.{k}")));
            deployments.push(deployment(i, m, &settings, env).map_err(|e| format!("{at}: {e}"))?);
        }

        let mut tokens: Vec<Secret> = env
            .get("LOCAL_AUTH_TOKEN")
            .map(|t| t.split(',').map(str::trim).filter(|t| !t.is_empty()).map(|t| Secret(t.into())).collect())
            .unwrap_or_default();
        if let Some(k) = &raw.general_settings.master_key {
            let key = resolve_env(k, env).map_err(|e| format!("{source}: general_settings.master_key: {e}"))?;
            tokens.push(Secret(key));
        }

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
                return Err(format!("LOCAL_OLLAMA_SECRET: {first:?} would hide other routes or is not a plain path; choose a random value"));
            }
        }
        let dump = env.get("DUMP_HTTP_CONTENT").map(|v| v.trim().to_ascii_lowercase());
        let proxy_url = ["HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY"].iter().find_map(|k| env.get(k));
        let outbound_proxy = proxy_url.map(|u| (u.to_string(), env.get("NO_PROXY").unwrap_or("").to_string()));
        if let Some((url, no_proxy)) = &outbound_proxy {
            crate::upstream::outbound_proxy(url, no_proxy)?; // so that --check sees a bad one
        }
        let level = env.get("RUST_LOG").or(env.get("LOG_LEVEL")).unwrap_or("info");
        let log_level = level
            .trim()
            .parse()
            .map_err(|_| format!("RUST_LOG/LOG_LEVEL: {level:?} is not one of off, error, warn, info, debug, trace"))?;

        Ok(Config {
            listen: SocketAddr::new(host, port),
            host_explicit: host_arg.is_some(),
            tokens,
            path_prefix,
            ollama_secret: ollama.unwrap_or("ollama").to_string(),
            ollama_secret_explicit: ollama.is_some(),
            dump: matches!(dump.as_deref(), Some("true" | "1" | "yes" | "on")),
            outbound_proxy,
            ca_file: env.get("SSL_CERT_FILE").map(CaFile::load).transpose()?,
            log_level,
            deployments,
            settings,
            source: source.to_string(),
            unused_keys: unused,
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
            0 => "auth: no token set, so only loopback (127.0.0.1) is served. Set LOCAL_AUTH_TOKEN (and HOST=0.0.0.0) to serve other machines.".into(),
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
        if !self.unused_keys.is_empty() {
            lines.push(format!("keys not used by this proxy (ignored): {}", self.unused_keys.join(", ")));
        }
        lines
    }
}

/// The process-wide settings: defaults, then LiteLLM's keys, then the `gpt_reverse_proxy` section.
fn settings(raw: &RawFile, source: &str) -> Result<Settings, String> {
    let mut s = Settings::default();
    let secs = |key: &str, v: Option<f64>, into: &mut Duration| -> Result<(), String> {
        if let Some(v) = v {
            *into =
                seconds(v).ok_or_else(|| format!("{source}: {key}: must be a positive number of seconds, got {v}"))?;
        }
        Ok(())
    };
    // LiteLLM's request timeout bounds the wait for an answer: the head and the gaps inside it.
    let request_timeout = raw.litellm_settings.request_timeout.or(raw.router_settings.timeout);
    secs("litellm_settings.request_timeout", request_timeout, &mut s.timeouts.response_header)?;
    secs("litellm_settings.request_timeout", request_timeout, &mut s.timeouts.idle)?;
    let p = &raw.gpt_reverse_proxy;
    secs("gpt_reverse_proxy.connect_timeout", p.connect_timeout, &mut s.timeouts.connect)?;
    secs("gpt_reverse_proxy.response_header_timeout", p.response_header_timeout, &mut s.timeouts.response_header)?;
    secs("gpt_reverse_proxy.stream_idle_timeout", p.stream_idle_timeout, &mut s.timeouts.idle)?;
    secs("gpt_reverse_proxy.client_send_timeout", p.client_send_timeout, &mut s.client_send_timeout)?;
    secs("gpt_reverse_proxy.client_read_timeout", p.client_read_timeout, &mut s.client_read_timeout)?;
    secs("gpt_reverse_proxy.idle_worker_exit", p.idle_worker_exit, &mut s.idle_worker_exit)?;
    secs("gpt_reverse_proxy.model_list_ttl", p.model_list_ttl, &mut s.model_list_ttl)?;
    secs("gpt_reverse_proxy.dns_cache_ttl", p.dns_cache_ttl, &mut s.dns_cache_ttl)?;
    secs("gpt_reverse_proxy.model_list_timeout", p.model_list_timeout, &mut s.model_list_timeout)?;
    secs("gpt_reverse_proxy.shutdown_grace", p.shutdown_grace, &mut s.shutdown_grace)?;
    secs("gpt_reverse_proxy.watchdog_interval", p.watchdog_interval, &mut s.watchdog_interval)?;
    for (key, v, into) in [
        ("max_concurrent_requests", p.max_concurrent_requests, &mut s.max_concurrent_requests),
        ("max_body_bytes", p.max_body_bytes, &mut s.max_body_bytes),
        ("max_header_bytes", p.max_header_bytes, &mut s.max_header_bytes),
    ] {
        match v {
            Some(0) => return Err(format!("{source}: gpt_reverse_proxy.{key}: must be at least 1")),
            Some(n) => *into = n,
            None => {}
        }
    }
    match (&p.dump_dir, p.dump_max_files, p.dump_max_bytes) {
        (Some(d), ..) if d.trim().is_empty() => return Err(format!("{source}: gpt_reverse_proxy.dump_dir: is empty")),
        (_, Some(0), _) | (_, _, Some(0)) => {
            return Err(format!("{source}: gpt_reverse_proxy.dump_max_files and dump_max_bytes must be at least 1"))
        }
        (dir, files, bytes) => {
            s.dump_dir = dir.as_deref().map_or(s.dump_dir, Into::into);
            s.dump_max_files = files.unwrap_or(s.dump_max_files);
            s.dump_max_bytes = bytes.unwrap_or(s.dump_max_bytes);
        }
    }
    if let Some(globs) = &p.max_completion_tokens_models {
        s.max_completion_tokens_models = globs.clone();
    }
    s.rewrites.drop_null_finish_reason = p.drop_null_finish_reason.unwrap_or(false);
    s.rewrites.reasoning_as_think_tags = p.reasoning_as_think_tags.unwrap_or(false);
    s.num_retries = raw.router_settings.num_retries.or(raw.litellm_settings.num_retries).unwrap_or(s.num_retries);
    s.allowed_fails = raw.router_settings.allowed_fails.unwrap_or(s.allowed_fails).max(1);
    secs("router_settings.cooldown_time", raw.router_settings.cooldown_time, &mut s.cooldown_time)?;
    Ok(s)
}

/// One validated `model_list` entry; errors name the key (the caller adds file and entry).
fn deployment(index: usize, m: RawModel, settings: &Settings, env: &Env) -> Result<Deployment, String> {
    if m.model_name.trim().is_empty() {
        return Err("model_name: must not be empty".into());
    }
    let lp = m.litellm_params;
    let known = Provider::KNOWN;
    let (prov, model) = lp.model.split_once('/').ok_or_else(|| {
        format!("litellm_params.model: {:?} must be <provider>/<model> (known providers: {known})", lp.model)
    })?;
    let provider = Provider::parse(prov)
        .ok_or_else(|| format!("litellm_params.model: unknown provider {prov:?} (known providers: {known})"))?;
    if model.is_empty() {
        return Err(format!("litellm_params.model: {:?} names no model after the provider", lp.model));
    }
    let resolve = |key: &str, v: &str| resolve_env(v, env).map_err(|e| format!("litellm_params.{key}: {e}"));
    let api_base = match &lp.api_base {
        Some(b) => resolve("api_base", b)?,
        None => provider.default_api_base().to_string(),
    };
    let api_base = api_base.trim_end_matches('/').to_string();
    let is_http = api_base.starts_with("http://") || api_base.starts_with("https://");
    if !is_http || api_base.parse::<ureq::http::Uri>().is_err() {
        return Err(format!("litellm_params.api_base: {api_base:?} is not an http(s) URL"));
    }
    let api_key = lp.api_key.as_deref().map(|k| resolve("api_key", k).map(Secret)).transpose()?;
    let mut extra_headers = Vec::new();
    for (k, v) in &lp.extra_headers {
        let v = resolve(&format!("extra_headers.{k}"), v)?;
        let valid =
            ureq::http::HeaderName::from_bytes(k.as_bytes()).is_ok() && ureq::http::HeaderValue::from_str(&v).is_ok();
        if !valid {
            return Err(format!("litellm_params.extra_headers: {k:?} is not a valid header name and value"));
        }
        extra_headers.push((k.clone(), v));
    }
    let timeouts_with = |key: &str, v: Option<f64>| -> Result<Timeouts, String> {
        let mut t = settings.timeouts;
        if let Some(v) = v {
            let d = seconds(v)
                .ok_or_else(|| format!("litellm_params.{key}: must be a positive number of seconds, got {v}"))?;
            (t.response_header, t.idle) = (d, d);
        }
        Ok(t)
    };
    let mut default_params = serde_json::Map::new();
    for (k, v) in &lp.other {
        if REQUEST_PARAMS.contains(&k.as_str()) {
            let v = serde_json::to_value(v).map_err(|e| format!("litellm_params.{k}: {e}"))?;
            default_params.insert(k.clone(), v);
        }
    }
    let o = m.gpt_reverse_proxy;
    Ok(Deployment {
        index,
        label: format!("#{index} {}/{model}", provider.name()),
        model_name: m.model_name,
        provider,
        upstream_model: (model != "*").then(|| model.to_string()),
        api_base,
        api_key,
        extra_headers,
        timeouts: timeouts_with("timeout", lp.timeout)?,
        stream_timeouts: timeouts_with("stream_timeout", lp.stream_timeout.or(lp.timeout))?,
        mock_response: lp.mock_response,
        info: m.model_info,
        default_params,
        force_params: o.force_params,
        rewrites: Rewrites {
            drop_null_finish_reason: o.drop_null_finish_reason.unwrap_or(settings.rewrites.drop_null_finish_reason),
            reasoning_as_think_tags: o.reasoning_as_think_tags.unwrap_or(settings.rewrites.reasoning_as_think_tags),
        },
        max_completion_tokens: o.max_completion_tokens,
    })
}

/// `os.environ/NAME` → the variable's value (LiteLLM's syntax); anything else as is.
fn resolve_env(v: &str, env: &Env) -> Result<String, String> {
    match v.strip_prefix("os.environ/") {
        Some(name) => env.get(name).map(String::from).ok_or_else(|| format!("environment variable {name} is not set")),
        None => Ok(v.to_string()),
    }
}

/// A positive, finite number of seconds as a `Duration`.
fn seconds(v: f64) -> Option<Duration> {
    (v.is_finite() && v > 0.0 && v < 1e9).then(|| Duration::from_secs_f64(v))
}

/// `url` with its user info (`user:password@`, a credential) replaced by `***`.
pub fn mask_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://***@{}", &url[..s], &url[at + 1..]),
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(yaml: &str, env: &[(&str, &str)]) -> Result<Config, String> {
        Config::from_parts(yaml, "test.yaml", &Env::from_pairs(env), &Overrides::default())
    }

    #[test]
    fn unknown_provider_error_names_the_entry_and_the_known_ones() {
        let e = cfg("model_list:\n  - model_name: m\n    litellm_params: {model: foo/bar}\n", &[]).unwrap_err();
        assert!(e.contains("model_list[0]") && e.contains("\"foo\"") && e.contains("openai, anthropic"), "{e}");
    }

    #[test]
    fn missing_environment_key_is_an_error_naming_the_variable() {
        let y = "model_list:\n  - model_name: m\n    litellm_params: {model: openai/x, api_key: os.environ/NOPE_KEY}\n";
        let e = cfg(y, &[]).unwrap_err();
        assert!(e.contains("NOPE_KEY") && e.contains("litellm_params.api_key"), "{e}");
        let c = cfg(y, &[("NOPE_KEY", "sk-1")]).unwrap();
        assert_eq!(c.deployments[0].api_key.as_ref().unwrap().expose(), "sk-1");
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
        let y = "model_list:\n  - model_name: m\n    litellm_params: {model: openai/x, rpm: 5}\nlitellm_settings:\n  drop_params: true\nenvironment_variables: {}\n";
        let c = cfg(y, &[]).unwrap();
        assert_eq!(
            c.unused_keys,
            ["environment_variables", "litellm_settings.drop_params", "model_list[0].litellm_params.rpm"]
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
        assert_eq!(c.unused_keys, ["model_list[0].litellm_params.rpm"]);
        let e = cfg("model_list:\n  - model_name: m\n    litellm_params: {model: openai/m}\n    gpt_reverse_proxy: {forse_params: {}}\n", &[]).unwrap_err();
        assert!(e.contains("forse_params"), "{e}");
    }

    #[test]
    fn invalid_extra_header_is_rejected() {
        let y = "model_list:\n  - model_name: m\n    litellm_params:\n      model: openai/x\n      extra_headers: {\"bad header\": v}\n";
        assert!(cfg(y, &[]).unwrap_err().contains("extra_headers"));
    }
}
