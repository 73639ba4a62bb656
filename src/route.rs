//! Routing, as pure functions: which surface a method and path address (after the path prefix),
//! which deployments serve a model name, and the upstream URL for a deployment. No I/O.

use crate::config::{glob_match, Config, Deployment, Router, Skipped};
use crate::error::Error;
use crate::providers::Layout;
use tiny_http::Method;

/// What a request addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `GET /health`: liveness, no auth.
    Health,
    /// `OPTIONS *`: CORS preflight, answered before auth.
    Preflight,
    /// `POST /v1/chat/completions` or `/chat/completions`.
    ChatCompletions,
    /// `POST /v1/messages` (Anthropic).
    Messages,
    /// `POST /v1/responses` or `/responses` (OpenAI's Responses API).
    Responses,
    /// `POST /v1/messages/count_tokens` (Anthropic).
    CountTokens,
    /// `GET /metrics`: Prometheus text format, behind the token.
    Metrics,
    /// `GET /dumps/…`: the dump viewer and its data (when dumps are on); holds the part after `/dumps`.
    Dumps(String),
    /// `GET /v1/models` or `/models`.
    Models,
    /// `GET /v1/models/{id}`.
    Model(String),
    /// Any other `/v1/*` path, forwarded to an OpenAI deployment; holds the part after `/v1`.
    OpenAiPassthrough(String),
    /// Ollama `GET /`: "Ollama is running".
    OllamaRoot,
    /// Ollama `GET /api/version`.
    OllamaVersion,
    /// Ollama `GET /api/tags`: the model list.
    OllamaTags,
    /// Ollama `POST /api/show`: one model's capabilities.
    OllamaShow,
    /// Ollama `POST /api/chat`: native chat.
    OllamaChat,
    /// Ollama `GET /api/ps`: loaded models.
    OllamaPs,
    /// Ollama `POST /api/generate`: a completion for one prompt.
    OllamaGenerate,
    /// Ollama `POST /api/embed`: embeddings for one input or a batch.
    OllamaEmbed,
    /// Ollama `POST /api/embeddings`: the older single-prompt embedding.
    OllamaEmbeddings,
    /// A known path with the wrong method.
    MethodNotAllowed,
    /// Nothing here.
    NotFound,
}

impl Route {
    /// A short stable name for metrics (ids and paths left out: they would explode the labels).
    pub fn name(&self) -> &'static str {
        match self {
            Route::Health => "health",
            Route::Preflight => "preflight",
            Route::ChatCompletions => "chat_completions",
            Route::Messages => "messages",
            Route::Responses => "responses",
            Route::CountTokens => "count_tokens",
            Route::Metrics => "metrics",
            Route::Dumps(_) => "dumps",
            Route::Models => "models",
            Route::Model(_) => "model",
            Route::OpenAiPassthrough(_) => "openai_passthrough",
            Route::OllamaRoot => "ollama_root",
            Route::OllamaVersion => "ollama_version",
            Route::OllamaTags => "ollama_tags",
            Route::OllamaShow => "ollama_show",
            Route::OllamaChat => "ollama_chat",
            Route::OllamaPs => "ollama_ps",
            Route::OllamaGenerate => "ollama_generate",
            Route::OllamaEmbed => "ollama_embed",
            Route::OllamaEmbeddings => "ollama_embeddings",
            Route::MethodNotAllowed => "method_not_allowed",
            Route::NotFound => "not_found",
        }
    }
}

/// Which part of the proxy a route was found in (they differ in how they authenticate).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mount {
    /// The OpenAI and Anthropic routes.
    Main,
    /// Under `/<LOCAL_OLLAMA_SECRET>`.
    Ollama,
}

/// Classifies a request target. `prefix` is `LOCAL_PATH_PREFIX` (normalised, e.g. `/p`);
/// `ollama` is the Ollama mount's secret (without slashes).
pub fn classify(method: &Method, target: &str, prefix: Option<&str>, ollama: &str) -> (Route, Mount) {
    if *method == Method::Options {
        return (Route::Preflight, Mount::Main);
    }
    let path = target.split(['?', '#']).next().unwrap_or("");
    let inner = prefix.map_or(Some(path), |p| under(path, p));
    if let Some(rest) = inner.and_then(|p| under(p, &format!("/{ollama}"))).filter(|_| is_clean(path)) {
        return (ollama_route(method, rest), Mount::Ollama);
    }
    (main_route(method, path, prefix), Mount::Main)
}

