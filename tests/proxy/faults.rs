//! Upstream faults beyond timeouts (those are in errors.rs): a stream cut before its end, a body
//! that is not the JSON it should be, a very large answer.

use crate::support::*;
use std::time::Duration;

/// A chunked SSE answer whose connection drops before the terminating chunk.
fn cut_stream() -> Script {
    let chunk = |s: &str| format!("{:x}\r\n{s}\r\n", s.len()).into_bytes();
    Script::Answer {
        status: 200,
        headers: vec![("Content-Type".into(), "text/event-stream".into()), ("Transfer-Encoding".into(), "chunked".into())],
        parts: vec![
            (Duration::ZERO, chunk("data: {\"id\":\"a\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"},\"finish_reason\":null}]}\n\n")),
            (Duration::from_millis(20), b"7\r\ndata: {".to_vec()),
        ],
    }
}

#[test]
fn a_stream_cut_before_its_end_is_an_error_event_not_a_clean_finish() {
    let up = FakeUpstream::replay(cut_stream);
    let proxy = Proxy::start(&models_yaml(&[("*", "openai/*", &format!("{}/v1", up.url()))]), &[]);
    let r = post(&proxy, "/v1/chat/completions", "", r#"{"model":"m","stream":true,"messages":[]}"#);
    let text = r.text();
    assert!(text.contains("\"content\":\"Hel\""), "{text}");
    assert!(
        text.contains("data: {\"error\":") && !text.contains("[DONE]"),
        "truncation must not look finished: {text}"
    );
}

#[test]
fn a_cut_stream_reaches_anthropic_clients_as_an_error_event() {
    let up = FakeUpstream::replay(cut_stream);
    let proxy = Proxy::start(&models_yaml(&[("*", "openai/*", &format!("{}/v1", up.url()))]), &[]);
    let r = call(
        "POST",
        &proxy.url("/v1/messages"),
        &[("x-api-key", "k")],
        r#"{"model":"m","max_tokens":5,"stream":true,"messages":[]}"#,
    );
    let text = r.text();
    assert!(text.contains("event: error\n") && !text.contains("message_stop"), "{text}");
}

#[test]
fn html_where_json_is_due_is_a_502_in_the_clients_dialect() {
    let up = FakeUpstream::replay(|| Script::Answer {
        status: 200,
        headers: vec![("Content-Type".into(), "text/html".into())],
        parts: vec![(Duration::ZERO, b"<html>Cloudflare says hi</html>".to_vec())],
    });
    let proxy = Proxy::start(&models_yaml(&[("*", "anthropic/*", &up.url())]), &[]);
    let r =
        post(&proxy, "/v1/chat/completions", "", r#"{"model":"claude-x","messages":[{"role":"user","content":"hi"}]}"#);
    assert_eq!(r.status, 502, "{}", r.text());
    assert_eq!(r.json()["error"]["code"], "upstream_invalid_response");
}

#[test]
fn a_ten_megabyte_answer_passes_through_intact() {
    let big: Vec<u8> = format!("{{\"data\":\"{}\"}}", "x".repeat(10 << 20)).into_bytes();
    let b2 = big.clone();
    let up = FakeUpstream::replay(move || Script::Answer {
        status: 200,
        headers: vec![
            ("Content-Type".into(), "application/json".into()),
            ("Content-Length".into(), b2.len().to_string()),
        ],
        parts: b2.chunks(1 << 16).map(|c| (Duration::ZERO, c.to_vec())).collect(),
    });
    let proxy = Proxy::start(&models_yaml(&[("*", "openai/*", &format!("{}/v1", up.url()))]), &[]);
    let r = post(&proxy, "/v1/embeddings", "", r#"{"model":"m","input":"x"}"#);
    assert_eq!(r.status, 200);
    assert!(r.body == big, "{} bytes arrived of {}", r.body.len(), big.len());
}

#[test]
fn a_whole_answer_to_a_stream_request_reaches_the_client_as_chunks() {
    let up = FakeUpstream::replay(|| Script::json(200, &fixture("upstream/chat.json")));
    let proxy = Proxy::start(&models_yaml(&[("*", "openai/*", &format!("{}/v1", up.url()))]), &[]);
    let body = r#"{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[]}"#;
    let r = post(&proxy, "/v1/chat/completions", "", body);
    assert!(r.header("content-type").unwrap().starts_with("text/event-stream"));
    let text = r.text();
    assert!(text.contains("\"content\":\"用户点击了 确定 — fixed ✓\"") && text.ends_with("data: [DONE]\n\n"), "{text}");
    assert_eq!(text.matches("\"finish_reason\":\"stop\"").count(), 1);
    assert!(text.contains("\"total_tokens\":21"));
}
