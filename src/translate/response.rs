//! Complete (non-streamed) answers across dialects: a Messages response → a Chat Completions
//! response, and the reverse; upstream error bodies into the client's error shape; and a whole
//! answer as the events of the stream a client asked for.

use super::{finish_from_stop, minted_signature, stop_from_finish};
use crate::clock::unix_now;
use crate::error::Error;
use crate::sse::Event;
use serde_json::{json, Value};

/// Anthropic `usage` → OpenAI `usage` (cache reads count as prompt tokens, as OpenAI does).
pub fn openai_usage(u: &Value) -> Value {
    let n = |k: &str| u.get(k).and_then(Value::as_u64).unwrap_or(0);
    let cached = n("cache_read_input_tokens");
    let prompt = crate::usage::anthropic_prompt_tokens(u);
    json!({
        "prompt_tokens": prompt,
        "completion_tokens": n("output_tokens"),
        "total_tokens": prompt.saturating_add(n("output_tokens")),
        "prompt_tokens_details": {"cached_tokens": cached},
    })
}

/// OpenAI `usage` → Anthropic `usage`.
pub fn anthropic_usage(u: &Value) -> Value {
    let cached = u.pointer("/prompt_tokens_details/cached_tokens").and_then(Value::as_u64).unwrap_or(0);
    let prompt = u.get("prompt_tokens").and_then(Value::as_u64).unwrap_or(0);
    json!({
        "input_tokens": prompt.saturating_sub(cached),
        "output_tokens": u.get("completion_tokens").and_then(Value::as_u64).unwrap_or(0),
        "cache_read_input_tokens": cached,
        "cache_creation_input_tokens": 0,
    })
}

/// Anthropic assistant content blocks → an OpenAI assistant message: text, tool calls, and
/// (when `reasoning`) the thinking as `reasoning_content`.
pub fn openai_assistant(blocks: &[Value], reasoning: bool) -> Value {
    let text_of = |kind: &str, field: &str| -> String {
        blocks.iter().filter(|b| b["type"] == kind).filter_map(|b| b[field].as_str()).collect()
    };
    let text = text_of("text", "text");
    let calls: Vec<Value> = blocks.iter().filter(|b| b["type"] == "tool_use").map(openai_call).collect();
    let content = if text.is_empty() && !calls.is_empty() { Value::Null } else { text.into() };
    let mut message = json!({"role": "assistant", "content": content});
    let thinking = text_of("thinking", "thinking");
    if reasoning && !thinking.is_empty() {
        message["reasoning_content"] = thinking.into();
    }
    if !calls.is_empty() {
        message["tool_calls"] = Value::Array(calls);
    }
    let mut at = 0;
    let mut annotations = Vec::new();
    for b in blocks.iter().filter(|b| b["type"] == "text") {
        let end = at + b["text"].as_str().map_or(0, |t| t.chars().count());
        annotations.extend(b["citations"].as_array().into_iter().flatten().filter_map(|c| url_citation(c, at, end)));
        at = end;
    }
    if !annotations.is_empty() {
        message["annotations"] = Value::Array(annotations);
    }
    message
}

/// Whether an Anthropic `web_search_tool_result` block says its search failed.
pub fn search_failed(result: &Value) -> bool {
    result["content"]["type"] == "web_search_tool_result_error"
}

/// An Anthropic web search citation of the text from character `start` to `end` as a Chat
/// Completions `url_citation` annotation (other citations point at no URL: `None`).
pub fn url_citation(c: &Value, start: usize, end: usize) -> Option<Value> {
    let url = c.get("url").and_then(Value::as_str)?;
    let title = c.get("title").and_then(Value::as_str).unwrap_or(url);
    Some(json!({"type": "url_citation",
                "url_citation": {"start_index": start, "end_index": end, "url": url, "title": title}}))
}