/// The rest of `path` below the segment-aware `mount` (`/` for the mount itself).
fn under<'a>(path: &'a str, mount: &str) -> Option<&'a str> {
    match path.strip_prefix(mount)? {
        "" => Some("/"),
        rest if rest.starts_with('/') => Some(rest),
        _ => None,
    }
}

/// Routes under the Ollama mount: Ollama's own API, plus the OpenAI chat and model routes that
/// Copilot actually chats through. Nothing else is reachable here.
fn ollama_route(method: &Method, path: &str) -> Route {
    let (get, post) = (matches!(method, Method::Get | Method::Head), *method == Method::Post);
    let only = |ok: bool, r: Route| if ok { r } else { Route::MethodNotAllowed };
    match path {
        "/" => only(get, Route::OllamaRoot),
        "/api/version" => only(get, Route::OllamaVersion),
        "/api/tags" => only(get, Route::OllamaTags),
        "/api/show" => only(post, Route::OllamaShow),
        "/api/chat" => only(post, Route::OllamaChat),
        "/api/ps" => only(get, Route::OllamaPs),
        "/api/generate" => only(post, Route::OllamaGenerate),
        "/api/embed" => only(post, Route::OllamaEmbed),
        "/api/embeddings" => only(post, Route::OllamaEmbeddings),
        "/v1/chat/completions" | "/chat/completions" => only(post, Route::ChatCompletions),
        "/v1/responses" | "/responses" => only(post, Route::Responses),
        "/v1/models" | "/models" => only(get, Route::Models),
        _ => match path.strip_prefix("/v1/models/") {
            Some(id) if !id.is_empty() => only(get, Route::Model(id.to_string())),
            _ => Route::NotFound,
        },
    }
}

/// The OpenAI and Anthropic routes.
fn main_route(method: &Method, path: &str, prefix: Option<&str>) -> Route {
    if !is_clean(path) {
        return Route::NotFound;
    }
    let (get, post) = (matches!(method, Method::Get | Method::Head), *method == Method::Post);
    let only = |ok: bool, r: Route| if ok { r } else { Route::MethodNotAllowed };
    // `/` too: clients probe it for reachability (Claude Code sends `HEAD /` without a key).
    if path == "/health" || path == "/" {
        return only(get, Route::Health);
    }
    let Some(path) = prefix.map_or(Some(path), |p| under(path, p)) else { return Route::NotFound };
    if let Some(rest) = path.strip_prefix("/dumps").filter(|r| r.is_empty() || r.starts_with('/')) {
        return only(get, Route::Dumps(rest.to_string()));
    }
    if let Some(id) = path.strip_prefix("/v1/models/").or_else(|| path.strip_prefix("/models/")) {
        return only(get, Route::Model(id.to_string()));
    }
    match path {
        "/health" => only(get, Route::Health),
        "/v1/chat/completions" | "/chat/completions" => only(post, Route::ChatCompletions),
        "/v1/responses" | "/responses" => only(post, Route::Responses),
        "/v1/models" | "/models" => only(get, Route::Models),
        "/metrics" => only(get, Route::Metrics),
        "/v1/messages" => only(post, Route::Messages),
        "/v1/messages/count_tokens" => only(post, Route::CountTokens),
        // The rest of the Anthropic surface is not an OpenAI passthrough.
        _ => match path.strip_prefix("/v1/") {
            Some(rest) if !rest.is_empty() && !rest.starts_with("messages/") => {
                Route::OpenAiPassthrough(format!("/{rest}"))
            }
            _ => Route::NotFound,
        },
    }
}

