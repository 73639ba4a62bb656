//! Header hygiene, per pair of client dialect and upstream dialect: exactly which of a client's
//! headers reach the fake upstream. One rule decides (`upstream::forwarded`): the credential
//! scoping of OpenAI keys (`OpenAI-Organization`, `OpenAI-Project`) never travels with the
//! proxy's key unless the deployment sets it; `anthropic-*` only to Anthropic upstreams,
//! `openai-*` only to OpenAI ones, the SDKs' `x-stainless-*` only within one dialect.

use crate::support::*;
use serde_json::json;
use std::collections::BTreeSet;

/// What every client sends here, whatever its dialect (an SDK with `OPENAI_ORG_ID` and
/// `OPENAI_PROJECT_ID` set, a beta or two, its telemetry, and a header of the user's own).
const CLIENT_HEADERS: &[(&str, &str)] = &[
    ("Content-Type", "application/json"),
    ("OpenAI-Organization", "org-client"),
    ("OpenAI-Project", "proj-client"),
    ("OpenAI-Beta", "assistants=v2"),
    ("anthropic-version", "2023-06-01"),
    ("anthropic-beta", "structured-outputs-2025-11-13"),
    ("x-stainless-lang", "python"),
    ("x-stainless-retry-count", "0"),
    ("X-Trace-Id", "t-1"),
];

/// The client dialects: the path each is served on and a small request in it.
fn clients() -> Vec<(&'static str, &'static str, serde_json::Value)> {
    let chat = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]});
    vec![
        ("openai", "/v1/chat/completions", chat.clone()),
        (
            "anthropic",
            "/v1/messages",
            json!({"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}),
        ),
        ("responses", "/v1/responses", json!({"model": "m", "input": "hi"})),
        (
            "ollama",
            "/ollama/api/chat",
            json!({"model": "m", "stream": false, "messages": [{"role": "user", "content": "hi"}]}),
        ),
    ]
}

/// The names (lower-case) of the client headers that reached an upstream, of those in
/// [`CLIENT_HEADERS`], with the value each arrived with.
fn arrived(client: &str, provider: &str, extra: &str) -> BTreeSet<String> {
    let answer = match provider {
        "openai" => fixture("upstream/chat.json"),
        _ => fixture("translate/openai-to-anthropic-json-tool-history/upstream_response.json"),
    };
    let up = FakeUpstream::replay(move || Script::json(200, &answer));
    let base = if provider == "openai" { format!("{}/v1", up.url()) } else { up.url() };
    let yaml = models_yaml(&[("m", &format!("{provider}/m"), &base)]) + extra;
    let proxy = Proxy::start(&yaml, &[]);
    let (_, path, body) = clients().into_iter().find(|(c, _, _)| *c == client).unwrap();
    let r = call("POST", &proxy.url(path), CLIENT_HEADERS, &body.to_string());
    assert_eq!(r.status, 200, "{client} → {provider}: {}", r.text());
    let got = &up.requests()[0];
    CLIENT_HEADERS
        .iter()
        .filter_map(|(k, _)| got.header(k).map(|v| format!("{}={v}", k.to_ascii_lowercase())))
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn each_upstream_gets_only_the_client_headers_meant_for_its_dialect() {
    let common = ["content-type=application/json", "x-trace-id=t-1"];
    let stainless = ["x-stainless-lang=python", "x-stainless-retry-count=0"];
    let anthropic = ["anthropic-version=2023-06-01", "anthropic-beta=structured-outputs-2025-11-13"];
    for (client, _, _) in clients() {
        for provider in ["openai", "anthropic"] {
            let mut want = set(&common);
            if provider == "openai" {
                want.insert("openai-beta=assistants=v2".into());
            } else {
                want.extend(set(&anthropic));
            }
            let same_dialect =
                matches!((client, provider), ("openai" | "responses", "openai") | ("anthropic", "anthropic"));
            if same_dialect {
                want.extend(set(&stainless));
            }
            assert_eq!(arrived(client, provider, ""), want, "{client} client → {provider} upstream");
        }
    }
}

#[test]
fn credential_scoping_headers_travel_only_as_the_deployment_sets_them() {
    let extra = "      extra_headers: {OpenAI-Organization: org-deployment}\n";
    for client in ["openai", "anthropic"] {
        let got = arrived(client, "openai", extra);
        assert!(got.contains("openai-organization=org-deployment"), "{client}: {got:?}");
        assert!(!got.iter().any(|h| h.contains("client")), "{client}: the client's own never: {got:?}");
    }
}

/// Upstream response headers were copied unfiltered on the untranslated route: one echoing the
/// key (`X-Echo-Key`, `WWW-Authenticate: Bearer sk-…`) reached the client, on an error or not.
#[test]
fn upstream_headers_echoing_the_key_reach_no_client() {
    let key = "sk-UPSTREAM-SECRET-0123456789";
    let up = FakeUpstream::start(move |rec| {
        let status = if rec.body.windows(5).any(|w| w == b"\"bad\"") { 401 } else { 200 };
        let echo = rec.header("authorization").unwrap_or_default().to_string();
        Script::Answer {
            status,
            headers: vec![
                ("Content-Type".into(), "application/json".into()),
                ("X-Echo-Key".into(), echo.clone()),
                ("WWW-Authenticate".into(), echo),
            ],
            parts: vec![(std::time::Duration::ZERO, fixture("upstream/chat.json"))],
        }
    });
    let yaml = models_yaml(&[("*", "openai/*", &format!("{}/v1", up.url()))]).replace("sk-upstream", key);
    let proxy = Proxy::start(&yaml, &[]);
    for model in ["bad", "good"] {
        let body = json!({"model": model, "messages": [{"role": "user", "content": "hi"}]});
        let r = call("POST", &proxy.url("/v1/chat/completions"), CLIENT_HEADERS, &body.to_string());
        assert_eq!(r.status, if model == "bad" { 401 } else { 200 });
        assert!(r.headers.iter().all(|(_, v)| !v.contains(key)), "{model}: {:?}", r.headers);
        assert_eq!(r.header("x-echo-key"), Some("Bearer sk-...6789"), "{model}");
        assert_eq!(r.header("www-authenticate"), Some("Bearer sk-...6789"), "{model}");
    }
}
