//! Upstreams over TLS, for real on loopback: nginx terminates TLS with the test certificate of
//! `fixtures/tls/` (a private CA and a leaf for 127.0.0.1) in front of a fake upstream. The
//! built-in roots refuse it; `SSL_CERT_FILE` naming the CA trusts it. Skips (and says so) where
//! nginx is not installed; `.ci/run` installs it.

use crate::support::*;
use gpt_reverse_proxy::config::{Config, Env, Overrides};
use std::net::TcpListener;

const TOKEN: &str = "t";

/// nginx serving TLS on a free port in front of `upstream`; the `https://` base URL for it.
fn tls_front(upstream: &FakeUpstream) -> Option<(Nginx, String)> {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let tls = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/tls");
    let site = format!(
        "server {{\n  listen 127.0.0.1:{port} ssl;\n  ssl_certificate {tls}/server.pem;\n  ssl_certificate_key {tls}/server.key;\n  location / {{\n    proxy_pass {};\n    proxy_http_version 1.1;\n    proxy_buffering off;\n  }}\n}}\n",
        upstream.url()
    );
    Some((Nginx::start(&site, port)?, format!("https://127.0.0.1:{port}/v1")))
}

fn ca_file() -> &'static str {
    concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/tls/ca.pem")
}

#[test]
fn an_upstream_behind_a_private_ca_is_reached_when_ssl_cert_file_trusts_it() {
    let up = FakeUpstream::start(|r| match r.json()["stream"].as_bool() {
        Some(true) => Script::sse(&fixture("upstream/chat-stream.sse"), 40),
        _ => Script::json(200, &fixture("upstream/chat.json")),
    });
    let Some((_nginx, base)) = tls_front(&up) else { return };
    let yaml = models_yaml(&[("*", "openai/*", &base)]);
    let proxy = Proxy::start(&yaml, &[("LOCAL_AUTH_TOKEN", TOKEN), ("SSL_CERT_FILE", ca_file())]);
    // Twice each: a fresh TLS connection, then (for the second) one from the pool.
    for _ in 0..2 {
        let r = post(&proxy, "/v1/chat/completions", TOKEN, r#"{"model":"gpt-4o","messages":[]}"#);
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.body, fixture("upstream/chat.json"), "passed through byte for byte over TLS");
        let r = post(&proxy, "/v1/chat/completions", TOKEN, r#"{"model":"gpt-4o","messages":[],"stream":true}"#);
        assert_eq!(r.status, 200);
        assert!(r.text().trim_end().ends_with("data: [DONE]"), "{}", r.text());
    }
    let seen = up.requests();
    assert_eq!(seen.len(), 4);
    assert_eq!(seen[0].header("authorization"), Some("Bearer sk-upstream"), "the key went inside TLS");
}

#[test]
fn without_the_ca_the_built_in_roots_refuse_the_upstream_with_a_502_that_says_why() {
    let up = FakeUpstream::replay(|| Script::json(200, &fixture("upstream/chat.json")));
    let Some((_nginx, base)) = tls_front(&up) else { return };
    let proxy = Proxy::start(&models_yaml(&[("*", "openai/*", &base)]), &[("LOCAL_AUTH_TOKEN", TOKEN)]);
    let r = post(&proxy, "/v1/chat/completions", TOKEN, r#"{"model":"gpt-4o","messages":[]}"#);
    assert_eq!(r.status, 502);
    let message = r.json()["error"]["message"].as_str().unwrap_or_default().to_string();
    assert!(message.contains("certificate"), "{message}");
    assert!(up.requests().is_empty(), "nothing, and no key, was sent to an untrusted upstream");
}

#[test]
fn an_ssl_cert_file_without_certificates_is_refused_at_startup() {
    let load = |path: &str| {
        let env = Env::from_pairs(&[("SSL_CERT_FILE", path)]);
        Config::from_parts("model_list: []\n", "test.yaml", &env, &Overrides::default())
    };
    let key = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/tls/server.key");
    assert!(load(key).unwrap_err().contains("no certificate"), "a key alone is not a bundle");
    assert!(load("/nonexistent/ca.pem").unwrap_err().contains("cannot read"));
    let ok = load(ca_file()).unwrap();
    assert_eq!(ok.ca_file.as_ref().map(|c| c.certs.len()), Some(1));
    assert!(ok.summary().iter().any(|l| l.contains("SSL_CERT_FILE")));
}

#[test]
fn an_https_upstream_is_reached_through_an_outbound_connect_proxy() {
    let up = FakeUpstream::replay(|| Script::json(200, &fixture("upstream/chat.json")));
    let Some((_nginx, base)) = tls_front(&up) else { return };
    let fwd = ConnectProxy::start();
    let proxy_url = format!("http://{}", fwd.addr);
    let env = [("LOCAL_AUTH_TOKEN", TOKEN), ("SSL_CERT_FILE", ca_file()), ("HTTPS_PROXY", proxy_url.as_str())];
    let proxy = Proxy::start(&models_yaml(&[("*", "openai/*", &base)]), &env);
    let r = post(&proxy, "/v1/chat/completions", TOKEN, r#"{"model":"gpt-4o","messages":[]}"#);
    assert_eq!((r.status, r.body.clone()), (200, fixture("upstream/chat.json")), "{}", r.text());
    let tunnel = base.trim_start_matches("https://").trim_end_matches("/v1").to_string();
    assert_eq!(*fwd.targets.lock().unwrap(), [tunnel], "TLS ran inside the proxy's CONNECT tunnel");
}
