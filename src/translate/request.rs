//! Request bodies across dialects: Chat Completions → Messages (OpenAI clients on Anthropic
//! deployments) and Messages → Chat Completions (Anthropic clients on OpenAI deployments).

use super::structured::without_meta;
use super::{Target, MINTED_SIGNATURE};
use serde_json::{json, Map, Value};

/// `max_tokens` when an OpenAI client sends none (Anthropic requires one) and `model_info`
/// gives no `max_output_tokens`.
pub const DEFAULT_MAX_TOKENS: u64 = 8192;

/// Anthropic's smallest thinking budget.
const MIN_THINKING_BUDGET: u64 = 1024;

/// The text of OpenAI content: a string, or the `text` of its text parts joined by newlines.
fn openai_text(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(parts) => {
            parts.iter().filter_map(|p| p.get("text").and_then(Value::as_str)).collect::<Vec<_>>().join("\n")
        }
        _ => String::new(),
    }
}

/// `data:<media>;base64,<data>` → Anthropic's base64 source; any other URL → a URL source.
fn image_source(url: &str) -> Value {
    if let Some(rest) = url.strip_prefix("data:") {
        if let Some((meta, data)) = rest.split_once(',') {
            let media = meta.strip_suffix(";base64").unwrap_or(meta);
            return json!({"type": "base64", "media_type": media, "data": data});
        }
    }
    json!({"type": "url", "url": url})
}

/// OpenAI content (string or parts) → Anthropic content blocks.
fn blocks_from_openai(content: &Value) -> Vec<Value> {
    match content {
        Value::String(s) if s.is_empty() => vec![],
        Value::String(s) => vec![json!({"type": "text", "text": s})],
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| match p.get("type").and_then(Value::as_str) {
                // Anthropic refuses empty text blocks; Copilot's trimmed parts can be empty.
                Some("text") => {
                    let text = p.get("text").and_then(Value::as_str).filter(|t| !t.trim().is_empty())?;
                    Some(json!({"type": "text", "text": text}))
                }
                Some("image_url") => {
                    let url = p.pointer("/image_url/url").or(p.get("image_url")).and_then(Value::as_str)?;
                    Some(json!({"type": "image", "source": image_source(url)}))
                }
                Some("file") => {
                    let data = p.pointer("/file/file_data").and_then(Value::as_str)?;
                    Some(json!({"type": "document", "source": image_source(data)}))
                }
                _ => None,
            })
            .collect(),
        _ => vec![],
    }
}

/// Adds a message, merging it into the previous one when the role repeats (Anthropic wants
/// alternating turns; consecutive tool results become one user turn).
fn push_turn(messages: &mut Vec<Value>, role: &str, mut blocks: Vec<Value>) {
    if blocks.is_empty() {
        return;
    }
    match messages.last_mut().filter(|last| last["role"] == role).and_then(|last| last["content"].as_array_mut()) {
        Some(existing) => existing.append(&mut blocks),
        None => messages.push(json!({"role": role, "content": blocks})),
    }
}

/// Chat Completions request → Messages request for `t`.
pub fn openai_to_anthropic(body: &Value, t: &Target) -> Value {
    let (system, messages) = anthropic_turns(body);
    let (max_tokens, thinking) = anthropic_limits(body, t);
    // Extended thinking refuses a custom temperature; without it, OpenAI's 0–2 becomes 0–1.
    let plain = thinking.is_none();
    let sampling = |k: &str| body.get(k).filter(|v| plain && v.is_number());
    let stop = match body.get("stop") {
        Some(Value::String(s)) => Some(json!([s])),
        Some(Value::Array(a)) if !a.is_empty() => Some(Value::Array(a.clone())),
        _ => None,
    };
    let mut out = super::object_of([
        ("model", Some(t.model.into())),
        ("max_tokens", Some(max_tokens.into())),
        ("system", (!system.is_empty()).then_some(Value::Array(system))),
        ("messages", Some(Value::Array(messages))),
        ("thinking", thinking),
        ("temperature", sampling("temperature").and_then(Value::as_f64).map(|temp| json!(temp.min(1.0)))),
        ("top_p", sampling("top_p").cloned()),
        ("stop_sequences", stop),
        ("stream", body.get("stream").filter(|v| v.is_boolean()).cloned()),
        ("metadata", body.get("user").and_then(Value::as_str).map(|u| json!({"user_id": u}))),
    ]);
    // Web search can be turned off for a deployment (a model or organisation without it).
    let search = !t.dropped().any(|k| k == "web_search_options");
    anthropic_tools(body, &mut out, search);
    super::structured::to_anthropic(body, t, &mut out);
    Value::Object(out)
}

