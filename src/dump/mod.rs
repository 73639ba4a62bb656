//! Request dumps (`DUMP_HTTP_CONTENT`): one JSONL file per request holding both legs (client ⇄
//! proxy, proxy ⇄ upstream, every attempt), heads redacted, bodies and stream reads byte for byte.
//! A worker only copies bytes into a bounded queue; one background thread serialises, writes,
//! and keeps the directory within its limits by removing the oldest files.
//!
//! A line: `{"timestamp","leg":"client"|"upstream","direction":"request"|"response",
//! "event":"info"|"chunk"|"error"|"lost","attempt"?,"payload"}` — the original project's layout,
//! with `chunk` payloads as `{"text"}` when the bytes are UTF-8 and `{"base64"}` otherwise.

pub mod show;
pub mod viewer;

use crate::config::{Config, Settings};
use serde_json::{json, Value};
use std::collections::{HashMap, VecDeque};
use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::SystemTime;

/// Entries waiting for the writer. When the disk cannot keep up, a request's dump loses entries
/// (and says so in its last line) rather than slowing the request down.
const QUEUE: usize = 16 * 1024;

/// The placeholder for a redacted value.
const REDACTED: &str = "[redacted]";

/// Which side of the proxy an entry belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Leg {
    /// Client ⇄ proxy.
    Client,
    /// Proxy ⇄ upstream.
    Upstream,
}

/// Which way the bytes went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Towards the server of this leg.
    Request,
    /// Back from it.
    Response,
}

/// The process's dump writer: hands out per-request [`Dump`]s.
pub struct Dumper {
    tx: SyncSender<Msg>,
    /// Where the files go; the viewer reads them from here.
    pub root: PathBuf,
    seq: AtomicU64,
    /// The limits (files, bytes) it was started with, to tell whether a reload needs a new writer.
    settings: (usize, u64),
}

/// One request's dump. Cheap to clone (the upstream body reader keeps one); the file is closed
/// when the last clone is dropped.
#[derive(Clone)]
pub struct Dump(Arc<Inner>);

struct Inner {
    tx: SyncSender<Msg>,
    id: u64,
    lost: AtomicU64,
    /// The file, relative to the dump directory.
    path: String,
}

/// What workers send to the writer thread.
enum Msg {
    Open { id: u64, path: PathBuf },
    Entry { id: u64, entry: Entry },
    Close { id: u64, lost: u64 },
}

/// One line, still unserialised (that happens on the writer thread).
struct Entry {
    at: SystemTime,
    leg: Leg,
    direction: Direction,
    attempt: Option<usize>,
    data: Data,
}

enum Data {
    /// A head: `{"method","url","headers"}` or `{"status","headers"}`.
    Info(Value),
    /// Body bytes as read or written.
    Chunk(Vec<u8>),
    /// Why this leg ended early.
    Error(String),
}

impl Dumper {
    /// Starts the writer thread for `cfg`, or `None` when dumps are off or cannot be written.
    pub fn start(cfg: &Config) -> Option<Arc<Dumper>> {
        if !cfg.dump {
            return None;
        }
        let s = &cfg.settings;
        let root = s.dump_dir.clone();
        if let Err(e) = private_dir(&root) {
            log::error!("dumps are off: cannot create {}: {e}", root.display());
            return None;
        }
        let (tx, rx) = mpsc::sync_channel(QUEUE);
        let store = Store::scan(&root, s.dump_max_files, s.dump_max_bytes);
        let spawned = std::thread::Builder::new().name("dump-writer".into()).spawn(move || write_loop(rx, store));
        if let Err(e) = spawned {
            log::error!("dumps are off: cannot start the writer: {e}");
            return None;
        }
        log::warn!(
            "dumps are ON: every request's prompts and answers are written to {} (at most {} files, {} MiB; credentials redacted)",
            root.display(),
            s.dump_max_files,
            s.dump_max_bytes >> 20
        );
        Some(Arc::new(Dumper { tx, root, seq: AtomicU64::new(0), settings: (s.dump_max_files, s.dump_max_bytes) }))
    }