/// A path we are willing to route: absolute, no empty, `.` or `..` segments, no percent-encoding
/// or backslashes (nothing an upstream or a prefix check could read differently than we do).
fn is_clean(path: &str) -> bool {
    // A single trailing slash is harmless; inner empty segments (`//`) are not.
    let segments = || path[1..].strip_suffix('/').unwrap_or(&path[1..]).split('/');
    path == "/"
        || (path.starts_with('/') && !path.contains(['%', '\\']) && segments().all(|s| !matches!(s, "" | "." | "..")))
}

/// The deployments serving `model`: every entry with that exact `model_name`, otherwise the
/// entries of the first glob (in file order) that matches. Empty when nothing matches.
pub fn resolve<'c>(model: &str, deployments: &'c [Deployment]) -> Vec<&'c Deployment> {
    let exact: Vec<_> = deployments.iter().filter(|d| !d.is_glob() && d.model_name == model).collect();
    if !exact.is_empty() {
        return exact;
    }
    match deployments.iter().find(|d| d.is_glob() && glob_match(&d.model_name, model)) {
        Some(g) => deployments.iter().filter(|d| d.model_name == g.model_name).collect(),
        None => Vec::new(),
    }
}

/// The deployments serving `model` (or the group its alias names), or why there are none.
pub fn group<'c>(model: &str, cfg: &'c Config) -> Result<Vec<&'c Deployment>, Error> {
    let name = alias(model, &cfg.router);
    let group = resolve(name, &cfg.deployments);
    if !group.is_empty() {
        return Ok(group);
    }
    Err(match skipped(name, &cfg.skipped) {
        Some(s) => Error::ModelUnavailable(format!(
            "The model `{model}` is configured as `{}`, which this proxy cannot serve: {}",
            s.model, s.reason
        )),
        None => Error::UnknownModel(model.to_string()),
    })
}

/// The model name to send upstream for a client's `model`.
pub fn upstream_model<'a>(d: &'a Deployment, client_model: &'a str) -> &'a str {
    d.upstream_model.as_deref().unwrap_or(client_model)
}

/// The upstream URL for an OpenAI-style path such as `/chat/completions` or `/models`, joined
/// the way LiteLLM does for the deployment's provider; `model` is the upstream model name (Azure
/// puts it in the path).
pub fn upstream_url(d: &Deployment, openai_path: &str, model: &str) -> Result<String, Error> {
    let base = &d.api_base;
    Ok(match (d.family.layout, &d.api_version) {
        (Layout::Anthropic, _) => format!("{base}/v1{openai_path}"),
        (Layout::Azure, Some(v)) if openai_path == "/models" => format!("{base}/openai/models?api-version={v}"),
        (Layout::Azure, Some(v)) if azure_deployment(model) => {
            format!("{base}/openai/deployments/{model}{openai_path}?api-version={v}")
        }
        (Layout::Azure, Some(_)) => {
            return Err(Error::BadRequest(format!(
                "`{model}` is not an Azure deployment name (letters, digits, `-`, `_` and `.` only)"
            )))
        }
        _ => format!("{base}{openai_path}"),
    })
}

/// Whether `name` can stand in an Azure URL as a deployment name. A name from the client (an
/// `azure/*` entry) goes into the path, where a `/`, `?`, `#` or `..` would send the
/// deployment's key to another URL on that host.
fn azure_deployment(name: &str) -> bool {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    !name.is_empty() && name.len() <= 256 && name.chars().all(allowed) && !name.chars().all(|c| c == '.')
}

/// The model group a client's name stands for: itself, or the group a `model_group_alias` names.
pub fn alias<'a>(model: &'a str, router: &'a Router) -> &'a str {
    router.aliases.get(model).map_or(model, |(group, _)| group.as_str())
}