/// An OpenAI conversation as Anthropic's system blocks and alternating turns.
fn anthropic_turns(body: &Value) -> (Vec<Value>, Vec<Value>) {
    let mut system: Vec<Value> = Vec::new();
    let mut messages: Vec<Value> = Vec::new();
    for m in body.get("messages").and_then(Value::as_array).into_iter().flatten() {
        let content = m.get("content").unwrap_or(&Value::Null);
        match m.get("role").and_then(Value::as_str).unwrap_or("user") {
            // Anthropic keeps system text apart; mid-conversation ones are kept, in order, there.
            "system" | "developer" => {
                let text = openai_text(content);
                if !text.is_empty() {
                    system.push(json!({"type": "text", "text": text}));
                }
            }
            "assistant" => {
                let mut blocks = blocks_from_openai(content);
                blocks.retain(|b| b["type"] == "text");
                let calls = m.get("tool_calls").and_then(Value::as_array).into_iter().flatten();
                blocks.extend(calls.map(super::response::tool_use_block));
                push_turn(&mut messages, "assistant", blocks);
            }
            "tool" | "function" => {
                let id = m.get("tool_call_id").or(m.get("name")).cloned().unwrap_or_default();
                let content = match content {
                    Value::Array(_) => Value::Array(blocks_from_openai(content)),
                    other => Value::String(openai_text(other)),
                };
                let result = json!({"type": "tool_result", "tool_use_id": id, "content": content});
                push_turn(&mut messages, "user", vec![result]);
            }
            _ => push_turn(&mut messages, "user", blocks_from_openai(content)),
        }
    }
    (system, messages)
}

/// Anthropic's `max_tokens` and `thinking` from OpenAI's caps and reasoning effort.
fn anthropic_limits(body: &Value, t: &Target) -> (u64, Option<Value>) {
    let asked = body.get("max_completion_tokens").or(body.get("max_tokens")).and_then(Value::as_u64);
    let mut max_tokens = asked.unwrap_or(DEFAULT_MAX_TOKENS).min(t.info.max_output_tokens.unwrap_or(u64::MAX));
    let enabled = |budget: u64| Some(json!({"type": "enabled", "budget_tokens": budget}));
    let mut thinking = match (body.get("thinking"), body.get("reasoning_effort").and_then(Value::as_str)) {
        (Some(th @ Value::Object(_)), _) => Some(th.clone()),
        (_, Some("none") | None) => None,
        (_, Some("minimal" | "low")) => enabled(MIN_THINKING_BUDGET),
        (_, Some("high")) => enabled(16384),
        (_, Some(_)) => enabled(4096),
    };
    // Anthropic wants max_tokens above the thinking budget. OpenAI's cap includes reasoning, so
    // an explicit cap shrinks the budget (or leaves no room to think); only the default grows.
    let budget = thinking.as_ref().and_then(|th| th.get("budget_tokens")).and_then(Value::as_u64);
    if let Some(budget) = budget.filter(|&b| max_tokens <= b) {
        match asked {
            None => max_tokens = budget.saturating_add(DEFAULT_MAX_TOKENS),
            Some(_) if max_tokens / 2 >= MIN_THINKING_BUDGET => thinking = enabled(max_tokens / 2),
            Some(_) => thinking = None,
        }
    }
    (max_tokens, thinking)
}

