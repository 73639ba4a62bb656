//! The request side of the Responses API: a Responses body (its `input` items, `instructions`,
//! tools and parameters) as a Chat Completions body. Cursor's Responses-shaped bodies on the chat
//! path go through [`into_chat`] too.

use crate::translate::request::openai_content;
use serde_json::{json, Map, Value};

/// Tool types a Responses client may declare that only OpenAI's Responses API itself can run
/// (web search is not among them: see [`web_search_options`]).
pub fn builtin_tools(body: &Value) -> Vec<String> {
    let tools = body.get("tools").and_then(Value::as_array).into_iter().flatten();
    let kinds = tools.filter_map(|t| t.get("type").and_then(Value::as_str));
    let ours = |k: &str| matches!(k, "function" | "custom" | "namespace") || is_web_search(k);
    kinds.filter(|k| !ours(k)).map(String::from).collect()
}

/// `web_search`, `web_search_preview` and their dated names.
fn is_web_search(kind: &str) -> bool {
    kind.starts_with("web_search")
}

/// A Responses `web_search` tool out of the tools, as Chat Completions' `web_search_options`
/// (plus its domain `filters`, for Anthropic's web search tool); a tool choice naming it becomes
/// `auto`. Chat deployments get neither (see `translate::request`).
fn web_search_options(o: &mut Map<String, Value>) {
    let kind = |t: &Value| t.get("type").and_then(Value::as_str).is_some_and(is_web_search);
    let Some(Value::Array(tools)) = o.get_mut("tools") else { return };
    let Some(tool) = tools.iter().find(|t| kind(t)).cloned() else { return };
    tools.retain(|t| !kind(t));
    let mut options = json!({});
    if let Some(filters) = tool.get("filters").filter(|f| f.is_object()) {
        options["filters"] = filters.clone();
    }
    if let Some(loc) = tool.get("user_location").filter(|l| l.is_object()) {
        options["user_location"] = json!({"type": "approximate", "approximate": loc});
    }
    o.insert("web_search_options".into(), options);
    if o.get("tool_choice").is_some_and(kind) {
        o.insert("tool_choice".into(), "auto".into());
    }
}

/// `namespace` tools (Codex groups its sub-agent tools so) as the tools inside them; the model
/// calls them by their own names, and the calls say their namespace on the way back.
pub(super) fn flat_tools(tools: &[Value]) -> Vec<Value> {
    let inner = |t: &Value| t["tools"].as_array().cloned().unwrap_or_default();
    tools.iter().flat_map(|t| if t["type"] == "namespace" { inner(t) } else { vec![t.clone()] }).collect()
}

/// The Chat Completions keys a translated request keeps: everything else a Responses body
/// carries (`store`, `include`, `metadata`, `truncation`, …) means nothing to a chat upstream.
const CHAT_KEYS: &[&str] = &[
    "model",
    "messages",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "temperature",
    "top_p",
    "max_tokens",
    "reasoning_effort",
    "response_format",
    "stream",
    "stream_options",
    "user",
    "web_search_options",
];

/// A Responses request → a Chat Completions request (streamed with usage when it streams).
pub fn request_to_openai(body: &Value) -> Value {
    let mut v = body.clone();
    if let Some(o) = v.as_object_mut() {
        if let Some(Value::Array(tools)) = o.get_mut("tools") {
            *tools = flat_tools(tools);
        }
        web_search_options(o);
        into_chat(o);
    }
    crate::translate::normalize::chat(&mut v);
    let Some(o) = v.as_object_mut() else { return v };
    o.retain(|k, _| CHAT_KEYS.contains(&k.as_str()));
    o.remove("stream_options");
    if o.get("stream") == Some(&Value::Bool(true)) {
        o.insert("stream_options".into(), json!({"include_usage": true}));
    }
    v
}

/// Responses content (a string, or `input_text` / `output_text` / `input_image` / `input_file`
/// parts) as Chat Completions parts.
fn chat_parts(content: &Value) -> Vec<Value> {
    let part = |p: &Value| match p.get("type").and_then(Value::as_str) {
        Some("input_text" | "output_text" | "text" | "refusal") => {
            Some(json!({"type": "text", "text": p.get("text").or(p.get("refusal")).cloned().unwrap_or_default()}))
        }
        Some("input_image") => {
            let url = p.get("image_url").and_then(Value::as_str)?;
            Some(json!({"type": "image_url", "image_url": {"url": url}}))
        }
        Some("input_file") => {
            let data = p.get("file_data").and_then(Value::as_str)?;
            let name = p.get("filename").cloned().unwrap_or("file".into());
            Some(json!({"type": "file", "file": {"file_data": data, "filename": name}}))
        }
        _ => None,
    };
    match content {
        Value::String(s) => vec![json!({"type": "text", "text": s})],
        Value::Array(parts) => parts.iter().filter_map(part).collect(),
        _ => vec![],
    }
}

