//! Test harness: a fake upstream on 127.0.0.1:0 that replays scripted answers and records what
//! it received, the proxy started in-process on port 0, and a small HTTP client.

use gpt_reverse_proxy::config::{Config, Env, Overrides};
use gpt_reverse_proxy::server::{self, Running};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// Reads a file from `fixtures/`.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// One request as the fake upstream saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// When the request had been read whole.
    pub at: Instant,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("upstream got JSON")
    }
}

/// What the fake upstream does with a request.
pub enum Script {
    /// Answer: status, headers, then body parts, each after its delay.
    Answer { status: u16, headers: Vec<(String, String)>, parts: Vec<(Duration, Vec<u8>)> },
    /// Read the request, then say nothing for this long, then close.
    Silence(Duration),
    /// An SSE answer: `before`, then nothing until `gate` opens (or `bound` passes), then `after`.
    Gated { before: Vec<u8>, gate: Gate, bound: Duration, after: Vec<u8> },
}

/// A one-way latch a test opens when the event it waits for has happened, so that a fake
/// upstream holds its answer for exactly as long as needed instead of a guessed time.
#[derive(Clone, Default)]
pub struct Gate(Arc<(Mutex<bool>, Condvar)>);

impl Gate {
    pub fn open(&self) {
        *self.0 .0.lock().unwrap() = true;
        self.0 .1.notify_all();
    }

    /// Waits until open, at most `bound`; whether it was opened.
    pub fn wait(&self, bound: Duration) -> bool {
        let guard = self.0 .0.lock().unwrap();
        let (guard, _) = self.0 .1.wait_timeout_while(guard, bound, |open| !*open).unwrap();
        *guard
    }
}

/// Polls `done` every 10 ms until it holds; panics with `what` after `bound` (a generous bound:
/// the point is to wait for an event, not to time it).
pub fn wait_until(what: &str, bound: Duration, mut done: impl FnMut() -> bool) {
    let t = Instant::now();
    while !done() {
        assert!(t.elapsed() < bound, "timed out after {bound:?} waiting for {what}");
        thread::sleep(Duration::from_millis(10));
    }
}

impl Script {
    pub fn json(status: u16, body: &[u8]) -> Script {
        Script::Answer {
            status,
            headers: vec![("Content-Type".into(), "application/json".into()), ("x-request-id".into(), "req-1".into())],
            parts: vec![(Duration::ZERO, body.to_vec())],
        }
    }

    /// An SSE answer cut into `piece`-byte reads.
    pub fn sse(body: &[u8], piece: usize) -> Script {
        Script::Answer {
            status: 200,
            headers: vec![("Content-Type".into(), "text/event-stream".into())],
            parts: body.chunks(piece).map(|c| (Duration::ZERO, c.to_vec())).collect(),
        }
    }

    /// An SSE answer sending each part after its delay.
    pub fn paced(parts: Vec<(Duration, Vec<u8>)>) -> Script {
        Script::Answer { status: 200, headers: vec![("Content-Type".into(), "text/event-stream".into())], parts }
    }
}

type Handler = dyn Fn(&Recorded) -> Script + Send + Sync;

/// A request body the real API would have refused (see `strict.rs`).
#[derive(Debug, Clone)]
pub struct Violation {
    pub path: String,
    pub problems: Vec<String>,
    pub body: String,
}

/// Shared between a fake upstream and its connections.
#[derive(Default)]
struct Seen {
    requests: Mutex<Vec<Recorded>>,
    cut_off: Arc<Mutex<Vec<usize>>>,
    violations: Mutex<Vec<Violation>>,
    lenient: AtomicBool,
    /// Rules whose violations are expected (known findings, or bodies wrong on purpose).
    expected: Mutex<Vec<&'static str>>,
}

impl Seen {
    /// Whether every problem of a refused body is tolerated.
    fn tolerates(&self, problems: &[String]) -> bool {
        let expected = self.expected.lock().unwrap();
        self.lenient.load(Ordering::SeqCst)
            || problems.iter().all(|p| expected.iter().any(|rule| p.starts_with(&format!("{rule}:"))))
    }
}