/// OpenAI function tools as Anthropic tools in `out` (and, with `search`, `web_search_options` as
/// Anthropic's web search tool), with the tool choice (neither without tools).
fn anthropic_tools(body: &Value, out: &mut Map<String, Value>, search: bool) {
    let mut tools: Vec<Value> = body
        .get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|tool| {
            let f = tool.get("function")?;
            let schema = f.get("parameters").cloned().unwrap_or_else(|| json!({"type": "object", "properties": {}}));
            let mut a = json!({"name": f.get("name")?, "input_schema": schema});
            if let Some(d) = f.get("description") {
                a["description"] = d.clone();
            }
            Some(a)
        })
        .collect();
    let options = body.get("web_search_options").filter(|_| search && !tools.iter().any(|t| t["name"] == "web_search"));
    if let Some(options) = options {
        tools.push(web_search_tool(options));
    }
    if tools.is_empty() {
        return;
    }
    let mut choice = match (body["tool_choice"].as_str(), body.pointer("/tool_choice/function/name")) {
        (Some("required"), _) => json!({"type": "any"}),
        (Some("none"), _) => json!({"type": "none"}),
        (_, Some(n)) => json!({"type": "tool", "name": n}),
        _ => json!({"type": "auto"}),
    };
    if body.get("parallel_tool_calls") == Some(&Value::Bool(false)) && choice["type"] != "none" {
        choice["disable_parallel_tool_use"] = true.into();
    }
    out.insert("tools".into(), Value::Array(tools));
    out.insert("tool_choice".into(), choice);
}

/// Chat Completions' `web_search_options` as Anthropic's web search tool: the user's
/// approximate location, and the domain filter a Responses `web_search` tool carried.
fn web_search_tool(options: &Value) -> Value {
    let mut tool = json!({"type": "web_search_20250305", "name": "web_search"});
    if let Some(Value::Object(loc)) = options.pointer("/user_location/approximate") {
        let keys = ["city", "region", "country", "timezone"];
        tool["user_location"] = json!({"type": "approximate"});
        loc.iter().filter(|(k, v)| keys.contains(&k.as_str()) && v.is_string()).for_each(|(k, v)| {
            tool["user_location"][k] = v.clone();
        });
    }
    if let Some(domains) =
        options.pointer("/filters/allowed_domains").filter(|d| d.as_array().is_some_and(|a| !a.is_empty()))
    {
        tool["allowed_domains"] = domains.clone();
    }
    tool
}

/// Claude Code's client identity on a Messages body: its system block first, once.
pub fn add_claude_code_system(body: &mut Value) {
    let block = json!({"type": "text", "text": super::CLAUDE_CODE_SYSTEM, "cache_control": {"type": "ephemeral"}});
    let mut system = match body.get("system") {
        Some(Value::String(s)) if !s.is_empty() => vec![json!({"type": "text", "text": s})],
        Some(Value::Array(a)) => a.clone(),
        _ => vec![],
    };
    let first = system.first().and_then(|b| b.get("text")).and_then(Value::as_str).unwrap_or("");
    if !first.contains("You are Claude Code") {
        system.insert(0, block);
    }
    body["system"] = Value::Array(system);
}

/// Removes thinking blocks whose signature this proxy minted (for OpenAI upstreams): a real
/// Anthropic upstream would reject them. Returns whether anything was removed.
pub fn strip_minted_thinking(body: &mut Value) -> bool {
    let minted = |s: &str| s.starts_with(MINTED_SIGNATURE);
    let mut removed = false;
    for m in body.get_mut("messages").and_then(Value::as_array_mut).into_iter().flatten() {
        if let Some(blocks) = m.get_mut("content").and_then(Value::as_array_mut) {
            let before = blocks.len();
            blocks.retain(|b| !(b["type"] == "thinking" && b["signature"].as_str().is_some_and(minted)));
            removed |= blocks.len() != before;
        }
    }
    removed
}

