//! Bodies pass through untouched, streams arrive as they are produced, disconnects stop upstream.

use crate::support::*;
use std::io::Read;
use std::time::{Duration, Instant};

const TOKEN: &str = "tok-client";

fn proxy_to(up: &FakeUpstream) -> Proxy {
    Proxy::start(&models_yaml(&[("*", "openai/*", &format!("{}/v1", up.url()))]), &[("LOCAL_AUTH_TOKEN", TOKEN)])
}

#[test]
fn non_streamed_body_arrives_byte_for_byte() {
    let up = FakeUpstream::replay(|| Script::json(200, &fixture("upstream/chat.json")));
    let proxy = proxy_to(&up);
    let req = r#"{"model":"gemini-2.5-pro",  "messages":[{"role":"user","content":"确定"}], "temperature":0.70}"#;
    let r = post(&proxy, "/v1/chat/completions", TOKEN, req);
    assert_eq!(r.status, 200);
    assert_eq!(r.body, fixture("upstream/chat.json"));
    assert_eq!(r.header("x-request-id"), Some("req-1"));
    // The request body needed no change, so upstream got the client's exact bytes too.
    assert_eq!(up.requests()[0].body, req.as_bytes());
    assert_eq!(up.requests()[0].path, "/v1/chat/completions");
}

#[test]
fn streamed_body_split_mid_event_and_mid_character_arrives_byte_for_byte() {
    let up = FakeUpstream::replay(|| Script::sse(&fixture("upstream/chat-stream.sse"), 37));
    let proxy = proxy_to(&up);
    let r = post(&proxy, "/v1/chat/completions", TOKEN, r#"{"model":"gemini-2.5-pro","stream":true,"messages":[]}"#);
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), String::from_utf8(fixture("upstream/chat-stream.sse")).unwrap());
    assert_eq!(r.header("cache-control"), Some("no-cache"));
    assert_eq!(r.header("x-accel-buffering"), Some("no"));
}

#[test]
fn upstream_key_is_injected_and_client_credentials_never_forwarded() {
    let up = FakeUpstream::replay(|| Script::json(200, b"{}"));
    let proxy = proxy_to(&up);
    let auth = format!("Bearer {TOKEN}");
    let r = call(
        "POST",
        &proxy.url("/v1/chat/completions"),
        &[
            ("Authorization", &auth),
            ("x-api-key", TOKEN),
            ("Cookie", "s=1"),
            ("OpenAI-Organization", "org-1"),
            ("X-Forwarded-For", "1.2.3.4"),
        ],
        r#"{"model":"m","messages":[]}"#,
    );
    assert_eq!(r.status, 200);
    let got = &up.requests()[0];
    assert_eq!(got.header("authorization"), Some("Bearer sk-upstream"));
    // It scopes the client's key, not the proxy's (OpenAI answers 401 when they do not match).
    for h in ["x-api-key", "cookie", "x-forwarded-for", "openai-organization"] {
        assert_eq!(got.header(h), None, "{h} forwarded");
    }
    let everything = format!("{:?}", got);
    assert!(!everything.contains(TOKEN), "client token reached upstream: {everything}");
}

/// The upstream holds the rest of its stream until the client has the first event: an event
/// held back until the end could only arrive after the gate's bound (then the test fails), and a
/// loaded machine only makes the wait longer, never the verdict different.
#[test]
fn first_event_reaches_the_client_long_before_the_stream_ends() {
    let ev =
        |i: u32| format!("data: {{\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{i}\"}}}}]}}\n\n").into_bytes();
    let gate = Gate::default();
    let held = gate.clone();
    let up = FakeUpstream::replay(move || Script::Gated {
        before: ev(1),
        gate: held.clone(),
        bound: Duration::from_secs(8),
        after: [ev(2), b"data: [DONE]\n\n".to_vec()].concat(),
    });
    let proxy = proxy_to(&up);
    let body = r#"{"model":"m","stream":true,"messages":[]}"#;
    let req = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let start = Instant::now();
    let mut s = raw(&proxy, req.as_bytes());
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    let first = loop {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "closed before the first event");
        seen.extend_from_slice(&buf[..n]);
        if String::from_utf8_lossy(&seen).contains("\"content\":\"1\"") {
            break start.elapsed();
        }
    };
    // Generous: the point is that it was not held back until the end (the gate's 8 s bound).
    assert!(first < Duration::from_secs(5), "first event after {first:?}");
    gate.open();
    let rest = read_all(s);
    assert!(rest.contains("\"content\":\"2\"") && rest.contains("[DONE]"), "{rest}");
}

#[test]
fn client_disconnect_mid_stream_drops_the_upstream_call_promptly() {
    let parts: Vec<_> =
        (0..400).map(|i| (Duration::from_millis(25), format!("data: {{\"n\":{i}}}\n\n").into_bytes())).collect();
    let up = FakeUpstream::replay(move || Script::paced(parts.clone()));
    let proxy = proxy_to(&up);
    let body = r#"{"model":"m","stream":true,"messages":[]}"#;
    let req = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut s = raw(&proxy, req.as_bytes());
    let mut buf = [0u8; 4096];
    loop {
        let n = s.read(&mut buf).unwrap();
        if String::from_utf8_lossy(&buf[..n]).contains("\"n\":") {
            break;
        }
    }
    drop(s);
    let gave_up = Instant::now();
    while up.cut_off.lock().unwrap().is_empty() && gave_up.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let cut = up.cut_off.lock().unwrap().clone();
    assert_eq!(cut.len(), 1, "upstream was not cut off");
    // 400 events take ten seconds; the upstream must have been dropped long before the end
    // (generous for a loaded machine: a handful is what an idle one shows).
    assert!(cut[0] < 200, "upstream kept streaming until part {}", cut[0]);
}