/// A scripted HTTP/1.1 server; every answer closes its connection.
///
/// It is as strict as the real API its path stands for (`strict.rs`): a POST body to
/// `…/v1/messages`, `…/messages/count_tokens` or `…/chat/completions` that the real Anthropic
/// or OpenAI API would refuse is answered with that API's 400 and recorded as a violation, and
/// the test fails when the upstream is dropped, unless it was made [`FakeUpstream::lenient`].
pub struct FakeUpstream {
    pub addr: SocketAddr,
    seen: Arc<Seen>,
    /// For each answer that could not be written completely: how many parts had been sent.
    pub cut_off: Arc<Mutex<Vec<usize>>>,
}

impl FakeUpstream {
    pub fn start(handler: impl Fn(&Recorded) -> Script + Send + Sync + 'static) -> FakeUpstream {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Seen::default());
        let handler: Arc<Handler> = Arc::new(handler);
        let shared = seen.clone();
        thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let (seen, handler) = (shared.clone(), handler.clone());
                thread::spawn(move || serve(conn, &*handler, &seen));
            }
        });
        let cut_off = seen.cut_off.clone();
        FakeUpstream { addr, seen, cut_off }
    }

    /// Still records what the real API would refuse, but answers it with the script and does not
    /// fail the test: for tests that send such a body on purpose (say why at the call), and for
    /// findings about the proxy not fixed yet (`// FIXME(strict): …` naming the rule).
    pub fn lenient(self) -> FakeUpstream {
        self.seen.lenient.store(true, Ordering::SeqCst);
        self
    }

    /// Tolerates violations of this one rule (a `strict.rs` rule name such as
    /// `openai/unknown-field`): recorded, answered with the script, not failing the test. Any
    /// other violation still fails it.
    pub fn expect_violation(self, rule: &'static str) -> FakeUpstream {
        self.seen.expected.lock().unwrap().push(rule);
        self
    }

    /// The bodies the real API would have refused, so far.
    pub fn violations(&self) -> Vec<Violation> {
        self.seen.violations.lock().unwrap().clone()
    }

    /// Answers every request with the same fixture-backed script.
    pub fn replay(make: impl Fn() -> Script + Send + Sync + 'static) -> FakeUpstream {
        FakeUpstream::start(move |_| make())
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.seen.requests.lock().unwrap().clone()
    }
}

impl Drop for FakeUpstream {
    fn drop(&mut self) {
        let found: Vec<Violation> =
            self.violations().into_iter().filter(|v| !self.seen.tolerates(&v.problems)).collect();
        if found.is_empty() || thread::panicking() {
            return;
        }
        let mut report = String::new();
        for v in &found {
            report.push_str(&format!("\n  POST {}\n    {}\n    body: {}", v.path, v.problems.join("\n    "), v.body));
        }
        panic!(
            "the proxy sent {} request(s) the real API refuses (a strict fake upstream answered 400):{report}\n\
             fix the proxy, or, for a body sent wrong on purpose, use FakeUpstream::lenient() or expect_violation(rule)",
            found.len()
        );
    }
}

/// The strict API's refusal, when the request is one it would refuse.
fn refused(rec: &Recorded, seen: &Seen) -> Option<Script> {
    if rec.method != "POST" {
        return None;
    }
    let api = crate::strict::Api::of(&rec.path)?;
    let problems = crate::strict::check(api, &rec.body);
    if problems.is_empty() {
        return None;
    }
    let lenient = seen.tolerates(&problems);
    eprintln!(
        "STRICT UPSTREAM{}: POST {} would be refused by the real API:\n  {}",
        if lenient { " (tolerated)" } else { "" },
        rec.path,
        problems.join("\n  ")
    );
    let (status, body) = api.refusal(&problems);
    let body_text = String::from_utf8_lossy(&rec.body).chars().take(4000).collect();
    seen.violations.lock().unwrap().push(Violation { path: rec.path.clone(), problems, body: body_text });
    (!lenient).then(|| Script::json(status, &body))
}

