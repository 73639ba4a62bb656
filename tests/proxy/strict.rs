//! An independent oracle for what the proxy sends upstream: the request bodies the real
//! Anthropic Messages API and the real OpenAI Chat Completions API refuse, written from
//! `shared/research/clients.md` (sections cited per rule) and the strict-request checklist that
//! `cursor.rs` had, not from the proxy's code. The fake upstreams in `support.rs` run every body
//! they receive through it and answer a refused one as the real API would (400 and its error
//! shape); the golden files of translated requests are checked with it too (`golden_upstream_
//! requests_are_accepted_by_the_strict_apis` below).
//!
//! Each problem names its rule, e.g. `anthropic/tool-use-answered: …`, so that a failing test says
//! which refusal the proxy ran into.

use serde_json::{json, Map, Value};
use std::collections::HashSet;
use std::path::PathBuf;

mod outputs; // structured output: JSON schemas for the answer, forced tools while thinking

/// The API a fake upstream path stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// `…/v1/messages`: Anthropic Messages.
    AnthropicMessages,
    /// `…/messages/count_tokens`: Anthropic token counting (the same body, minus the sampling fields).
    AnthropicCount,
    /// `…/chat/completions`: OpenAI Chat Completions.
    OpenAiChat,
}

impl Api {
    /// The API a request path (query string ignored) is checked against, if any.
    pub fn of(path: &str) -> Option<Api> {
        let path = path.split('?').next().unwrap_or("");
        if path.ends_with("/messages/count_tokens") {
            Some(Api::AnthropicCount)
        } else if path.ends_with("/v1/messages") {
            Some(Api::AnthropicMessages)
        } else if path.ends_with("/chat/completions") {
            Some(Api::OpenAiChat)
        } else {
            None
        }
    }

    /// The real API's refusal of a body with these problems: status and error body (clients.md
    /// §3.4 for Anthropic's shape, §5.1 for OpenAI's).
    pub fn refusal(self, problems: &[String]) -> (u16, Vec<u8>) {
        let message = format!("strict fake upstream refused the request: {}", problems.join("; "));
        let body = match self {
            Api::OpenAiChat => {
                json!({"error": {"message": message, "type": "invalid_request_error", "param": null, "code": null}})
            }
            _ => json!({"type": "error", "error": {"type": "invalid_request_error", "message": message}}),
        };
        (400, body.to_string().into_bytes())
    }
}

/// What the real API would refuse in this body (empty: accepted).
pub fn check(api: Api, body: &[u8]) -> Vec<String> {
    let v: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => return vec![format!("json: the body is not JSON ({e})")],
    };
    let Some(o) = v.as_object() else { return vec!["json: the body is not a JSON object".into()] };
    let mut p = Problems::default();
    match api {
        Api::AnthropicMessages => anthropic(o, false, &mut p),
        Api::AnthropicCount => anthropic(o, true, &mut p),
        Api::OpenAiChat => openai(o, &mut p),
    }
    p.0
}

#[derive(Default)]
struct Problems(Vec<String>);

impl Problems {
    fn add(&mut self, rule: &str, what: impl std::fmt::Display) {
        self.0.push(format!("{rule}: {what}"));
    }
}

fn nonempty_str(v: &Value) -> bool {
    v.as_str().is_some_and(|s| !s.is_empty())
}

fn type_of(block: &Value) -> &str {
    block.get("type").and_then(Value::as_str).unwrap_or("<no type>")
}

// ---------------------------------------------------------------------------------------------
// Anthropic Messages
// ---------------------------------------------------------------------------------------------

/// Top-level fields of `POST /v1/messages`; anything else is "Extra inputs are not permitted".
/// The last five are what Claude Code sends with its betas (clients.md §3.3).
const ANTHROPIC_TOP: &[&str] = &[
    "model",
    "messages",
    "max_tokens",
    "system",
    "metadata",
    "stop_sequences",
    "stream",
    "temperature",
    "top_p",
    "top_k",
    "tools",
    "tool_choice",
    "thinking",
    "service_tier",
    "container",
    "mcp_servers",
    "context_management",
    "output_config",
    "output_format",
];

/// Top-level fields of `POST /v1/messages/count_tokens` (no sampling or streaming fields).
const ANTHROPIC_COUNT_TOP: &[&str] = &[
    "model",
    "messages",
    "system",
    "tools",
    "tool_choice",
    "thinking",
    "mcp_servers",
    "context_management",
    "output_config",
    "output_format",
];

/// Content block types the Messages API knows in requests.
const ANTHROPIC_BLOCKS: &[&str] = &[
    "text",
    "image",
    "document",
    "search_result",
    "thinking",
    "redacted_thinking",
    "tool_use",
    "tool_result",
    "server_tool_use",
    "web_search_tool_result",
    "web_fetch_tool_result",
    "code_execution_tool_result",
    "bash_code_execution_tool_result",
    "text_editor_code_execution_tool_result",
    "mcp_tool_use",
    "mcp_tool_result",
    "container_upload",
];

/// What the proxy writes as the signature of a thinking block it made up (clients.md §3.5, §6.25).
pub const MINTED: &str = "gpt-reverse-proxy-minted-";