/// A tool call item (`function_call`, `custom_tool_call`) as a Chat Completions tool call.
fn chat_call(item: &Value) -> Value {
    let arguments = match item.get("type").and_then(Value::as_str) {
        Some("function_call") => item.get("arguments").and_then(Value::as_str).unwrap_or("{}").to_string(),
        _ => json!({"input": item.get("input").cloned().unwrap_or_default()}).to_string(),
    };
    json!({"id": item["call_id"], "type": "function", "function": {"name": item["name"], "arguments": arguments}})
}

/// Responses input items as Chat Completions messages: calls join the assistant turn before
/// them; reasoning items and references are left out (a chat upstream cannot take them).
fn chat_messages(items: &[Value]) -> Vec<Value> {
    let mut messages: Vec<Value> = Vec::new();
    for item in items {
        let kind = item.get("type").and_then(Value::as_str).unwrap_or("message");
        match kind {
            "message" => {
                let role = match item.get("role").and_then(Value::as_str).unwrap_or("user") {
                    "developer" => "system",
                    r => r,
                };
                let parts = chat_parts(item.get("content").unwrap_or(&Value::Null));
                messages.push(json!({"role": role, "content": openai_content(parts)}));
            }
            "function_call" | "custom_tool_call" => match messages.last_mut() {
                Some(last) if last["role"] == "assistant" => {
                    if !last["tool_calls"].is_array() {
                        last["tool_calls"] = json!([]);
                    }
                    if last["content"] == "" {
                        last["content"] = Value::Null;
                    }
                    last["tool_calls"].as_array_mut().expect("tool_calls is a list").push(chat_call(item));
                }
                _ => messages.push(json!({"role": "assistant", "content": null, "tool_calls": [chat_call(item)]})),
            },
            "function_call_output" | "custom_tool_call_output" => {
                let output = match item.get("output") {
                    Some(Value::String(s)) => s.clone(),
                    Some(other) => chat_parts(other).iter().filter_map(|p| p["text"].as_str()).collect(),
                    None => String::new(),
                };
                messages.push(json!({"role": "tool", "tool_call_id": item["call_id"], "content": output}));
            }
            _ => {}
        }
    }
    messages
}

/// The input of a Responses request as items (a string is one user message).
pub fn input_items(body: &Value) -> Vec<Value> {
    items_of(body["input"].clone())
}

/// `input` as items.
fn items_of(input: Value) -> Vec<Value> {
    match input {
        Value::String(s) => vec![json!({"type": "message", "role": "user", "content": s})],
        Value::Array(a) => a,
        _ => Vec::new(),
    }
}

/// A Responses-shaped body → Chat Completions, in place (also for Cursor, which posts these to
/// the chat path): `instructions` and `input` become messages, `max_output_tokens`,
/// `reasoning.effort` and `text.format` their chat names; Responses-only keys are removed.
pub fn into_chat(obj: &mut Map<String, Value>) {
    let mut messages: Vec<Value> = Vec::new();
    if let Some(Value::String(i)) = obj.remove("instructions") {
        messages.push(json!({"role": "system", "content": i}));
    }
    messages.extend(chat_messages(&items_of(obj.remove("input").unwrap_or_default())));
    obj.insert("messages".into(), Value::Array(messages));
    chat_params(obj);
}