    /// Whether this writer still fits `s` after a reload (same directory and limits).
    pub fn fits(&self, s: &Settings) -> bool {
        self.root == s.dump_dir && self.settings == (s.dump_max_files, s.dump_max_bytes)
    }

    /// Opens a dump for a request to `path` (already redacted): `<root>/<path>/<time>-<n>.jsonl`.
    pub fn begin(&self, path: &str) -> Option<Dump> {
        let id = self.seq.fetch_add(1, Ordering::Relaxed);
        let stamp: String = timestamp(SystemTime::now()).chars().filter(|c| !matches!(c, '-' | ':')).collect();
        let rel = dir_of(path).join(format!("{stamp}-{id:06}.jsonl"));
        self.tx.try_send(Msg::Open { id, path: self.root.join(&rel) }).ok()?;
        let rel = rel.to_string_lossy().replace('\\', "/");
        Some(Dump(Arc::new(Inner { tx: self.tx.clone(), id, lost: AtomicU64::new(0), path: rel })))
    }
}

impl Dump {
    /// The file, relative to the dump directory (for the access log and the viewer).
    pub fn path(&self) -> &str {
        &self.0.path
    }

    /// A request head: method, URL (redacted by the caller) and headers (redacted here).
    pub fn request<'h>(
        &self,
        leg: Leg,
        attempt: Option<usize>,
        method: &str,
        url: &str,
        headers: impl Iterator<Item = (&'h str, &'h str)>,
    ) {
        let info = json!({"method": method, "url": url, "headers": redact(headers)});
        self.push(leg, Direction::Request, attempt, Data::Info(info));
    }

    /// A response head.
    pub fn response<'h>(
        &self,
        leg: Leg,
        attempt: Option<usize>,
        status: u16,
        headers: impl Iterator<Item = (&'h str, &'h str)>,
    ) {
        let info = json!({"status": status, "headers": redact(headers)});
        self.push(leg, Direction::Response, attempt, Data::Info(info));
    }

    /// Body bytes, exactly as they were read or written.
    pub fn chunk(&self, leg: Leg, direction: Direction, attempt: Option<usize>, bytes: &[u8]) {
        if !bytes.is_empty() {
            self.push(leg, direction, attempt, Data::Chunk(bytes.to_vec()));
        }
    }

    /// Why a leg ended early (a connect error, a stall, a client that went away).
    pub fn error(&self, leg: Leg, direction: Direction, attempt: Option<usize>, message: String) {
        self.push(leg, direction, attempt, Data::Error(message));
    }

    fn push(&self, leg: Leg, direction: Direction, attempt: Option<usize>, data: Data) {
        let entry = Entry { at: SystemTime::now(), leg, direction, attempt, data };
        if let Err(TrySendError::Full(_)) = self.0.tx.try_send(Msg::Entry { id: self.0.id, entry }) {
            self.0.lost.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Blocking is fine here: the response has been sent, and the file must be closed.
        let _ = self.tx.send(Msg::Close { id: self.id, lost: *self.lost.get_mut() });
    }
}

/// An upstream body that records every read in the dump as it passes.
pub struct Tee<R> {
    /// The body.
    pub inner: R,
    /// Where reads are recorded.
    pub dump: Dump,
    /// The attempt the body belongs to.
    pub attempt: usize,
}

impl<R: Read> Read for Tee<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let result = self.inner.read(buf);
        match &result {
            Ok(n) => self.dump.chunk(Leg::Upstream, Direction::Response, Some(self.attempt), &buf[..*n]),
            Err(e) if e.kind() != io::ErrorKind::Interrupted => {
                self.dump.error(Leg::Upstream, Direction::Response, Some(self.attempt), e.to_string());
            }
            Err(_) => {}
        }
        result
    }
}

/// Header pairs with credentials replaced, names in lower case, in their original order.
fn redact<'h>(headers: impl Iterator<Item = (&'h str, &'h str)>) -> Vec<(String, String)> {
    headers
        .map(|(k, v)| {
            let k = k.to_ascii_lowercase();
            let secret = crate::scrub::is_credential_header(&k);
            (k, if secret { REDACTED.to_string() } else { v.to_string() })
        })
        .collect()
}