/// A Messages response → a Chat Completions response.
pub fn anthropic_to_openai(msg: &Value, model: &str) -> Value {
    let blocks = msg.get("content").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let message = openai_assistant(blocks, true);
    let id = msg.get("id").and_then(Value::as_str).unwrap_or("msg");
    let mut out = json!({
        "id": format!("chatcmpl-{id}"),
        "object": "chat.completion",
        "created": unix_now(),
        "model": model,
        "choices": [{"index": 0, "message": message, "logprobs": null,
                     "finish_reason": finish_from_stop(msg.get("stop_reason").and_then(Value::as_str))}],
    });
    if let Some(u) = msg.get("usage") {
        out["usage"] = openai_usage(u);
    }
    out
}

/// A Chat Completions response → a Messages response.
pub fn openai_to_anthropic(resp: &Value, model: &str) -> Value {
    let choice = resp.pointer("/choices/0").cloned().unwrap_or_default();
    let message = choice.get("message").cloned().unwrap_or_default();
    let mut content = Vec::new();
    let reasoning = message.get("reasoning_content").or(message.get("reasoning")).and_then(Value::as_str);
    if let Some(r) = reasoning.filter(|r| !r.is_empty()) {
        content.push(json!({"type": "thinking", "thinking": r, "signature": minted_signature()}));
    }
    if let Some(t) = message.get("content").and_then(Value::as_str).filter(|t| !t.is_empty()) {
        content.push(json!({"type": "text", "text": t}));
    }
    let calls = message.get("tool_calls").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    content.extend(calls.iter().map(tool_use_block));
    let stop = stop_from_finish(choice.get("finish_reason").and_then(Value::as_str), !calls.is_empty());
    let id = resp.get("id").and_then(Value::as_str).unwrap_or("0");
    json!({
        "id": format!("msg_{}", id.trim_start_matches("chatcmpl-")),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop,
        "stop_sequence": null,
        "usage": anthropic_usage(resp.get("usage").unwrap_or(&Value::Null)),
    })
}

/// An OpenAI tool call → an Anthropic `tool_use` block.
pub fn tool_use_block(call: &Value) -> Value {
    let args = call["function"]["arguments"].as_str().unwrap_or("");
    json!({"type": "tool_use", "id": call["id"], "name": call["function"]["name"], "input": tool_input(args)})
}

/// An Anthropic `tool_use` block → an OpenAI tool call.
pub fn openai_call(b: &Value) -> Value {
    let arguments = b.get("input").map_or("{}".into(), Value::to_string);
    json!({"id": b["id"], "type": "function", "function": {"name": b["name"], "arguments": arguments}})
}

/// Tool-call arguments as Anthropic's `input` object; text that is not a JSON object is kept
/// under `raw_arguments` rather than lost.
pub fn tool_input(args: &str) -> Value {
    match serde_json::from_str::<Value>(args) {
        Ok(v @ Value::Object(_)) => v,
        _ if args.trim().is_empty() => json!({}),
        _ => json!({"raw_arguments": args}),
    }
}

/// The message of an error body in either dialect (or the body itself when it is not JSON).
fn error_message(body: &[u8]) -> (String, Option<String>) {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let e = v.get("error").unwrap_or(&v);
    let msg = match (e, e["message"].as_str()) {
        (Value::String(s), _) => s.clone(),
        (_, Some(m)) => m.to_string(),
        _ => String::from_utf8_lossy(body).chars().take(500).collect(),
    };
    let code = e.get("code").or(e.get("type")).and_then(Value::as_str).map(String::from);
    (msg, code)
}

/// An Anthropic error answer → OpenAI's `{"error":{…}}`, same status.
pub fn error_to_openai(body: &[u8]) -> Value {
    let (message, kind) = error_message(body);
    let kind = kind.unwrap_or_else(|| "api_error".into());
    json!({"error": {"message": message, "type": kind, "param": null, "code": kind}})
}

/// An OpenAI error answer → Anthropic's `{"type":"error",…}`, same status. A context-length
/// error reads `prompt is too long: N tokens > M maximum`, the wording Claude Code compacts on.
pub fn error_to_anthropic(status: u16, body: &[u8], max_input: Option<u64>) -> Value {
    let (message, code) = error_message(body);
    let lower = message.to_ascii_lowercase();
    let too_long = code.as_deref() == Some("context_length_exceeded")
        || lower.contains("context length")
        || lower.contains("context window")
        || lower.contains("too many tokens");
    let message = match too_long.then(|| context_numbers(&message)) {
        Some((tokens, max)) => {
            let max = max.or(max_input).unwrap_or(0);
            let tokens = tokens.unwrap_or(0).max(max.saturating_add(1));
            format!("prompt is too long: {tokens} tokens > {max} maximum")
        }
        None => message,
    };
    json!({"type": "error", "error": {"type": crate::error::anthropic_error_type(status), "message": message}})
}