fn anthropic(o: &Map<String, Value>, count: bool, p: &mut Problems) {
    let top = if count { ANTHROPIC_COUNT_TOP } else { ANTHROPIC_TOP };
    for k in o.keys() {
        if !top.contains(&k.as_str()) {
            p.add("anthropic/unknown-field", format!("{k}: Extra inputs are not permitted"));
        }
    }
    if !nonempty_str(&o["model"]) {
        p.add("anthropic/model", "model: Field required (a non-empty string)");
    }
    if !count {
        match o.get("max_tokens") {
            None => p.add("anthropic/max-tokens", "max_tokens: Field required"),
            Some(m) if m.as_u64().is_none_or(|n| n < 1) => {
                p.add("anthropic/max-tokens", format!("max_tokens: must be an integer >= 1, got {m}"))
            }
            _ => {}
        }
        if let Some(t) = o.get("temperature") {
            if !t.as_f64().is_some_and(|t| (0.0..=1.0).contains(&t)) {
                p.add("anthropic/temperature", format!("temperature: must be a number in [0, 1], got {t}"));
            }
        }
        if let Some(s) = o.get("stop_sequences") {
            if !s.as_array().is_some_and(|a| a.iter().all(Value::is_string)) {
                p.add("anthropic/stop-sequences", format!("stop_sequences: must be a list of strings, got {s}"));
            }
        }
        if let Some(s) = o.get("stream") {
            if !s.is_boolean() {
                p.add("anthropic/stream", format!("stream: must be a boolean, got {s}"));
            }
        }
    }
    if let Some(s) = o.get("system") {
        match s {
            Value::String(_) => {}
            Value::Array(blocks) => {
                for (i, b) in blocks.iter().enumerate() {
                    if type_of(b) != "text" {
                        p.add("anthropic/system", format!("system.{i}: only text blocks, got {}", type_of(b)));
                    } else {
                        text_block(b, &format!("system.{i}"), p);
                    }
                }
            }
            other => p.add("anthropic/system", format!("system: a string or text blocks, got {other}")),
        }
    }
    anthropic_tools(o, p);
    anthropic_thinking(o, count, p);
    outputs::anthropic(o, p);
    let Some(messages) = o.get("messages").and_then(Value::as_array) else {
        p.add("anthropic/messages", "messages: Field required (a list)");
        return;
    };
    // Not checked: an empty list (the real API refuses it too, but the suite's minimal passthrough
    // bodies are `"messages":[]`, the client's own choice, not something the proxy made).
    for (i, m) in messages.iter().enumerate() {
        anthropic_message(m, i, i + 1 == messages.len(), p);
    }
    tool_pairing(messages, p);
}

fn text_block(b: &Value, at: &str, p: &mut Problems) {
    match b.get("text").and_then(Value::as_str) {
        None => p.add("anthropic/text-block", format!("{at}.text: Field required")),
        Some(t) if t.trim().is_empty() => {
            p.add("anthropic/empty-text", format!("{at}: text content blocks must contain non-whitespace text"))
        }
        _ => {}
    }
}

fn anthropic_message(m: &Value, i: usize, last: bool, p: &mut Problems) {
    let at = format!("messages.{i}");
    let Some(mo) = m.as_object() else {
        p.add("anthropic/message", format!("{at}: not an object"));
        return;
    };
    for k in mo.keys() {
        if k != "role" && k != "content" {
            p.add("anthropic/message-field", format!("{at}.{k}: Extra inputs are not permitted"));
        }
    }
    // `system` turns inside `messages`: Claude Code sends them (clients.md §3.3).
    let role = mo.get("role").and_then(Value::as_str).unwrap_or("");
    if !["user", "assistant", "system"].contains(&role) {
        p.add("anthropic/role", format!("{at}.role: unexpected role {role:?}"));
    }
    match mo.get("content") {
        Some(Value::String(s)) => {
            if s.is_empty() && !(last && role == "assistant") {
                p.add(
                    "anthropic/empty-content",
                    format!("{at}: all messages must have non-empty content except for the optional final assistant message"),
                );
            }
        }
        Some(Value::Array(blocks)) => {
            if blocks.is_empty() && !(last && role == "assistant") {
                p.add(
                    "anthropic/empty-content",
                    format!("{at}: all messages must have non-empty content except for the optional final assistant message"),
                );
            }
            for (j, b) in blocks.iter().enumerate() {
                anthropic_block(b, &format!("{at}.content.{j}"), role, p);
            }
        }
        other => p.add("anthropic/content", format!("{at}.content: a string or a list of blocks, got {other:?}")),
    }
}

fn anthropic_block(b: &Value, at: &str, role: &str, p: &mut Problems) {
    let t = type_of(b);
    if !ANTHROPIC_BLOCKS.contains(&t) {
        // image_url, input_text, input_image, refusal, …: parts of the OpenAI dialects (§1.3, §3.5).
        p.add("anthropic/foreign-block", format!("{at}: unknown content block type {t:?}"));
        return;
    }
    match t {
        "text" => text_block(b, at, p),
        "image" | "document" => match b.get("source") {
            Some(s) if s["type"] == "base64" && nonempty_str(&s["media_type"]) && s["data"].is_string() => {}
            Some(s) if s["type"] == "url" && nonempty_str(&s["url"]) => {}
            Some(s) if s["type"] == "file" && nonempty_str(&s["file_id"]) => {}
            Some(s) if t == "document" && (s["type"] == "text" || s["type"] == "content") => {}
            other => p.add("anthropic/image-source", format!("{at}.source: not a valid source: {other:?}")),
        },
        "thinking" => {
            if role != "assistant" {
                p.add("anthropic/block-role", format!("{at}: thinking blocks belong to assistant turns"));
            }
            if !b["thinking"].is_string() {
                p.add("anthropic/thinking", format!("{at}.thinking: Field required"));
            }
            match b.get("signature").and_then(Value::as_str) {
                None | Some("") => p.add("anthropic/thinking-signature", format!("{at}.signature: Field required")),
                Some(s) if s.starts_with(MINTED) => p.add(
                    "anthropic/minted-signature",
                    format!("{at}: Invalid `signature` in `thinking` block (the proxy minted it: {s})"),
                ),
                _ => {}
            }
        }
        "redacted_thinking" if !nonempty_str(&b["data"]) => {
            p.add("anthropic/thinking", format!("{at}.data: Field required"));
        }
        "tool_use" => {
            if role != "assistant" {
                p.add("anthropic/block-role", format!("{at}: tool_use blocks belong to assistant turns"));
            }
            if !nonempty_str(&b["id"]) || !nonempty_str(&b["name"]) || !b["input"].is_object() {
                p.add(
                    "anthropic/tool-use",
                    format!("{at}: tool_use needs a non-empty id and name and an object input: {b}"),
                );
            }
        }
        "tool_result" => {
            if role != "user" {
                p.add("anthropic/block-role", format!("{at}: tool_result blocks belong to user turns"));
            }
            if !nonempty_str(&b["tool_use_id"]) {
                p.add("anthropic/tool-result", format!("{at}.tool_use_id: Field required"));
            }
            match b.get("content") {
                None | Some(Value::String(_)) => {}
                Some(Value::Array(parts)) => {
                    for (k, part) in parts.iter().enumerate() {
                        let pt = type_of(part);
                        if !["text", "image", "document", "search_result"].contains(&pt) {
                            p.add("anthropic/foreign-block", format!("{at}.content.{k}: type {pt:?} in a tool_result"));
                        } else if pt == "text" {
                            text_block(part, &format!("{at}.content.{k}"), p);
                        }
                    }
                }
                Some(other) => p.add("anthropic/tool-result", format!("{at}.content: a string or blocks, got {other}")),
            }
        }
        _ => {}
    }
}