/// The text of Anthropic content: a string, or its text blocks joined by newlines.
pub(crate) fn anthropic_text(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(blocks) => blocks
            .iter()
            .filter(|b| b["type"] == "text")
            .filter_map(|b| b["text"].as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

/// An Anthropic image or document source → an OpenAI data or http URL.
pub(crate) fn source_url(source: &Value) -> Option<String> {
    match source.get("type").and_then(Value::as_str) {
        Some("base64") => Some(format!(
            "data:{};base64,{}",
            source.get("media_type").and_then(Value::as_str).unwrap_or("image/png"),
            source.get("data").and_then(Value::as_str)?
        )),
        Some("url") => source.get("url").and_then(Value::as_str).map(String::from),
        _ => None,
    }
}

/// OpenAI content parts → a plain string when every part is text (more upstreams accept it).
pub(crate) fn openai_content(parts: Vec<Value>) -> Value {
    if parts.iter().all(|p| p["type"] == "text") {
        let text: Vec<&str> = parts.iter().filter_map(|p| p["text"].as_str()).collect();
        Value::String(text.join("\n"))
    } else {
        Value::Array(parts)
    }
}

/// Messages request → Chat Completions request for `t`.
pub fn anthropic_to_openai(body: &Value, t: &Target) -> Value {
    let max_tokens = body.get("max_tokens").and_then(Value::as_u64);
    let stops = body.get("stop_sequences").and_then(Value::as_array).filter(|a| !a.is_empty());
    // Only models known to reason accept reasoning_effort; others reject the field.
    let effort = reasoning_effort(body).filter(|_| t.info.supports_reasoning == Some(true));
    let stream = body.get("stream") == Some(&Value::Bool(true));
    let mut out = super::object_of([
        ("model", Some(t.model.into())),
        ("messages", Some(Value::Array(openai_turns(body)))),
        ("max_tokens", max_tokens.map(|n| t.info.max_output_tokens.map_or(n, |c| n.min(c)).into())),
        ("temperature", body.get("temperature").filter(|v| v.is_number()).cloned()),
        ("top_p", body.get("top_p").filter(|v| v.is_number()).cloned()),
        // OpenAI takes at most four.
        ("stop", stops.map(|s| s.iter().take(4).cloned().collect())),
        ("reasoning_effort", effort.map(Value::from)),
        ("stream", stream.then_some(true.into())),
        // Asked for always: Anthropic clients need the usage at the end of the stream.
        ("stream_options", stream.then(|| json!({"include_usage": true}))),
    ]);
    openai_tools(body, &mut out);
    super::structured::to_openai(body, &mut out);
    Value::Object(out)
}

/// An Anthropic conversation as OpenAI messages: the system first, tool results as `tool`
/// messages before the rest of their user turn.
fn openai_turns(body: &Value) -> Vec<Value> {
    let mut messages: Vec<Value> = Vec::new();
    let system = body.get("system").map(anthropic_text).unwrap_or_default();
    if !system.is_empty() {
        messages.push(json!({"role": "system", "content": system}));
    }
    for m in body.get("messages").and_then(Value::as_array).into_iter().flatten() {
        let content = m.get("content").unwrap_or(&Value::Null);
        let blocks: Vec<Value> = match content {
            Value::String(s) => vec![json!({"type": "text", "text": s})],
            Value::Array(a) => a.clone(),
            _ => vec![],
        };
        match m.get("role").and_then(Value::as_str).unwrap_or("user") {
            "system" => messages.push(json!({"role": "system", "content": anthropic_text(content)})),
            // Thinking is not replayed to OpenAI upstreams: they have nowhere to put it.
            "assistant" => messages.push(super::response::openai_assistant(&blocks, false)),
            _ => {
                // Tool results answer the previous assistant turn, so they come first.
                let asked = asked_ids(&messages);
                let parts: Vec<Value> = blocks.iter().flat_map(|b| user_part(b, &asked, &mut messages)).collect();
                if !parts.is_empty() {
                    messages.push(json!({"role": "user", "content": openai_content(parts)}));
                }
            }
        }
    }
    messages
}

/// The tool-call ids the last message asked for, when it is an assistant turn with calls.
fn asked_ids(messages: &[Value]) -> Vec<String> {
    let calls = messages.last().filter(|m| m["role"] == "assistant").and_then(|m| m["tool_calls"].as_array());
    calls.into_iter().flatten().filter_map(|c| c["id"].as_str().map(String::from)).collect()
}

/// One block of an Anthropic user turn as OpenAI content parts; a tool result becomes a `tool`
/// message of its own (appended to `messages`), its images parts of the user turn. A result no
/// call of the previous turn asked for (OpenAI refuses those) stays in the turn as text.
fn user_part(b: &Value, asked: &[String], messages: &mut Vec<Value>) -> Vec<Value> {
    let image = |source: Option<&Value>| {
        source.and_then(source_url).map(|url| json!({"type": "image_url", "image_url": {"url": url}}))
    };
    match b.get("type").and_then(Value::as_str) {
        Some("tool_result") => {
            let mut text = anthropic_text(b.get("content").unwrap_or(&Value::Null));
            if b.get("is_error") == Some(&Value::Bool(true)) {
                text = format!("Error: {text}");
            }
            let id = b["tool_use_id"].as_str().unwrap_or("");
            if !asked.iter().any(|a| a == id) {
                return vec![json!({"type": "text", "text": format!("[result of tool call {id}]\n{text}")})];
            }
            messages.push(json!({"role": "tool", "tool_call_id": id, "content": text}));
            let inner = b.get("content").and_then(Value::as_array).into_iter().flatten();
            inner.filter(|img| img["type"] == "image").filter_map(|img| image(img.get("source"))).collect()
        }
        Some("text") => vec![json!({"type": "text", "text": b["text"]})],
        Some("image") => image(b.get("source")).into_iter().collect(),
        Some("document") => match (b.get("source").and_then(source_url), b.pointer("/source/data")) {
            (Some(url), _) => vec![json!({"type": "file", "file": {"file_data": url, "filename": "document.pdf"}})],
            (None, Some(Value::String(text))) => vec![json!({"type": "text", "text": text})],
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

/// Anthropic custom tools as OpenAI function tools (server tools left out), with the choice.
fn openai_tools(body: &Value, out: &mut Map<String, Value>) {
    let tools: Vec<Value> = body
        .get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        // Anthropic's server tools (web search, bash, …) have a `type` other than `custom`.
        .filter(|tool| tool.get("type").is_none_or(|ty| ty == "custom") && tool.get("name").is_some())
        .map(|tool| {
            let schema = tool.get("input_schema").map_or_else(|| json!({"type": "object"}), without_meta);
            let mut f = json!({"name": tool["name"], "parameters": schema});
            if let Some(d) = tool.get("description") {
                f["description"] = d.clone();
            }
            json!({"type": "function", "function": f})
        })
        .collect();
    if tools.is_empty() {
        return;
    }
    out.insert("tools".into(), Value::Array(tools));
    if let Some(choice) = body.get("tool_choice") {
        let mapped = match choice.get("type").and_then(Value::as_str) {
            Some("any") => json!("required"),
            Some("none") => json!("none"),
            Some("tool") => json!({"type": "function", "function": {"name": choice["name"]}}),
            _ => json!("auto"),
        };
        out.insert("tool_choice".into(), mapped);
        if choice.get("disable_parallel_tool_use") == Some(&Value::Bool(true)) {
            out.insert("parallel_tool_calls".into(), false.into());
        }
    }
}

/// OpenAI's `reasoning_effort` for an Anthropic request's effort or thinking budget.
fn reasoning_effort(body: &Value) -> Option<&str> {
    if let Some(e) = body.pointer("/output_config/effort").and_then(Value::as_str) {
        return Some(e);
    }
    let th = body.get("thinking")?;
    match th.get("type").and_then(Value::as_str)? {
        "enabled" => Some(match th.get("budget_tokens").and_then(Value::as_u64).unwrap_or(0) {
            0..=2047 => "low",
            2048..=8191 => "medium",
            _ => "high",
        }),
        "adaptive" => Some("medium"),
        _ => None,
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::config::ModelInfo;
    use crate::dialect::Dialect;

    fn to_anthropic(body: Value) -> Value {
        to_anthropic_for("claude", body)
    }

    /// A target of `model` with no entry settings.
    fn target<'a>(model: &'a str, info: &'a ModelInfo, none: &'a Map<String, Value>) -> Target<'a> {
        let (claude_code, max_completion_tokens, drop_params) = (false, false, [&[][..], &[]]);
        Target {
            model,
            info,
            claude_code,
            max_completion_tokens,
            default_params: none,
            force_params: none,
            drop_params,
        }
    }

    /// `body` translated for an Anthropic `model` with no entry settings (shared with
    /// `structured`'s tests).
    pub(in crate::translate) fn to_anthropic_for(model: &str, body: Value) -> Value {
        let (info, none) = (ModelInfo::default(), Map::new());
        openai_to_anthropic(&body, &target(model, &info, &none))
    }

    #[test]
    fn an_explicit_cap_shrinks_the_thinking_budget_and_the_default_grows() {
        let msgs = json!([{"role": "user", "content": "x"}]);
        let v = to_anthropic(json!({"messages": msgs, "reasoning_effort": "high", "max_tokens": 4000}));
        assert_eq!((v["max_tokens"].as_u64(), v["thinking"]["budget_tokens"].as_u64()), (Some(4000), Some(2000)));
        let v =
            to_anthropic(json!({"messages": msgs, "reasoning_effort": "high", "max_tokens": 1500, "temperature": 1.7}));
        assert_eq!((v.get("thinking"), v["temperature"].as_f64()), (None, Some(1.0)));
        let v = to_anthropic(json!({"messages": msgs, "reasoning_effort": "medium"}));
        assert_eq!((v["max_tokens"].as_u64(), v["thinking"]["budget_tokens"].as_u64()), (Some(8192), Some(4096)));
        let v = to_anthropic(json!({"messages": msgs, "reasoning_effort": "high"}));
        assert_eq!(v["max_tokens"].as_u64(), Some(16384 + 8192));
    }

    #[test]
    fn a_thinking_budget_near_the_largest_number_without_a_cap_saturates() {
        let msgs = json!([{"role": "user", "content": "x"}]);
        for budget in [u64::MAX - 1, u64::MAX] {
            let v = to_anthropic(json!({"messages": msgs, "thinking": {"type": "enabled", "budget_tokens": budget}}));
            assert_eq!(
                (v["max_tokens"].as_u64(), v["thinking"]["budget_tokens"].as_u64()),
                (Some(u64::MAX), Some(budget))
            );
        }
    }

    /// Found by `make fuzz` (target `requests`, input `2`): indexing a number panicked.
    #[test]
    fn fuzz_crash_a_body_that_is_not_an_object_does_not_panic() {
        let (info, none) = (ModelInfo::default(), Map::new());
        for claude_code in [false, true] {
            let t = Target { claude_code, max_completion_tokens: true, ..target("m", &info, &none) };
            for body in [json!(2), json!("x"), json!([1]), json!(null)] {
                for (c, w) in [
                    (Dialect::OpenAi, Dialect::OpenAi),
                    (Dialect::Anthropic, Dialect::Anthropic),
                    (Dialect::Ollama, Dialect::Anthropic),
                ] {
                    let out = crate::translate::request(c, w, &body, &t);
                    assert_eq!(out["model"], "m", "{body} {c:?}→{w:?}");
                }
            }
        }
    }

    #[test]
    fn claude_code_system_block_is_added_once() {
        let mut b = json!({"system": "Be nice"});
        add_claude_code_system(&mut b);
        add_claude_code_system(&mut b);
        assert_eq!(b["system"].as_array().unwrap().len(), 2);
        assert_eq!(b["system"][0]["text"], crate::translate::CLAUDE_CODE_SYSTEM);
        assert_eq!(b["system"][1]["text"], "Be nice");
    }

    #[test]
    fn minted_thinking_is_stripped_and_real_signatures_kept() {
        let mut b = json!({"messages": [{"role": "assistant", "content": [
            {"type": "thinking", "thinking": "a", "signature": "gpt-reverse-proxy-minted-5"},
            {"type": "thinking", "thinking": "b", "signature": "EqQBCkYIBRgC"},
            {"type": "text", "text": "hi"}]}]});
        assert!(strip_minted_thinking(&mut b));
        let kept: Vec<_> = b["messages"][0]["content"].as_array().unwrap().iter().map(|x| x["type"].clone()).collect();
        assert_eq!(kept, [json!("thinking"), json!("text")]);
        assert!(!strip_minted_thinking(&mut b));
    }
}