/// A URL for a dump: user info and the values of credential-like query parameters redacted,
/// and `secret` (the Ollama path secret, when it is a credential) masked.
pub fn redact_url(url: &str, secret: Option<&str>) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let without_user = base.split_once("://").and_then(|(scheme, rest)| {
        let (_, host) = rest.split('/').next()?.rsplit_once('@')?;
        Some(format!("{scheme}://{REDACTED}@{host}{}", &rest[rest.find('/').unwrap_or(rest.len())..]))
    });
    let mut out = without_user.unwrap_or_else(|| base.to_string());
    if let Some(s) = secret {
        out = out.replacen(&format!("/{s}"), "/<LOCAL_OLLAMA_SECRET>", 1);
    }
    if let Some(q) = query {
        let pairs: Vec<String> = q
            .split('&')
            .map(|p| match p.split_once('=') {
                Some((k, _)) if crate::scrub::is_credential_header(k) => format!("{k}={REDACTED}"),
                _ => p.to_string(),
            })
            .collect();
        out = format!("{out}?{}", pairs.join("&"));
    }
    out
}

/// The directory of a request path: its segments made safe for any file system, `root` for `/`.
fn dir_of(path: &str) -> PathBuf {
    let segment = |s: &str| {
        let safe: String =
            s.chars().take(64).map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' }).collect();
        if safe.chars().all(|c| c == '.') {
            safe.replace('.', "_")
        } else {
            safe
        }
    };
    let path = path.split('?').next().unwrap_or("");
    let dir: PathBuf = path.split('/').filter(|s| !s.is_empty()).take(8).map(segment).collect();
    if dir.as_os_str().is_empty() {
        PathBuf::from("root")
    } else {
        dir
    }
}

/// UTC with microseconds: `2026-11-24T07:45:46.123456Z`.
fn timestamp(t: SystemTime) -> String {
    let d = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    let secs = crate::clock::rfc3339(d.as_secs());
    format!("{}.{:06}Z", secs.trim_end_matches('Z'), d.subsec_micros())
}

// ---- the writer thread -------------------------------------------------------------------

/// The finished dump files, oldest first, kept within the limits.
struct Store {
    root: PathBuf,
    files: VecDeque<(PathBuf, u64)>,
    bytes: u64,
    max_files: usize,
    max_bytes: u64,
}

impl Store {
    /// Indexes the dumps already on disk (from earlier runs) and trims them to the limits.
    fn scan(root: &Path, max_files: usize, max_bytes: u64) -> Store {
        let mut found = Vec::new();
        list(root, &mut found);
        // Names start with the time, so they sort oldest first whatever directory they are in.
        found.sort_by(|a, b| a.0.file_name().cmp(&b.0.file_name()));
        let bytes = found.iter().map(|f| f.1).sum();
        let mut store = Store { root: root.to_path_buf(), files: found.into(), bytes, max_files, max_bytes };
        store.trim(0);
        store
    }

    /// Removes the oldest finished files while over a limit, with `open` bytes being written.
    fn trim(&mut self, open: u64) {
        while self.files.len() > self.max_files || self.bytes.saturating_add(open) > self.max_bytes {
            let Some((path, size)) = self.files.pop_front() else { break };
            self.bytes -= size;
            let _ = fs::remove_file(&path);
            // Empty directories go too, up to the root (remove_dir refuses non-empty ones).
            let mut dir = path.parent();
            while let Some(d) = dir.filter(|d| *d != self.root && d.starts_with(&self.root)) {
                if fs::remove_dir(d).is_err() {
                    break;
                }
                dir = d.parent();
            }
        }
    }
}

/// Every `*.jsonl` below `dir`, with its size.
pub(crate) fn list(dir: &Path, out: &mut Vec<(PathBuf, u64)>) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let Ok(meta) = e.metadata() else { continue };
        let path = e.path();
        if meta.is_dir() {
            list(&path, out);
        } else if path.extension().is_some_and(|x| x == "jsonl") {
            out.push((path, meta.len()));
        }
    }
}