/// Turns as the API sees them: consecutive messages of one role are combined into one turn;
/// `system` entries are left out (they carry no tool blocks).
fn turns(messages: &[Value]) -> Vec<(usize, &str, Vec<&Value>)> {
    let mut out: Vec<(usize, &str, Vec<&Value>)> = Vec::new();
    for (i, m) in messages.iter().enumerate() {
        let role = m["role"].as_str().unwrap_or("");
        if role == "system" {
            continue;
        }
        let blocks: Vec<&Value> = m["content"].as_array().map(|a| a.iter().collect()).unwrap_or_default();
        match out.last_mut() {
            Some((_, r, b)) if *r == role => b.extend(blocks),
            _ => out.push((i, role, blocks)),
        }
    }
    out
}

/// tool_use / tool_result pairing (clients.md §3.3, §3.5): every tool_use in an assistant turn
/// is answered by a tool_result in the very next (user) turn, whose tool_result blocks come
/// before any other content, and every tool_result answers a tool_use of the turn before it.
fn tool_pairing(messages: &[Value], p: &mut Problems) {
    let turns = turns(messages);
    for (n, (i, role, blocks)) in turns.iter().enumerate() {
        let ids = |bs: &[&Value], t: &str, key: &str| -> Vec<String> {
            bs.iter().filter(|b| type_of(b) == t).filter_map(|b| b[key].as_str().map(String::from)).collect()
        };
        if *role == "assistant" {
            // A server tool's result comes in the same turn, right after its use.
            let served = ids(blocks, "web_search_tool_result", "tool_use_id");
            let unserved: Vec<String> =
                ids(blocks, "server_tool_use", "id").into_iter().filter(|u| !served.contains(u)).collect();
            if !unserved.is_empty() {
                p.add(
                    "anthropic/server-tool-result",
                    format!("messages.{i}: server_tool_use ids were found without a corresponding result block: {unserved:?}"),
                );
            }
            let uses = ids(blocks, "tool_use", "id");
            if uses.is_empty() {
                continue;
            }
            let answered: HashSet<String> = match turns.get(n + 1) {
                Some((_, "user", next)) => ids(next, "tool_result", "tool_use_id").into_iter().collect(),
                _ => HashSet::new(),
            };
            let missing: Vec<&String> = uses.iter().filter(|u| !answered.contains(*u)).collect();
            // A final assistant turn asks for tools and waits for them: nothing to answer yet.
            if !missing.is_empty() && n + 1 < turns.len() {
                p.add(
                    "anthropic/tool-use-answered",
                    format!("messages.{i}: tool_use ids were found without tool_result blocks immediately after: {missing:?}"),
                );
            }
        } else if *role == "user" {
            let results = ids(blocks, "tool_result", "tool_use_id");
            if results.is_empty() {
                continue;
            }
            let asked: HashSet<String> = match n.checked_sub(1).and_then(|k| turns.get(k)) {
                Some((_, "assistant", prev)) => ids(prev, "tool_use", "id").into_iter().collect(),
                _ => HashSet::new(),
            };
            let unknown: Vec<&String> = results.iter().filter(|r| !asked.contains(*r)).collect();
            if !unknown.is_empty() {
                p.add(
                    "anthropic/tool-result-matched",
                    format!("messages.{i}: unexpected tool_use_id found in tool_result blocks: {unknown:?}. Each tool_result block must have a corresponding tool_use block in the previous message"),
                );
            }
            let first_other = blocks.iter().position(|b| type_of(b) != "tool_result");
            let last_result = blocks.iter().rposition(|b| type_of(b) == "tool_result");
            if let (Some(o), Some(r)) = (first_other, last_result) {
                if o < r {
                    p.add(
                        "anthropic/tool-result-first",
                        format!("messages.{i}: tool_result blocks must come first in the content, before any text"),
                    );
                }
            }
        }
    }
}

fn anthropic_tools(o: &Map<String, Value>, p: &mut Problems) {
    if let Some(tools) = o.get("tools") {
        let Some(tools) = tools.as_array() else {
            p.add("anthropic/tools", "tools: must be a list");
            return;
        };
        let mut names = HashSet::new();
        for (i, t) in tools.iter().enumerate() {
            let ty = t.get("type").and_then(Value::as_str);
            let custom = ty.is_none_or(|ty| ty == "custom");
            // Server tools are typed and dated: web_search_20250305, bash_20250124, …
            let server = ty.is_some_and(|ty| {
                ty.rsplit('_').next().is_some_and(|d| d.len() == 8 && d.bytes().all(|c| c.is_ascii_digit()))
            });
            if !custom && !server {
                p.add(
                    "anthropic/tool-shape",
                    format!("tools.{i}: unknown tool type {ty:?} (an OpenAI-shaped tool?): {t}"),
                );
                continue;
            }
            if !nonempty_str(&t["name"]) {
                p.add("anthropic/tool-shape", format!("tools.{i}.name: Field required"));
            } else if !names.insert(t["name"].as_str().unwrap()) {
                p.add("anthropic/tool-shape", format!("tools: tool names must be unique ({})", t["name"]));
            }
            if ty.is_some_and(|ty| ty.starts_with("web_search_")) {
                web_search_tool(i, t, p);
            }
            if custom {
                if !t["input_schema"].is_object() {
                    p.add("anthropic/tool-shape", format!("tools.{i}.input_schema: Field required (an object)"));
                }
                for k in ["function", "parameters"] {
                    if t.get(k).is_some() {
                        p.add("anthropic/tool-shape", format!("tools.{i}.{k}: Extra inputs are not permitted"));
                    }
                }
            }
        }
    }
    if let Some(c) = o.get("tool_choice") {
        let ok = match c["type"].as_str() {
            Some("auto" | "any" | "none") => true,
            Some("tool") => nonempty_str(&c["name"]),
            _ => false,
        };
        if !ok {
            p.add("anthropic/tool-choice", format!("tool_choice: an object of type auto|any|tool|none, got {c}"));
        }
    }
}