fn serve(conn: TcpStream, handler: &Handler, seen: &Seen) {
    conn.set_nodelay(true).unwrap();
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut it = line.split_whitespace();
    let (method, path) = (it.next().unwrap_or("").to_string(), it.next().unwrap_or("").to_string());
    let mut headers = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line).unwrap();
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let (k, v) = l.split_once(':').unwrap();
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    let len =
        headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("content-length")).map_or(0, |(_, v)| v.parse().unwrap());
    let mut body = vec![0; len];
    reader.read_exact(&mut body).unwrap();
    let rec = Recorded { method, path, headers, body, at: Instant::now() };
    seen.requests.lock().unwrap().push(rec.clone());
    let mut conn = conn;
    let script = refused(&rec, seen).unwrap_or_else(|| handler(&rec));
    match script {
        Script::Silence(d) => thread::sleep(d),
        Script::Gated { before, gate, bound, after } => {
            let head = "HTTP/1.1 200 Scripted\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n";
            let mut write = |bytes: &[u8]| conn.write_all(bytes).and_then(|_| conn.flush()).is_ok();
            if write(head.as_bytes()) && write(&before) {
                gate.wait(bound);
                if !write(&after) {
                    seen.cut_off.lock().unwrap().push(1);
                }
            }
        }
        Script::Answer { status, headers, parts } => {
            let mut head = format!("HTTP/1.1 {status} Scripted\r\n");
            for (k, v) in headers {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
            head.push_str("Connection: close\r\n\r\n");
            if conn.write_all(head.as_bytes()).is_err() {
                return;
            }
            for (i, (delay, part)) in parts.iter().enumerate() {
                thread::sleep(*delay);
                if conn.write_all(part).and_then(|_| conn.flush()).is_err() {
                    seen.cut_off.lock().unwrap().push(i);
                    return;
                }
            }
        }
    }
}

/// The proxy, running in this process until dropped.
pub struct Proxy {
    pub addr: SocketAddr,
    running: Option<Running>,
}

impl Proxy {
    /// Starts the proxy on 127.0.0.1:0 with this model list and environment.
    pub fn start(yaml: &str, env: &[(&str, &str)]) -> Proxy {
        let mut pairs = vec![("HOST", "127.0.0.1"), ("PORT", "0")];
        pairs.extend_from_slice(env);
        let cfg = Config::from_parts(yaml, "test.yaml", &Env::from_pairs(&pairs), &Overrides::default())
            .unwrap_or_else(|e| panic!("config: {e}"));
        Proxy::from_config(cfg)
    }

    pub fn from_config(cfg: Config) -> Proxy {
        let running = server::start(cfg).expect("proxy starts");
        Proxy { addr: running.addr, running: Some(running) }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(r) = self.running.take() {
            r.stop();
        }
    }
}

/// A model list with one entry per `(model_name, model, api_base)`, all keyed `sk-upstream`.
pub fn models_yaml(entries: &[(&str, &str, &str)]) -> String {
    let mut y = String::from("model_list:\n");
    for (name, model, base) in entries {
        y.push_str(&format!(
            "  - model_name: {name:?}\n    litellm_params:\n      model: {model:?}\n      api_base: {base:?}\n      api_key: sk-upstream\n"
        ));
    }
    y
}

/// A response as the test client saw it.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }
    pub fn text(&self) -> String {
        String::from_utf8(self.body.clone()).unwrap()
    }
}

/// Sends one request through ureq (no proxy from the environment, statuses as data).
pub fn call(method: &str, url: &str, headers: &[(&str, &str)], body: &str) -> Resp {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .proxy(None)
        .timeout_global(Some(Duration::from_secs(20)))
        .build()
        .into();
    let mut rq = ureq::http::Request::builder().method(method).uri(url);
    for (k, v) in headers {
        rq = rq.header(*k, *v);
    }
    let resp = agent.run(rq.body(body.to_string()).unwrap()).expect("request completes");
    let status = resp.status().as_u16();
    let headers = resp.headers().iter().map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string())).collect();
    let body = resp.into_body().with_config().limit(64 << 20).read_to_vec().expect("body reads");
    Resp { status, headers, body }
}

/// `POST path` with a JSON body and the given token as a Bearer header.
pub fn post(proxy: &Proxy, path: &str, token: &str, body: &str) -> Resp {
    let auth = format!("Bearer {token}");
    call("POST", &proxy.url(path), &[("Authorization", &auth), ("Content-Type", "application/json")], body)
}

