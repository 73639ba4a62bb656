//! Dumps (`DUMP_HTTP_CONTENT`): both legs byte for byte, no credential on disk, rotation, the
//! `dump` subcommand on recorded dumps of each dialect (golden files), the viewer behind the
//! token, and the viewer page rendered in headless Chromium (skips where Chromium is not
//! installed; `.ci/run` installs it).

use crate::support::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const TOKEN: &str = "tok-dump-secret";

/// A fresh dump directory for one test.
fn dump_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("grp-dumps-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// The proxy with dumps on, writing to `dir`, behind [`TOKEN`].
fn proxy(models: &str, dir: &Path, settings: &str) -> Proxy {
    let yaml = format!("{models}gpt_reverse_proxy:\n  dump_dir: {:?}\n{settings}", dir.display().to_string());
    Proxy::start(&yaml, &[("DUMP_HTTP_CONTENT", "true"), ("LOCAL_AUTH_TOKEN", TOKEN)])
}

/// Every dump file below `dir`, oldest first.
fn files(dir: &Path) -> Vec<PathBuf> {
    fn walk(d: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(d).into_iter().flatten().flatten() {
            if e.path().is_dir() {
                walk(&e.path(), out);
            } else {
                out.push(e.path());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, &mut out);
    out.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    out
}

/// The dump's lines, or `None` while the writer is still in the middle of one (the file is
/// read while the proxy writes it: a last line without its newline is not a line yet).
fn lines(path: &Path) -> Option<Vec<Value>> {
    let text = std::fs::read_to_string(path).ok()?;
    if !text.is_empty() && !text.ends_with('\n') {
        return None;
    }
    text.lines().map(|l| serde_json::from_str(l).ok()).collect()
}

/// The only dump in `dir`, once it has complete lines.
fn only_dump(dir: &Path) -> Option<(PathBuf, Vec<Value>)> {
    match &files(dir)[..] {
        [file] => Some((file.clone(), lines(file)?)),
        _ => None,
    }
}

/// The bytes of one leg and direction, chunks joined in order (`attempt` for the upstream leg).
fn bytes_of(lines: &[Value], leg: &str, direction: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for l in lines.iter().filter(|l| l["leg"] == leg && l["direction"] == direction && l["event"] == "chunk") {
        match (l["payload"]["text"].as_str(), l["payload"]["base64"].as_str()) {
            (Some(t), _) => out.extend_from_slice(t.as_bytes()),
            (_, Some(b)) => out.extend(gpt_reverse_proxy::base64::decode(b).unwrap()),
            _ => panic!("a chunk without bytes: {l}"),
        }
    }
    out
}

/// Waits until the only dump in `dir` holds the whole client response `body`.
fn finished_dump(dir: &Path, body: &[u8]) -> (PathBuf, Vec<Value>) {
    let t = Instant::now();
    loop {
        if let Some((file, l)) = only_dump(dir) {
            if bytes_of(&l, "client", "response") == body {
                return (file, l);
            }
        }
        assert!(t.elapsed() < Duration::from_secs(20), "no complete dump in {}: {:?}", dir.display(), files(dir));
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// With `UPDATE_GOLDEN`, keeps a live dump as a recorded fixture for the subcommand's golden
/// test, unless there is one already (delete it to record it again).
fn keep_as_fixture(file: &Path, case: &str) {
    let to = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/dumps").join(format!("{case}.jsonl"));
    if std::env::var_os("UPDATE_GOLDEN").is_some() && !to.exists() {
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(file, to).unwrap();
    }
}

/// Every byte under `dir`, for the no-secret checks.
fn everything(dir: &Path) -> String {
    files(dir).iter().map(|f| String::from_utf8_lossy(&std::fs::read(f).unwrap()).into_owned()).collect()
}

#[test]
fn both_legs_are_recorded_byte_for_byte_and_no_credential_reaches_the_disk() {
    let body = fixture("upstream/chat-stream.sse");
    // Cut the stream inside a multi-byte character, and hold the tail until the dump shows that
    // the proxy has read the head (not a pause that a loaded machine can sleep through): the
    // dump must keep both reads exact, not decode each one lossily.
    let cut = body.windows(3).position(|w| w == "用".as_bytes()).unwrap() + 1;
    let (head, tail) = (body[..cut].to_vec(), body[cut..].to_vec());
    let gate = Gate::default();
    let (held, first) = (gate.clone(), head.clone());
    let up = FakeUpstream::replay(move || Script::Gated {
        before: first.clone(),
        gate: held.clone(),
        bound: Duration::from_secs(30),
        after: tail.clone(),
    });
    let dir = dump_dir("legs");
    let p = proxy(&models_yaml(&[("gemini-2.5-pro", "openai/gemini-2.5-pro", &format!("{}/v1", up.url()))]), &dir, "");
    // Spacing the proxy would never produce: the dump must hold the client's own bytes.
    let sent = r#"{"model":  "gemini-2.5-pro", "stream": true, "messages": [{"role": "user", "content": "点击"}]}"#;
    let url = p.url("/v1/chat/completions");
    let client = std::thread::spawn(move || {
        let auth = format!("Bearer {TOKEN}");
        call("POST", &url, &[("Authorization", &auth), ("Content-Type", "application/json")], sent)
    });
    wait_until("the head of the stream in the dump", Duration::from_secs(20), || {
        only_dump(&dir).is_some_and(|(_, l)| bytes_of(&l, "upstream", "response") == head)
    });
    gate.open();
    let resp = client.join().unwrap();
    assert_eq!(resp.status, 200);

    let (file, l) = finished_dump(&dir, &resp.body);
    assert!(file.starts_with(dir.join("v1/chat/completions")), "{}", file.display());
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!((mode(&file), mode(file.parent().unwrap())), (0o600, 0o700), "dumps are private to the user");
    assert_eq!(bytes_of(&l, "client", "request"), sent.as_bytes());
    assert_eq!(bytes_of(&l, "upstream", "request"), up.requests()[0].body);
    assert_eq!(bytes_of(&l, "upstream", "response"), body);
    assert!(
        l.iter().any(|e| e["payload"].get("base64").is_some()),
        "the read that ends inside a character is kept as bytes"
    );
    let heads: Vec<&Value> = l.iter().filter(|e| e["event"] == "info").collect();
    assert_eq!(heads.len(), 4, "request and response heads of both legs");
    assert_eq!(heads[1]["payload"]["url"], format!("{}/v1/chat/completions", up.url()));
    assert_eq!(heads[1]["attempt"], 1);
    let all = everything(&dir);
    assert!(!all.contains(TOKEN) && !all.contains("sk-upstream"), "a credential reached the disk");
    assert!(all.contains(r#"["authorization","[redacted]"]"#));
    keep_as_fixture(&file, "openai-stream-split-character");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn translated_requests_are_dumped_in_both_dialects_and_retries_each_get_a_leg() {
    // Anthropic client → OpenAI upstream (Claude Code on GPT), after one failed attempt.
    let case = "fixtures/translate/anthropic-to-openai-stream-claude-code";
    let stream = std::fs::read(format!("{}/{case}/upstream_response.sse", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let failing = FakeUpstream::replay(|| {
        let body = br#"{"error":{"message":"overloaded"}}"#;
        Script::Answer {
            status: 503,
            headers: vec![
                ("Content-Type".into(), "application/json".into()),
                ("Content-Length".into(), body.len().to_string()),
            ],
            parts: vec![(Duration::ZERO, body.to_vec())],
        }
    });
    let up = FakeUpstream::replay(move || Script::sse(&stream, 64));
    let dir = dump_dir("translated");
    let models = models_yaml(&[
        ("gpt-5", "openai/gpt-5", &format!("{}/v1", failing.url())),
        ("gpt-5", "openai/gpt-5", &format!("{}/v1", up.url())),
    ]);
    let p = proxy(&models, &dir, "router_settings: {num_retries: 1}\n");
    let request =
        std::fs::read_to_string(format!("{}/{case}/client_request.json", env!("CARGO_MANIFEST_DIR"))).unwrap();
    // Round robin may start with either; keep asking until the failing one went first.
    let (file, l) = loop {
        let resp = post(&p, "/v1/messages", TOKEN, &request);
        assert_eq!(resp.status, 200);
        let (file, l) = finished_dump(&dir, &resp.body);
        if l.iter().any(|e| e["attempt"] == 2) {
            break (file, l);
        }
        std::fs::remove_file(file).unwrap();
    };
    assert!(l.iter().any(|e| e["attempt"] == 1 && e["payload"]["status"] == 503));
    let failed = l.iter().filter(|e| e["attempt"] == 1 && e["direction"] == "response" && e["event"] == "chunk");
    let failed: String = failed.map(|e| e["payload"]["text"].as_str().unwrap().to_string()).collect();
    assert_eq!(failed, r#"{"error":{"message":"overloaded"}}"#, "the failed attempt's body is in the dump");
    let out = show(&file);
    assert!(out.contains("━━ proxy ⇄ upstream, attempt 2") && out.contains("← 503"), "{out}");
    keep_as_fixture(&file, "anthropic-client-openai-upstream");
    std::fs::remove_dir_all(&dir).unwrap();

    // Ollama client (NDJSON) → Anthropic upstream (SSE).
    let stream = fixture("translate/openai-to-anthropic-stream-tools/upstream_response.sse");
    let up = FakeUpstream::replay(move || Script::sse(&stream, 64));
    let dir = dump_dir("ollama");
    let p = proxy(&models_yaml(&[("claude-sonnet-4", "anthropic/claude-sonnet-4", &up.url())]), &dir, "");
    let chat = r#"{"model":"claude-sonnet-4","messages":[{"role":"user","content":"list the files"}],
        "tools":[{"type":"function","function":{"name":"ls","parameters":{"type":"object"}}}]}"#;
    let resp = post(&p, "/ollama/api/chat", TOKEN, chat);
    assert_eq!(resp.status, 200);
    let (file, _) = finished_dump(&dir, &resp.body);
    assert!(file.starts_with(dir.join("ollama/api/chat")));
    keep_as_fixture(&file, "ollama-client-anthropic-upstream");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The binary's `dump FILE` output.
fn show(file: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_gpt-reverse-proxy")).arg("dump").arg(file).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_dump_subcommand_reads_each_dialect_as_a_conversation() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/dumps");
    for case in
        ["openai-stream-split-character", "anthropic-client-openai-upstream", "ollama-client-anthropic-upstream"]
    {
        let out = show(&root.join(format!("{case}.jsonl")));
        golden_file(&root.join(format!("{case}.golden.txt")), &out);
    }
    let out = Command::new(env!("CARGO_BIN_EXE_gpt-reverse-proxy")).args(["dump", "/nonexistent.jsonl"]).output();
    assert_eq!(out.unwrap().status.code(), Some(1));
}

#[test]
fn the_oldest_dumps_are_removed_beyond_the_file_limit() {
    let dir = dump_dir("rotation");
    let demo = "model_list:\n  - model_name: demo\n    litellm_params: {model: openai/demo, mock_response: hi}\n";
    let p = proxy(demo, &dir, "  dump_max_files: 3\n");
    for _ in 0..6 {
        let r = post(&p, "/v1/chat/completions", TOKEN, r#"{"model":"demo","messages":[]}"#);
        assert_eq!(r.status, 200);
    }
    let t = Instant::now();
    while files(&dir).len() != 3 || !files(&dir).iter().any(|f| f.to_string_lossy().ends_with("-000005.jsonl")) {
        assert!(t.elapsed() < Duration::from_secs(10), "{:?}", files(&dir));
        std::thread::sleep(Duration::from_millis(20));
    }
    let names: Vec<String> = files(&dir).iter().map(|f| f.file_name().unwrap().to_string_lossy().into()).collect();
    assert!(names.iter().all(|n| ["-000003", "-000004", "-000005"].iter().any(|s| n.contains(s))), "{names:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_viewer_is_behind_the_token_and_serves_only_dump_files() {
    let dir = dump_dir("viewer");
    let demo = "model_list:\n  - model_name: demo\n    litellm_params: {model: openai/demo, mock_response: hi}\n";
    let p = proxy(demo, &dir, "");
    let r = post(&p, "/v1/chat/completions", TOKEN, r#"{"model":"demo","messages":[]}"#);
    let (file, _) = finished_dump(&dir, &r.body);
    let rel = file.strip_prefix(&dir).unwrap().to_string_lossy().to_string();

    let page = call("GET", &p.url("/dumps/"), &[], "");
    assert_eq!(page.status, 401);
    assert!(page.header("www-authenticate").unwrap().starts_with("Basic "), "a browser must ask for the token");
    let basic = format!("Basic {}", gpt_reverse_proxy::base64::encode(format!("me:{TOKEN}").as_bytes()));
    let page = call("GET", &p.url("/dumps/"), &[("Authorization", &basic)], "");
    assert_eq!(page.status, 200);
    assert!(page.text().contains("<title>gpt-reverse-proxy dumps</title>"));
    assert!(page.header("content-security-policy").unwrap().contains("default-src 'none'"));
    assert_eq!(page.header("access-control-allow-origin"), None, "the viewer is same-origin only");

    let bearer = format!("Bearer {TOKEN}");
    let index = call("GET", &p.url("/dumps/index.json"), &[("Authorization", &bearer)], "").json();
    assert_eq!((index[0]["path"].as_str(), index[0]["method"].as_str()), (Some(rel.as_str()), Some("POST")));
    assert!(index[0]["agent"].as_str().is_some_and(|a| a.starts_with("ureq")), "{index}");
    let served = call("GET", &p.url(&format!("/dumps/files/{rel}")), &[("Authorization", &bearer)], "");
    assert_eq!(served.body, std::fs::read(&file).unwrap());
    for bad in ["/dumps/files/../litellm_config.yaml", "/dumps/files/%2e%2e/x.jsonl", "/dumps/files/v1/none.jsonl"] {
        assert_eq!(call("GET", &p.url(bad), &[("Authorization", &bearer)], "").status, 404, "{bad}");
    }
    assert_eq!(call("GET", &p.url("/dumps/index.json"), &[("Authorization", "Bearer wrong")], "").status, 401);
    // Neither the viewer nor refused requests make dumps of their own.
    assert_eq!(files(&dir).len(), 1);
    std::fs::remove_dir_all(&dir).unwrap();

    let off = Proxy::start(demo, &[("LOCAL_AUTH_TOKEN", TOKEN)]);
    assert_eq!(call("GET", &off.url("/dumps/"), &[("Authorization", &bearer)], "").status, 404);
}

#[test]
fn the_viewer_page_renders_a_dump_in_headless_chromium() {
    let Some(chromium) = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].into_iter().find(|p| Path::new(p).exists())
    else {
        skipped(
            "dumps::the_viewer_page_renders_a_dump_in_headless_chromium",
            "chromium is not installed (apt-get install chromium)",
        );
        return;
    };
    let body = fixture("upstream/chat-stream.sse");
    let up = FakeUpstream::replay(move || Script::sse(&body, 512));
    let dir = dump_dir("chromium");
    let p = proxy(&models_yaml(&[("gemini-2.5-pro", "openai/gemini-2.5-pro", &format!("{}/v1", up.url()))]), &dir, "");
    let r = post(&p, "/v1/chat/completions", TOKEN, r#"{"model":"gemini-2.5-pro","stream":true,"messages":[]}"#);
    let (file, _) = finished_dump(&dir, &r.body);
    let rel = file.strip_prefix(&dir).unwrap().to_string_lossy().to_string();
    // The browser gets the token the way a person would give it: as the Basic password.
    let url = format!("http://viewer:{TOKEN}@{}/dumps/#{rel}", p.addr);
    let shot = std::env::temp_dir().join(format!("grp-viewer-{}.png", std::process::id()));
    let profile = std::env::temp_dir().join(format!("grp-chromium-{}", std::process::id()));
    let browse = |mode: &str, url: &str| {
        Command::new(chromium)
            .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"])
            .args(["--disable-background-networking", "--disable-component-update", "--disable-sync"])
            .arg(format!("--user-data-dir={}", profile.display()))
            .args(["--virtual-time-budget=5000", "--window-size=1400,1000", mode, url])
            .output()
            .unwrap()
    };
    // A browser that cannot start here says nothing about the page.
    if !browse("--dump-dom", "about:blank").status.success() {
        skipped(
            "dumps::the_viewer_page_renders_a_dump_in_headless_chromium",
            "chromium is installed but cannot start here",
        );
        return;
    }
    let run = |mode: &str| {
        let out = browse(mode, &url);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let dom = run("--dump-dom");
    for want in [
        r#"id="client-leg""#,
        r#"id="upstream-leg""#,
        "POST /v1/chat/completions",
        "status 200",
        "用户点击了",   // the assembled reply, decoded across reads
        "finish: stop", // …and its finish reason
        "[redacted]",
    ] {
        assert!(dom.contains(want), "{want:?} not rendered:\n{dom}");
    }
    assert!(!dom.contains(TOKEN));
    run(&format!("--screenshot={}", shot.display()));
    let png = std::fs::read(&shot).expect("a screenshot");
    assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "{} bytes", png.len());
    let _ = std::fs::remove_dir_all(&profile);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_explicit_ollama_secret_never_reaches_the_disk() {
    let dir = dump_dir("secret");
    let demo = "model_list:\n  - model_name: demo\n    litellm_params: {model: openai/demo, mock_response: hi}\n";
    let yaml = format!("{demo}gpt_reverse_proxy:\n  dump_dir: {:?}\n", dir.display().to_string());
    let env = [
        ("DUMP_HTTP_CONTENT", "true"),
        ("LOCAL_AUTH_TOKEN", TOKEN),
        ("LOCAL_OLLAMA_SECRET", "s3cret-mount"),
        ("LOCAL_OLLAMA_SECRET_WEAK_OK", "1"),
    ];
    let p = Proxy::start(&yaml, &env);
    let r = call("POST", &p.url("/s3cret-mount/api/chat"), &[], r#"{"model":"demo","messages":[]}"#);
    assert_eq!(r.status, 200);
    let (file, _) = finished_dump(&dir, &r.body);
    assert!(file.starts_with(dir.join("_LOCAL_OLLAMA_SECRET_/api/chat")), "{}", file.display());
    assert!(!everything(&dir).contains("s3cret"), "the secret path reached the disk");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_long_stream_is_cut_at_dump_max_bytes_while_it_runs() {
    // The limit held only when a file closed: a 300 MB stream grew the directory to 506 MiB over
    // a 10 MiB limit while it ran.
    const LIMIT: u64 = 64 << 10;
    let dir = dump_dir("cut");
    let event = format!(
        "data: {{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{}\"}}}}]}}\n\n",
        "x".repeat(1000)
    );
    let up = FakeUpstream::start(move |_| {
        Script::paced(vec![
            (Duration::ZERO, event.repeat(1000).into_bytes()),
            (Duration::from_millis(1500), format!("{event}data: [DONE]\n\n").into_bytes()),
        ])
    });
    let p =
        proxy(&models_yaml(&[("gpt-*", "openai/*", &format!("{}/v1", up.url()))]), &dir, "  dump_max_bytes: 65536\n");
    let url = p.url("/v1/chat/completions");
    let client = std::thread::spawn(move || {
        let body = r#"{"model":"gpt-x","stream":true,"messages":[{"role":"user","content":"hi"}]}"#;
        call("POST", &url, &[("Authorization", &format!("Bearer {TOKEN}"))], body)
    });
    std::thread::sleep(Duration::from_millis(900));
    let size = || files(&dir).iter().map(|f| f.metadata().map_or(0, |m| m.len())).sum::<u64>();
    let during = size();
    let r = client.join().unwrap();
    assert_eq!((r.status, r.body.len() > 1_000_000), (200, true));
    assert!(during <= 4 * LIMIT, "{during} bytes of dumps during the stream, limit {LIMIT}");
    let t = Instant::now();
    let lines = loop {
        match only_dump(&dir) {
            Some((_, l)) if l.iter().any(|e| e["event"] == "lost") => break l,
            _ => assert!(t.elapsed() < Duration::from_secs(10), "a finished dump: {:?}", files(&dir)),
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(size() <= 4 * LIMIT, "{} bytes of dumps after the stream", size());
    let cut = lines.iter().find(|e| e["event"] == "error").expect("the cut is noted");
    assert!(cut["payload"]["message"].as_str().unwrap().contains("dump_max_bytes"), "{cut}");
    assert!(lines.last().unwrap()["payload"]["entries"].as_u64().unwrap() > 0);
    std::fs::remove_dir_all(&dir).unwrap();
}
