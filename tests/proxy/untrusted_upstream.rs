//! An upstream that misbehaves, on purpose or not (issue 13, rows 7–10, 12–14, 18, 19, 22, 23):
//! the proxy binary runs as a child process, so that its memory (peak RSS) and CPU time can be
//! read, in front of fake upstreams on 127.0.0.1:0. Each test also checks that the proxy still serves
//! another client within a second.

use crate::support::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

/// The proxy binary in a directory of its own, its log collected as it is written.
struct Child {
    child: std::process::Child,
    addr: String,
    log: Arc<Mutex<String>>,
    dir: PathBuf,
}

impl Child {
    /// The text of every dump file, once the writer has caught up.
    fn dumps(&self) -> Vec<String> {
        std::thread::sleep(Duration::from_millis(300));
        let mut dumps = Vec::new();
        let mut dirs = vec![self.dir.join("log")];
        while let Some(d) = dirs.pop() {
            for e in std::fs::read_dir(d).unwrap().flatten() {
                match e.file_type().unwrap().is_dir() {
                    true => dirs.push(e.path()),
                    false => dumps.push(std::fs::read_to_string(e.path()).unwrap()),
                }
            }
        }
        dumps
    }

    /// Starts the binary with `yaml` as its `litellm_config.yaml` and `env` as its environment.
    fn start(yaml: &str, env: &[(&str, &str)]) -> Child {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("grp-untrusted-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("litellm_config.yaml"), yaml).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_gpt-reverse-proxy"))
            .current_dir(&dir)
            .env_clear()
            .env("HOST", "127.0.0.1")
            .env("PORT", "0")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (log, (tx, rx)) = (Arc::new(Mutex::new(String::new())), mpsc::channel());
        let (stderr, all) = (child.stderr.take().unwrap(), log.clone());
        // Read all along: a full pipe would block the proxy's logging.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(at) = line.find("listening on http://") {
                    let _ = tx.send(line[at + 20..].trim().to_string());
                }
                all.lock().unwrap().push_str(&(line + "\n"));
            }
        });
        let addr = rx.recv_timeout(Duration::from_secs(10)).expect("the proxy starts listening");
        Child { child, addr, log, dir }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The most memory the process has held so far (`VmHWM`), in MB.
    fn peak_rss_mb(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        let kb = status.lines().find_map(|l| l.strip_prefix("VmHWM:")).unwrap();
        kb.trim().trim_end_matches("kB").trim().parse::<u64>().unwrap() / 1024
    }

    /// CPU time used so far, user and system.
    fn cpu(&self) -> Duration {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).unwrap();
        let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
        let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
        let hz = Command::new("getconf").arg("CLK_TCK").output().unwrap();
        let hz: u64 = String::from_utf8_lossy(&hz.stdout).trim().parse().unwrap_or(100);
        Duration::from_millis(ticks * 1000 / hz)
    }

    /// Another client is answered within a second.
    fn still_serves(&self) {
        let t = Instant::now();
        let r = call("GET", &self.url("/health"), &[], "");
        assert_eq!(r.status, 200);
        assert!(t.elapsed() < Duration::from_secs(1), "the next client waited {:?}", t.elapsed());
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One model list: `gpt-*` on an OpenAI upstream and `claude-*` on an Anthropic one, both `base`.
fn both_dialects(base: &str, key: &str) -> String {
    format!(
        "model_list:\n  - model_name: \"gpt-*\"\n    litellm_params: {{model: \"openai/*\", api_base: \"{base}/v1\", api_key: \"{key}\"}}\n  - model_name: \"claude-*\"\n    litellm_params: {{model: \"anthropic/*\", api_base: \"{base}\", api_key: \"{key}\"}}\n"
    )
}

/// A streamed chat for `model` from a client of each dialect: `(path, body)`.
fn stream_requests(gpt: &str, claude: &str) -> [(&'static str, String); 3] {
    [
        ("/v1/chat/completions", format!(r#"{{"model":"{gpt}","stream":true,"messages":[]}}"#)),
        ("/v1/messages", format!(r#"{{"model":"{claude}","max_tokens":9,"stream":true,"messages":[]}}"#)),
        ("/ollama/api/chat", format!(r#"{{"model":"{gpt}","messages":[]}}"#)),
    ]
}

/// The error that ends a stream, as each dialect says it: OpenAI's `data: {"error":…}` with no
/// `[DONE]` (research/clients.md §5.1), Anthropic's `event: error`, Ollama's last NDJSON line.
fn assert_ends_with_error(path: &str, text: &str, code: &str, message: &str) {
    let tail = &text[text.len().saturating_sub(400)..];
    let last = tail.trim_end().rsplit('\n').next().unwrap();
    let last = last.strip_prefix("data: ").unwrap_or(last);
    let v: serde_json::Value = serde_json::from_str(last).unwrap_or_else(|e| panic!("{path}: {e} in {tail:?}"));
    match path {
        "/v1/chat/completions" => {
            assert_eq!(v["error"]["code"], code, "{tail}");
            assert!(!text.contains("[DONE]"), "a cut stream must not look finished");
        }
        "/v1/messages" => {
            assert!(tail.contains("\n\nevent: error\ndata: {") && v["type"] == "error", "{tail:?}");
            assert!(!text.contains("message_stop"));
        }
        _ => assert!(v["error"].is_string() && !text.contains("\"done\":true"), "{tail}"),
    }
    assert!(last.contains(message), "{path}: {message:?} missing in {last}");
}

/// Row 8 (and its quadratic rescan): one 32 MB line (at 8 MB the rescans cost seconds of CPU,
/// at 30 MB a core for 40 s). Each client gets an error in its dialect and a proper end; the
/// upstream call is dropped (the rest would fit in loopback buffers with a shorter line); little
/// memory or CPU is spent.
#[test]
fn a_32_megabyte_sse_line_is_an_error_event_in_each_dialect_in_linear_time() {
    let mut line = b"data: {\"x\":\"".to_vec();
    line.resize(32 << 20, b'x');
    let up = FakeUpstream::replay(move || Script::sse(&line, 64 << 10));
    let proxy = Child::start(&both_dialects(&up.url(), "sk-upstream"), &[]);
    let cpu = proxy.cpu();
    for (path, body) in stream_requests("gpt-x", "claude-x") {
        let r = call("POST", &proxy.url(path), &[], &body);
        assert_eq!(r.status, 200, "{path}");
        assert_ends_with_error(path, &r.text(), "upstream_invalid_response", "a stream line longer than 4 MiB");
        proxy.still_serves();
    }
    let (cpu, rss) = (proxy.cpu() - cpu, proxy.peak_rss_mb());
    eprintln!("three 32 MB lines: {cpu:?} of CPU, peak RSS {rss} MB");
    assert!(cpu < Duration::from_secs(3), "{cpu:?} of CPU");
    assert!(rss < 100, "peak RSS {rss} MB");
    let t = Instant::now();
    while up.cut_off.lock().unwrap().len() < 3 && t.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(up.cut_off.lock().unwrap().len(), 3, "each upstream call was dropped before its end");
}

/// Row 7: one event that never ends (short `data:` lines, no blank line), 64 MB of it.
#[test]
fn an_sse_event_that_never_ends_is_an_error_event_and_memory_stays_bounded() {
    let lines = b"data: {\"choices\":[{\"delta\":{\"content\":\"more\"}}]}\n".repeat(1400);
    let up = FakeUpstream::replay(move || Script::sse(&lines.repeat(1000), 64 << 10));
    let proxy = Child::start(&both_dialects(&up.url(), "sk-upstream"), &[]);
    let cpu = proxy.cpu();
    for (path, body) in stream_requests("gpt-x", "claude-x") {
        let r = call("POST", &proxy.url(path), &[], &body);
        assert_eq!(r.status, 200, "{path}");
        assert_ends_with_error(path, &r.text(), "upstream_invalid_response", "a stream event larger than 8 MiB");
        proxy.still_serves();
    }
    let (cpu, rss) = (proxy.cpu() - cpu, proxy.peak_rss_mb());
    eprintln!("three endless events: {cpu:?} of CPU, peak RSS {rss} MB");
    assert!(cpu < Duration::from_secs(3), "{cpu:?} of CPU");
    assert!(rss < 100, "peak RSS {rss} MB");
    assert!(proxy.log().contains("error=upstream_invalid_response"));
}

/// Row 22: one chunk naming tool call 100,000 (a million took 4.35 GB on the Ollama route, one
/// empty call kept per index below it) ends each client's stream with an error event instead.
#[test]
fn a_huge_tool_call_index_is_an_error_event_in_each_dialect_not_gigabytes() {
    let tc = r#"{"index":100000,"id":"call_1","type":"function","function":{"name":"f","arguments":"{}"}}"#;
    let stream = format!(
        "data: {{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{{\"index\":0,\"delta\":{{\"tool_calls\":[{tc}]}},\"finish_reason\":null}}]}}\n\ndata: [DONE]\n\n"
    );
    let up = FakeUpstream::replay(move || Script::sse(stream.as_bytes(), 64 << 10));
    let proxy = Child::start(&both_dialects(&up.url(), "sk-upstream"), &[]);
    for (path, body) in stream_requests("gpt-x", "gpt-x") {
        let r = call("POST", &proxy.url(path), &[], &body);
        assert_eq!(r.status, 200, "{path}");
        assert_ends_with_error(path, &r.text(), "upstream_invalid_response", "a stream tool call index above 255");
        proxy.still_serves();
    }
    let rss = proxy.peak_rss_mb();
    assert!(rss < 100, "peak RSS {rss} MB");
}

/// Row 23: chunks of 20,000 choices, each of its own index: the repair looked each one up among
/// all the choices seen so far (160,000 took 30 s of CPU). The choice past the limit ends the
/// stream with an error event, in linear time.
#[test]
fn twenty_thousand_choices_a_chunk_are_an_error_event_in_linear_time() {
    let line = |from: usize| {
        let choices: Vec<String> = (from..from + 20_000)
            .map(|i| format!(r#"{{"index":{i},"delta":{{"content":"x"}},"finish_reason":null}}"#))
            .collect();
        format!(
            "data: {{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{}]}}\n\n",
            choices.join(",")
        )
    };
    let stream = format!("{}{}data: [DONE]\n\n", line(0), line(20_000));
    let up = FakeUpstream::replay(move || Script::sse(stream.as_bytes(), 64 << 10));
    let proxy = Child::start(&both_dialects(&up.url(), "sk-upstream"), &[]);
    let cpu = proxy.cpu();
    let r = call("POST", &proxy.url("/v1/chat/completions"), &[], r#"{"model":"gpt-x","stream":true,"messages":[]}"#);
    assert_eq!(r.status, 200);
    let text = r.text();
    assert_ends_with_error(
        "/v1/chat/completions",
        &text,
        "upstream_invalid_response",
        "a stream choice index above 255",
    );
    let cpu = proxy.cpu() - cpu;
    eprintln!("40,000 choices: {cpu:?} of CPU");
    assert!(cpu < Duration::from_secs(2), "{cpu:?} of CPU");
    proxy.still_serves();
}

/// Row 8, the other half: a client that goes away mid-stream ends the upstream call at the
/// next write, not when the upstream is done.
#[test]
fn a_client_that_goes_away_mid_stream_ends_the_upstream_call_at_once() {
    let event = b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"}}]}\n\n".to_vec();
    let parts: Vec<_> = (0..200).map(|_| (Duration::from_millis(50), event.clone())).collect();
    let up = FakeUpstream::replay(move || Script::paced(parts.clone()));
    let proxy = Child::start(&both_dialects(&up.url(), "sk-upstream"), &[]);
    let body = r#"{"model":"gpt-x","stream":true,"messages":[]}"#;
    let mut s = TcpStream::connect(&proxy.addr).unwrap();
    write!(s, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}", body.len()).unwrap();
    let mut first = [0u8; 256];
    assert!(s.read(&mut first).unwrap() > 0);
    drop(s);
    let t = Instant::now();
    while up.cut_off.lock().unwrap().is_empty() {
        assert!(t.elapsed() < Duration::from_secs(2), "the upstream call outlived its client");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(up.cut_off.lock().unwrap()[0] < 60);
    proxy.still_serves();
}

/// Row 9: an upstream model list of 150,000 ids (under the 8 MiB limit) is merged in linear
/// time and only its first 10,000 are listed, with a warning.
#[test]
fn a_model_list_of_150000_ids_is_merged_quickly_and_capped() {
    let data: Vec<serde_json::Value> = (0..150_000).map(|i| serde_json::json!({"id": format!("m-{i}")})).collect();
    let list = serde_json::json!({"object": "list", "data": data}).to_string().into_bytes();
    assert!(list.len() < 8 << 20);
    let up = FakeUpstream::replay(move || Script::json(200, &list));
    let proxy = Child::start(&both_dialects(&up.url(), "sk-upstream").replace("gpt-*", "*"), &[]);
    let cpu = proxy.cpu();
    for path in ["/v1/models", "/ollama/api/tags"] {
        let r = call("GET", &proxy.url(path), &[], "");
        assert_eq!(r.status, 200);
        let v = r.json();
        let n = v["data"].as_array().or(v["models"].as_array()).unwrap().len();
        assert_eq!(n, 10_000, "{path}");
        proxy.still_serves();
    }
    let (cpu, rss) = (proxy.cpu() - cpu, proxy.peak_rss_mb());
    eprintln!("a 150,000-id model list: {cpu:?} of CPU, peak RSS {rss} MB");
    assert!(cpu < Duration::from_secs(5), "{cpu:?} of CPU");
    assert!(rss < 250, "peak RSS {rss} MB");
    assert!(proxy.log().contains("more than 10000 matching ids"), "{}", proxy.log());
}

/// An upstream that answers every request with `parts` (raw bytes, the head included), each
/// after its delay.
fn raw_upstream(parts: Vec<(Duration, Vec<u8>)>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let parts = parts.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let (mut line, mut len) = (String::new(), 0);
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap();
                    }
                    line.clear();
                }
                let _ = reader.read_exact(&mut vec![0; len]);
                let mut conn = conn;
                for (delay, bytes) in parts {
                    std::thread::sleep(delay);
                    if conn.write_all(&bytes).is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

/// Row 10: the wait for the response head is `response_header_timeout`, however short the
/// stream idle timeout; the idle timeout then holds between body reads.
#[test]
fn a_slow_response_head_waits_the_header_timeout_not_the_idle_timeout() {
    let head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n".to_vec();
    let event = |s: &str| format!("data: {{\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{s}\"}}}}]}}\n\n");
    let thinking = raw_upstream(vec![
        (Duration::from_millis(1500), head.clone()),
        (Duration::from_millis(300), event("one").into_bytes()),
        (Duration::from_millis(300), b"data: [DONE]\n\n".to_vec()),
    ]);
    let stalls = raw_upstream(vec![(Duration::ZERO, head), (Duration::from_millis(1500), event("late").into_bytes())]);
    let yaml = format!(
        "model_list:\n  - {{model_name: thinks, litellm_params: {{model: openai/x, api_base: \"http://{thinking}/v1\"}}}}\n  - {{model_name: stalls, litellm_params: {{model: openai/x, api_base: \"http://{stalls}/v1\"}}}}\ngpt_reverse_proxy:\n  response_header_timeout: 3\n  stream_idle_timeout: 0.6\n"
    );
    let proxy = Child::start(&yaml, &[]);
    let t = Instant::now();
    let r = call("POST", &proxy.url("/v1/chat/completions"), &[], r#"{"model":"thinks","stream":true,"messages":[]}"#);
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().contains("\"content\":\"one\"") && r.text().ends_with("data: [DONE]\n\n"), "{}", r.text());
    assert!(t.elapsed() >= Duration::from_millis(1500));
    proxy.still_serves();
    let r = call("POST", &proxy.url("/v1/chat/completions"), &[], r#"{"model":"stalls","stream":true,"messages":[]}"#);
    assert_ends_with_error("/v1/chat/completions", &r.text(), "upstream_timeout", "no data for too long");
    proxy.still_serves();
}

/// Row 12: an upstream error that echoes the deployment's key reaches no client, in any
/// dialect, and no dump file with it.
#[test]
fn an_upstream_error_echoing_the_key_reaches_no_client_and_no_dump() {
    let key = "sk-proj-4f9a8b7c6d5e4f3a2b1cZZ9x";
    let echo = format!(
        r#"{{"error":{{"message":"Incorrect API key provided: {key}. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}}}"#
    );
    let up = FakeUpstream::replay(move || Script::json(401, echo.as_bytes()));
    let proxy = Child::start(&both_dialects(&up.url(), key), &[("DUMP_HTTP_CONTENT", "true")]);
    let requests = [
        ("/v1/chat/completions", r#"{"model":"gpt-x","messages":[]}"#),
        ("/v1/chat/completions", r#"{"model":"gpt-x","stream":true,"messages":[]}"#),
        ("/v1/messages", r#"{"model":"gpt-x","max_tokens":5,"messages":[]}"#),
        ("/v1/messages", r#"{"model":"claude-x","max_tokens":5,"messages":[]}"#),
        ("/ollama/api/chat", r#"{"model":"gpt-x","messages":[]}"#),
        ("/v1/embeddings", r#"{"model":"gpt-x","input":"x"}"#),
    ];
    for (path, body) in requests {
        let r = call("POST", &proxy.url(path), &[], body);
        assert_eq!(r.status, 401, "{path}");
        let text = r.text();
        assert!(!text.contains(key) && !text.contains("4f9a8b7c6d5e4f3a"), "{path}: {text}");
        assert!(text.contains("Incorrect API key provided: sk-…ZZ9x"), "{path}: {text}");
    }
    assert!(up.requests().iter().all(|r| r.headers.iter().any(|(_, v)| v.contains(key))), "the key was sent");
    let dumps = proxy.dumps();
    assert!(dumps.len() >= requests.len(), "{} dumps", dumps.len());
    assert!(dumps.iter().all(|d| !d.contains(key) && d.contains("sk-…ZZ9x")), "a dump holds the key");
    proxy.still_serves();
}

/// Every way a client can ask a model, untranslated and translated: `(path, body)`.
const EVERY_ROUTE: [(&str, &str); 5] = [
    ("/v1/chat/completions", r#"{"model":"gpt-x","messages":[]}"#),
    ("/v1/messages", r#"{"model":"gpt-x","max_tokens":5,"messages":[]}"#),
    ("/v1/messages", r#"{"model":"claude-x","max_tokens":5,"messages":[]}"#),
    ("/v1/responses", r#"{"model":"gpt-x","input":"hi"}"#),
    ("/ollama/api/chat", r#"{"model":"gpt-x","messages":[]}"#),
];

/// Row 12, escaped: an error body writing the key in JSON `\uXXXX` escapes was decoded by the
/// translations and sent on in clear, and a client's JSON parser decoded the untranslated one.
#[test]
fn an_upstream_error_escaping_the_key_in_json_reaches_no_client() {
    let key = "sk-proj-4f9a8b7c6d5e4f3a2b1cZZ9x";
    let escaped: String = format!("Bearer {key}").chars().map(|c| format!("\\u{:04x}", c as u32)).collect();
    let echo =
        format!(r#"{{"error":{{"message":"Incorrect API key provided: {escaped}","type":"invalid_request_error"}}}}"#);
    let up = FakeUpstream::replay(move || Script::json(401, echo.as_bytes())).lenient();
    let proxy = Child::start(&both_dialects(&up.url(), key), &[]);
    for (path, body) in EVERY_ROUTE {
        let r = call("POST", &proxy.url(path), &[], body);
        assert_eq!(r.status, 401, "{path}");
        // As a client sees it once parsed: serde_json writes every ASCII character as itself.
        let decoded = r.json().to_string();
        assert!(!decoded.contains(key) && !decoded.contains("4f9a8b7c6d5e4f3a"), "{path} {body}: {decoded}");
        assert!(decoded.contains("sk-…ZZ9x"), "{path} {body}: {decoded}");
    }
    proxy.still_serves();
}

/// An error body sent gzip-compressed (none was asked for) passed through with its
/// `Content-Encoding`, unscrubbed: the client inflated the key out of it.
#[test]
fn a_compressed_upstream_error_is_replaced_by_the_proxys_own() {
    // gzip of `{"error": {"message": "Incorrect API key provided: Bearer <key>", ...}}`.
    const GZIPPED: &[u8] = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\x03\x25\x8d\xbd\x0e\x82\x40\x10\x06\x5f\x65\xb3\xb5\x14\x2a\xfe\x40\xa7\x1d\x9d\x35\x0d\x59\xee\x3e\xcc\x89\x70\xb8\x77\x12\x09\xe1\xdd\x25\xda\x4d\xa6\x98\x99\x19\xaa\x5e\x39\xa7\x99\x3b\x84\x20\x77\xac\xcc\x45\x6f\xbc\x2a\x4c\xa4\xcb\xad\xa0\x16\x13\x0d\xea\x47\x67\x61\x73\xba\x42\x14\x4a\xa1\x4d\x56\xf7\x48\xd2\x26\x93\x73\x7d\x32\x47\x7b\x40\xda\xec\x65\x57\x6f\x4d\x59\x66\x1f\xde\x10\xc7\x69\xf8\xe5\x5c\x3f\xca\xd3\xd9\x4a\xf1\x7a\x23\xc4\xea\xff\x5c\x96\x2f\x71\x6f\xc9\x3d\x7e\x00\x00\x00";
    let up = FakeUpstream::replay(|| Script::Answer {
        status: 401,
        headers: vec![("Content-Type".into(), "application/json".into()), ("Content-Encoding".into(), "gzip".into())],
        parts: vec![(Duration::ZERO, GZIPPED.to_vec())],
    })
    .lenient();
    let proxy = Child::start(&both_dialects(&up.url(), "sk-proj-4f9a8b7c6d5e4f3a2b1cZZ9x"), &[]);
    for (path, body) in EVERY_ROUTE {
        let r = call("POST", &proxy.url(path), &[("Accept-Encoding", "identity")], body);
        assert_eq!(r.status, 401, "{path}");
        assert_eq!(r.header("content-encoding"), None, "{path}");
        assert!(!r.body.windows(3).any(|w| w == b"\x1f\x8b\x08"), "{path}: compressed bytes passed on");
        assert!(r.text().contains("compressed"), "{path}: {}", r.text());
    }
    proxy.still_serves();
}

/// A secret of `extra_headers` (`X-Goog-Api-Key`) echoed in an error reached the client and,
/// twice, the dump: only `api_key` was scrubbed from bodies.
#[test]
fn an_extra_header_secret_echoed_in_an_error_reaches_no_client_and_no_dump() {
    let secret = "goog-SECRET-HDR-123456";
    let up = FakeUpstream::start(|rec| {
        let echo = serde_json::json!({"error": {"message": format!("bad headers: {:?}", rec.headers)}});
        Script::json(401, echo.to_string().as_bytes())
    })
    .lenient();
    let yaml = format!(
        "model_list:\n  - model_name: \"x-*\"\n    litellm_params: {{model: \"openai/*\", api_base: \"{}/v1\", api_key: sk-UPSTREAM-SECRET-0123456789, extra_headers: {{X-Goog-Api-Key: {secret}}}}}\n",
        up.url()
    );
    let proxy = Child::start(&yaml, &[("DUMP_HTTP_CONTENT", "true")]);
    let r = call("POST", &proxy.url("/v1/chat/completions"), &[], r#"{"model":"x-echo","messages":[]}"#);
    assert_eq!(r.status, 401);
    assert!(!r.text().contains(secret) && r.text().contains("goo…3456"), "{}", r.text());
    assert!(up.requests()[0].headers.iter().any(|(_, v)| v == secret), "the header was sent");
    let dumps = proxy.dumps();
    assert!(!dumps.is_empty() && dumps.iter().all(|d| !d.contains(secret)), "a dump holds the header's secret");
    proxy.still_serves();
}

/// A 2xx stream whose error event echoes the key (cut across reads) passed it on: only
/// non-2xx bodies were scrubbed.
#[test]
fn a_streamed_answer_echoing_the_key_in_an_error_event_reaches_no_client() {
    let key = "sk-proj-4f9a8b7c6d5e4f3a2b1cZZ9x";
    let sse = format!("data: {{\"error\":{{\"message\":\"Incorrect API key provided: {key}\"}}}}\n\ndata: [DONE]\n\n");
    let up = FakeUpstream::replay(move || Script::sse(sse.as_bytes(), 37));
    let proxy = Child::start(&both_dialects(&up.url(), key), &[]);
    let r = call("POST", &proxy.url("/v1/chat/completions"), &[], r#"{"model":"gpt-x","stream":true,"messages":[]}"#);
    assert_eq!(r.status, 200);
    assert!(!r.text().contains(key) && r.text().contains("sk-…ZZ9x"), "{}", r.text());
    proxy.still_serves();
}

/// Rows 13 and 14: a model name with a line feed cannot forge an access-log line or break
/// `/metrics`; huge and many model names are neither logged whole nor kept as labels.
#[test]
fn model_names_cannot_forge_log_lines_or_grow_metric_labels() {
    let up = FakeUpstream::replay(|| Script::json(200, &fixture("upstream/chat.json")));
    let yaml = both_dialects(&up.url(), "sk-upstream").replace("gpt-*", "*");
    let yaml = format!(
        "{yaml}  - {{model_name: named, litellm_params: {{model: openai/x, api_base: \"{}/v1\"}}}}\n",
        up.url()
    );
    let proxy = Child::start(&yaml, &[]);
    let forged = r#"{"model":"x\nFORGED POST /v1/chat/completions 200 model=y\u001b[2J","messages":[]}"#;
    assert_eq!(call("POST", &proxy.url("/v1/chat/completions"), &[], forged).status, 200);
    let huge = "h".repeat(100_000);
    for i in 0..40 {
        let body = format!(r#"{{"model":"{huge}{i}","messages":[]}}"#);
        assert_eq!(call("POST", &proxy.url("/v1/chat/completions"), &[], &body).status, 200);
    }
    assert_eq!(call("POST", &proxy.url("/v1/chat/completions"), &[], r#"{"model":"named","messages":[]}"#).status, 200);
    let metrics = call("GET", &proxy.url("/metrics"), &[], "").text();
    assert!(metrics.lines().all(|l| l.starts_with("# ") || l.starts_with("grp_")), "{metrics}");
    assert!(metrics.contains("grp_tokens_total{model=\"*\",kind=\"prompt\"} 492"), "{metrics}");
    assert!(metrics.contains("grp_tokens_total{model=\"named\",kind=\"prompt\"} 12"), "{metrics}");
    assert!(metrics.len() < 20_000, "{} bytes of metrics", metrics.len());
    std::thread::sleep(Duration::from_millis(200));
    let log = proxy.log();
    assert!(!log.lines().any(|l| l.starts_with("FORGED")) && !log.contains('\u{1b}'), "{log}");
    assert!(log.contains(r"model=x\nFORGED POST"), "{log}");
    assert!(log.lines().all(|l| l.len() < 2_000), "an access-log line is bounded");
    proxy.still_serves();
}

/// Row 18: streams still running when `shutdown_grace` runs out end with an error event in
/// their client's dialect and a proper end, not a silent cut; the exit status stays 0.
#[test]
fn sigterm_ends_streams_that_outlive_the_grace_with_an_error_event() {
    let event = b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"}}]}\n\n".to_vec();
    let parts: Vec<_> = (0..100).map(|_| (Duration::from_millis(100), event.clone())).collect();
    let up = FakeUpstream::replay(move || Script::paced(parts.clone()));
    let yaml = format!("{}gpt_reverse_proxy:\n  shutdown_grace: 0.5\n", both_dialects(&up.url(), "sk-upstream"));
    let mut proxy = Child::start(&yaml, &[]);
    let streams: Vec<_> = stream_requests("gpt-x", "gpt-x")
        .into_iter()
        .map(|(path, body)| {
            let url = proxy.url(path);
            std::thread::spawn(move || (path, call("POST", &url, &[], &body)))
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let t = Instant::now();
    assert!(Command::new("kill").args(["-TERM", &proxy.pid().to_string()]).status().unwrap().success());
    for s in streams {
        let (path, r) = s.join().unwrap();
        assert_eq!(r.status, 200);
        assert_ends_with_error(path, &r.text(), "shutting_down", "shutting down");
    }
    assert!(t.elapsed() < Duration::from_secs(3), "streams ended {:?} after SIGTERM", t.elapsed());
    let status = proxy.child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    assert!(proxy.log().contains("3 request(s) still running"), "{}", proxy.log());
}

/// Row 19: statuses a client cannot use (1xx, 3xx, unknown codes) become a 502 in its dialect.
#[test]
fn upstream_statuses_101_307_and_999_are_a_502_in_the_clients_dialect() {
    for status in [101, 307, 999] {
        let up = FakeUpstream::replay(move || Script::Answer {
            status,
            headers: vec![("Location".into(), "http://elsewhere.example/".into()), ("Upgrade".into(), "h2c".into())],
            parts: vec![(Duration::ZERO, b"{}".to_vec())],
        });
        let proxy = Child::start(&both_dialects(&up.url(), "sk-upstream"), &[]);
        for (path, body) in stream_requests("gpt-x", "claude-x") {
            let r = call("POST", &proxy.url(path), &[], &body);
            assert_eq!(r.status, 502, "{status} to {path}: {}", r.text());
            let v = r.json();
            let message = match path {
                "/v1/chat/completions" => {
                    assert_eq!(v["error"]["code"], "upstream_invalid_response");
                    &v["error"]["message"]
                }
                "/v1/messages" => {
                    assert_eq!((v["type"].as_str(), v["error"]["type"].as_str()), (Some("error"), Some("api_error")));
                    &v["error"]["message"]
                }
                _ => &v["error"],
            };
            let want = format!("the upstream answered with HTTP status {status}");
            assert!(message.as_str().unwrap().contains(&want), "{status} to {path}: {v}");
        }
        proxy.still_serves();
    }
}
