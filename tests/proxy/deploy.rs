//! The rest of `deploy/`: the shipped Caddyfile run for real on loopback with Caddy's internal CA
//! in front of the proxy, the compose file's settings, and the systemd unit through
//! `systemd-analyze verify`. Skips (and says so) where caddy, curl or systemd-analyze is missing;
//! `make test` installs caddy as root. (The nginx site is in `front_proxy.rs`.)

use crate::support::*;
use gpt_reverse_proxy::config::DEMO_CONFIG;
use serde_yaml::Value;
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// `text` with `from` replaced, which must be there (a changed file breaks the test rather than
/// leaving it testing something else).
fn swap(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "deploy/ no longer contains {from:?}");
    text.replacen(from, to, 1)
}

fn test_name() -> String {
    std::thread::current().name().unwrap_or("a deploy test").to_string()
}

/// Caddy's version as (major, minor, patch); `None`, and the test listed as not run, without it.
fn caddy_version() -> Option<(u32, u32, u32)> {
    let Ok(out) = Command::new("caddy").arg("version").output() else {
        skipped(&test_name(), "caddy is not installed (apt-get install caddy; make test installs it as root)");
        return None;
    };
    // "2.6.2" from Debian, "v2.10.2 h1:…" from upstream builds.
    let text = String::from_utf8_lossy(&out.stdout);
    let word = text.split_whitespace().next().unwrap_or_default().trim_start_matches('v');
    let mut parts = word.split(['.', '-']).map(|p| p.parse::<u32>().unwrap_or(0));
    Some((parts.next()?, parts.next().unwrap_or(0), parts.next().unwrap_or(0)))
}

/// `caddy run` on a Caddyfile, with its data and config (the internal CA among them) in a
/// temporary folder; stopped with SIGTERM, Caddy's clean shutdown, when dropped.
struct Caddy {
    child: Child,
    dir: PathBuf,
}