/// The numbers in e.g. "maximum context length is 128000 tokens. However, your messages resulted
/// in 130512 tokens": (requested, maximum).
fn context_numbers(msg: &str) -> (Option<u64>, Option<u64>) {
    let nums: Vec<u64> =
        msg.split(|c: char| !c.is_ascii_digit()).filter(|s| s.len() >= 3).filter_map(|s| s.parse().ok()).collect();
    match nums.as_slice() {
        [] => (None, None),
        [one] => (None, Some(*one)),
        // The larger is what was asked for, the smaller the limit.
        [a, b, ..] => (Some(*a.max(b)), Some(*a.min(b))),
    }
}

/// Parses an upstream JSON answer or says why it cannot be used.
pub fn parse(body: &[u8]) -> Result<Value, Error> {
    serde_json::from_slice(body).map_err(|e| Error::UpstreamInvalid(format!("answer is not JSON: {e}")))
}

/// A complete Chat Completions answer as the stream a client asked for (some upstreams ignore
/// `stream: true`): the role, the content and reasoning, whole tool calls, one finish, the usage
/// when asked for, and `[DONE]`.
pub fn openai_as_events(v: &Value, include_usage: bool) -> Option<Vec<Event>> {
    let choices = v.get("choices")?.as_array()?;
    let head = json!({"id": v.get("id").cloned().unwrap_or("chatcmpl-proxy".into()), "object": "chat.completion.chunk",
                      "created": v.get("created").cloned().unwrap_or(0.into()), "model": v.get("model").cloned().unwrap_or_default()});
    let mut out = Vec::new();
    let mut chunk = |choices: Value, usage: Option<&Value>| {
        let mut c = head.clone();
        c["choices"] = choices;
        if let Some(u) = usage {
            c["usage"] = u.clone();
        }
        out.push(Event::data(c.to_string()));
    };
    for (i, ch) in choices.iter().enumerate() {
        let index = ch.get("index").cloned().unwrap_or(i.into());
        let m = ch.get("message").cloned().unwrap_or_default();
        let mut delta = json!({"role": "assistant", "content": m.get("content").cloned().unwrap_or(Value::Null)});
        for k in ["reasoning_content", "refusal"] {
            if let Some(x) = m.get(k).filter(|x| !x.is_null()) {
                delta[k] = x.clone();
            }
        }
        if let Some(Value::Array(calls)) = m.get("tool_calls") {
            // A call that is not an object is no call (the stream repair drops it too).
            let calls = calls.iter().filter_map(Value::as_object).enumerate().map(|(n, c)| {
                let mut c = c.clone();
                c.insert("index".into(), n.into());
                Value::Object(c)
            });
            delta["tool_calls"] = Value::Array(calls.collect());
        }
        chunk(json!([{"index": index, "delta": delta, "logprobs": null, "finish_reason": null}]), None);
        let finish = ch.get("finish_reason").filter(|f| f.is_string()).cloned().unwrap_or("stop".into());
        chunk(json!([{"index": index, "delta": {}, "logprobs": null, "finish_reason": finish}]), None);
    }
    if include_usage {
        if let Some(u) = v.get("usage").filter(|u| u.is_object()) {
            chunk(json!([]), Some(u));
        }
    }
    out.push(Event::data("[DONE]"));
    Some(out)
}

/// An Anthropic stream event, named by its `type`.
pub fn anthropic_event(v: Value) -> Event {
    Event::named(v["type"].as_str().unwrap_or(""), v.to_string())
}