#[test]
fn keep_alive_connection_serves_a_second_request_after_a_stream() {
    let up = FakeUpstream::replay(|| Script::sse(&fixture("upstream/chat-stream.sse"), 200));
    let proxy = proxy_to(&up);
    let body = r#"{"model":"m","stream":true,"messages":[]}"#;
    let one = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut s = raw(&proxy, one.as_bytes());
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !seen.ends_with(b"\r\n0\r\n\r\n") {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "connection closed: {}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&buf[..n]);
    }
    use std::io::Write;
    s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let second = read_all(s);
    assert!(second.starts_with("HTTP/1.1 200"), "{second}");
}

#[test]
fn http10_client_gets_the_stream_delimited_by_close() {
    let up = FakeUpstream::replay(|| Script::sse(&fixture("upstream/chat-stream.sse"), 64));
    let proxy = proxy_to(&up);
    let body = r#"{"model":"m","stream":true,"messages":[]}"#;
    let req = format!(
        "POST /v1/chat/completions HTTP/1.0\r\nAuthorization: Bearer {TOKEN}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let got = read_all(raw(&proxy, req.as_bytes()));
    let (head, rest) = got.split_once("\r\n\r\n").unwrap();
    assert!(head.contains("Connection: close") && !head.contains("chunked"), "{head}");
    assert_eq!(rest.as_bytes(), fixture("upstream/chat-stream.sse"));
}

/// Regression: a request head larger than ureq's output buffer failed as "upstream unreachable"
/// (502) and counted against the deployment. It fits, or it is the client's 431, untried.
#[test]
fn a_large_forwarded_head_reaches_upstream_or_is_the_clients_431() {
    let up = FakeUpstream::replay(|| Script::json(200, &fixture("upstream/chat.json")));
    let proxy = proxy_to(&up);
    let auth = format!("Bearer {TOKEN}");
    let send = |n: usize| {
        let big = "y".repeat(n);
        call(
            "POST",
            &proxy.url("/v1/chat/completions"),
            &[("Authorization", &auth), ("X-Big", &big)],
            r#"{"model":"m","messages":[]}"#,
        )
    };
    assert_eq!(send(6000).status, 200);
    assert_eq!(up.requests()[0].header("x-big").map(str::len), Some(6000));
    let r = send(20_000);
    assert_eq!((r.status, r.json()["error"]["code"].as_str()), (431, Some("headers_too_large")), "{}", r.text());
    assert_eq!(up.requests().len(), 1, "nothing was sent upstream");
}

/// Row 24: an upstream's keep-alive comment (OpenRouter sends `: OPENROUTER PROCESSING` while a
/// model thinks) reaches the client as it arrives, on the repaired and the translated routes
/// alike: it was held until the next event (chat) or dropped (translated), leaving the client and
/// any front proxy in silence. The upstream sends nothing more until the client has the comment.
#[test]
fn upstream_keepalive_comments_reach_the_client_as_they_arrive() {
    let chunk = |delta: &str, finish: &str| {
        format!("data: {{\"id\":\"a\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{{\"index\":0,\"delta\":{delta},\"finish_reason\":{finish}}}]}}\n\n")
    };
    let routes = [
        ("/v1/chat/completions", r#"{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}"#),
        ("/v1/messages", r#"{"model":"m","max_tokens":5,"stream":true,"messages":[{"role":"user","content":"hi"}]}"#),
        ("/v1/responses", r#"{"model":"m","stream":true,"input":"hi"}"#),
    ];
    for (path, body) in routes {
        let gate = Gate::default();
        let held = gate.clone();
        let (before, after) = (chunk(r#"{"content":"Hel"}"#, "null"), chunk("{}", r#""stop""#));
        let up = FakeUpstream::replay(move || Script::Gated {
            before: format!("{before}: OPENROUTER PROCESSING\n\n").into_bytes(),
            gate: held.clone(),
            bound: Duration::from_secs(8),
            after: format!("{after}data: [DONE]\n\n").into_bytes(),
        });
        let proxy = proxy_to(&up);
        let req = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let start = Instant::now();
        let mut s = raw(&proxy, req.as_bytes());
        let (mut seen, mut buf) = (Vec::new(), [0u8; 4096]);
        while !String::from_utf8_lossy(&seen).contains(": OPENROUTER PROCESSING\n\n") {
            let n = s.read(&mut buf).unwrap();
            assert!(n > 0, "{path}: closed before the comment: {}", String::from_utf8_lossy(&seen));
            seen.extend_from_slice(&buf[..n]);
        }
        // Generous: the point is that it was not held back until the gate's 8 s bound.
        assert!(start.elapsed() < Duration::from_secs(5), "{path}: the comment came after {:?}", start.elapsed());
        gate.open();
        let rest = read_all(s);
        let end = ["[DONE]", "message_stop", "response.completed"];
        assert!(end.iter().any(|e| rest.contains(e)), "{path}: {rest}");
    }
}