/// The skipped entry a model name would have been served by, for an error that says why not.
pub fn skipped<'c>(model: &str, skipped: &'c [Skipped]) -> Option<&'c Skipped> {
    let exact = skipped.iter().find(|s| s.model_name == model);
    exact.or_else(|| skipped.iter().find(|s| s.model_name.contains('*') && glob_match(&s.model_name, model)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::cfg;

    fn post(p: &str) -> Route {
        classify(&Method::Post, p, None, "ollama").0
    }

    fn get(p: &str) -> Route {
        classify(&Method::Get, p, None, "ollama").0
    }

    #[test]
    fn chat_paths_with_and_without_v1_and_queries() {
        assert_eq!(post("/v1/chat/completions"), Route::ChatCompletions);
        assert_eq!(post("/chat/completions?x=1"), Route::ChatCompletions);
        assert_eq!(get("/v1/chat/completions"), Route::MethodNotAllowed);
        assert_eq!(post("/V1/chat/completions"), Route::NotFound);
    }

    #[test]
    fn models_and_model_ids_with_slashes() {
        assert_eq!(get("/v1/models"), Route::Models);
        assert_eq!(get("/models"), Route::Models);
        assert_eq!(get("/v1/models/meta/llama-3"), Route::Model("meta/llama-3".into()));
        assert_eq!(classify(&Method::Head, "/health", None, "ollama").0, Route::Health);
        assert_eq!(classify(&Method::Head, "/", None, "ollama").0, Route::Health);
    }

    #[test]
    fn passthrough_keeps_the_rest_and_refuses_tricks() {
        assert_eq!(post("/v1/embeddings"), Route::OpenAiPassthrough("/embeddings".into()));
        assert_eq!(post("/v1/audio/speech"), Route::OpenAiPassthrough("/audio/speech".into()));
        for p in ["/v1/../admin", "/v1//embeddings", "/v1/./x", "/v1/%2e%2e/x", "v1/embeddings", "/v1/a\\b", "/v1/"] {
            assert_eq!(post(p), Route::NotFound, "{p}");
        }
        assert_eq!(post("/v1/messages?beta=true"), Route::Messages);
        assert_eq!(post("/v1/messages/count_tokens"), Route::CountTokens);
        assert_eq!(post("/v1/messages/batches"), Route::NotFound);
        assert_eq!(post("/v1/responses"), Route::Responses);
        assert_eq!(post("/responses"), Route::Responses);
        assert_eq!(get("/v1/responses"), Route::MethodNotAllowed);
        assert_eq!(get("/v1/responses/resp_1"), Route::OpenAiPassthrough("/responses/resp_1".into()));
    }

    #[test]
    fn prefix_is_segment_aware() {
        let p = Some("/p");
        assert_eq!(classify(&Method::Post, "/p/v1/chat/completions", p, "ollama").0, Route::ChatCompletions);
        assert_eq!(classify(&Method::Post, "/px/v1/chat/completions", p, "ollama").0, Route::NotFound);
        assert_eq!(classify(&Method::Post, "/v1/chat/completions", p, "ollama").0, Route::NotFound);
        assert_eq!(classify(&Method::Post, "/p/../v1/chat/completions", p, "ollama").0, Route::NotFound);
        assert_eq!(classify(&Method::Get, "/health", p, "ollama").0, Route::Health);
        assert_eq!(classify(&Method::Options, "/anything", p, "ollama").0, Route::Preflight);
    }

    #[test]
    fn ollama_mount_is_segment_aware_inside_the_prefix_and_exposes_only_its_routes() {
        let c = |m: Method, path: &str| classify(&m, path, Some("/p"), "s3cret");
        assert_eq!(c(Method::Get, "/p/s3cret"), (Route::OllamaRoot, Mount::Ollama));
        assert_eq!(c(Method::Head, "/p/s3cret/api/version"), (Route::OllamaVersion, Mount::Ollama));
        assert_eq!(c(Method::Get, "/p/s3cret/api/tags?x"), (Route::OllamaTags, Mount::Ollama));
        assert_eq!(c(Method::Post, "/p/s3cret/api/show"), (Route::OllamaShow, Mount::Ollama));
        assert_eq!(c(Method::Post, "/p/s3cret/api/chat"), (Route::OllamaChat, Mount::Ollama));
        assert_eq!(c(Method::Post, "/p/s3cret/api/generate"), (Route::OllamaGenerate, Mount::Ollama));
        assert_eq!(c(Method::Post, "/p/s3cret/api/embed"), (Route::OllamaEmbed, Mount::Ollama));
        assert_eq!(c(Method::Post, "/p/s3cret/api/embeddings"), (Route::OllamaEmbeddings, Mount::Ollama));
        assert_eq!(c(Method::Get, "/p/s3cret/api/generate"), (Route::MethodNotAllowed, Mount::Ollama));
        assert_eq!(c(Method::Post, "/p/s3cret/v1/chat/completions"), (Route::ChatCompletions, Mount::Ollama));
        assert_eq!(c(Method::Post, "/p/s3cret/chat/completions"), (Route::ChatCompletions, Mount::Ollama));
        assert_eq!(c(Method::Get, "/p/s3cret/v1/models"), (Route::Models, Mount::Ollama));
        assert_eq!(c(Method::Post, "/p/s3cret/v1/responses"), (Route::Responses, Mount::Ollama));
        for path in ["/p/s3cret/v1/messages", "/p/s3cret/v1/embeddings", "/p/s3cret/health", "/p/s3cret/../v1/models"] {
            assert_eq!(c(Method::Post, path).0, Route::NotFound, "{path}");
        }
        assert_eq!(c(Method::Get, "/p/s3cretx/api/tags"), (Route::NotFound, Mount::Main));
        assert_eq!(c(Method::Get, "/s3cret/api/tags"), (Route::NotFound, Mount::Main));
        assert_eq!(c(Method::Get, "/p/S3CRET/api/tags"), (Route::NotFound, Mount::Main));
    }

    #[test]
    fn globs() {
        assert!(glob_match("*", "anything"));
        assert!(glob_match("claude-*", "claude-sonnet-4"));
        assert!(!glob_match("claude-*", "gpt-claude-"));
        assert!(glob_match("*-mini", "gpt-4o-mini"));
        assert!(glob_match("a*b*c", "aXbYbZc"));
        assert!(!glob_match("a*b*c", "aXbYbZ"));
        assert!(glob_match("exact", "exact") && !glob_match("exact", "exactly"));
    }

    fn deps() -> Vec<Deployment> {
        let y = r#"model_list:
  - {model_name: "gpt-*", litellm_params: {model: openai/*, api_base: "http://g/v1"}}
  - {model_name: fast, litellm_params: {model: openai/gpt-4o-mini, api_base: "http://a/v1"}}
  - {model_name: fast, litellm_params: {model: openai/gpt-4o-mini, api_base: "http://b/v1"}}
  - {model_name: gpt-4o, litellm_params: {model: anthropic/claude-x}}
  - {model_name: "*", litellm_params: {model: openai/*, api_base: "http://star/v1"}}
"#;
        cfg(y, &[]).unwrap().deployments
    }

    #[test]
    fn exact_beats_glob_then_globs_in_file_order() {
        let d = deps();
        let idx = |m: &str| resolve(m, &d).iter().map(|d| d.index).collect::<Vec<_>>();
        assert_eq!(idx("gpt-4o"), [3]);
        assert_eq!(idx("fast"), [1, 2]);
        assert_eq!(idx("gpt-5"), [0]);
        assert_eq!(idx("llama"), [4]);
        assert_eq!(upstream_model(&d[1], "fast"), "gpt-4o-mini");
        assert_eq!(upstream_model(&d[0], "gpt-5"), "gpt-5");
    }

    #[test]
    fn urls_join_like_litellm() {
        let d = deps();
        assert_eq!(upstream_url(&d[1], "/chat/completions", "m").unwrap(), "http://a/v1/chat/completions");
        assert_eq!(upstream_url(&d[3], "/messages", "m").unwrap(), "https://api.anthropic.com/v1/messages");
    }

    #[test]
    fn azure_model_names_cannot_steer_the_keyed_url() {
        assert!(azure_deployment("gpt-4o_mini.2024"));
        for bad in ["a/../../admin", "a/embeddings?x=", "a#frag", "..", ".", "", "a b", "a%2Fb", "é"] {
            assert!(!azure_deployment(bad), "{bad}");
        }
    }
}
