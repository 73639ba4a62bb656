//! Request normalisation for every OpenAI-dialect chat request, whatever sent it, so that an
//! OpenAI upstream receives a standard Chat Completions body: Anthropic blocks inside messages
//! (Cursor with Claude models), Anthropic-style tools and tool choices, Cursor's Responses-shaped
//! bodies on the chat path (`input`, `instructions`, flat and `custom` tools), empty tool lists,
//! and client-specific message keys (Copilot's).

use super::request::{anthropic_text, openai_content, source_url};
use super::response::openai_call;
use serde_json::{json, Value};

/// What normalisation found out that the answer's way back needs.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Normalized {
    /// Whether the body changed (otherwise the client's bytes go upstream untouched).
    pub changed: bool,
    /// Names of `custom` (grammar) tools, whose calls must come back as raw text.
    pub custom_tools: Vec<String>,
}

/// Message keys some clients add that strict upstreams reject (`name` only on tool results).
fn nonstandard_key(role: &str, k: &str) -> bool {
    let vendor = k.starts_with("copilot_") || k.starts_with("cot_") || k == "reasoning_opaque" || k == "reasoning_text";
    vendor || (role == "tool" && k == "name")
}

/// Top-level Chat Completions parameters that may arrive wrapped in a literal `extra_body`.
const STANDARD_PARAMS: &[&str] = &[
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
    "safety_identifier",
    "prediction",
    "modalities",
    "audio",
    "web_search_options",
];

/// Normalises a Chat Completions request body in place.
pub fn chat(body: &mut Value) -> Normalized {
    let mut n = Normalized::default();
    let Some(obj) = body.as_object_mut() else { return n };
    if obj.contains_key("input") && !obj.contains_key("messages") {
        super::responses::into_chat(obj);
        n.changed = true;
    }
    // Cursor sends the SDK's `extra_body` literally: standard parameters in it are merged as the
    // SDK would; vendor extensions are dropped (a deployment's `force_params` can set them).
    if let Some(Value::Object(extra)) = obj.remove("extra_body") {
        for (k, v) in extra {
            if STANDARD_PARAMS.contains(&k.as_str()) {
                obj.entry(k).or_insert(v);
            }
        }
        n.changed = true;
    }
    if let Some(Value::Array(msgs)) = obj.get_mut("messages") {
        let before = msgs.len();
        let fixed = messages(std::mem::take(msgs), &mut n.changed);
        n.changed |= fixed.len() != before;
        *msgs = fixed;
    }
    if let Some(Value::Array(tools)) = obj.get_mut("tools") {
        let fixed: Vec<Value> = tools.iter().filter_map(|t| tool(t, &mut n.custom_tools)).collect();
        n.changed |= &fixed != tools;
        *tools = fixed;
    }
    if obj.get("tools").and_then(Value::as_array).is_some_and(Vec::is_empty) {
        // An empty list is rejected by OpenAI; it means "no tools".
        obj.remove("tools");
        obj.remove("tool_choice");
        obj.remove("parallel_tool_calls");
        n.changed = true;
    }
    if let Some(choice) = obj.get("tool_choice") {
        let fixed = tool_choice(choice);
        if &fixed != choice {
            obj.insert("tool_choice".into(), fixed);
            n.changed = true;
        }
    }
    n
}

