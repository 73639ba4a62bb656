//! Issue 13's connection-level attacks against the proxy binary with no front proxy, one test
//! per row the binary closes: each asserts the answer (or a closed connection), that another
//! client is still served within a second, and where it matters that memory, descriptors and
//! threads stay bounded. The rows only a front proxy closes are in `front_proxy.rs`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The token the proxy is started with.
const TOKEN: &str = "tok";

/// The proxy binary on 127.0.0.1:0 with the demo model, short client timeouts and a token.
struct Bin {
    child: Child,
    addr: String,
    _dir: tempdir::Dir,
}

mod tempdir {
    /// A directory removed when dropped.
    pub struct Dir(pub std::path::PathBuf);
    impl Dir {
        pub fn new() -> Dir {
            static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
            let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let p = std::env::temp_dir().join(format!("grp-attacks-{}-{n}", std::process::id()));
            std::fs::create_dir_all(&p).unwrap();
            Dir(p)
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

impl Bin {
    /// Starts the binary; `read_timeout` is `client_read_timeout` in seconds.
    fn start(read_timeout: f64) -> Bin {
        Bin::with(read_timeout, "")
    }

    /// Starts the binary with more `gpt_reverse_proxy:` settings (indented YAML lines).
    fn with(read_timeout: f64, settings: &str) -> Bin {
        let dir = tempdir::Dir::new();
        let yaml = format!(
            "model_list:\n  - model_name: demo\n    litellm_params:\n      model: openai/demo\n      mock_response: hi\n\
             gpt_reverse_proxy:\n  client_read_timeout: {read_timeout}\n  client_send_timeout: 1\n  idle_worker_exit: 1\n{settings}"
        );
        std::fs::write(dir.0.join("litellm_config.yaml"), yaml).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_gpt-reverse-proxy"))
            .current_dir(&dir.0)
            .env_clear()
            .env("HOST", "127.0.0.1")
            .env("PORT", "0")
            .env("LOCAL_AUTH_TOKEN", TOKEN)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut log = BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        let addr = loop {
            line.clear();
            assert!(log.read_line(&mut line).unwrap() > 0, "the proxy exited early");
            if let Some(at) = line.find("listening on http://") {
                break line[at + 20..].trim().to_string();
            }
        };
        // Keep reading the log, or the proxy would block on a full pipe.
        std::thread::spawn(move || std::io::copy(&mut log, &mut std::io::sink()));
        Bin { child, addr, _dir: dir }
    }

    /// A field of `/proc/<pid>/status` (`VmRSS` in kB, `Threads`).
    fn status(&self, field: &str) -> u64 {
        let s = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let line = s.lines().find(|l| l.starts_with(field)).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    /// Resident memory in MiB.
    fn rss_mib(&self) -> u64 {
        self.status("VmRSS:") / 1024
    }

    /// Open descriptors.
    fn fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.child.id())).unwrap().count()
    }

    /// A fresh connection with a read timeout.
    fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(&self.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s
    }

    /// Asserts that another client gets `GET /health` answered within a second.
    fn serves_others(&self) {
        self.answers_others(&[200]);
    }

    /// Asserts that another client gets `GET /health` answered within a second, with one of
    /// `statuses`.
    fn answers_others(&self, statuses: &[u16]) {
        let t = Instant::now();
        let mut s = self.connect();
        s.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
        s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        let status = out.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
        assert!(statuses.contains(&status), "another client got {out:?} after {:?}", t.elapsed());
        assert!(t.elapsed() < Duration::from_secs(1), "another client waited {:?}", t.elapsed());
    }

