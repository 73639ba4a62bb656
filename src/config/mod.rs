//! Configuration: the environment (with `.env`, `.env.local`), the LiteLLM-format model list, and
//! the validated [`Config`] the rest of the proxy reads. Parsing is never mixed with doing: raw
//! serde structs mirror the file (`raw`), [`Config::from_parts`] checks everything and says
//! exactly what is wrong: each entry (`entry`), the router settings (`router`), the environment.
//! All defaults live in [`Settings::default`].

mod entry;
mod raw;
mod router;

use crate::connect::CaFile;
pub use crate::env::Env;
use crate::litellm;
use crate::scrub::mask_url;
use entry::{deployment, file_notices};
use raw::{settings, unused_in_entry, unused_sections, RawFile, RawModel};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

/// The model list when no config file exists: one local `demo` model, so a first `curl` works.
pub const DEMO_CONFIG: &str = r#"model_list:
  - model_name: demo
    litellm_params:
      model: openai/demo
      mock_response: "Hello from gpt-reverse-proxy! This is the built-in demo model answering locally. Create litellm_config.yaml to route to a real provider."
"#;

use crate::providers::Family;
pub use crate::providers::Provider;
pub use crate::settings::{Rewrites, Settings, Timeouts};

/// A secret string (token or key) that never shows up in `Debug` or logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The secret's value, for the one place that must send or compare it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// A secret made in a test, bypassing the config's checks.
    #[cfg(test)]
    pub fn for_tests(s: &str) -> Secret {
        Secret(s.into())
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
    /// Takes a JSON schema for its answer (Anthropic's `output_config.format`); unset, Claude
    /// models are judged by name (see `translate::structured`).
    pub supports_response_schema: Option<bool>,
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
    /// What an upstream could echo of `api_key` and `extra_headers`, masked wherever it shows.
    pub secrets: crate::scrub::Secrets,
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
        let router = router::parse(&raw, source, &mut notices)?;
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
        let tokens = tokens(env, raw.general_settings.master_key.as_deref(), source, &mut notices)?;
        let (listen, host_explicit) = listen(env, ov, tokens.is_empty())?;
        let ollama = ollama_secret(env, &mut notices)?;
        let outbound_proxy = outbound_proxy(env)?;
        let level = env.get("RUST_LOG").or(env.get("LOG_LEVEL")).unwrap_or("info");
        let log_level = level
            .trim()
            .parse()
            .map_err(|_| format!("RUST_LOG/LOG_LEVEL: {level:?} is not one of off, error, warn, info, debug, trace"))?;
        Ok(Config {
            listen,
            host_explicit,
            tokens,
            path_prefix: env
                .get("LOCAL_PATH_PREFIX")
                .map(|p| p.trim().trim_matches('/'))
                .filter(|p| !p.is_empty())
                .map(|p| format!("/{p}")),
            ollama_secret: ollama.clone().unwrap_or_else(|| "ollama".into()),
            ollama_secret_explicit: ollama.is_some(),
            dump: flag(env, "DUMP_HTTP_CONTENT"),
            outbound_proxy,
            ca_file: env.get("SSL_CERT_FILE").map(CaFile::load).transpose()?,
            log_level,
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
            let target = match (&d.mock_response, &d.api_key) {
                (Some(_), _) => "answered locally (mock_response)".to_string(),
                (None, Some(k)) => format!("at {} (key {k:?})", mask_url(&d.api_base)),
                (None, None) => format!("at {} (no key)", mask_url(&d.api_base)),
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
        let short = self.tokens.iter().any(|t| t.expose().len() < 16);
        lines
            .extend(short.then(|| "a client token under 16 characters can be guessed (`openssl rand -hex 24`)".into()));
        lines
    }

    /// Whether `upstream_model` on `d` wants `max_completion_tokens` (o-series, gpt-5 family).
    pub fn wants_completion_tokens(&self, d: &Deployment, upstream_model: &str) -> bool {
        d.max_completion_tokens
            .unwrap_or_else(|| self.settings.max_completion_tokens_models.iter().any(|g| glob_match(g, upstream_model)))
    }
}

/// The shortest `LOCAL_OLLAMA_SECRET` accepted: the path is the only credential under it.
const SHORTEST_OLLAMA_SECRET: usize = 16;

/// The client tokens: `LOCAL_AUTH_TOKEN`'s (comma-separated), then the file's `master_key`.
fn tokens(env: &Env, master_key: Option<&str>, source: &str, notices: &mut Vec<String>) -> Result<Vec<Secret>, String> {
    let mut tokens: Vec<Secret> = env
        .get("LOCAL_AUTH_TOKEN")
        .map(|t| t.split(',').map(str::trim).filter(|t| !t.is_empty()).map(|t| Secret(t.into())).collect())
        .unwrap_or_default();
    let Some(k) = master_key else { return Ok(tokens) };
    if let Some(name) = litellm::unresolved(k) {
        return Err(format!("{source}: general_settings.master_key: environment variable {name} is not set"));
    }
    // Like an empty LOCAL_AUTH_TOKEN entry: an empty token would let an empty header in.
    if k.trim().is_empty() {
        notices.push(format!("{source}: general_settings.master_key is empty: ignored (it is no token)"));
    } else {
        tokens.push(Secret(k.trim().to_string()));
    }
    Ok(tokens)
}

/// Whether the environment variable `name` is on (`1`, `true`, `yes` or `on`).
fn flag(env: &Env, name: &str) -> bool {
    env.get(name).is_some_and(|v| ["1", "true", "yes", "on"].contains(&v.trim().to_ascii_lowercase().as_str()))
}

/// `LOCAL_OLLAMA_SECRET` without slashes, refused when it would hide other routes, is not a plain
/// path, or is short or guessable (an open chat surface at a guessable path) unless
/// `LOCAL_OLLAMA_SECRET_WEAK_OK` says to accept it, which is then warned about.
fn ollama_secret(env: &Env, notices: &mut Vec<String>) -> Result<Option<String>, String> {
    let Some(secret) = env.get("LOCAL_OLLAMA_SECRET").map(|s| s.trim().trim_matches('/')).filter(|s| !s.is_empty())
    else {
        return Ok(None);
    };
    let first = secret.split('/').next().unwrap_or("");
    if ["v1", "chat", "models", "health", "metrics", "dumps", "api"].contains(&first)
        || secret.contains(['?', '#', '%', ' '])
    {
        return Err(format!(
            "LOCAL_OLLAMA_SECRET: {first:?} would hide other routes or is not a plain path; choose a random value"
        ));
    }
    if secret.chars().count() >= SHORTEST_OLLAMA_SECRET && !["ollama", "secret", "copilot"].contains(&secret) {
        return Ok(Some(secret.to_string()));
    }
    let problem = format!(
        "LOCAL_OLLAMA_SECRET is guessable (shorter than {SHORTEST_OLLAMA_SECRET} characters or a common word), and the path is the only credential of the chat surface under it"
    );
    if !flag(env, "LOCAL_OLLAMA_SECRET_WEAK_OK") {
        return Err(format!("{problem}; use a random value (openssl rand -hex 16), or set LOCAL_OLLAMA_SECRET_WEAK_OK=true to accept it"));
    }
    notices.push(format!("{problem}: accepted because LOCAL_OLLAMA_SECRET_WEAK_OK is set"));
    Ok(Some(secret.to_string()))
}

/// Where to listen, and whether `HOST`/`--host` said so.
fn listen(env: &Env, ov: &Overrides, no_token: bool) -> Result<(SocketAddr, bool), String> {
    let host_arg = ov.host.as_deref().or(env.get("HOST"));
    let host: IpAddr = match host_arg {
        Some(h) => h.trim().parse().map_err(|_| format!("HOST: {h:?} is not an IP address"))?,
        // Without a token nobody but this machine may use the proxy unless the user says so.
        None if no_token => IpAddr::V4(Ipv4Addr::LOCALHOST),
        None => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
    };
    let port_arg = ov.port.as_deref().or(env.get("PORT")).unwrap_or("12000");
    let port: u16 = port_arg.trim().parse().map_err(|_| format!("PORT: {port_arg:?} is not a port number"))?;
    Ok((SocketAddr::new(host, port), host_arg.is_some()))
}

/// The outbound proxy URL (`HTTPS_PROXY`, `HTTP_PROXY` or `ALL_PROXY`) and `NO_PROXY`, checked
/// here so that `--check` sees a bad one.
fn outbound_proxy(env: &Env) -> Result<Option<(String, String)>, String> {
    let Some(url) = ["HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY"].iter().find_map(|k| env.get(k)) else {
        return Ok(None);
    };
    let no_proxy = env.get("NO_PROXY").unwrap_or("");
    crate::connect::outbound_proxy(url, no_proxy)?;
    Ok(Some((url.to_string(), no_proxy.to_string())))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The configuration `yaml` and `env` make, as the proxy would load it.
    pub(crate) fn cfg(yaml: &str, env: &[(&str, &str)]) -> Result<Config, String> {
        Config::from_parts(yaml, "test.yaml", &Env::from_pairs(env), &Overrides::default())
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
    fn a_guessable_ollama_secret_is_refused_unless_accepted_out_loud() {
        for weak in ["ollama", "x", "s3cret", "copilot"] {
            let e = cfg("", &[("LOCAL_OLLAMA_SECRET", weak)]).unwrap_err();
            assert!(e.contains("guessable") && e.contains("LOCAL_OLLAMA_SECRET_WEAK_OK"), "{weak}: {e}");
        }
        for route in ["v1", "health", "api/chat", "dumps"] {
            assert!(cfg("", &[("LOCAL_OLLAMA_SECRET", route)]).unwrap_err().contains("hide other routes"), "{route}");
        }
        let c = cfg("", &[("LOCAL_OLLAMA_SECRET", "s3cret"), ("LOCAL_OLLAMA_SECRET_WEAK_OK", "true")]).unwrap();
        assert_eq!(c.ollama_secret, "s3cret");
        assert!(c.warnings().iter().any(|w| w.contains("guessable")), "accepted, but said loudly");
        let strong = cfg("", &[("LOCAL_OLLAMA_SECRET", "0f4c3b2a19e8d7c6")]).unwrap();
        assert!(!strong.warnings().iter().any(|w| w.contains("guessable")));
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
    fn an_empty_master_key_is_no_token() {
        for k in ["\"\"", "\"  \""] {
            let c = cfg(&format!("general_settings:\n  master_key: {k}\n"), &[]).unwrap();
            assert!(c.tokens.is_empty(), "master_key {k}");
            assert!(c.listen.ip().is_loopback(), "no token: loopback only");
            assert!(c.warnings().iter().any(|w| w.contains("master_key is empty")), "said at startup");
        }
    }

    #[test]
    fn prefix_and_ollama_secret_are_normalised() {
        let c = cfg("", &[("LOCAL_PATH_PREFIX", "p/q/"), ("LOCAL_OLLAMA_SECRET", "/s3cret-9f2c71ab04e6")]).unwrap();
        assert_eq!(c.path_prefix.as_deref(), Some("/p/q"));
        assert_eq!(c.ollama_secret, "s3cret-9f2c71ab04e6");
        assert!(c.ollama_secret_explicit);
        let c = cfg("", &[("LOCAL_PATH_PREFIX", "/")]).unwrap();
        assert_eq!(c.path_prefix, None);
        assert_eq!(c.ollama_secret, "ollama");
        assert!(!c.ollama_secret_explicit);
    }
}
