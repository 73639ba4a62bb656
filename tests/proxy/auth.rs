//! Client authentication on the wire.

use crate::support::*;

fn setup() -> (FakeUpstream, Proxy) {
    let up = FakeUpstream::replay(|| Script::json(200, &fixture("upstream/chat.json")));
    let proxy = Proxy::start(
        &models_yaml(&[("*", "openai/*", &format!("{}/v1", up.url()))]),
        &[("LOCAL_AUTH_TOKEN", "tok-a,tok-b")],
    );
    (up, proxy)
}

const CHAT: &str = r#"{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}"#;

#[test]
fn bearer_x_api_key_and_api_key_are_all_accepted() {
    let (up, proxy) = setup();
    let url = proxy.url("/v1/chat/completions");
    for h in [
        ("Authorization", "Bearer tok-a"),
        ("Authorization", "bearer tok-b"),
        ("x-api-key", "tok-a"),
        ("API-Key", "tok-b"),
    ] {
        let r = call("POST", &url, &[h, ("Content-Type", "application/json")], CHAT);
        assert_eq!(r.status, 200, "{h:?}");
    }
    assert_eq!(up.requests().len(), 4);
}

#[test]
fn wrong_or_missing_token_is_401_in_openai_shape_and_never_reaches_upstream() {
    let (up, proxy) = setup();
    let url = proxy.url("/v1/chat/completions");
    for hs in [
        vec![],
        vec![("Authorization", "Bearer tok-c")],
        vec![("Authorization", "Bearer tok-a-b")],
        vec![("x-api-key", "")],
    ] {
        let r = call("POST", &url, &hs, CHAT);
        assert_eq!(r.status, 401, "{hs:?}");
        assert_eq!(r.json()["error"]["type"], "authentication_error");
        assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    }
    // Model lists and unknown routes are behind the token too; no route is revealed without it.
    assert_eq!(call("GET", &proxy.url("/v1/models"), &[], "").status, 401);
    assert_eq!(call("GET", &proxy.url("/nope"), &[], "").status, 401);
    assert!(up.requests().is_empty());
}

#[test]
fn health_and_preflight_need_no_token() {
    let (_up, proxy) = setup();
    assert_eq!(call("GET", &proxy.url("/health"), &[], "").status, 200);
    let r = call(
        "OPTIONS",
        &proxy.url("/v1/chat/completions"),
        &[("Origin", "https://app"), ("Access-Control-Request-Headers", "authorization,content-type")],
        "",
    );
    assert_eq!(r.status, 204);
    assert_eq!(r.header("access-control-allow-headers"), Some("authorization,content-type"));
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
}

#[test]
fn without_a_token_and_without_host_only_loopback_is_served() {
    use gpt_reverse_proxy::config::{Config, Env, Overrides};
    let cfg = Config::from_parts("", "t", &Env::from_pairs(&[("PORT", "0")]), &Overrides::default()).unwrap();
    let proxy = Proxy::from_config(cfg);
    assert!(proxy.addr.ip().is_loopback(), "{}", proxy.addr);
    // And it is open there: no token needed.
    assert_eq!(call("GET", &proxy.url("/v1/models"), &[], "").status, 200);
}

#[test]
fn an_empty_master_key_does_not_make_an_empty_header_a_valid_token() {
    let up = FakeUpstream::replay(|| Script::json(200, &fixture("upstream/chat.json")));
    let yaml =
        models_yaml(&[("*", "openai/*", &format!("{}/v1", up.url()))]) + "general_settings:\n  master_key: \"\"\n";
    let proxy = Proxy::start(&yaml, &[("LOCAL_AUTH_TOKEN", "tok-a")]);
    let url = proxy.url("/v1/chat/completions");
    for h in [("x-api-key", ""), ("api-key", ""), ("Authorization", "Bearer ")] {
        assert_eq!(call("POST", &url, &[h, ("Content-Type", "application/json")], CHAT).status, 401, "{h:?}");
    }
    assert_eq!(call("POST", &url, &[("x-api-key", "tok-a"), ("Content-Type", "application/json")], CHAT).status, 200);
    assert_eq!(up.requests().len(), 1);
}

#[test]
fn without_a_token_pages_of_other_sites_are_refused_and_local_ones_served() {
    let up = FakeUpstream::replay(|| Script::json(200, &fixture("upstream/chat.json")));
    let proxy = Proxy::start(&models_yaml(&[("*", "openai/*", &format!("{}/v1", up.url()))]), &[]);
    let url = proxy.url("/v1/chat/completions");
    let json = ("Content-Type", "application/json");
    for origin in ["https://evil.example", "http://rebound.example:12000"] {
        let r = call("POST", &url, &[("Origin", origin), json], CHAT);
        assert_eq!(r.status, 400, "{origin}: {}", r.text());
        assert!(r.text().contains("LOCAL_AUTH_TOKEN"), "{}", r.text());
    }
    assert!(up.requests().is_empty(), "nothing was spent");
    assert_eq!(call("POST", &url, &[("Origin", "http://localhost:3000"), json], CHAT).status, 200);
    assert_eq!(call("POST", &url, &[json], CHAT).status, 200, "tools send no Origin");
}