/// Writes raw bytes to the proxy and returns the connection (for framing and timing tests).
pub fn raw(proxy: &Proxy, request: &[u8]) -> TcpStream {
    let mut s = TcpStream::connect(proxy.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(request).unwrap();
    s
}

/// Reads a whole `Connection: close` response from a raw connection.
pub fn read_all(mut s: TcpStream) -> String {
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}

/// A forward proxy speaking HTTP CONNECT (what ureq uses for every upstream behind a proxy);
/// records each tunnel's target and relays bytes both ways.
pub struct ConnectProxy {
    pub addr: SocketAddr,
    pub targets: Arc<Mutex<Vec<String>>>,
}

impl ConnectProxy {
    pub fn start() -> ConnectProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let targets = Arc::new(Mutex::new(Vec::new()));
        let seen = targets.clone();
        thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let seen = seen.clone();
                thread::spawn(move || {
                    let mut reader = BufReader::new(conn.try_clone().unwrap());
                    let mut line = String::new();
                    reader.read_line(&mut line).unwrap();
                    let target = line.split_whitespace().nth(1).unwrap_or("").to_string();
                    while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                        line.clear();
                    }
                    seen.lock().unwrap().push(target.clone());
                    let upstream = TcpStream::connect(&target).unwrap();
                    let mut client = conn;
                    client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n").unwrap();
                    let (mut up_r, mut cl_w) = (upstream.try_clone().unwrap(), client.try_clone().unwrap());
                    thread::spawn(move || {
                        let _ = std::io::copy(&mut up_r, &mut cl_w);
                        let _ = cl_w.shutdown(std::net::Shutdown::Write);
                    });
                    let mut up_w = upstream;
                    let _ = std::io::copy(&mut reader, &mut up_w);
                });
            }
        });
        ConnectProxy { addr, targets }
    }
}

// ---- golden files ----

/// Zeroes what changes from run to run: `created` and the time in minted signatures.
pub fn normalize(v: &mut Value) {
    match v {
        Value::Object(o) => {
            for (k, x) in o.iter_mut() {
                match (k.as_str(), &*x) {
                    ("created", Value::Number(_)) => *x = json!(0),
                    (_, Value::String(s)) if s.starts_with("gpt-reverse-proxy-minted-") => {
                        *x = json!("gpt-reverse-proxy-minted-0")
                    }
                    _ => normalize(x),
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(normalize),
        _ => {}
    }
}

/// An SSE body as readable golden text: one `event:`/`data:` pair per event, JSON normalised.
pub fn sse_golden(body: &str) -> String {
    let mut p = gpt_reverse_proxy::sse::Parser::default();
    let mut events = p.push(body.as_bytes());
    events.extend(p.finish());
    let mut out = String::new();
    // Comments (keep-alives) say nothing about the answer.
    for e in events.into_iter().filter(|e| !e.is_comment()) {
        if let Some(n) = &e.name {
            out.push_str(&format!("event: {n}\n"));
        }
        let data = match serde_json::from_str::<Value>(&e.data) {
            Ok(mut v) => {
                normalize(&mut v);
                v.to_string()
            }
            Err(_) => e.data.clone(),
        };
        out.push_str(&format!("data: {data}\n\n"));
    }
    out
}

/// Compares with a golden file, or writes it when `UPDATE_GOLDEN` is set.
pub fn golden_file(path: &std::path::Path, actual: &str) {
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(path, actual).unwrap();
        return;
    }
    let want =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_GOLDEN=1)", path.display()));
    assert_eq!(actual, want, "{} differs from the golden file", path.display());
}

pub fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap() + "\n"
}

/// nginx on loopback with one `server` block (`site`, listening on `port`); `None`, saying so,
/// where nginx is not installed (`.ci/run` installs it). Stopped when dropped.
/// nginx running a site for a test, and its scratch directory (removed when it stops).
pub struct Nginx(std::process::Child, PathBuf);

/// Says that a test did not run and how to make it run, on stderr and in the list `make test`
/// prints at the end (`target/tmp/skipped-tests.txt`), so a skip is never mistaken for a pass.
pub fn skipped(test: &str, why: &str) {
    eprintln!("SKIPPED {test}: {why}");
    let list = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("skipped-tests.txt");
    let line = format!("{test}: {why}\n");
    let file = std::fs::OpenOptions::new().create(true).append(true).open(list);
    let _ = file.and_then(|mut f| f.write_all(line.as_bytes()));
}