/// Messages with Anthropic content blocks → standard messages: `tool_result` blocks become
/// `role: tool` messages (placed first), `tool_use` blocks become `tool_calls`, images stay images.
fn messages(msgs: Vec<Value>, changed: &mut bool) -> Vec<Value> {
    let mut out = Vec::with_capacity(msgs.len());
    for mut m in msgs {
        if let Some(o) = m.as_object_mut() {
            let before = o.len();
            let role = o.get("role").and_then(Value::as_str).unwrap_or("").to_string();
            o.retain(|k, _| !nonstandard_key(&role, k));
            *changed |= o.len() != before;
        }
        // Copilot puts `media_type` inside `image_url`; strict upstreams take `url` and `detail`.
        for p in m.get_mut("content").and_then(Value::as_array_mut).into_iter().flatten() {
            if let Some(Value::Object(img)) = p.get_mut("image_url") {
                let before = img.len();
                img.retain(|k, _| k == "url" || k == "detail");
                *changed |= img.len() != before;
            }
        }
        let mut msg = match m {
            Value::Object(o) if o.get("content").is_some_and(anthropic_content) => o,
            other => {
                out.push(other);
                continue;
            }
        };
        *changed = true;
        let role = msg.get("role").and_then(Value::as_str).unwrap_or("user").to_string();
        let blocks = msg.remove("content").unwrap_or_default();
        let mut calls = match msg.remove("tool_calls") {
            Some(Value::Array(calls)) => calls,
            _ => Vec::new(),
        };
        let mut parts = Vec::new();
        for b in blocks.as_array().into_iter().flatten() {
            match b.get("type").and_then(Value::as_str) {
                Some("text") => parts.push(json!({"type": "text", "text": b["text"]})),
                Some("image" | "document") => {
                    if let Some(url) = b.get("source").and_then(source_url) {
                        parts.push(json!({"type": "image_url", "image_url": {"url": url}}));
                    }
                }
                Some("tool_use") => calls.push(openai_call(b)),
                Some("tool_result") => {
                    let text = anthropic_text(b.get("content").unwrap_or(&Value::Null));
                    out.push(json!({"role": "tool", "tool_call_id": b["tool_use_id"], "content": text}));
                }
                Some("thinking" | "redacted_thinking") => {}
                // Standard OpenAI parts (image_url, input_audio, file) stay as they are.
                _ => parts.push(b.clone()),
            }
        }
        if role == "assistant" {
            let text: String = parts.iter().filter_map(|p| p["text"].as_str()).collect();
            msg.insert("content".into(), if text.is_empty() && !calls.is_empty() { Value::Null } else { text.into() });
            if !calls.is_empty() {
                msg.insert("tool_calls".into(), Value::Array(calls));
            }
        } else if !parts.is_empty() {
            msg.insert("content".into(), openai_content(parts));
        } else {
            continue; // only tool results: they are already out as tool messages
        }
        out.push(Value::Object(msg));
    }
    out
}

/// Whether message content has a block that is Anthropic's, not OpenAI's (a text block carrying
/// `cache_control` counts: strict upstreams reject the key).
fn anthropic_content(content: &Value) -> bool {
    content.as_array().into_iter().flatten().any(|b| match b.get("type").and_then(Value::as_str) {
        Some("tool_use" | "tool_result" | "image" | "document" | "thinking" | "redacted_thinking") => true,
        Some("text") => b.as_object().is_some_and(|o| o.len() > 2),
        _ => false,
    })
}

/// One tool definition in Chat Completions form, or `None` for tools an OpenAI upstream cannot
/// take (server-side tools such as web search). Records the names of `custom` grammar tools.
fn tool(t: &Value, custom: &mut Vec<String>) -> Option<Value> {
    let kind = t.get("type").and_then(Value::as_str);
    if kind == Some("function") && t.get("function").is_some() {
        return Some(t.clone());
    }
    let name = t.get("name")?.clone();
    let mut f = json!({"name": name});
    if let Some(d) = t.get("description") {
        f["description"] = d.clone();
    }
    match kind {
        // Anthropic-style definition (Anthropic calls user tools `custom` too).
        _ if t.get("input_schema").is_some() => f["parameters"] = t["input_schema"].clone(),
        // Responses-style flat function.
        Some("function") => {
            f["parameters"] =
                t.get("parameters").cloned().unwrap_or_else(|| json!({"type": "object", "properties": {}}));
            if let Some(s) = t.get("strict") {
                f["strict"] = s.clone();
            }
        }
        // A Responses grammar tool: the model writes free text; it travels as one string argument.
        Some("custom") => {
            let mut hint = "The raw input for this tool.".to_string();
            if let Some(def) = t.pointer("/format/definition").and_then(Value::as_str) {
                let syntax = t.pointer("/format/syntax").and_then(Value::as_str).unwrap_or("grammar");
                hint = format!("The raw input for this tool; it must follow this {syntax} grammar:\n{def}");
            }
            f["parameters"] = json!({"type": "object", "properties": {"input": {"type": "string", "description": hint}}, "required": ["input"]});
            custom.push(name.as_str()?.to_string());
        }
        _ => return None,
    }
    Some(json!({"type": "function", "function": f}))
}

