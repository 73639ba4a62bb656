//! The Anthropic surface: `/v1/messages` passthrough fidelity, count_tokens, model lists in
//! Anthropic shape, both auth styles, and errors in Anthropic's shape.

use crate::support::*;
use serde_json::{json, Value};

const TOKEN: &str = "tok";

fn messages(proxy: &Proxy, auth: (&str, &str), body: &str) -> Resp {
    let hs = [auth, ("anthropic-version", "2023-06-01"), ("Content-Type", "application/json")];
    call("POST", &proxy.url("/v1/messages?beta=true"), &hs, body)
}

fn key() -> (&'static str, &'static str) {
    ("x-api-key", TOKEN)
}

fn anthropic_error(r: &Resp, status: u16, kind: &str) {
    assert_eq!(r.status, status, "{}", r.text());
    let v = r.json();
    assert_eq!((v["type"].as_str(), v["error"]["type"].as_str()), (Some("error"), Some(kind)), "{v}");
    assert!(v["error"]["message"].is_string());
}

/// A Messages request as Claude Code replays it: thinking with a real signature, tools.
const REPLAY: &str = r#"{"model":"claude-sonnet-4","max_tokens":512,"stream":true,"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":[{"type":"thinking","thinking":"hmm","signature":"EqQBCkYIBRgCKkDx+/=="},{"type":"text","text":"yo"}]},{"role":"user","content":"again"}]}"#;

#[test]
fn anthropic_deployment_gets_the_exact_bytes_and_its_stream_comes_back_untouched() {
    let stream = fixture("translate/openai-to-anthropic-stream-tools/upstream_response.sse");
    let s2 = stream.clone();
    let up = FakeUpstream::replay(move || Script::sse(&s2, 29));
    let proxy = Proxy::start(&models_yaml(&[("claude-*", "anthropic/*", &up.url())]), &[("LOCAL_AUTH_TOKEN", TOKEN)]);
    let r = messages(&proxy, key(), REPLAY);
    assert_eq!(r.status, 200);
    assert_eq!(r.body, stream, "the relay's own bytes, padding and all");
    let got = &up.requests()[0];
    assert_eq!(got.path, "/v1/messages");
    assert_eq!(got.body, REPLAY.as_bytes(), "signature and key order untouched");
    assert_eq!((got.header("x-api-key"), got.header("anthropic-version")), (Some("sk-upstream"), Some("2023-06-01")));
    // The stream passed untouched, and its usage (input at the start, output at the end) counted.
    let metrics = call("GET", &proxy.url("/metrics"), &[key()], "").text();
    for want in [
        r#"grp_tokens_total{model="claude-*",kind="prompt"} 14672"#,
        r#"grp_tokens_total{model="claude-*",kind="completion"} 131"#,
    ] {
        assert!(metrics.contains(want), "{want} missing:\n{metrics}");
    }
}

#[test]
fn an_alias_changes_only_the_model_and_keeps_signatures() {
    let up = FakeUpstream::replay(|| Script::json(200, b"{}"));
    let proxy =
        Proxy::start(&models_yaml(&[("claude-sonnet-4", "anthropic/claude-sonnet-4-20250514", &up.url())]), &[]);
    assert_eq!(messages(&proxy, ("x-api-key", "any"), REPLAY).status, 200);
    let sent = up.requests()[0].json();
    let mut want: Value = serde_json::from_str(REPLAY).unwrap();
    want["model"] = json!("claude-sonnet-4-20250514");
    assert_eq!(sent, want);
}

#[test]
fn minted_thinking_never_reaches_an_anthropic_upstream() {
    let up = FakeUpstream::replay(|| Script::json(200, b"{}"));
    let proxy = Proxy::start(&models_yaml(&[("*", "anthropic/*", &up.url())]), &[]);
    let body = REPLAY.replace("EqQBCkYIBRgCKkDx+/==", "gpt-reverse-proxy-minted-1700000000");
    assert_eq!(messages(&proxy, ("x-api-key", "any"), &body).status, 200);
    let sent = up.requests()[0].json();
    assert_eq!(sent["messages"][1]["content"], json!([{"type": "text", "text": "yo"}]));
}

