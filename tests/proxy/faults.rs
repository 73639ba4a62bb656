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

/// A client that sends its request and never reads: once the socket buffers are full, a write
/// waits at most `client_send_timeout`; then the worker and the upstream call are freed. Other
/// clients are served all along.
#[test]
fn a_client_that_never_reads_is_dropped_after_the_send_timeout() {
    let event = format!("data: {{\"x\":\"{}\"}}\n\n", "y".repeat(64 << 10)).into_bytes();
    // Far more than loopback buffers hold (~40 MB), and no end in sight within the test.
    let parts: Vec<_> = (0..600).map(|_| (Duration::from_millis(2), event.clone())).collect();
    let up = FakeUpstream::replay(move || Script::paced(parts.clone()));
    let yaml = models_yaml(&[("*", "openai/*", &format!("{}/v1", up.url()))]);
    let proxy = Proxy::start(&format!("{yaml}gpt_reverse_proxy:\n  client_send_timeout: 1\n"), &[]);
    let body = r#"{"model":"m","stream":true,"messages":[]}"#;
    let req = format!("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}", body.len());
    let stuck = raw(&proxy, req.as_bytes());
    let t = std::time::Instant::now();
    while up.cut_off.lock().unwrap().is_empty() {
        // Meanwhile everyone else is served.
        let r = post(&proxy, "/v1/models", "", "");
        assert_eq!(r.status, 405, "other requests must be answered");
        assert!(t.elapsed() < Duration::from_secs(20), "the unread stream still holds its worker");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(up.cut_off.lock().unwrap()[0] < 600, "the upstream was cut off, not finished");
    let metrics = call("GET", &proxy.url("/metrics"), &[], "").text();
    assert!(metrics.contains("grp_requests_in_flight 1\n"), "only this request is in flight:\n{metrics}");
    drop(stuck);
}

/// Some upstreams ignore `stream: true` and answer whole. Each client still gets the stream it
/// asked for, in its own dialect: Anthropic events (whatever the upstream's dialect) and
/// Ollama NDJSON. (Chat Completions chunks are checked above.)
#[test]
fn a_whole_answer_to_a_stream_request_reaches_anthropic_and_ollama_clients_as_their_streams() {
    let openai = FakeUpstream::replay(|| Script::json(200, &fixture("upstream/chat.json")));
    let anthropic = FakeUpstream::replay(|| {
        Script::json(200, &fixture("translate/openai-to-anthropic-json-tool-history/upstream_response.json"))
    });
    let models = models_yaml(&[
        ("gpt-*", "openai/*", &format!("{}/v1", openai.url())),
        ("claude-*", "anthropic/*", &anthropic.url()),
    ]);
    let proxy = Proxy::start(&models, &[]);
    let ask = |model: &str| format!(r#"{{"model":"{model}","max_tokens":99,"stream":true,"messages":[]}}"#);
    for (model, wants) in [
        ("gpt-4o", vec!["\"text_delta\"", "用户点击了"]),
        ("claude-sonnet-4", vec!["\"thinking_delta\"", "\"signature_delta\"", "\"input_json_delta\"", "tool_use"]),
    ] {
        let r = post(&proxy, "/v1/messages", "", &ask(model));
        assert!(r.header("content-type").unwrap().starts_with("text/event-stream"), "{model}");
        let text = r.text();
        assert!(
            text.starts_with("event: message_start\n")
                && text.ends_with("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"),
            "{text}"
        );
        for w in wants {
            assert!(text.contains(w), "{model}: {w} missing in {text}");
        }
    }
    let r = post(&proxy, "/ollama/api/chat", "", r#"{"model":"gpt-4o","messages":[]}"#);
    assert_eq!(r.header("content-type"), Some("application/x-ndjson"));
    let text = r.text();
    let lines: Vec<&str> = text.split_terminator('\n').collect();
    assert_eq!(lines.len(), 1, "{text}");
    let last: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(last["done"], true);
    assert!(last["message"]["content"].as_str().unwrap().contains("用户点击了"));
}

#[test]
fn html_where_a_stream_is_due_is_a_502_in_the_clients_dialect() {
    let up = FakeUpstream::replay(|| Script::Answer {
        status: 200,
        headers: vec![("Content-Type".into(), "text/html".into())],
        parts: vec![(Duration::ZERO, b"<html>Just a moment...</html>".to_vec())],
    });
    let proxy = Proxy::start(&models_yaml(&[("*", "openai/*", &format!("{}/v1", up.url()))]), &[]);
    let r = post(&proxy, "/v1/chat/completions", "", r#"{"model":"m","stream":true,"messages":[]}"#);
    assert_eq!((r.status, r.json()["error"]["code"].as_str()), (502, Some("upstream_invalid_response")));
    let r = post(&proxy, "/v1/messages", "", r#"{"model":"m","max_tokens":5,"stream":true,"messages":[]}"#);
    assert_eq!((r.status, r.json()["error"]["type"].as_str()), (502, Some("api_error")));
    let r = post(&proxy, "/ollama/api/chat", "", r#"{"model":"m","messages":[]}"#);
    assert!(r.status == 502 && r.json()["error"].is_string(), "{}", r.text());
}

/// `grp_requests_in_flight`, the proxy's own count of busy workers (this request included).
fn in_flight(proxy: &Proxy) -> u64 {
    let text = call("GET", &proxy.url("/metrics"), &[], "").text();
    text.lines().find_map(|l| l.strip_prefix("grp_requests_in_flight ")?.parse().ok()).unwrap()
}

/// Without a front proxy: a head sent slowly, and a small body (tiny_http reads bodies under
/// 1 KiB before handing the request over), are read by tiny_http's connection thread and hold
/// no worker; a large body sent slowly holds exactly one (tiny_http cannot time a slow client
/// out — the shipped nginx config does, see front_proxy.rs). Everyone else is served meanwhile.
#[test]
fn a_slow_head_holds_no_worker_and_a_slow_body_one_while_others_are_served() {
    use std::io::Write;
    let proxy = Proxy::start(gpt_reverse_proxy::config::DEMO_CONFIG, &[]);
    let start = |len: usize| {
        let head = format!(
            "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {len}\r\n\r\n"
        );
        raw(&proxy, format!("{head}{{\"model\":").as_bytes())
    };
    let mut heads: Vec<_> =
        (0..20).map(|_| raw(&proxy, b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n")).collect();
    let small = start(64);
    let mut large = start(4096);
    let t = std::time::Instant::now();
    while in_flight(&proxy) < 2 && t.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(10));
    }
    for s in heads.iter_mut() {
        s.write_all(b"X-Slow: 1\r\n").unwrap();
    }
    assert_eq!(in_flight(&proxy), 2, "only the large slow body (and this request) hold workers");
    let chat = r#"{"model":"demo","messages":[{"role":"user","content":"hi"}]}"#;
    assert_eq!(post(&proxy, "/v1/chat/completions", "", chat).status, 200);
    // The slow body finishes at last, and is served.
    let rest = format!("{:<4087}", r#""demo","messages":[]}"#);
    large.write_all(rest.as_bytes()).unwrap();
    assert!(read_all(large).starts_with("HTTP/1.1 200"));
    assert_eq!(in_flight(&proxy), 1);
    drop((heads, small));
}

/// Regression: tiny_http's connection thread pool could leave some of a burst of connections
/// queued behind connections that hold their threads (here slow heads; idle keep-alive clients
/// do the same) — one in three times a request on a fresh connection was not answered at all
/// while they stayed open. The watchdog's kicks now free queued connections within moments.
#[test]
fn a_connection_arriving_in_a_burst_behind_held_ones_is_still_answered() {
    use std::io::Read;
    for _ in 0..10 {
        let proxy = Proxy::start(gpt_reverse_proxy::config::DEMO_CONFIG, &[]);
        let held: Vec<_> = (0..20).map(|_| raw(&proxy, b"GET /health HTTP/1.1\r\nHost: x\r\n")).collect();
        let t = std::time::Instant::now();
        let mut s = raw(&proxy, b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let mut head = [0u8; 12];
        s.read_exact(&mut head).expect("an answer");
        assert_eq!(&head, b"HTTP/1.1 200");
        // Generous: twenty kicks at most, 25 ms apart; without them, often never.
        assert!(t.elapsed() < Duration::from_secs(3), "answered only after {:?}", t.elapsed());
        drop(held);
    }
}

/// Media types are case-insensitive: `TEXT/EVENT-STREAM; charset=utf-8` is a stream like any
/// other, on every route (it was read as a whole JSON answer: `502 answer is not JSON`).
#[test]
fn a_capitalised_sse_content_type_still_streams_on_every_route() {
    let chat = concat!(
        "data: {\"id\":\"a\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"capital\"},\"finish_reason\":null}]}\n\n",
        "data: {\"id\":\"a\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n",
        "data: [DONE]\n\n"
    );
    let anthropic = concat!(
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"m\",\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":1,\"output_tokens\":0}}}\n\n",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"capital\"}}\n\n",
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":1}}\n\n",
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
    );
    let up = FakeUpstream::replay(move || Script::Answer {
        status: 200,
        headers: vec![("Content-Type".into(), "TEXT/EVENT-STREAM; charset=utf-8".into())],
        parts: vec![(Duration::ZERO, chat.as_bytes().to_vec())],
    });
    let claude = FakeUpstream::replay(move || Script::Answer {
        status: 200,
        headers: vec![("Content-Type".into(), "Text/Event-Stream".into())],
        parts: vec![(Duration::ZERO, anthropic.as_bytes().to_vec())],
    });
    let yaml =
        models_yaml(&[("claude-x", "anthropic/x", &claude.url()), ("*", "openai/*", &format!("{}/v1", up.url()))]);
    let proxy = Proxy::start(&yaml, &[]);
    let messages = r#""messages":[{"role":"user","content":"hi"}]"#;
    for (path, body) in [
        ("/v1/chat/completions", format!(r#"{{"model":"m","stream":true,{messages}}}"#)),
        ("/v1/messages", format!(r#"{{"model":"m","max_tokens":5,"stream":true,{messages}}}"#)),
        ("/v1/messages", format!(r#"{{"model":"claude-x","max_tokens":5,"stream":true,{messages}}}"#)),
        ("/ollama/api/chat", format!(r#"{{"model":"m",{messages}}}"#)),
        ("/v1/responses", r#"{"model":"m","stream":true,"input":"hi"}"#.to_string()),
    ] {
        let r = post(&proxy, path, "", &body);
        assert_eq!(r.status, 200, "{path} {body}: {}", r.text());
        assert!(r.text().contains("capital"), "{path} {body}: {}", r.text());
        assert_eq!(r.header("cache-control"), Some("no-cache"), "{path} {body}: sent as a stream");
    }
}
