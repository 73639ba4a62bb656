//! LiteLLM's `mock_response`: a deployment that answers every chat with a fixed text, as a
//! Chat Completions JSON body or as an SSE stream, so the proxy works offline out of the box.

use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};

/// Distinguishes the ids of successive mock completions.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// The mock answer to a chat request: `(content type, body)`.
pub fn chat(
    text: &str,
    model: &str,
    request_bytes: usize,
    stream: bool,
    include_usage: bool,
) -> (&'static str, Vec<u8>) {
    let id = format!("chatcmpl-mock-{}", NEXT_ID.fetch_add(1, Ordering::Relaxed));
    let created = crate::clock::unix_now();
    // A rough token count (≈ 4 bytes per token, rounded up), the same estimate for prompt and answer.
    let (prompt, completion) = (request_bytes.div_ceil(4) as u64, text.len().div_ceil(4) as u64);
    let usage = json!({"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion});
    if !stream {
        let body = json!({
            "id": id, "object": "chat.completion", "created": created, "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "logprobs": null, "finish_reason": "stop"}],
            "usage": usage,
        });
        return ("application/json", body.to_string().into_bytes());
    }
    let chunk = |choices: Value| json!({"id": id, "object": "chat.completion.chunk", "created": created, "model": model, "choices": choices});
    let choice = |delta: Value, finish: Value| {
        chunk(json!([{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]))
    };
    let mut events = vec![choice(json!({"role": "assistant", "content": ""}), json!(null))];
    // Word-sized pieces that concatenate back to the text.
    events.extend(text.split_inclusive(' ').map(|w| choice(json!({"content": w}), json!(null))));
    events.push(choice(json!({}), json!("stop")));
    if include_usage {
        let mut last = chunk(json!([]));
        last["usage"] = usage;
        events.push(last);
    }
    let body: String = events.iter().map(|e| format!("data: {e}\n\n")).collect();
    ("text/event-stream", (body + "data: [DONE]\n\n").into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(body: &[u8]) -> Vec<String> {
        let s = String::from_utf8(body.to_vec()).unwrap();
        s.split("\n\n").filter(|e| !e.is_empty()).map(|e| e.strip_prefix("data: ").unwrap().to_string()).collect()
    }

    #[test]
    fn non_streamed_is_a_complete_chat_completion() {
        let (ct, body) = chat("hi there", "demo", 40, false, false);
        assert_eq!(ct, "application/json");
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["choices"][0]["message"]["content"], "hi there");
        assert_eq!(v["choices"][0]["finish_reason"], "stop");
        assert_eq!(v["usage"]["total_tokens"], 12);
    }

    #[test]
    fn streamed_text_reassembles_and_ends_with_one_finish_usage_and_done() {
        let (ct, body) = chat("a b  c", "demo", 8, true, true);
        assert_eq!(ct, "text/event-stream");
        let ev = events(&body);
        assert_eq!(ev.last().unwrap(), "[DONE]");
        let chunks: Vec<serde_json::Value> =
            ev[..ev.len() - 1].iter().map(|e| serde_json::from_str(e).unwrap()).collect();
        let text: String = chunks.iter().filter_map(|c| c["choices"][0]["delta"]["content"].as_str()).collect();
        assert_eq!(text, "a b  c");
        let finishes = chunks.iter().filter(|c| c["choices"][0]["finish_reason"].is_string()).count();
        assert_eq!(finishes, 1);
        assert_eq!(chunks.last().unwrap()["choices"], serde_json::json!([]));
        assert!(chunks.last().unwrap()["usage"]["prompt_tokens"].is_u64());
        let (_, no_usage) = chat("x", "demo", 1, true, false);
        assert!(!String::from_utf8(no_usage).unwrap().contains("usage"));
    }
}