/// The parameters with other names in Chat Completions; Responses-only keys removed.
fn chat_params(obj: &mut Map<String, Value>) {
    if let Some(n) = obj.remove("max_output_tokens") {
        obj.insert("max_tokens".into(), n);
    }
    if let Some(effort) = obj.remove("reasoning").and_then(|r| r.get("effort").cloned()).filter(|e| e.is_string()) {
        obj.insert("reasoning_effort".into(), effort);
    }
    if let Some(text) = obj.remove("text") {
        if let Some(v) = text.get("verbosity") {
            obj.insert("verbosity".into(), v.clone());
        }
        let f = &text["format"];
        match f.get("type").and_then(Value::as_str) {
            Some("json_schema") => {
                let schema = json!({"name": f.get("name").cloned().unwrap_or("response".into()), "schema": f["schema"],
                                    "strict": f.get("strict").cloned().unwrap_or(Value::Bool(false))});
                obj.insert("response_format".into(), json!({"type": "json_schema", "json_schema": schema}));
            }
            Some("json_object") => {
                obj.insert("response_format".into(), json!({"type": "json_object"}));
            }
            _ => {}
        }
    }
    for k in [
        "input",
        "include",
        "store",
        "previous_response_id",
        "truncation",
        "prompt_cache_retention",
        "background",
        "context_management",
    ] {
        obj.remove(k);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> Value {
        json!({"model": "m", "instructions": "Be brief.", "stream": true, "store": false, "max_output_tokens": 100,
            "reasoning": {"effort": "high", "summary": "auto"}, "include": ["reasoning.encrypted_content"],
            "metadata": {"k": "v"}, "text": {"format": {"type": "json_schema", "name": "out", "schema": {"type": "object"}, "strict": true}},
            "tools": [{"type": "function", "name": "read", "parameters": {"type": "object"}},
                      {"type": "custom", "name": "apply_patch", "format": {"type": "grammar", "syntax": "lark", "definition": "start: x"}}],
            "tool_choice": {"type": "function", "name": "read"},
            "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"},
                                                                       {"type": "input_image", "image_url": "data:image/png;base64,AA"}]},
                      {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "xyz"},
                      {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Let me look."}]},
                      {"type": "function_call", "call_id": "c1", "name": "read", "arguments": "{}"},
                      {"type": "custom_tool_call", "call_id": "c2", "name": "apply_patch", "input": "*** Begin Patch"},
                      {"type": "function_call_output", "call_id": "c1", "output": "file"},
                      {"type": "custom_tool_call_output", "call_id": "c2", "output": [{"type": "input_text", "text": "Done"}]}]})
    }

    #[test]
    fn a_responses_request_becomes_a_chat_request() {
        let v = request_to_openai(&request());
        let m = &v["messages"];
        assert_eq!(m[0], json!({"role": "system", "content": "Be brief."}));
        assert_eq!(m[1]["content"][1]["image_url"]["url"], "data:image/png;base64,AA");
        assert_eq!(m[2]["content"], "Let me look.", "calls join the assistant turn before them");
        assert_eq!(m[2]["tool_calls"][1]["function"]["arguments"], "{\"input\":\"*** Begin Patch\"}");
        assert_eq!(m[3], json!({"role": "tool", "tool_call_id": "c1", "content": "file"}));
        assert_eq!(m[4], json!({"role": "tool", "tool_call_id": "c2", "content": "Done"}));
        assert_eq!(m.as_array().unwrap().len(), 5);
        assert_eq!(v["tools"][0]["function"]["name"], "read");
        assert_eq!(v["tools"][1]["function"]["parameters"]["required"], json!(["input"]));
        assert_eq!(v["tool_choice"], json!({"type": "function", "function": {"name": "read"}}));
        assert_eq!(v["response_format"]["json_schema"]["name"], "out");
        assert_eq!((v["max_tokens"].as_u64(), v["reasoning_effort"].as_str()), (Some(100), Some("high")));
        assert_eq!(v["stream_options"], json!({"include_usage": true}));
        for gone in ["input", "instructions", "store", "include", "metadata", "text", "reasoning", "max_output_tokens"]
        {
            assert!(v.get(gone).is_none(), "{gone}");
        }
        let plain =
            request_to_openai(&json!({"model": "m", "input": "hello", "text": {"format": {"type": "json_object"}}}));
        assert_eq!(plain["messages"], json!([{"role": "user", "content": "hello"}]));
        assert_eq!(plain["response_format"], json!({"type": "json_object"}));
        let tools = json!([{"type": "web_search"}, {"type": "file_search"}, {"type": "function", "name": "f"}]);
        assert_eq!(builtin_tools(&json!({"tools": tools})), ["file_search"]);
        let v = request_to_openai(&json!({"input": "x", "tools": tools, "tool_choice": {"type": "web_search"}}));
        assert_eq!((&v["web_search_options"], &v["tool_choice"]), (&json!({}), &json!("auto")));
    }
}