/// Anthropic's web search tool (`web_search_20250305`, `web_search_20260209`) as the API takes it.
fn web_search_tool(i: usize, t: &Value, p: &mut Problems) {
    const KEYS: &[&str] = &[
        "type",
        "name",
        "max_uses",
        "allowed_domains",
        "blocked_domains",
        "user_location",
        "cache_control",
        "defer_loading",
        "strict",
        "allowed_callers",
    ];
    let mut bad: Vec<String> =
        t.as_object().into_iter().flatten().map(|(k, _)| k.clone()).filter(|k| !KEYS.contains(&k.as_str())).collect();
    if t["name"] != "web_search" {
        bad.push("name (must be web_search)".into());
    }
    if t.get("allowed_domains").is_some() && t.get("blocked_domains").is_some() {
        bad.push("allowed_domains with blocked_domains".into());
    }
    if let Some(loc) = t.get("user_location") {
        let fields = ["type", "city", "region", "country", "timezone"];
        let ok = loc["type"] == "approximate"
            && loc.as_object().is_some_and(|o| o.iter().all(|(k, v)| fields.contains(&k.as_str()) && v.is_string()));
        if !ok {
            bad.push(format!("user_location {loc}"));
        }
    }
    if t.get("max_uses").is_some_and(|n| n.as_u64().is_none_or(|n| n == 0)) {
        bad.push("max_uses".into());
    }
    for d in ["allowed_domains", "blocked_domains"] {
        if t.get(d).is_some_and(|l| !l.as_array().is_some_and(|l| l.iter().all(Value::is_string))) {
            bad.push(d.into());
        }
    }
    if !bad.is_empty() {
        p.add("anthropic/web-search-tool", format!("tools.{i}: web search tool: {}", bad.join(", ")));
    }
}

fn anthropic_thinking(o: &Map<String, Value>, count: bool, p: &mut Problems) {
    let Some(t) = o.get("thinking") else { return };
    match t["type"].as_str() {
        Some("enabled") => {
            let budget = t["budget_tokens"].as_u64();
            if budget.is_none_or(|b| b < 1024) {
                p.add("anthropic/thinking-config", format!("thinking.budget_tokens: an integer >= 1024, got {t}"));
            }
            if let (Some(b), Some(m), false) = (budget, o.get("max_tokens").and_then(Value::as_u64), count) {
                if m <= b {
                    p.add(
                        "anthropic/thinking-config",
                        format!("max_tokens ({m}) must be greater than thinking.budget_tokens ({b})"),
                    );
                }
            }
            if !count {
                thinking_sampling(o, p);
            }
        }
        // `adaptive`: what Claude Code sends (clients.md §3.3).
        Some("adaptive") => {
            if !count {
                thinking_sampling(o, p);
            }
        }
        Some("disabled") => {}
        _ => p.add("anthropic/thinking-config", format!("thinking: type enabled|adaptive|disabled, got {t}")),
    }
}

/// With thinking on, temperature may only be 1 and top_k may not be set.
fn thinking_sampling(o: &Map<String, Value>, p: &mut Problems) {
    if o.get("temperature").is_some_and(|t| t.as_f64() != Some(1.0)) {
        p.add("anthropic/thinking-sampling", "temperature may only be set to 1 when thinking is enabled");
    }
    if o.get("top_k").is_some() {
        p.add("anthropic/thinking-sampling", "top_k may not be set when thinking is enabled");
    }
}

// ---------------------------------------------------------------------------------------------
// OpenAI Chat Completions
// ---------------------------------------------------------------------------------------------

/// Top-level fields of `POST /v1/chat/completions` (the checklist from cursor.rs, plus the legacy
/// `functions` / `function_call` and `web_search_options`); anything else is "Unrecognized
/// request argument supplied".
const OPENAI_TOP: &[&str] = &[
    "model",
    "messages",
    "frequency_penalty",
    "logit_bias",
    "logprobs",
    "top_logprobs",
    "max_tokens",
    "max_completion_tokens",
    "n",
    "presence_penalty",
    "response_format",
    "seed",
    "service_tier",
    "stop",
    "stream",
    "stream_options",
    "temperature",
    "top_p",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "user",
    "reasoning_effort",
    "metadata",
    "store",
    "verbosity",
    "prompt_cache_key",
    "prompt_cache_retention",
    "safety_identifier",
    "prediction",
    "modalities",
    "audio",
    "web_search_options",
    "functions",
    "function_call",
];

fn openai(o: &Map<String, Value>, p: &mut Problems) {
    for k in o.keys() {
        if !OPENAI_TOP.contains(&k.as_str()) {
            p.add("openai/unknown-field", format!("Unrecognized request argument supplied: {k}"));
        }
    }
    if !nonempty_str(&o["model"]) {
        p.add("openai/model", "model: a non-empty string is required");
    }
    if o.contains_key("max_tokens") && o.contains_key("max_completion_tokens") {
        p.add("openai/max-tokens", "max_tokens and max_completion_tokens cannot both be set");
    }
    if o.contains_key("stream_options") && o.get("stream") != Some(&Value::Bool(true)) {
        p.add("openai/stream-options", "The 'stream_options' parameter is only allowed when 'stream' is enabled");
    }
    if let Some(tools) = o.get("tools") {
        match tools.as_array() {
            Some(a) if a.is_empty() => p.add("openai/empty-tools", "tools: [] is too short (clients.md §4.3)"),
            Some(a) => {
                for (i, t) in a.iter().enumerate() {
                    let ok = match t["type"].as_str() {
                        Some("function") => {
                            nonempty_str(&t["function"]["name"])
                                && t["function"].get("parameters").is_none_or(Value::is_object)
                                && t.as_object().unwrap().keys().all(|k| k == "type" || k == "function")
                        }
                        Some("custom") => nonempty_str(&t["custom"]["name"]),
                        _ => false,
                    };
                    if !ok {
                        p.add("openai/tool-shape", format!("tools.{i}: not a Chat Completions tool: {t}"));
                    }
                }
            }
            None => p.add("openai/tool-shape", "tools: must be a list"),
        }
    }
    if let Some(c) = o.get("tool_choice") {
        let ok = match c {
            Value::String(s) => ["none", "auto", "required"].contains(&s.as_str()),
            Value::Object(_) => match c["type"].as_str() {
                Some("function") => nonempty_str(&c["function"]["name"]),
                Some("custom") => nonempty_str(&c["custom"]["name"]),
                Some("allowed_tools") => c["allowed_tools"].is_object(),
                _ => false,
            },
            _ => false,
        };
        if !ok {
            // {"type":"any"} and {"type":"tool"} are Anthropic's (clients.md §1.3, §3.5).
            p.add("openai/tool-choice", format!("tool_choice: none|auto|required or a function choice, got {c}"));
        }
    }
    let Some(messages) = o.get("messages").and_then(Value::as_array) else {
        p.add("openai/messages", "messages: a list is required");
        return;
    };
    outputs::openai(o, p);
    for (i, m) in messages.iter().enumerate() {
        openai_message(m, i, p);
    }
    openai_tool_pairing(messages, p);
}