    /// Sends `request` on a new connection and returns everything read until the proxy closes
    /// it or stays silent for `wait`.
    fn exchange(&self, request: &[u8], wait: Duration) -> String {
        let mut s = self.connect();
        s.set_read_timeout(Some(wait)).unwrap();
        let _ = s.write_all(request);
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n @ 1..) = s.read(&mut buf) {
            out.extend_from_slice(&buf[..n]);
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    /// Waits up to `bound` for `check` to hold.
    fn eventually(&self, bound: Duration, check: impl Fn(&Bin) -> bool) -> bool {
        let t = Instant::now();
        while t.elapsed() < bound {
            if check(self) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        check(self)
    }
}

impl Drop for Bin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Status codes of every answer in `out`, in order.
fn statuses(out: &str) -> Vec<u16> {
    out.match_indices("HTTP/1.1 ").filter_map(|(at, _)| out.get(at + 9..at + 12)?.parse().ok()).collect()
}

/// A chat request head (with the token) declaring `framing`, then `body`.
fn chat(framing: &str, body: &str) -> String {
    format!("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\n{framing}\r\n{body}")
}

#[test]
fn pipelining_thousands_of_requests_without_reading_holds_one_worker_and_others_are_served() {
    let bin = Bin::start(5.0);
    let (rss0, threads0) = (bin.rss_mib(), bin.status("Threads:"));
    let s = bin.connect();
    let one = format!("GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\r\n");
    let all = one.repeat(20_000); // 1.2 MB, never read back
    let mut w = s.try_clone().unwrap();
    w.set_write_timeout(Some(Duration::from_secs(3))).unwrap();
    let writer = std::thread::spawn(move || w.write_all(all.as_bytes()).is_ok());
    std::thread::sleep(Duration::from_millis(1500));
    bin.serves_others();
    let threads = bin.status("Threads:");
    assert!(threads < threads0 + 16, "threads {threads0} → {threads}: more than one worker is held");
    assert!(bin.rss_mib() < rss0 + 32, "RSS {rss0} → {} MiB", bin.rss_mib());
    let _ = writer.join();
    bin.serves_others();
    drop(s);
}

#[test]
fn declared_bodies_never_sent_hold_workers_only_until_the_read_timeout() {
    // Fewer workers than connections: the refusals (503) must not wait for bodies either.
    let bin = Bin::with(1.0, "  max_concurrent_requests: 100\n");
    let fds0 = bin.fds();
    let conns: Vec<TcpStream> = (0..400)
        .map(|_| {
            let mut s = bin.connect();
            s.write_all(chat("Content-Length: 5000\r\n", "").as_bytes()).unwrap();
            s
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    bin.answers_others(&[200, 503]);
    // Each waiting body times out: the connection ends and every descriptor comes back.
    for mut s in conns {
        let mut buf = Vec::new();
        let t = Instant::now();
        let _ = s.read_to_end(&mut buf);
        assert!(t.elapsed() < Duration::from_secs(4), "a connection waited {:?} for its body", t.elapsed());
    }
    assert!(bin.eventually(Duration::from_secs(3), |b| b.fds() <= fds0 + 4), "descriptors {fds0} → {}", bin.fds());
    bin.serves_others();
}

#[test]
fn idle_connections_are_closed_after_the_read_timeout() {
    let bin = Bin::start(1.0);
    let fds0 = bin.fds();
    let mut idle: Vec<TcpStream> = (0..500).map(|_| bin.connect()).collect();
    assert!(bin.eventually(Duration::from_secs(1), |b| b.fds() > fds0 + 500), "connections were not accepted");
    bin.serves_others();
    let t = Instant::now();
    for s in &mut idle {
        let mut buf = [0u8; 16];
        assert!(matches!(s.read(&mut buf), Ok(0)), "an idle connection was not closed");
    }
    assert!(t.elapsed() < Duration::from_secs(4), "idle connections lived {:?}", t.elapsed());
    assert!(bin.eventually(Duration::from_secs(2), |b| b.fds() <= fds0 + 4), "descriptors {fds0} → {}", bin.fds());
    bin.serves_others();
}

#[test]
fn a_400_about_framing_closes_the_connection_and_what_follows_is_never_served() {
    let bin = Bin::start(2.0);
    let smuggled = "GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer tok\r\n\r\n";
    let body = r#"{"model":"demo","messages":[]}"#;
    let n = body.len();
    for (framing, after) in [
        (format!("Content-Length: {n}\r\nContent-Length: {n}\r\n"), body.to_string()),
        (format!("Content-Length: {n}, {n}\r\n"), body.to_string()),
        ("Content-Length: 0x10\r\n".to_string(), String::new()),
        (format!("Content-Length: +{n}\r\n"), body.to_string()),
        ("Transfer-Encoding: identity\r\n".to_string(), String::new()),
        ("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n".to_string(), String::new()),
    ] {
        let out = bin.exchange(format!("{}{smuggled}", chat(&framing, &after)).as_bytes(), Duration::from_secs(1));
        // Our 400, then nothing served; tiny_http may add a 400 of its own for the bytes it could
        // not parse as a request line.
        let got = statuses(&out);
        assert!(got.first() == Some(&400) && got.iter().all(|&s| s == 400), "{framing:?} → {out}");
        assert!(out.to_ascii_lowercase().contains("connection: close"), "{framing:?} → {out}");
    }
    // A chunked body left unread by an error reply (here a wrong token) is not parsed as a request.
    let chunk = format!("{:x}\r\n{smuggled}\r\n0\r\n\r\n", smuggled.len());
    let req = format!("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer wrong\r\nTransfer-Encoding: chunked\r\n\r\n{chunk}{smuggled}");
    let out = bin.exchange(req.as_bytes(), Duration::from_secs(1));
    let got = statuses(&out);
    assert!(got.first() == Some(&401) && !got.contains(&200), "{out}");
    // Well-framed keep-alive requests still share a connection.
    let ok = chat(&format!("Content-Length: {n}\r\n"), body);
    let out = bin.exchange(format!("{ok}{ok}").as_bytes(), Duration::from_millis(500));
    assert_eq!(statuses(&out), [200, 200], "{out}");
    bin.serves_others();
}

#[test]
fn expect_100_continue_with_a_wrong_token_gets_its_401_before_any_body() {
    let bin = Bin::start(5.0);
    let mut s = bin.connect();
    let t = Instant::now();
    let head = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer wrong\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: 5000\r\n\r\n";
    s.write_all(head.as_bytes()).unwrap();
    let mut buf = [0u8; 512];
    let n = s.read(&mut buf).unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 401"), "{}", String::from_utf8_lossy(&buf[..n]));
    assert!(t.elapsed() < Duration::from_millis(500), "the 401 took {:?}", t.elapsed());
    // With the right token the body is asked for and served.
    let body = r#"{"model":"demo","messages":[]}"#;
    let mut s = bin.connect();
    let head = format!("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
    s.write_all(head.as_bytes()).unwrap();
    let n = s.read(&mut buf).unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 100"), "{}", String::from_utf8_lossy(&buf[..n]));
    s.write_all(body.as_bytes()).unwrap();
    let mut rest = String::new();
    let _ = s.read_to_string(&mut rest);
    assert!(rest.contains("HTTP/1.1 200"), "{rest}");
    bin.serves_others();
}

#[test]
fn obs_fold_signed_lengths_and_other_transfer_codings_are_refused() {
    let bin = Bin::start(2.0);
    let body = r#"{"model":"demo","messages":[]}"#;
    for framing in [
        "X-Folded: a\r\n b\r\n".to_string(),
        format!("Content-Length: +{}\r\n", body.len()),
        "Transfer-Encoding: identity\r\n".to_string(),
        "Transfer-Encoding: gzip, chunked\r\n".to_string(),
    ] {
        let mut s = bin.connect();
        let t = Instant::now();
        s.write_all(chat(&framing, body).as_bytes()).unwrap();
        let mut buf = [0u8; 1024];
        let n = s.read(&mut buf).unwrap_or(0);
        let out = String::from_utf8_lossy(&buf[..n]);
        assert!(out.starts_with("HTTP/1.1 400"), "{framing:?} → {out}");
        assert!(t.elapsed() < Duration::from_secs(1), "{framing:?} took {:?}", t.elapsed());
    }
    bin.serves_others();
}

#[test]
fn basic_credentials_and_cross_site_plain_text_are_refused_on_the_api() {
    let bin = Bin::start(2.0);
    let body = r#"{"model":"demo","messages":[]}"#;
    let basic = format!("Basic {}", gpt_reverse_proxy::base64::encode(format!("x:{TOKEN}").as_bytes()));
    let send = |auth: &str, content_type: &str, origin: Option<&str>| {
        let origin = origin.map_or(String::new(), |o| format!("Origin: {o}\r\n"));
        let req = format!(
            "POST /v1/chat/completions HTTP/1.1\r\nHost: proxy.example\r\nAuthorization: {auth}\r\nContent-Type: {content_type}\r\n{origin}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        statuses(&bin.exchange(req.as_bytes(), Duration::from_secs(2)))
    };
    let bearer = format!("Bearer {TOKEN}");
    assert_eq!(send(&basic, "application/json", None), [401], "Basic works only for the dump viewer");
    assert_eq!(send(&bearer, "text/plain", Some("https://evil.example")), [400], "a cross-site form post");
    assert_eq!(send(&bearer, "application/x-www-form-urlencoded", Some("null")), [400]);
    // What real clients send keeps working: JSON (a browser preflights it), no Origin at all
    // (SDKs, curl -d), or the proxy's own origin.
    assert_eq!(send(&bearer, "application/json", Some("https://app.example")), [200]);
    assert_eq!(send(&bearer, "application/vnd.api+json; charset=utf-8", Some("https://app.example")), [200]);
    assert_eq!(send(&bearer, "text/plain", None), [200]);
    assert_eq!(send(&bearer, "text/plain", Some("https://proxy.example")), [200]);
    bin.serves_others();
}

#[test]
fn http10_keep_alive_streams_end_with_their_length_and_the_connection_serves_the_next() {
    let bin = Bin::start(30.0);
    let mut s = bin.connect();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let body = r#"{"model":"demo","stream":true,"messages":[{"role":"user","content":"hi"}]}"#;
    let one = format!(
        "POST /v1/chat/completions HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\nAuthorization: Bearer {TOKEN}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(one.repeat(2).as_bytes()).unwrap();
    let started = Instant::now();
    let mut r = BufReader::new(s);
    for _ in 0..2 {
        let mut head = String::new();
        while !head.ends_with("\r\n\r\n") {
            assert!(r.read_line(&mut head).unwrap() > 0, "closed mid-head: {head}");
        }
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .unwrap_or_else(|| panic!("no length, the body would end only when the connection does: {head}"))
            .parse()
            .unwrap();
        let mut answer = vec![0; len];
        r.read_exact(&mut answer).unwrap();
        assert!(String::from_utf8_lossy(&answer).contains("[DONE]"));
    }
    assert!(started.elapsed() < Duration::from_secs(3), "the answers waited for a timeout");
}