#[test]
fn claude_code_relays_get_the_identity_on_passthrough_too() {
    let up = FakeUpstream::replay(|| Script::json(200, b"{}"));
    let proxy = Proxy::start(&models_yaml(&[("*", "openai2claudecode/*", &up.url())]), &[]);
    let body = r#"{"model":"claude-x","max_tokens":5,"system":"Be nice","messages":[{"role":"user","content":"hi"}]}"#;
    let hs = [("x-api-key", "any"), ("anthropic-beta", "my-beta"), ("User-Agent", "python-sdk")];
    assert_eq!(call("POST", &proxy.url("/v1/messages"), &hs, body).status, 200);
    let got = &up.requests()[0];
    let system = &got.json()["system"];
    assert_eq!(system[0]["text"], "You are Claude Code, Anthropic's official CLI for Claude.");
    assert_eq!(system[1]["text"], "Be nice");
    assert_eq!(got.header("anthropic-beta"), Some("my-beta"), "the client's betas are kept");
    assert_eq!(got.header("user-agent"), Some("claude-cli/1.0.69 (external, cli)"));
    assert_eq!(got.header("anthropic-dangerous-direct-browser-access"), Some("true"));
}

#[test]
fn count_tokens_is_forwarded_to_anthropic_and_estimated_generously_otherwise() {
    let up = FakeUpstream::replay(|| Script::json(200, br#"{"input_tokens":42}"#));
    let yaml = models_yaml(&[("claude-*", "anthropic/*", &up.url()), ("*", "openai/*", "http://127.0.0.1:9/v1")]);
    let proxy = Proxy::start(&yaml, &[]);
    let hs = [("Authorization", "Bearer x"), ("anthropic-version", "2023-06-01")];
    let url = proxy.url("/v1/messages/count_tokens?beta=true");
    let r = call("POST", &url, &hs, r#"{"model":"claude-3","messages":[{"role":"user","content":"hi"}]}"#);
    assert_eq!((r.status, r.json()["input_tokens"].as_u64()), (200, Some(42)));
    assert_eq!(up.requests()[0].path, "/v1/messages/count_tokens");

    let text = "word ".repeat(600);
    let body = json!({"model": "gpt-4o", "system": "sys", "messages": [{"role": "user", "content": text}]}).to_string();
    let r = call("POST", &url, &hs, &body);
    let n = r.json()["input_tokens"].as_u64().unwrap();
    // 3,000 characters of English are about 600–750 tokens; the estimate must not be lower.
    assert!((1000..=1200).contains(&n), "estimate {n}");
    assert_eq!(up.requests().len(), 1, "no upstream call for the estimate");
}

#[test]
fn count_tokens_through_an_alias_sends_the_aliased_name() {
    // The alias itself was sent to a glob deployment, which forwards the name it is given.
    let up = FakeUpstream::replay(|| Script::json(200, br#"{"input_tokens":42}"#));
    let models = models_yaml(&[("claude-*", "anthropic/*", &up.url())]);
    let proxy =
        Proxy::start(&format!("{models}router_settings:\n  model_group_alias: {{fast: claude-haiku-4}}\n"), &[]);
    let hs = [("Authorization", "Bearer x"), ("anthropic-version", "2023-06-01")];
    let body = r#"{"model":"fast","messages":[{"role":"user","content":"hi"}]}"#;
    assert_eq!(call("POST", &proxy.url("/v1/messages/count_tokens"), &hs, body).status, 200);
    assert_eq!(up.requests()[0].json()["model"], "claude-haiku-4");
}

#[test]
fn model_list_is_anthropic_shaped_when_asked_with_anthropic_version() {
    let proxy = Proxy::start(gpt_reverse_proxy::config::DEMO_CONFIG, &[]);
    let hs = [("x-api-key", "x"), ("anthropic-version", "2026-10-21")];
    let v = call("GET", &proxy.url("/v1/models?limit=1000"), &hs, "").json();
    assert_eq!(
        (v["has_more"].as_bool(), v["first_id"].as_str(), v["last_id"].as_str()),
        (Some(false), Some("demo"), Some("demo"))
    );
    let m = &v["data"][0];
    assert_eq!(
        (m["type"].as_str(), m["id"].as_str(), m["lifecycle"].as_str()),
        (Some("model"), Some("demo"), Some("active"))
    );
    assert!(m["created_at"].as_str().unwrap().ends_with('Z'));
    let one = call("GET", &proxy.url("/v1/models/demo"), &hs, "").json();
    assert_eq!(one["display_name"], "demo");
    assert_eq!(call("GET", &proxy.url("/v1/models"), &[], "").json()["object"], "list");
}

#[test]
fn both_auth_styles_and_any_version_headers_are_accepted() {
    let proxy = Proxy::start(gpt_reverse_proxy::config::DEMO_CONFIG, &[("LOCAL_AUTH_TOKEN", TOKEN)]);
    let body = r#"{"model":"demo","max_tokens":50,"messages":[{"role":"user","content":"hi"}]}"#;
    let bearer = format!("Bearer {TOKEN}");
    for auth in [key(), ("Authorization", bearer.as_str())] {
        let hs = [auth, ("anthropic-version", "2099-12-31"), ("anthropic-beta", "future-thing-2030-01-01")];
        assert_eq!(call("POST", &proxy.url("/v1/messages"), &hs, body).status, 200, "{auth:?}");
    }
    anthropic_error(&messages(&proxy, ("x-api-key", "nope"), body), 401, "authentication_error");
}

#[test]
fn demo_model_answers_anthropic_clients_streamed_and_not() {
    let proxy = Proxy::start(gpt_reverse_proxy::config::DEMO_CONFIG, &[]);
    let r = messages(&proxy, key(), r#"{"model":"demo","max_tokens":50,"messages":[{"role":"user","content":"hi"}]}"#);
    let v = r.json();
    assert_eq!((v["type"].as_str(), v["stop_reason"].as_str()), (Some("message"), Some("end_turn")));
    assert!(v["content"][0]["text"].as_str().unwrap().starts_with("Hello from gpt-reverse-proxy"));
    let r = messages(
        &proxy,
        key(),
        r#"{"model":"demo","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"hi"}]}"#,
    );
    let text = r.text();
    assert!(text.starts_with("event: message_start\n"), "{text}");
    assert!(text.ends_with("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"), "{text}");
    assert!(!text.contains("[DONE]"));
}

#[test]
fn errors_reach_anthropic_clients_in_anthropic_shape() {
    let yaml = format!(
        "{}gpt_reverse_proxy:\n  max_body_bytes: 300\n",
        models_yaml(&[("claude-x", "anthropic/claude-x", "http://127.0.0.1:9")])
    );
    let proxy = Proxy::start(&yaml, &[]);
    anthropic_error(&messages(&proxy, key(), "{oops"), 400, "invalid_request_error");
    anthropic_error(
        &messages(&proxy, key(), r#"{"model":"nope","max_tokens":1,"messages":[]}"#),
        404,
        "not_found_error",
    );
    let big = format!(
        r#"{{"model":"claude-x","max_tokens":1,"messages":[{{"role":"user","content":"{}"}}]}}"#,
        "x".repeat(400)
    );
    anthropic_error(&messages(&proxy, key(), &big), 413, "request_too_large");
    anthropic_error(&messages(&proxy, key(), r#"{"model":"claude-x","max_tokens":1,"messages":[]}"#), 502, "api_error");
}

#[test]
fn overload_is_529_for_anthropic_clients() {
    use std::time::Duration;
    let up = FakeUpstream::replay(|| {
        Script::paced(vec![(Duration::from_millis(800), b"event: ping\ndata: {}\n\n".to_vec())])
    });
    let yaml = format!(
        "{}gpt_reverse_proxy:\n  max_concurrent_requests: 1\n",
        models_yaml(&[("*", "anthropic/*", &up.url())])
    );
    let proxy = Proxy::start(&yaml, &[]);
    let url = proxy.url("/v1/messages");
    let busy =
        std::thread::spawn(move || call("POST", &url, &[], r#"{"model":"m","max_tokens":1,"messages":[]}"#).status);
    while up.requests().is_empty() {
        std::thread::sleep(Duration::from_millis(10));
    }
    let r = messages(&proxy, key(), r#"{"model":"m","max_tokens":1,"messages":[]}"#);
    anthropic_error(&r, 529, "overloaded_error");
    assert_eq!(busy.join().unwrap(), 200);
}