/// A complete Messages answer as the event stream a client asked for (some upstreams ignore
/// `stream: true`): `message_start`, each content block whole (start, one delta, stop), then
/// `message_delta` with the stop reason and output tokens, and `message_stop`.
pub fn anthropic_as_events(v: &Value) -> Option<Vec<Event>> {
    if v.get("type")?.as_str()? != "message" {
        return None;
    }
    let mut out = Vec::new();
    let mut event = |data: Value| out.push(anthropic_event(data));
    let usage = v.get("usage").and_then(Value::as_object).cloned().unwrap_or_default();
    let mut start = v.clone();
    start["content"] = json!([]);
    start["stop_reason"] = Value::Null;
    start["stop_sequence"] = Value::Null;
    start["usage"] = Value::Object(usage.clone());
    start["usage"]["output_tokens"] = json!(0);
    event(json!({"type": "message_start", "message": start}));
    for (index, b) in v.get("content").and_then(Value::as_array).into_iter().flatten().enumerate() {
        let (shell, deltas) = match b["type"].as_str() {
            Some("text") => {
                // Citations (web search) come as deltas of their own, as Anthropic streams them.
                let cited = b["citations"].as_array().into_iter().flatten();
                let mut deltas: Vec<Value> = cited.map(|c| json!({"type": "citations_delta", "citation": c})).collect();
                deltas.push(json!({"type": "text_delta", "text": b["text"]}));
                (json!({"type": "text", "text": ""}), deltas)
            }
            Some("thinking") => (
                json!({"type": "thinking", "thinking": "", "signature": ""}),
                vec![
                    json!({"type": "thinking_delta", "thinking": b["thinking"]}),
                    json!({"type": "signature_delta", "signature": b["signature"]}),
                ],
            ),
            Some("tool_use") => (
                json!({"type": "tool_use", "id": b["id"], "name": b["name"], "input": {}}),
                vec![json!({"type": "input_json_delta", "partial_json": b["input"].to_string()})],
            ),
            // Anything else (redacted thinking, server tools) travels whole in its start event.
            _ => (b.clone(), Vec::new()),
        };
        event(json!({"type": "content_block_start", "index": index, "content_block": shell}));
        for delta in deltas {
            event(json!({"type": "content_block_delta", "index": index, "delta": delta}));
        }
        event(json!({"type": "content_block_stop", "index": index}));
    }
    let stop =
        json!({"stop_reason": v["stop_reason"], "stop_sequence": v.get("stop_sequence").unwrap_or(&Value::Null)});
    let output = json!({"output_tokens": usage.get("output_tokens").and_then(Value::as_u64).unwrap_or(0)});
    event(json!({"type": "message_delta", "delta": stop, "usage": output}));
    event(json!({"type": "message_stop"}));
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tool_call_that_is_not_an_object_is_left_out_of_the_stream_shown() {
        let call = json!({"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}});
        let chat = json!({"choices": [{"message": {"content": null, "tool_calls": [7, call, null]}}]});
        let first: Value = serde_json::from_str(&openai_as_events(&chat, false).unwrap()[0].data).unwrap();
        assert_eq!(
            first["choices"][0]["delta"]["tool_calls"],
            json!([{"index": 0, "id": "c", "type": "function",
            "function": {"name": "f", "arguments": "{}"}}])
        );
    }

    #[test]
    fn a_messages_answer_becomes_a_chat_completion_with_usage_and_tools() {
        let msg = json!({"id": "m1", "type": "message", "stop_reason": "tool_use",
            "content": [{"type": "thinking", "thinking": "hmm", "signature": "s"}, {"type": "text", "text": "Hi"},
                        {"type": "tool_use", "id": "t1", "name": "get", "input": {"q": 1}}],
            "usage": {"input_tokens": 3, "cache_read_input_tokens": 2, "output_tokens": 4}});
        let v = anthropic_to_openai(&msg, "gpt-x");
        let m = &v["choices"][0]["message"];
        assert_eq!((v["id"].as_str(), v["model"].as_str()), (Some("chatcmpl-m1"), Some("gpt-x")));
        assert_eq!((m["content"].as_str(), m["reasoning_content"].as_str()), (Some("Hi"), Some("hmm")));
        assert_eq!(m["tool_calls"][0]["function"]["arguments"], "{\"q\":1}");
        assert_eq!(v["choices"][0]["finish_reason"], "tool_calls");
        assert_eq!(
            (v["usage"]["prompt_tokens"].as_u64(), v["usage"]["completion_tokens"].as_u64()),
            (Some(5), Some(4))
        );
    }

    #[test]
    fn a_chat_completion_becomes_a_message_with_minted_thinking_and_raw_arguments_kept() {
        let resp = json!({"id": "chatcmpl-7", "choices": [{"finish_reason": "stop", "message": {
            "reasoning_content": "r", "content": "ok",
            "tool_calls": [{"id": "c1", "function": {"name": "f", "arguments": "not json"}}]}}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 2}});
        let v = openai_to_anthropic(&resp, "claude-x");
        let types: Vec<&str> = v["content"].as_array().unwrap().iter().map(|b| b["type"].as_str().unwrap()).collect();
        assert_eq!(types, ["thinking", "text", "tool_use"]);
        assert!(v["content"][0]["signature"].as_str().unwrap().starts_with(crate::translate::MINTED_SIGNATURE));
        assert_eq!(v["content"][2]["input"], json!({"raw_arguments": "not json"}));
        assert_eq!((v["id"].as_str(), v["stop_reason"].as_str()), (Some("msg_7"), Some("tool_use")));
        assert_eq!(v["usage"]["output_tokens"], 2);
    }

    #[test]
    fn whole_answers_become_the_events_of_their_stream() {
        let chat = json!({"id": "c", "created": 1, "model": "m", "choices": [{"index": 0, "finish_reason": "tool_calls",
            "message": {"content": null, "tool_calls": [{"id": "t", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1}});
        let events = openai_as_events(&chat, true).unwrap();
        let data: Vec<Value> = events.iter().map(|e| serde_json::from_str(&e.data).unwrap_or(Value::Null)).collect();
        assert_eq!(data[0]["choices"][0]["delta"]["tool_calls"][0]["index"], 0);
        assert_eq!(data[1]["choices"][0]["finish_reason"], "tool_calls");
        assert_eq!(data[2]["usage"]["prompt_tokens"], 1);
        assert_eq!(events.last().unwrap().data, "[DONE]");
        let msg = json!({"type": "message", "content": [{"type": "text", "text": "Hi"}], "stop_reason": "end_turn",
                         "usage": {"input_tokens": 2, "output_tokens": 5}});
        let events = anthropic_as_events(&msg).unwrap();
        let names: Vec<&str> = events.iter().map(|e| e.name.as_deref().unwrap()).collect();
        assert_eq!(
            names,
            [
                "message_start",
                "content_block_start",
                "content_block_delta",
                "content_block_stop",
                "message_delta",
                "message_stop"
            ]
        );
        assert!(events[4].data.contains("\"output_tokens\":5"));
        // A cited text block kept its text and lost its citations.
        let cite =
            json!({"type": "web_search_result_location", "url": "https://a.org", "title": "A", "cited_text": "c"});
        let msg = json!({"type": "message", "content": [{"type": "text", "text": "Hi", "citations": [cite]}]});
        let deltas: Vec<Value> = (anthropic_as_events(&msg).unwrap().iter())
            .filter(|e| e.name.as_deref() == Some("content_block_delta"))
            .map(|e| serde_json::from_str::<Value>(&e.data).unwrap()["delta"].clone())
            .collect();
        assert_eq!(
            deltas,
            [json!({"type": "citations_delta", "citation": cite}), json!({"type": "text_delta", "text": "Hi"})]
        );
    }

    #[test]
    fn errors_keep_their_message_and_context_numbers_in_each_shape() {
        let body = br#"{"error":{"message":"This model's maximum context length is 8192 tokens. However, you requested 9000 tokens."}}"#;
        let a = error_to_anthropic(400, body, None);
        assert_eq!(a["error"]["type"], "invalid_request_error");
        assert!(a["error"]["message"].as_str().unwrap().contains("8192"), "{a}");
        let o = error_to_openai(br#"{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}"#);
        assert_eq!(o["error"]["message"], "slow down");
    }
}
