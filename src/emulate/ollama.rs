//! Ollama's discovery endpoints, answered from the config: what GitHub Copilot's Ollama provider
//! and the ollama SDKs ask before they chat (`/`, `/api/version`, `/api/show`, `/api/ps`).

use crate::config::Deployment;
use serde_json::{json, Value};

/// The version reported: Copilot refuses anything below 0.6.4, Codex's `--oss` mode anything
/// below 0.13.4 (it then wants `/v1/responses`, which is served under this mount too).
pub const VERSION: &str = "0.13.5";

/// The `general.architecture` reported for every model; only a key prefix to clients.
const ARCHITECTURE: &str = "gpt-reverse-proxy";

/// Context window reported when `model_info.max_input_tokens` is not configured (Copilot would
/// otherwise assume 32k).
const DEFAULT_CONTEXT: u64 = 128_000;

/// What `GET /` says.
pub const RUNNING: &str = "Ollama is running";

/// `GET /api/version`.
pub fn version() -> Value {
    json!({"version": VERSION})
}

/// The `details` object of a model.
pub fn details() -> Value {
    json!({"parent_model": "", "format": "gguf", "family": ARCHITECTURE, "families": [ARCHITECTURE],
           "parameter_size": "", "quantization_level": ""})
}

/// `POST /api/show` for `model`, served by `d`: capabilities from `model_info` (tools unless
/// `supports_function_calling: false`; vision and thinking only when declared; only `embedding`
/// for LiteLLM's `mode: embedding`) and the context window under `<arch>.context_length`.
pub fn show(model: &str, d: &Deployment, modified_unix: u64) -> Value {
    let info = &d.info;
    let embeds = info.other.get("mode").and_then(|m| m.as_str()) == Some("embedding");
    let caps: Vec<&str> = match embeds {
        true => vec!["embedding"],
        false => [
            (true, "completion"),
            (info.supports_function_calling != Some(false), "tools"),
            (info.supports_vision == Some(true), "vision"),
            (info.supports_reasoning == Some(true), "thinking"),
        ]
        .into_iter()
        .filter_map(|(has, cap)| has.then_some(cap))
        .collect(),
    };
    let model_info = json!({"general.architecture": ARCHITECTURE, "general.basename": model,
                            format!("{ARCHITECTURE}.context_length"): d.info.max_input_tokens.unwrap_or(DEFAULT_CONTEXT)});
    json!({"license": "", "modelfile": "", "parameters": "", "template": "{{ .Prompt }}", "details": details(),
           "model_info": model_info, "capabilities": caps, "modified_at": crate::clock::rfc3339(modified_unix)})
}

/// How long Ollama keeps a model loaded after its last use, unless told otherwise.
const KEEP_ALIVE_SECS: u64 = 300;

/// One model of `GET /api/ps`, from its `/api/tags` entry: a model served remotely is always
/// ready, so every listed model is shown loaded, holding no memory here, with the context
/// window of the deployment that serves it and Ollama's default keep-alive left from now.
pub fn running(mut tag: Value, d: Option<&Deployment>, now_unix: u64) -> Value {
    tag["expires_at"] = crate::clock::rfc3339(now_unix + KEEP_ALIVE_SECS).into();
    tag["size_vram"] = 0.into();
    tag["context_length"] = d.and_then(|d| d.info.max_input_tokens).unwrap_or(DEFAULT_CONTEXT).into();
    tag
}