impl Caddy {
    fn start(caddyfile: &str, port: u16) -> Caddy {
        let dir = std::env::temp_dir().join(format!("grp-caddy-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("Caddyfile"), caddyfile).unwrap();
        let log = std::fs::File::create(dir.join("caddy.log")).unwrap();
        let child = Command::new("caddy")
            .args(["run", "--adapter", "caddyfile", "--config"])
            .arg(dir.join("Caddyfile"))
            .env("XDG_DATA_HOME", dir.join("data"))
            .env("XDG_CONFIG_HOME", dir.join("config"))
            .env("HOME", &dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let caddy = Caddy { child, dir };
        let t = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() || !caddy.root().exists() {
            assert!(t.elapsed() < Duration::from_secs(10), "caddy did not start:\n{}", caddy.log());
            std::thread::sleep(Duration::from_millis(20));
        }
        caddy
    }

    /// The root certificate of Caddy's internal CA, what a client of `tls internal` trusts.
    fn root(&self) -> PathBuf {
        self.dir.join("data/caddy/pki/authorities/local/root.crt")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("caddy.log")).unwrap_or_default()
    }

    /// SIGTERM, which Caddy answers with a graceful shutdown; SIGKILL only after five seconds.
    fn stop(&mut self) -> Option<ExitStatus> {
        if let Ok(Some(status)) = self.child.try_wait() {
            return Some(status);
        }
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(5) {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        None
    }
}

impl Drop for Caddy {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The shipped Caddyfile for a test on loopback: the site address becomes `https://127.0.0.1:PORT`
/// with Caddy's internal CA (no ACME, no network), the admin endpoint is off, nothing is installed
/// into the system's trust store, no port-80 redirect is started, and the upstream is `proxy`.
/// On Caddy 2.7 and later, the one edit the file's comment asks for there is made.
fn shipped_caddyfile(proxy: &Proxy, port: u16, version: (u32, u32, u32)) -> String {
    let file = std::fs::read_to_string(format!("{ROOT}/deploy/Caddyfile")).unwrap();
    let global = "\n{\n\tadmin off\n\tskip_install_trust\n\tauto_https disable_redirects\n";
    let mut file = swap(&file, "\n{\n", global);
    file = swap(&file, "proxy.example.com {", &format!("https://127.0.0.1:{port} {{\n\ttls internal"));
    file = swap(&file, "reverse_proxy 127.0.0.1:12000 {", &format!("reverse_proxy {} {{", proxy.addr));
    if version >= (2, 7, 0) {
        file = swap(&file, "\t\tbuffer_requests\n", "\t\trequest_buffers 64MB\n");
    }
    file
}

/// The requests in flight at the proxy, not counting the `/metrics` request that asks.
fn in_flight(proxy: &Proxy) -> u32 {
    let metrics = call("GET", &format!("http://{}/metrics", proxy.addr), &[], "").text();
    let line = metrics.lines().find_map(|l| l.strip_prefix("grp_requests_in_flight ")).unwrap_or("0");
    line.trim().parse::<u32>().unwrap() - 1
}

#[test]
fn the_shipped_caddyfile_with_its_internal_ca_streams_buffers_bodies_refuses_huge_ones_and_stops_cleanly() {
    let Some(version) = caddy_version() else { return };
    if curl(&["--version"]).is_none() {
        return;
    }
    let proxy = Proxy::start(DEMO_CONFIG, &[]);
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut caddy = Caddy::start(&shipped_caddyfile(&proxy, port, version), port);
    let root = caddy.root().display().to_string();
    // Caddy listens, and has its root, before its site certificate is issued: until then a
    // handshake fails (curl's exit code 35; seen under load).
    let health = format!("https://127.0.0.1:{port}/health");
    let t = Instant::now();
    while curl(&["-o", "/dev/null", "--cacert", &root, &health]).unwrap().0 == 35 {
        assert!(t.elapsed() < Duration::from_secs(10), "no TLS handshake with caddy:\n{}", caddy.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    let chat_url = format!("https://127.0.0.1:{port}/v1/chat/completions");
    let chat = r#"{"model":"demo","stream":true,"messages":[{"role":"user","content":"hi"}]}"#;
    let json = "Content-Type: application/json";

    // A streamed chat, over HTTP/2 as a client negotiates it, trusting only Caddy's local root.
    let (code, out) = curl(&["-N", "-i", "--cacert", &root, "-H", json, "-d", chat, &chat_url]).unwrap();
    assert_eq!(code, 0, "{out}\n{}", caddy.log());
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or_default();
    assert!(head.starts_with("HTTP/2 200"), "{head}");
    assert!(head.to_ascii_lowercase().contains("content-type: text/event-stream"), "{head}");
    assert!(body.contains("Hello ") && body.trim_end().ends_with("data: [DONE]"), "{body}");

    // A body that arrives slowly is read whole by Caddy first (buffer_requests): no proxy worker
    // is held meanwhile; then the request goes through.
    let mut slow = Command::new("curl")
        .args(["-sS", "--max-time", "10", "-X", "POST", "-T", "-", "--cacert", &root, "-H", json])
        .args(["-o", "/dev/null", "-w", "%{http_code}", &chat_url])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = slow.stdin.take().unwrap();
    stdin.write_all(br#"{"model":"demo","#).unwrap();
    stdin.flush().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(in_flight(&proxy), 0, "the proxy already holds the slow request:\n{}", caddy.log());
    stdin.write_all(br#""messages":[]}"#).unwrap();
    drop(stdin);
    let done = slow.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&done.stdout), "200");

    // A huge declared body: 413 in front, before tiny_http could abort on it.
    let huge = ["--http1.1", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", &root, "-H", json];
    let huge_body = ["-H", "Content-Length: 99999999999999", "--data-binary", "{", &chat_url];
    let (_, status) = curl(&[&huge[..], &huge_body[..]].concat()).unwrap();
    assert_eq!(status, "413");

    // And the proxy keeps serving, through Caddy and directly.
    let health = ["--cacert", &root, "-o", "/dev/null", "-w", "%{http_code}"];
    let (_, status) = curl(&[&health[..], &[&format!("https://127.0.0.1:{port}/health")]].concat()).unwrap();
    assert_eq!(status, "200");
    assert_eq!(call("GET", &proxy.url("/health"), &[], "").status, 200);

    // SIGTERM: a clean shutdown (exit 0), the port closed, no process of this Caddy left.
    let dir = caddy.dir.display().to_string();
    let status = caddy.stop();
    assert!(status.is_some_and(|s| s.success()), "caddy did not exit cleanly ({status:?}):\n{}", caddy.log());
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err(), "the port still accepts connections");
    assert_eq!(processes_mentioning(&dir), Vec::<u32>::new(), "processes left behind");
}

/// `docker-compose.yml` as Docker Compose reads it (no engine runs here): the keys that make
/// the container start with the README's config and keep its dumps, and the notes that go with
/// them.
#[test]
fn the_compose_file_passes_keys_mounts_the_config_strictly_keeps_dumps_and_runs_a_current_traefik() {
    let text = std::fs::read_to_string(format!("{ROOT}/deploy/docker-compose.yml")).unwrap();
    let compose: Value = serde_yaml::from_str(&text).unwrap();
    let traefik = &compose["services"]["traefik"];
    let image = traefik["image"].as_str().unwrap();
    let minor = image.strip_prefix("traefik:v3.").and_then(|m| m.split('.').next()?.parse::<u32>().ok());
    assert!(minor.is_some_and(|m| m >= 6), "{image}: Traefik before 3.6.1 fails against current Docker engines");

    let grp = &compose["services"]["gpt-reverse-proxy"];
    assert_eq!(grp["build"].as_str(), Some(".."), "built from the repository's Dockerfile");
    assert!(Path::new(&format!("{ROOT}/deploy/../Dockerfile")).exists());
    let env_file: Vec<&str> = match &grp["env_file"] {
        Value::String(one) => vec![one.as_str()],
        Value::Sequence(many) => many.iter().filter_map(Value::as_str).collect(),
        other => panic!("env_file: {other:?}"),
    };
    assert_eq!(env_file, [".env"], "provider keys and the token reach the container");
    assert_eq!(grp["environment"]["HOST"].as_str(), Some("0.0.0.0"));
    assert!(grp.get("ports").is_none(), "the proxy's port is not published: only Traefik reaches it");
    let labels: Vec<&str> = grp["labels"].as_sequence().unwrap().iter().filter_map(Value::as_str).collect();
    assert!(labels.contains(&"traefik.http.services.grp.loadbalancer.server.port=12000"));

    let volumes = grp["volumes"].as_sequence().unwrap();
    let config = volumes.iter().find(|v| v["target"].as_str() == Some("/data/litellm_config.yaml")).unwrap();
    assert_eq!(config["type"].as_str(), Some("bind"));
    assert_eq!(config["source"].as_str(), Some("./litellm_config.yaml"));
    assert_eq!(config["read_only"].as_bool(), Some(true));
    assert_eq!(
        config["bind"]["create_host_path"].as_bool(),
        Some(false),
        "a missing file is an error, not a directory"
    );
    let dumps = volumes.iter().find(|v| v["target"].as_str() == Some("/data/log")).unwrap();
    assert_eq!(dumps["type"].as_str(), Some("volume"));
    let name = dumps["source"].as_str().unwrap();
    assert!(compose["volumes"].get(name).is_some(), "the named volume {name} is declared");
    // A new named volume takes the ownership of the image's folder, which the image's user owns.
    let dockerfile = std::fs::read_to_string(format!("{ROOT}/Dockerfile")).unwrap();
    assert!(dockerfile.contains("chown -R 65534:65534 /data") && dockerfile.contains("USER 65534:65534"));

    // Compose reads `$` as the start of a variable: every other one must be written `$$`.
    for line in text.lines().filter(|l| !l.trim_start().starts_with('#')) {
        let rest: Vec<&str> = line.split('$').skip(1).collect();
        let mut escaped = false;
        for (i, after) in rest.iter().enumerate() {
            let ok = escaped || after.starts_with('{') || (after.is_empty() && i + 1 < rest.len());
            assert!(ok, "a bare `$` that Compose would take for a variable: {line}");
            escaped = after.is_empty() && !escaped;
        }
    }

    // What the comments must say: where the paths are relative to, and why 0.0.0.0 is safe here.
    assert!(text.contains("relative to deploy/"), "the compose file says what its paths are relative to");
    assert!(text.contains("not published"), "the compose file says the proxy's port is not published");
}

/// The unit as systemd reads it: `systemd-analyze verify` on a copy whose ExecStart is the binary
/// built for these tests (verify checks that it exists and is executable). Any complaint fails.
#[test]
fn the_systemd_unit_passes_systemd_analyze_verify() {
    if Command::new("systemd-analyze").arg("--version").output().is_err() {
        skipped(&test_name(), "systemd-analyze is not installed (apt-get install systemd)");
        return;
    }
    let unit = std::fs::read_to_string(format!("{ROOT}/deploy/gpt-reverse-proxy.service")).unwrap();
    assert!(unit.contains("HOST=127.0.0.1"), "the proxy stays on loopback behind the front proxy");
    let unit = swap(
        &unit,
        "ExecStart=/usr/local/bin/gpt-reverse-proxy",
        &format!("ExecStart={}", env!("CARGO_BIN_EXE_gpt-reverse-proxy")),
    );
    let dir = std::env::temp_dir().join(format!("grp-systemd-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("gpt-reverse-proxy.service");
    std::fs::write(&path, unit).unwrap();
    let out = Command::new("systemd-analyze").arg("verify").arg(&path).env("SYSTEMD_LOG_COLOR", "0").output().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let said = String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "systemd-analyze verify failed:\n{said}");
    let about_ours: Vec<&str> = said.lines().filter(|l| l.contains("gpt-reverse-proxy")).collect();
    assert!(about_ours.is_empty(), "systemd-analyze verify complains:\n{said}");
}