/// A tool choice in Chat Completions form (`{"type":"any"}` → `"required"`, and so on).
fn tool_choice(c: &Value) -> Value {
    let named = |n: &Value| json!({"type": "function", "function": {"name": n}});
    match c {
        Value::String(s) if s == "any" => json!("required"),
        Value::Object(o) => match o.get("type").and_then(Value::as_str) {
            Some("any") => json!("required"),
            Some("auto") => json!("auto"),
            Some("none") => json!("none"),
            Some("tool" | "custom") if o.contains_key("name") => named(&o["name"]),
            Some("function") if o.contains_key("name") && !o.contains_key("function") => named(&o["name"]),
            _ => c.clone(),
        },
        _ => c.clone(),
    }
}

/// Removes `<think>…</think>` blocks that a client sent back inside assistant turns (Cursor
/// replays the reasoning it was shown); returns whether anything changed.
pub fn strip_think_tags(body: &mut Value) -> bool {
    fn strip(s: &mut String) -> bool {
        let Some(rest) = s.trim_start().strip_prefix("<think>") else { return false };
        *s = match rest.find("</think>") {
            Some(end) => rest[end + "</think>".len()..].trim_start().to_string(),
            None => rest.to_string(),
        };
        true
    }
    let mut changed = false;
    for m in body.get_mut("messages").and_then(Value::as_array_mut).into_iter().flatten() {
        if m["role"] != "assistant" {
            continue;
        }
        match m.get_mut("content") {
            Some(Value::String(s)) => changed |= strip(s),
            Some(Value::Array(parts)) => {
                for p in parts.iter_mut() {
                    if let Some(Value::String(s)) = p.get_mut("text") {
                        changed |= strip(s);
                    }
                }
            }
            _ => {}
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anthropic_blocks_in_openai_messages_become_standard_messages() {
        let mut body = json!({"model": "claude-x", "messages": [
            {"role": "assistant", "content": [{"type": "text", "text": "Let me look"}, {"type": "tool_use", "id": "t1", "name": "read_file", "input": {"p": "a"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": [{"type": "text", "text": "body"}]},
                                         {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAA"}},
                                         {"type": "text", "text": "and this", "cache_control": {"type": "ephemeral"}}]}]});
        let n = chat(&mut body);
        assert!(n.changed);
        assert_eq!(
            body["messages"],
            json!([
                {"role": "assistant", "content": "Let me look", "tool_calls": [{"id": "t1", "type": "function", "function": {"name": "read_file", "arguments": "{\"p\":\"a\"}"}}]},
                {"role": "tool", "tool_call_id": "t1", "content": "body"},
                {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,AAA"}}, {"type": "text", "text": "and this"}]},
            ])
        );
    }

    #[test]
    fn anthropic_tools_and_choices_empty_tools_and_copilot_keys() {
        let mut body = json!({"messages": [{"role": "user", "content": "x", "copilot_cache_control": {"type": "ephemeral"}}],
            "extra_body": {"google": {"thinking_config": {}}, "seed": 7},
            "tools": [{"name": "f", "input_schema": {"type": "object"}}, {"type": "web_search_20250305", "name": "web"},
                      {"type": "custom", "name": "g", "input_schema": {"type": "object"}}],
            "tool_choice": {"type": "any"}});
        chat(&mut body);
        assert_eq!(body["messages"][0], json!({"role": "user", "content": "x"}));
        assert_eq!((body.get("extra_body"), body.get("google"), body["seed"].as_u64()), (None, None, Some(7)));
        assert_eq!(
            body["tools"],
            json!([{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}},
                                         {"type": "function", "function": {"name": "g", "parameters": {"type": "object"}}}])
        );
        assert_eq!(body["tool_choice"], "required");
        let mut body = json!({"messages": [], "tools": [], "tool_choice": "auto"});
        assert!(chat(&mut body).changed);
        assert_eq!(body, json!({"messages": []}));
        let mut body =
            json!({"messages": [{"role": "user", "content": "x"}], "tool_choice": {"type": "tool", "name": "f"}});
        chat(&mut body);
        assert_eq!(body["tool_choice"], json!({"type": "function", "function": {"name": "f"}}));
    }

    #[test]
    fn standard_bodies_are_left_alone() {
        let original = json!({"model": "gpt-4o", "stream": true, "messages": [{"role": "system", "content": "s"},
            {"role": "user", "content": [{"type": "text", "text": "hi"}, {"type": "image_url", "image_url": {"url": "https://x/y.png"}}]},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "c", "content": "ok"}],
            "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}], "tool_choice": "required"});
        let mut body = original.clone();
        assert_eq!(chat(&mut body), Normalized::default());
        assert_eq!(body, original);
    }

    #[test]
    fn responses_shaped_bodies_become_chat_requests() {
        let mut body = json!({"model": "gpt-5", "stream": true, "stream_options": {"include_usage": true},
            "instructions": "You are Cursor.", "include": ["reasoning.encrypted_content"], "store": false,
            "reasoning": {"effort": "medium", "summary": "auto"}, "text": {"verbosity": "low"}, "max_output_tokens": 500,
            "input": [{"role": "user", "content": [{"type": "input_text", "text": "fix it"}]},
                      {"type": "reasoning", "summary": []},
                      {"type": "function_call", "call_id": "c1", "name": "read_file", "arguments": "{\"path\":\"a\"}"},
                      {"type": "custom_tool_call", "call_id": "c2", "name": "ApplyPatch", "input": "*** Begin Patch"},
                      {"type": "function_call_output", "call_id": "c1", "output": "text"},
                      {"type": "custom_tool_call_output", "call_id": "c2", "output": "Done"}],
            "tools": [{"type": "function", "name": "read_file", "parameters": {"type": "object", "properties": {"path": {"type": "string"}}}},
                      {"type": "custom", "name": "ApplyPatch", "format": {"type": "grammar", "syntax": "lark", "definition": "start: x"}}]});
        let n = chat(&mut body);
        assert_eq!(n.custom_tools, ["ApplyPatch"]);
        assert_eq!(body["messages"][0], json!({"role": "system", "content": "You are Cursor."}));
        assert_eq!(body["messages"][1], json!({"role": "user", "content": "fix it"}));
        assert_eq!(body["messages"][2]["tool_calls"].as_array().unwrap().len(), 2);
        assert_eq!(body["messages"][2]["tool_calls"][1]["function"]["arguments"], "{\"input\":\"*** Begin Patch\"}");
        assert_eq!(body["messages"][4], json!({"role": "tool", "tool_call_id": "c2", "content": "Done"}));
        assert_eq!(body["tools"][0]["function"]["name"], "read_file");
        assert!(body["tools"][1]["function"]["parameters"]["properties"]["input"]["description"]
            .as_str()
            .unwrap()
            .contains("start: x"));
        assert_eq!(
            (body["reasoning_effort"].as_str(), body["verbosity"].as_str(), body["max_tokens"].as_u64()),
            (Some("medium"), Some("low"), Some(500))
        );
        for gone in ["input", "instructions", "include", "store", "reasoning", "text", "max_output_tokens"] {
            assert!(body.get(gone).is_none(), "{gone}");
        }
    }

    #[test]
    fn think_blocks_are_stripped_from_assistant_turns_only() {
        let mut body = json!({"messages": [{"role": "user", "content": "<think>keep</think>q"},
            {"role": "assistant", "content": "<think>\nreasoning\n</think>\n\nAnswer"},
            {"role": "assistant", "content": [{"type": "text", "text": "<think>x</think>B"}]}]});
        assert!(strip_think_tags(&mut body));
        assert_eq!(body["messages"][0]["content"], "<think>keep</think>q");
        assert_eq!(body["messages"][1]["content"], "Answer");
        assert_eq!(body["messages"][2]["content"][0]["text"], "B");
        assert!(!strip_think_tags(&mut body));
    }
}