/// Creates `dir` and its parents readable by this user only: dumps hold prompts and answers.
fn private_dir(dir: &Path) -> io::Result<()> {
    let mut b = fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(dir)
}

/// An open dump file.
struct Open {
    path: PathBuf,
    w: BufWriter<File>,
    bytes: u64,
    /// Entries not written since the file was cut at `dump_max_bytes`.
    cut: u64,
}

/// Receives entries until every sender is gone; flushes whenever the queue runs dry, so a
/// stream in progress can be watched.
fn write_loop(rx: Receiver<Msg>, mut store: Store) {
    let mut open: HashMap<u64, Open> = HashMap::new();
    // The bytes of the files still being written, which count towards `dump_max_bytes` too.
    let mut open_bytes: u64 = 0;
    let flush_and_wait = |open: &mut HashMap<u64, Open>| {
        for f in open.values_mut() {
            let _ = f.w.flush();
        }
        rx.recv()
    };
    while let Ok(msg) = rx.try_recv().or_else(|_| flush_and_wait(&mut open)) {
        match msg {
            Msg::Open { id, path } => {
                let created = path.parent().map_or(Ok(()), private_dir).and_then(|()| {
                    let mut options = fs::OpenOptions::new();
                    #[cfg(unix)]
                    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                    options.write(true).create_new(true).open(&path)
                });
                match created {
                    Ok(f) => {
                        open.insert(id, Open { path, w: BufWriter::new(f), bytes: 0, cut: 0 });
                    }
                    Err(e) => log::warn!("dump {}: {e}", path.display()),
                }
            }
            Msg::Entry { id, entry } => {
                if let Some(f) = open.get_mut(&id) {
                    open_bytes += write_within(f, entry, &mut store, open_bytes);
                }
            }
            Msg::Close { id, lost } => {
                let Some(mut f) = open.remove(&id) else { continue };
                open_bytes -= f.bytes;
                let behind = (lost > 0).then_some("the dump writer fell behind");
                let cut = (f.cut > 0).then_some("the dump reached dump_max_bytes");
                let why = [behind, cut].into_iter().flatten().collect::<Vec<_>>().join(", and ");
                if !why.is_empty() {
                    let note = json!({"timestamp": timestamp(SystemTime::now()), "event": "lost",
                        "payload": {"entries": lost + f.cut, "why": why}});
                    write_bytes(&mut f, &line_bytes(&note));
                }
                let _ = f.w.flush();
                // Finished: it counts among the files kept within the limits.
                store.files.push_back((f.path, f.bytes));
                store.bytes += f.bytes;
                store.trim(open_bytes);
            }
        }
    }
}

/// Writes an entry to `f` while the dumps, `open` bytes being written among them, stay within
/// `dump_max_bytes` once the oldest finished files are gone; past it the file is cut: an error
/// line says so and the request's later entries are only counted (a 300 MB stream grew the
/// directory to 506 MiB over a 10 MiB limit while it ran). Returns the bytes written.
fn write_within(f: &mut Open, entry: Entry, store: &mut Store, open: u64) -> u64 {
    if f.cut > 0 {
        f.cut += 1;
        return 0;
    }
    let (at, leg, direction, attempt) = (entry.at, entry.leg, entry.direction, entry.attempt);
    let bytes = line_bytes(&line(entry));
    store.trim(open.saturating_add(bytes.len() as u64));
    if store.bytes.saturating_add(open).saturating_add(bytes.len() as u64) <= store.max_bytes {
        return write_bytes(f, &bytes);
    }
    f.cut = 1;
    let why = "dump cut: the dumps reached dump_max_bytes; this request's later entries are not written";
    write_bytes(f, &line_bytes(&line(Entry { at, leg, direction, attempt, data: Data::Error(why.into()) })))
}

