//! Hostile input: nothing may bypass auth, reach an upstream it should not, crash the process
//! or leave it unable to serve the next request.

use crate::support::*;
use std::io::{Read, Write};
use std::net::TcpStream;

/// Sends raw bytes and returns the status code of the answer (0 if the connection just closed).
fn raw_status(proxy: &Proxy, request: &[u8]) -> u16 {
    let mut s = TcpStream::connect(proxy.addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(5))).unwrap();
    let _ = s.write_all(request);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0)
}

fn setup() -> (FakeUpstream, Proxy) {
    let up = FakeUpstream::replay(|| Script::json(200, &fixture("upstream/chat.json")));
    let yaml = models_yaml(&[("*", "openai/*", &format!("{}/v1", up.url()))]);
    let proxy = Proxy::start(
        &yaml,
        &[
            ("LOCAL_AUTH_TOKEN", "tok"),
            ("LOCAL_PATH_PREFIX", "/p"),
            ("LOCAL_OLLAMA_SECRET", "s3cret"),
            ("LOCAL_OLLAMA_SECRET_WEAK_OK", "true"),
        ],
    );
    (up, proxy)
}

#[test]
fn path_tricks_never_reach_a_route_without_its_auth() {
    let (up, proxy) = setup();
    let body = r#"{"model":"m","messages":[]}"#;
    for path in [
        "/p/s3cret/../v1/chat/completions",
        "/p/s3cret/%2e%2e/v1/chat/completions",
        "/p/%73%33cret/v1/chat/completions",
        "/p/S3CRET/v1/chat/completions",
        "/p//s3cret/v1/chat/completions",
        "/p/s3cret//v1/chat/completions",
        "/p/s3cret/./v1/chat/completions",
        "/p/s3cret\\..\\v1/chat/completions",
        "/p/s3cret/v1/messages",
        "/p/s3cret/v1/embeddings",
        "/p/./v1/chat/completions",
        "/p%2fv1/chat/completions",
        "/P/v1/chat/completions",
        "http://evil.example/p/v1/chat/completions",
    ] {
        let req = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let status = raw_status(&proxy, req.as_bytes());
        assert!(matches!(status, 400 | 401 | 404), "{path}: {status}");
    }
    assert!(up.requests().is_empty(), "an upstream was reached: {:?}", up.requests());
    // The doors that should open still do.
    assert_eq!(post(&proxy, "/p/s3cret/v1/chat/completions", "", body).status, 200);
    assert_eq!(post(&proxy, "/p/v1/chat/completions", "tok", body).status, 200);
}

#[test]
fn invalid_utf8_deep_json_and_odd_bodies_are_400s_and_the_proxy_keeps_serving() {
    let (up, proxy) = setup();
    let deep = format!("{{\"model\":\"m\",\"messages\":{}{}}}", "[".repeat(100_000), "]".repeat(100_000));
    let bad_utf8: &[u8] = b"{\"model\":\"m\xff\xfe\",\"messages\":[]}";
    for body in [deep.as_bytes(), bad_utf8, b"", b"null", b"[1,2]", b"{\"model\":7}"] {
        let mut req = format!("POST /p/v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer tok\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len()).into_bytes();
        req.extend_from_slice(body);
        assert_eq!(raw_status(&proxy, &req), 400, "{}", String::from_utf8_lossy(&body[..body.len().min(40)]));
    }
    assert!(up.requests().is_empty());
    assert_eq!(post(&proxy, "/p/v1/chat/completions", "tok", r#"{"model":"m","messages":[]}"#).status, 200);
}

#[test]
fn client_headers_cannot_inject_or_redirect_upstream_requests() {
    let (up, proxy) = setup();
    let body = r#"{"model":"m","messages":[]}"#;
    let req = format!(
        "POST /p/v1/chat/completions HTTP/1.1\r\nHost: evil.example\r\nAuthorization: Bearer tok\r\nX-Forwarded-Host: evil.example\r\nX-Test: a\rInjected: yes\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let status = raw_status(&proxy, req.as_bytes());
    assert!(matches!(status, 200 | 400), "{status}");
    for r in up.requests() {
        assert!(r.header("injected").is_none(), "a header was injected: {:?}", r.headers);
        assert_ne!(r.header("host"), Some("evil.example"));
        assert!(r.header("x-forwarded-host").is_none());
    }
    // Both framings at once, twice the length: refused before anything reaches an upstream.
    let before = up.requests().len();
    for head in ["Content-Length: 4\r\nContent-Length: 5", "Content-Length: 5\r\nTransfer-Encoding: chunked"] {
        let req = format!("POST /p/v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer tok\r\n{head}\r\nConnection: close\r\n\r\n0\r\n\r\n");
        assert_eq!(raw_status(&proxy, req.as_bytes()), 400, "{head}");
    }
    assert_eq!(up.requests().len(), before);
}