impl Nginx {
    pub fn start(site: &str, port: u16) -> Option<Nginx> {
        let bin = ["/usr/sbin/nginx", "/usr/bin/nginx"].into_iter().find(|p| std::path::Path::new(p).exists());
        let Some(bin) = bin else {
            let test = std::thread::current().name().unwrap_or("a front-proxy test").to_string();
            skipped(&test, "nginx is not installed (apt-get install nginx-light; make test installs it as root)");
            return None;
        };
        let dir = std::env::temp_dir().join(format!("grp-nginx-{}-{port}", std::process::id()));
        std::fs::create_dir_all(dir.join("tmp")).unwrap();
        std::fs::write(dir.join("site.conf"), site).unwrap();
        let tmp = dir.join("tmp").display().to_string();
        std::fs::write(
            dir.join("nginx.conf"),
            format!(
                "daemon off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\nevents {{ worker_connections 256; }}\nhttp {{\n  access_log off;\n  lingering_timeout 1s;\n  client_body_temp_path {tmp};\n  proxy_temp_path {tmp};\n  fastcgi_temp_path {tmp};\n  uwsgi_temp_path {tmp};\n  scgi_temp_path {tmp};\n  include {d}/site.conf;\n}}\n",
                d = dir.display()
            ),
        )
        .unwrap();
        let child = std::process::Command::new(bin)
            .args(["-p", &dir.display().to_string(), "-c", &dir.join("nginx.conf").display().to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let nginx = Nginx(child, dir.clone());
        let t = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                t.elapsed() < Duration::from_secs(5),
                "nginx did not start: {}",
                std::fs::read_to_string(dir.join("error.log")).unwrap_or_default()
            );
            thread::sleep(Duration::from_millis(20));
        }
        Some(nginx)
    }
}

impl Nginx {
    /// The worker processes of this nginx (children of its master).
    pub fn workers(&self) -> Vec<u32> {
        let master = self.0.id().to_string();
        let Ok(procs) = std::fs::read_dir("/proc") else { return Vec::new() };
        procs
            .flatten()
            .filter_map(|p| p.file_name().to_str()?.parse::<u32>().ok())
            .filter(|pid| {
                let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
                // The parent pid is the second field after the command's closing parenthesis.
                stat.rsplit(')').next().and_then(|rest| rest.split_whitespace().nth(1)) == Some(master.as_str())
            })
            .collect()
    }

    /// Stops nginx the way it is meant to be stopped (SIGQUIT to the master: workers finish and
    /// exit with it), SIGKILL only if it has not gone within five seconds.
    fn stop(&mut self) {
        // By path first: a test may run with an empty PATH, and SIGKILL would orphan the workers.
        let kill =
            ["/bin/kill", "/usr/bin/kill"].into_iter().find(|k| std::path::Path::new(k).exists()).unwrap_or("kill");
        let _ = std::process::Command::new(kill).args(["-QUIT", &self.0.id().to_string()]).status();
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(5) {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            thread::sleep(Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.1);
    }
}

/// curl with these arguments (its exit code and standard output), for front proxies speaking TLS
/// and HTTP/2 to a client; `None`, and the test listed as not run, where curl is not installed.
pub fn curl(args: &[&str]) -> Option<(i32, String)> {
    match std::process::Command::new("curl").args(["-sS", "--max-time", "10"]).args(args).output() {
        Ok(out) => Some((out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let test = std::thread::current().name().unwrap_or("a front-proxy test").to_string();
            skipped(&test, "curl is not installed (apt-get install curl; make test installs it as root)");
            None
        }
        Err(e) => panic!("curl: {e}"),
    }
}

/// The processes whose command line mentions `needle` (a test's own temporary folder, say).
pub fn processes_mentioning(needle: &str) -> Vec<u32> {
    let Ok(procs) = std::fs::read_dir("/proc") else { return Vec::new() };
    procs
        .flatten()
        .filter_map(|p| p.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            String::from_utf8_lossy(&cmdline).contains(needle)
        })
        .collect()
}