fn openai_message(m: &Value, i: usize, p: &mut Problems) {
    let at = format!("messages.{i}");
    let Some(mo) = m.as_object() else {
        p.add("openai/message", format!("{at}: not an object"));
        return;
    };
    let role = mo.get("role").and_then(Value::as_str).unwrap_or("");
    let (keys, parts): (&[&str], &[&str]) = match role {
        "system" | "developer" => (&["role", "content", "name"], &["text"]),
        "user" => (&["role", "content", "name"], &["text", "image_url", "input_audio", "file"]),
        "assistant" => {
            (&["role", "content", "name", "tool_calls", "refusal", "audio", "function_call"], &["text", "refusal"])
        }
        "tool" => (&["role", "content", "tool_call_id"], &["text"]),
        "function" => (&["role", "content", "name"], &[]),
        _ => {
            p.add("openai/role", format!("{at}.role: unknown role {role:?}"));
            return;
        }
    };
    for k in mo.keys() {
        if !keys.contains(&k.as_str()) {
            // copilot_cache_control, cot_summary, reasoning_content, thinking, …: clients.md §2.3.
            p.add(
                "openai/message-field",
                format!("{at}.{k}: Additional properties are not allowed for a {role} message"),
            );
        }
    }
    match mo.get("content") {
        Some(Value::String(_)) => {}
        None | Some(Value::Null) => {
            let calls = mo.get("tool_calls").is_some() || mo.get("function_call").is_some();
            if role != "assistant" || !calls {
                p.add(
                    "openai/content",
                    format!("{at}.content: required for a {role} message (null only beside tool_calls)"),
                );
            }
        }
        Some(Value::Array(list)) => {
            if list.is_empty() {
                p.add("openai/content", format!("{at}.content: [] is too short"));
            }
            for (j, part) in list.iter().enumerate() {
                let t = type_of(part);
                let pat = format!("{at}.content.{j}");
                if !parts.contains(&t) {
                    // tool_use, tool_result, image with source, input_text: other dialects (§1.3).
                    p.add(
                        "openai/foreign-part",
                        format!("{pat}: content part type {t:?} is not allowed in a {role} message"),
                    );
                    continue;
                }
                match t {
                    "text" if !part["text"].is_string() => p.add("openai/part", format!("{pat}.text: required")),
                    "image_url" => {
                        let iu = &part["image_url"];
                        if !nonempty_str(&iu["url"]) {
                            p.add("openai/part", format!("{pat}.image_url.url: required"));
                        }
                        for k in iu.as_object().into_iter().flat_map(|o| o.keys()) {
                            if k != "url" && k != "detail" {
                                p.add(
                                    "openai/part",
                                    format!("{pat}.image_url.{k}: Additional properties are not allowed"),
                                );
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        Some(other) => p.add("openai/content", format!("{at}.content: a string, a list of parts or null, got {other}")),
    }
    if let Some(calls) = mo.get("tool_calls") {
        let Some(calls) = calls.as_array().filter(|a| !a.is_empty()) else {
            p.add("openai/tool-calls", format!("{at}.tool_calls: a non-empty list"));
            return;
        };
        for (k, tc) in calls.iter().enumerate() {
            let ok = nonempty_str(&tc["id"])
                && tc["type"] == "function"
                && nonempty_str(&tc["function"]["name"])
                && tc["function"]["arguments"].is_string();
            if !ok {
                p.add(
                    "openai/tool-calls",
                    format!(
                        "{at}.tool_calls.{k}: needs a non-empty id and name, type function and string arguments: {tc}"
                    ),
                );
            }
        }
    }
}

/// `role: tool` answers a `tool_calls` id of the assistant message just before its run of tool
/// messages, and every such id is answered before the next other message (clients.md §3.5, §6.10).
fn openai_tool_pairing(messages: &[Value], p: &mut Problems) {
    let mut open: Vec<String> = Vec::new(); // ids of the latest assistant tool_calls, unanswered
    let mut asked: HashSet<String> = HashSet::new();
    let mut asked_at = 0;
    let mut in_run = false;
    let unanswered = |open: &[String], at: usize, p: &mut Problems| {
        if !open.is_empty() {
            p.add(
                "openai/tool-calls-answered",
                format!("messages.{at}: An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: {open:?}"),
            );
        }
    };
    for (i, m) in messages.iter().enumerate() {
        let role = m["role"].as_str().unwrap_or("");
        if role == "tool" {
            let id = m["tool_call_id"].as_str().unwrap_or("");
            if !in_run || !asked.contains(id) {
                p.add(
                    "openai/tool-message-matched",
                    format!("messages.{i}: messages with role 'tool' must be a response to a preceding message with 'tool_calls' (tool_call_id {id:?})"),
                );
            }
            open.retain(|o| o != id);
            continue;
        }
        unanswered(&open, asked_at, p);
        open.clear();
        asked.clear();
        in_run = false;
        if role == "assistant" {
            for tc in m["tool_calls"].as_array().into_iter().flatten() {
                if let Some(id) = tc["id"].as_str() {
                    open.push(id.to_string());
                    asked.insert(id.to_string());
                }
            }
            in_run = !asked.is_empty();
            asked_at = i;
        }
    }
    // A final assistant message with tool_calls: OpenAI refuses it too (nothing answers it).
    unanswered(&open, asked_at, p);
}

// ---------------------------------------------------------------------------------------------
// Tests of the oracle itself, and of the golden files with it
// ---------------------------------------------------------------------------------------------

/// Golden cases whose upstream request the real API refuses today: (case, rule). Each is a
/// finding about the proxy, tolerated here and in `translate.rs` until it is fixed.
pub const GOLDEN_FINDINGS: &[(&str, &str)] = &[];

fn problems(api: Api, v: Value) -> Vec<String> {
    check(api, v.to_string().as_bytes())
}

fn rules(api: Api, v: Value) -> Vec<String> {
    problems(api, v).into_iter().map(|p| p.split(':').next().unwrap().to_string()).collect()
}

/// The translated requests in `fixtures/translate/*/upstream_request.golden.json` were written
/// by the proxy itself; each must still be a body its upstream's real API accepts.
#[test]
fn golden_upstream_requests_are_accepted_by_the_strict_apis() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/translate");
    let mut seen = 0;
    for e in std::fs::read_dir(&root).unwrap().flatten() {
        let golden = e.path().join("upstream_request.golden.json");
        let meta: Value = serde_json::from_slice(&std::fs::read(e.path().join("meta.json")).unwrap()).unwrap();
        let path = meta["upstream_path"].as_str().unwrap();
        let api = Api::of(path).unwrap_or_else(|| panic!("{}: no strict API for {path}", e.path().display()));
        let body = std::fs::read(&golden).unwrap_or_else(|x| panic!("{}: {x}", golden.display()));
        let case = e.file_name().to_string_lossy().to_string();
        let known: Vec<&str> = GOLDEN_FINDINGS.iter().filter(|(c, _)| *c == case).map(|(_, r)| *r).collect();
        let found: Vec<String> =
            check(api, &body).into_iter().filter(|p| !known.iter().any(|r| p.starts_with(&format!("{r}:")))).collect();
        assert!(
            found.is_empty(),
            "{} would be refused by the real API ({api:?}):\n{}",
            golden.display(),
            found.join("\n")
        );
        seen += 1;
    }
    assert!(seen >= 11, "found {seen} golden upstream requests");
}

#[test]
fn the_oracle_accepts_well_formed_bodies() {
    let claude_code = json!({"model": "claude-x", "max_tokens": 32000, "stream": true,
        "system": [{"type": "text", "text": "sys", "cache_control": {"type": "ephemeral"}}],
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "read hello.txt"}]},
            {"role": "system", "content": "# Environment"},
            {"role": "assistant", "content": [{"type": "thinking", "thinking": "hm", "signature": "EqQBCkYIBxgCKkA"},
                {"type": "tool_use", "id": "toolu_1", "name": "Read", "input": {"file_path": "hello.txt"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "hello"},
                {"type": "text", "text": "go on"}]}],
        "tools": [{"name": "Read", "input_schema": {"type": "object"}, "defer_loading": true},
            {"type": "web_search_20250305", "name": "web_search", "max_uses": 5, "allowed_domains": ["a.org"],
             "user_location": {"type": "approximate", "city": "Oslo", "country": "NO"}}],
        "metadata": {"user_id": "u"}, "thinking": {"type": "adaptive"},
        "context_management": {"edits": []}, "output_config": {"effort": "medium"}});
    assert_eq!(problems(Api::AnthropicMessages, claude_code), Vec::<String>::new());
    let prefill = json!({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": ""}]});
    assert_eq!(problems(Api::AnthropicMessages, prefill), Vec::<String>::new());
    let count = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}], "tools": []});
    assert_eq!(problems(Api::AnthropicCount, count), Vec::<String>::new());
    let openai = json!({"model": "gpt", "stream": true, "stream_options": {"include_usage": true}, "max_completion_tokens": 5,
        "messages": [{"role": "system", "content": "s"}, {"role": "user", "content": [{"type": "text", "text": "x"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA", "detail": "low"}}]},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}},
                {"id": "c2", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "c2", "content": "a"}, {"role": "tool", "tool_call_id": "c1", "content": "b"},
            {"role": "assistant", "content": "done"}],
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}], "tool_choice": "required"});
    assert_eq!(problems(Api::OpenAiChat, openai), Vec::<String>::new());
}

#[test]
fn the_oracle_refuses_what_the_real_apis_refuse() {
    let a = |v: Value| rules(Api::AnthropicMessages, v);
    let user = json!({"role": "user", "content": "hi"});
    assert_eq!(a(json!({"model": "m", "messages": [user]})), ["anthropic/max-tokens"]);
    assert_eq!(a(json!({"model": "m", "max_tokens": 1, "messages": [user], "n": 1})), ["anthropic/unknown-field"]);
    assert_eq!(
        a(
            json!({"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": [{"type": "text", "text": ""}]}]})
        ),
        ["anthropic/empty-text"]
    );
    assert_eq!(
        a(
            json!({"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]})
        ),
        ["anthropic/foreign-block"]
    );
    assert_eq!(
        a(
            json!({"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": [{"type": "input_text", "text": "x"}]}]})
        ),
        ["anthropic/foreign-block"]
    );
    let tool_use =
        json!({"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "f", "input": {}}]});
    assert_eq!(
        a(json!({"model": "m", "max_tokens": 1, "messages": [user, tool_use, {"role": "user", "content": "next"}]})),
        ["anthropic/tool-use-answered"]
    );
    let result = json!({"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t9", "content": "r"}]});
    assert_eq!(
        a(json!({"model": "m", "max_tokens": 1, "messages": [user, {"role": "assistant", "content": "ok"}, result]})),
        ["anthropic/tool-result-matched"]
    );
    let minted = json!({"role": "assistant", "content": [{"type": "thinking", "thinking": "t", "signature": "gpt-reverse-proxy-minted-1"}, {"type": "text", "text": "a"}]});
    assert_eq!(
        a(json!({"model": "m", "max_tokens": 1, "messages": [user, minted, user]})),
        ["anthropic/minted-signature"]
    );
    assert_eq!(
        a(
            json!({"model": "m", "max_tokens": 1, "messages": [user], "tools": [{"type": "function", "function": {"name": "f"}}]})
        ),
        ["anthropic/tool-shape"]
    );
    assert_eq!(
        a(json!({"model": "m", "max_tokens": 1, "messages": [user], "tool_choice": "required"})),
        ["anthropic/tool-choice"]
    );
    let search = |t: Value| a(json!({"model": "m", "max_tokens": 1, "messages": [user], "tools": [t]}));
    for bad in [
        json!({"type": "web_search_20250305", "name": "search"}),
        json!({"type": "web_search_20250305", "name": "web_search", "external_web_access": false}),
        json!({"type": "web_search_20250305", "name": "web_search", "allowed_domains": ["a"], "blocked_domains": ["b"]}),
        json!({"type": "web_search_20250305", "name": "web_search", "user_location": {"type": "approximate", "approximate": {}}}),
    ] {
        assert_eq!(search(bad.clone()), ["anthropic/web-search-tool"], "{bad}");
    }
    let searched = json!({"role": "assistant", "content": [
        {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "q"}}, {"type": "text", "text": "a"}]});
    assert_eq!(
        a(json!({"model": "m", "max_tokens": 1, "messages": [user, searched, user]})),
        ["anthropic/server-tool-result"]
    );
    assert_eq!(
        rules(Api::AnthropicCount, json!({"model": "m", "max_tokens": 1, "messages": [user]})),
        ["anthropic/unknown-field"]
    );

    let o = |v: Value| rules(Api::OpenAiChat, v);
    let msg = |m: Value| json!({"model": "m", "messages": [m]});
    assert_eq!(
        o(msg(json!({"role": "user", "content": [{"type": "tool_result", "tool_use_id": "x", "content": "r"}]}))),
        ["openai/foreign-part"]
    );
    assert_eq!(
        o(msg(
            json!({"role": "user", "content": [{"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AA"}}]})
        )),
        ["openai/foreign-part"]
    );
    assert_eq!(o(msg(json!({"role": "tool", "tool_call_id": "x", "content": "r"}))), ["openai/tool-message-matched"]);
    assert_eq!(o(msg(json!({"role": "critic", "content": "r"}))), ["openai/role"]);
    assert_eq!(
        o(json!({"model": "m", "messages": [user], "max_tokens": 1, "max_completion_tokens": 1})),
        ["openai/max-tokens"]
    );
    assert_eq!(o(json!({"model": "m", "messages": [user], "tools": []})), ["openai/empty-tools"]);
    assert_eq!(o(json!({"model": "m", "messages": [user], "tool_choice": {"type": "any"}})), ["openai/tool-choice"]);
    let empty_id = json!({"role": "assistant", "content": null, "tool_calls": [{"id": "", "type": "function", "function": {"name": "f", "arguments": "{}"}}]});
    assert_eq!(
        o(json!({"model": "m", "messages": [user, empty_id, {"role": "tool", "tool_call_id": "", "content": "r"}]})),
        ["openai/tool-calls"]
    );
    let unanswered = json!({"role": "assistant", "content": null, "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}]});
    assert_eq!(o(json!({"model": "m", "messages": [user, unanswered, user]})), ["openai/tool-calls-answered"]);
    assert_eq!(o(json!({"model": "m", "messages": [user], "input": []})), ["openai/unknown-field"]);
    let open = json!({"type": "object", "properties": {"a": {"type": "integer", "minimum": 1}}});
    let strict = json!({"type": "json_schema", "json_schema": {"name": "n", "strict": true, "schema": open}});
    assert_eq!(o(json!({"model": "m", "messages": [user], "response_format": strict})), ["openai/strict-schema"]);
    let format = json!({"format": {"type": "json_schema", "schema": open}});
    assert_eq!(
        a(json!({"model": "m", "max_tokens": 1, "messages": [user], "output_config": format})),
        ["anthropic/output-format", "anthropic/output-format"]
    );
    let forced = json!({"model": "m", "max_tokens": 2000, "messages": [user], "thinking": {"type": "enabled", "budget_tokens": 1024},
        "tools": [{"name": "f", "input_schema": {"type": "object"}}], "tool_choice": {"type": "tool", "name": "f"}});
    assert_eq!(a(forced), ["anthropic/thinking-tool-choice"]);
}

/// The fake upstreams themselves: a refused body gets the real API's 400 and error shape, is
/// recorded, and fails the test when the upstream is dropped; a lenient upstream only records.
#[test]
fn a_strict_fake_upstream_refuses_like_the_real_api_and_fails_the_test_loudly() {
    use crate::support::*;
    let bad = r#"{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]}"#;
    let up = FakeUpstream::replay(|| Script::json(200, b"{}"));
    let r = call("POST", &format!("{}/v1/messages?beta=true", up.url()), &[], bad);
    assert_eq!(r.status, 400);
    assert_eq!(
        (r.json()["type"].as_str(), r.json()["error"]["type"].as_str()),
        (Some("error"), Some("invalid_request_error"))
    );
    let r =
        call("POST", &format!("{}/v1/chat/completions", up.url()), &[], r#"{"model":"m","messages":[],"tools":[]}"#);
    assert_eq!((r.status, r.json()["error"]["type"].as_str()), (400, Some("invalid_request_error")));
    assert!(r.json()["error"].get("param").is_some() && r.json()["error"].get("code").is_some());
    let rules: Vec<String> = up
        .violations()
        .iter()
        .flat_map(|v| v.problems.clone())
        .map(|p| p.split(':').next().unwrap().to_string())
        .collect();
    assert_eq!(rules, ["anthropic/max-tokens", "anthropic/foreign-block", "openai/empty-tools"]);
    let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(up)));
    assert!(dropped.is_err(), "dropping a strict upstream that saw a refused body fails the test");

    let up = FakeUpstream::replay(|| Script::json(200, b"{}")).lenient();
    let r = call("POST", &format!("{}/v1/messages", up.url()), &[], bad);
    assert_eq!(r.status, 200, "a lenient upstream answers with its script");
    assert_eq!(up.violations().len(), 1);
}

