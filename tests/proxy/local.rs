//! Answers the proxy gives by itself: the demo model, health, and the merged model list.

use crate::support::*;
use gpt_reverse_proxy::config::DEMO_CONFIG;

#[test]
fn demo_model_answers_without_stream() {
    let proxy = Proxy::start(DEMO_CONFIG, &[]);
    let r = post(&proxy, "/v1/chat/completions", "", r#"{"model":"demo","messages":[{"role":"user","content":"hi"}]}"#);
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(v["object"], "chat.completion");
    assert!(v["choices"][0]["message"]["content"].as_str().unwrap().contains("gpt-reverse-proxy"));
}

#[test]
fn demo_model_streams_with_usage_and_done() {
    let proxy = Proxy::start(DEMO_CONFIG, &[]);
    let body = r#"{"model":"demo","stream":true,"stream_options":{"include_usage":true},"messages":[]}"#;
    let r = post(&proxy, "/chat/completions", "", body);
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").unwrap().starts_with("text/event-stream"));
    let text = r.text();
    assert!(text.ends_with("data: [DONE]\n\n"));
    assert!(text.contains("\"finish_reason\":\"stop\"") && text.contains("\"usage\":{"));
}

#[test]
fn health_answers_get_and_head() {
    let proxy = Proxy::start(DEMO_CONFIG, &[]);
    let r = call("GET", &proxy.url("/health"), &[], "");
    assert_eq!((r.status, r.json()["status"].as_str()), (200, Some("ok")));
    let r = call("HEAD", &proxy.url("/health"), &[], "");
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty());
}

#[test]
fn model_list_merges_exact_names_and_glob_lists_and_survives_a_failing_upstream() {
    let good = FakeUpstream::replay(|| Script::json(200, &fixture("upstream/models.json")));
    let bad = FakeUpstream::replay(|| Script::json(500, b"{\"error\":\"down\"}"));
    let yaml = models_yaml(&[
        ("my-model", "openai/gpt-4o", &format!("{}/v1", good.url())),
        ("gpt-*", "openai/*", &format!("{}/v1", good.url())),
        ("*", "openai/*", &format!("{}/v1", bad.url())),
    ]);
    let proxy = Proxy::start(&yaml, &[("LOCAL_AUTH_TOKEN", "t")]);
    let auth = [("Authorization", "Bearer t")];
    let r = call("GET", &proxy.url("/v1/models"), &auth, "");
    assert_eq!(r.status, 200);
    let v = r.json();
    let ids: Vec<&str> = v["data"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["my-model", "gpt-4o", "gpt-4o-mini"]);
    assert_eq!(v["object"], "list");
    for m in v["data"].as_array().unwrap() {
        assert_eq!(m["object"], "model");
        assert!(m["created"].is_u64() && m["owned_by"].is_string());
    }
    let asked = &good.requests()[0];
    assert_eq!((asked.path.as_str(), asked.header("authorization")), ("/v1/models", Some("Bearer sk-upstream")));
    assert_eq!(bad.requests().len(), 1);
    // Cached: a second listing asks nobody.
    assert_eq!(call("GET", &proxy.url("/models"), &auth, "").json(), v);
    assert_eq!(good.requests().len() + bad.requests().len(), 2);
    let one = call("GET", &proxy.url("/v1/models/gpt-4o-mini"), &auth, "");
    assert_eq!((one.status, one.json()["id"].as_str()), (200, Some("gpt-4o-mini")));
    let none = call("GET", &proxy.url("/v1/models/o9"), &auth, "");
    assert_eq!((none.status, none.json()["error"]["code"].as_str()), (404, Some("model_not_found")));
}

#[test]
fn metrics_are_prometheus_text_behind_the_token() {
    let up = FakeUpstream::replay(|| Script::json(503, b"{\"error\":\"busy\"}"));
    let good = FakeUpstream::replay(|| Script::json(200, &fixture("upstream/chat.json")));
    let yaml = models_yaml(&[
        ("m", "openai/m", &format!("{}/v1", up.url())),
        ("m", "openai/m", &format!("{}/v1", good.url())),
    ]);
    let proxy = Proxy::start(&yaml, &[("LOCAL_AUTH_TOKEN", "t")]);
    assert_eq!(post(&proxy, "/v1/chat/completions", "t", r#"{"model":"m","messages":[]}"#).status, 200);
    assert_eq!(post(&proxy, "/v1/chat/completions", "nope", r#"{"model":"m","messages":[]}"#).status, 401);
    assert_eq!(call("GET", &proxy.url("/metrics"), &[], "").status, 401);
    let r = call("GET", &proxy.url("/metrics"), &[("Authorization", "Bearer t")], "");
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").unwrap().starts_with("text/plain"));
    let text = r.text();
    // Every sample line is `name{labels} value` with a declared TYPE and a numeric value.
    let mut declared = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            declared.push(rest.split(' ').next().unwrap().to_string());
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("bad line {line}"));
        assert!(value.parse::<f64>().is_ok(), "{line}");
        let name = series.split('{').next().unwrap();
        let base = name.trim_end_matches("_bucket").trim_end_matches("_sum").trim_end_matches("_count");
        assert!(declared.iter().any(|d| d == name || d == base), "{name} has no TYPE");
        assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'), "{name}");
    }
    let value = |series: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(series))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("{series} missing:\n{text}"))
    };
    assert_eq!(value("grp_requests_total{route=\"chat_completions\",dialect=\"openai\",status=\"200\"}"), 1.0);
    assert_eq!(value("grp_requests_total{route=\"chat_completions\",dialect=\"openai\",status=\"401\"}"), 1.0);
    assert_eq!(value("grp_request_duration_seconds_count{route=\"chat_completions\"}"), 2.0);
    let retried = "grp_upstream_attempts_total{deployment=\"#0 openai/m\",outcome=\"retried\"}";
    assert_eq!(value(retried), 1.0, "the 503 led to the next deployment");
    assert_eq!(value("grp_upstream_attempts_total{deployment=\"#1 openai/m\",outcome=\"ok\"}"), 1.0);
    assert_eq!(value("grp_requests_in_flight"), 1.0, "this /metrics request itself");
    // fixtures/upstream/chat.json reports 12 prompt and 9 completion tokens.
    assert_eq!(value("grp_tokens_total{model=\"m\",kind=\"prompt\"}"), 12.0);
    assert_eq!(value("grp_tokens_total{model=\"m\",kind=\"completion\"}"), 9.0);
}

#[test]
fn streamed_usage_is_counted_per_model() {
    let proxy = Proxy::start(DEMO_CONFIG, &[]);
    let body = r#"{"model":"demo","stream":true,"stream_options":{"include_usage":true},"messages":[]}"#;
    assert_eq!(post(&proxy, "/v1/chat/completions", "", body).status, 200);
    let text = call("GET", &proxy.url("/metrics"), &[], "").text();
    let completion = text.lines().find_map(|l| l.strip_prefix("grp_tokens_total{model=\"demo\",kind=\"completion\"} "));
    assert!(completion.and_then(|v| v.parse::<u64>().ok()).is_some_and(|n| n > 0), "{text}");
}