/// `v` as one JSON line.
fn line_bytes(v: &impl serde::Serialize) -> Vec<u8> {
    let mut bytes = serde_json::to_vec(v).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

/// Writes a line's bytes to `f`; returns their length.
fn write_bytes(f: &mut Open, bytes: &[u8]) -> u64 {
    if let Err(e) = f.w.write_all(bytes) {
        log::warn!("dump {}: {e}", f.path.display());
    }
    f.bytes += bytes.len() as u64;
    bytes.len() as u64
}

/// One line as written: fields in this order, so a file reads well in a terminal too.
#[derive(serde::Serialize)]
struct Line {
    timestamp: String,
    leg: &'static str,
    direction: &'static str,
    event: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    attempt: Option<usize>,
    payload: Value,
}

/// The JSON line of an entry.
fn line(e: Entry) -> Line {
    let (event, payload) = match e.data {
        Data::Info(v) => ("info", v),
        Data::Chunk(bytes) => match String::from_utf8(bytes) {
            Ok(text) => ("chunk", json!({ "text": text })),
            Err(e) => ("chunk", json!({ "base64": crate::base64::encode(e.as_bytes()) })),
        },
        Data::Error(message) => ("error", json!({ "message": message })),
    };
    Line {
        timestamp: timestamp(e.at),
        leg: if e.leg == Leg::Client { "client" } else { "upstream" },
        direction: if e.direction == Direction::Request { "request" } else { "response" },
        event,
        attempt: e.attempt,
        payload,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_redacted_from_headers_and_urls() {
        let hs = [("Authorization", "Bearer sk-1"), ("X-Api-Key", "k"), ("Cookie", "c"), ("Content-Type", "x")];
        let r = redact(hs.into_iter());
        assert_eq!(r[0], ("authorization".into(), REDACTED.into()));
        assert!(r[1].1 == REDACTED && r[2].1 == REDACTED && r[3].1 == "x");
        assert_eq!(
            redact_url("https://u:p@h.io/v1/x?key=abc&a=1", None),
            format!("https://{REDACTED}@h.io/v1/x?key={REDACTED}&a=1")
        );
        assert_eq!(redact_url("/s3cret/api/chat", Some("s3cret")), "/<LOCAL_OLLAMA_SECRET>/api/chat");
    }

    #[test]
    fn request_paths_become_safe_directories() {
        assert_eq!(dir_of("/v1/chat/completions?x=1"), PathBuf::from("v1/chat/completions"));
        assert_eq!(dir_of("/"), PathBuf::from("root"));
        assert_eq!(dir_of("/../a%2F/<b>"), PathBuf::from("__/a_2F/_b_"));
    }

    #[test]
    fn chunks_that_are_not_utf8_are_kept_as_base64() {
        let at = SystemTime::UNIX_EPOCH;
        let e = |bytes: &[u8]| Entry {
            at,
            leg: Leg::Upstream,
            direction: Direction::Response,
            attempt: Some(1),
            data: Data::Chunk(bytes.to_vec()),
        };
        let json = |l: Line| serde_json::to_value(l).unwrap();
        assert_eq!(json(line(e(b"data: \xc3"))).pointer("/payload/base64").unwrap(), "ZGF0YTogww==");
        let v = json(line(e("data: é".as_bytes())));
        assert_eq!(
            (v["payload"]["text"].as_str(), v["timestamp"].as_str()),
            (Some("data: é"), Some("1970-01-01T00:00:00.000000Z"))
        );
    }

    #[test]
    fn the_store_removes_the_oldest_files_beyond_its_limits() {
        let root = std::env::temp_dir().join(format!("grp-store-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        let mut paths = Vec::new();
        for (i, dir) in ["a/b", "c", "a/b", "c"].iter().enumerate() {
            let p = root.join(dir).join(format!("2026010{i}T000000.000000Z-00000{i}.jsonl"));
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(&p, b"0123456789").unwrap();
            paths.push(p);
        }
        let mut store = Store::scan(&root, 3, 1000);
        assert!(!paths[0].exists() && paths[1].exists(), "the oldest file goes first");
        store.max_bytes = 15;
        store.trim(0);
        assert!(!paths[1].exists() && !paths[2].exists() && paths[3].exists());
        assert!(!root.join("a").exists(), "emptied directories are removed");
        assert_eq!((store.files.len(), store.bytes), (1, 10));
        fs::remove_dir_all(&root).unwrap();
    }
}