/// One client body through the proxy to a strict upstream of `provider`: the body that arrives
/// must be one the real API accepts (the upstream's drop fails the test otherwise).
fn through(provider: &str, path: &str, body: Value) {
    through_expecting(provider, path, body, &[]);
}

/// [`through`], tolerating violations of `known` rules (findings, each with its FIXME).
fn through_expecting(provider: &str, path: &str, body: Value, known: &[&'static str]) {
    use crate::support::*;
    let answer = if provider == "openai" {
        fixture("upstream/chat.json")
    } else {
        fixture("translate/openai-to-anthropic-json-tool-history/upstream_response.json")
    };
    let up = FakeUpstream::replay(move || Script::json(200, &answer));
    let up = known.iter().fold(up, |up, rule| up.expect_violation(rule));
    let base = if provider == "openai" { format!("{}/v1", up.url()) } else { up.url() };
    let proxy = Proxy::start(&models_yaml(&[("*", &format!("{provider}/*"), &base)]), &[]);
    post(&proxy, path, "", &body.to_string());
    assert_eq!(up.requests().len(), 1, "{provider} {path}: one upstream request");
}

/// The client shapes `clients.md` describes (Copilot §2.3, Cursor §1.3, Ollama §4.3, Claude
/// Code §3.3), sent across dialects: what each upstream receives passes the strict oracle.
#[test]
fn client_shapes_from_the_research_reach_each_upstream_as_bodies_it_accepts() {
    let calls = json!([{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]);
    let tools = json!([{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]);
    // Copilot (§2.3): empty assistant content beside tool_calls, extra message keys, media_type
    // inside image_url; plus OpenAI-only sampling fields and an out-of-range temperature.
    let copilot = json!({"model": "claude-x", "messages": [
        {"role": "system", "content": "s"}, {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "", "tool_calls": calls, "copilot_cache_control": {"type": "ephemeral"}},
        {"role": "tool", "tool_call_id": "c1", "content": ""},
        {"role": "user", "content": [{"type": "text", "text": "go"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA", "media_type": "image/png"}}]}],
        "tools": tools, "temperature": 1.5, "n": 1, "user": "u", "seed": 1, "stop": "END", "frequency_penalty": 0.1,
        "response_format": {"type": "text"}, "tool_choice": "required", "parallel_tool_calls": false});
    through("anthropic", "/v1/chat/completions", copilot.clone());
    // Copilot's `image_url.media_type` is stripped like `copilot_cache_control` (§2.3, §6.15).
    through("openai", "/v1/chat/completions", copilot);
    // Copilot's extra per-message keys alone (§2.3, §6.15).
    let extras = json!({"model": "m", "stream": true, "stream_options": {"include_usage": true}, "messages": [
        {"role": "user", "content": "hi", "copilot_cache_control": {"type": "ephemeral"}},
        {"role": "assistant", "content": "a", "cot_id": "x", "cot_summary": "s", "reasoning_text": "r", "reasoning_opaque": "o"},
        {"role": "user", "content": "go", "copilot_references": []}]});
    through("openai", "/v1/chat/completions", extras.clone());
    through("anthropic", "/v1/chat/completions", extras);
    // Copilot right-trims each text part (§2.3), so a part can be empty: Anthropic refuses
    // empty text blocks, so they are dropped.
    let empty_part = json!({"model": "claude-x", "messages": [{"role": "user", "content": [
        {"type": "text", "text": ""}, {"type": "text", "text": "x"}]}]});
    through("anthropic", "/v1/chat/completions", empty_part.clone());
    through("openai", "/v1/chat/completions", empty_part);
    // Cursor (§1.5): a replayed assistant turn with reasoning_content, an empty last user turn.
    let replay = json!({"model": "claude-x", "tools": [], "messages": [{"role": "user", "content": "hi"},
        {"role": "assistant", "content": "ok", "reasoning_content": "thought"}, {"role": "user", "content": ""}]});
    through("anthropic", "/v1/chat/completions", replay);
    // Cursor (§1.3, dialect 2): a Responses-shaped body with a custom grammar tool.
    let responses = json!({"model": "gpt-5", "input": [{"role": "user", "content": [{"type": "input_text", "text": "fix"}]},
            {"type": "function_call", "call_id": "c9", "name": "f", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c9", "output": "r"}],
        "instructions": "be good", "max_output_tokens": 100, "store": false, "include": ["reasoning.encrypted_content"],
        "reasoning": {"effort": "medium", "summary": "auto"},
        "tools": [{"type": "custom", "name": "ApplyPatch", "format": {"type": "grammar", "syntax": "lark", "definition": "start: /.+/"}},
            {"type": "function", "name": "f", "parameters": {"type": "object"}}]});
    through("anthropic", "/v1/chat/completions", responses.clone());
    through("openai", "/v1/chat/completions", responses);
    // Cursor (§1.3, dialect 4): Anthropic blocks inside OpenAI messages, tool_choice {"type":"any"}.
    let flavoured = json!({"model": "claude-x", "messages": [{"role": "user", "content": "hi"},
        {"role": "assistant", "content": [{"type": "text", "text": "t"}, {"type": "tool_use", "id": "tu1", "name": "f", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "tu1", "content": "r"}, {"type": "text", "text": "next"}]}],
        "tools": [{"name": "f", "input_schema": {"type": "object"}}], "tool_choice": {"type": "any"}});
    through("openai", "/v1/chat/completions", flavoured.clone());
    through("anthropic", "/v1/chat/completions", flavoured);
    // Ollama (§4.3): `tools: []` always, images, object arguments, tool results by name.
    let ollama = json!({"model": "m", "stream": false, "tools": [], "think": true,
        "options": {"temperature": 0.3, "num_predict": 50}, "messages": [{"role": "user", "content": "hi", "images": ["AA=="]},
        {"role": "assistant", "tool_calls": [{"function": {"name": "f", "arguments": {"a": 1}}}]},
        {"role": "tool", "tool_name": "f", "content": "r"}, {"role": "user", "content": "ok"}]});
    through("anthropic", "/ollama/api/chat", ollama.clone());
    through("openai", "/ollama/api/chat", ollama);
    // Claude Code (§3.3) on an OpenAI upstream: thinking, top_k, a forced tool, metadata, `tools` empty.
    let cc = json!({"model": "m", "max_tokens": 100, "thinking": {"type": "enabled", "budget_tokens": 2000},
        "messages": [{"role": "user", "content": "hi"}, {"role": "system", "content": "# Environment"},
            {"role": "assistant", "content": [{"type": "text", "text": "a"}, {"type": "tool_use", "id": "t1", "name": "f", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": [{"type": "text", "text": "r"}]}]}],
        "tools": [{"name": "f", "input_schema": {"type": "object"}}], "tool_choice": {"type": "tool", "name": "f"},
        "top_k": 5, "stop_sequences": ["X"], "metadata": {"user_id": "u"}, "context_management": {"edits": []},
        "output_config": {"effort": "medium"}});
    through("openai", "/v1/messages", cc);
    through(
        "openai",
        "/v1/messages",
        json!({"model": "m", "max_tokens": 9, "stream": true, "tools": [],
        "messages": [{"role": "user", "content": "hi"}]}),
    );
}
