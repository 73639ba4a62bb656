//! The dump viewer under `/dumps/`: one self-contained page compiled into the binary, the list of
//! recent dumps (`index.json`), and the dump files themselves (`files/<path>`). Behind the token;
//! a browser sends it as the password of HTTP Basic authentication.

use crate::error::Error;
use serde_json::json;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The page: HTML, CSS and JS in one file, no external assets.
pub const PAGE: &str = include_str!("viewer.html");

/// Most dumps listed, newest first.
const LISTED: usize = 500;

/// Headers of every viewer answer: nothing cached, and the page may load nothing from elsewhere
/// (dumps hold untrusted text; the page only ever sets it as text, this is the second guard).
pub const HEADERS: &[(&str, &str)] = &[
    // Empty: no CORS header at all (see `respond::head`). The viewer is same-origin only, and
    // without a token configured any web page could otherwise read the dumps.
    ("Access-Control-Allow-Origin", ""),
    ("Cache-Control", "no-store"),
    ("X-Content-Type-Options", "nosniff"),
    (
        "Content-Security-Policy",
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'",
    ),
];

/// The answer for `rest` (the path after `/dumps`): content type and body.
pub fn serve(root: &Path, rest: &str) -> Result<(&'static str, Vec<u8>), Error> {
    match rest {
        "" | "/" => Ok(("text/html; charset=utf-8", PAGE.as_bytes().to_vec())),
        "/index.json" => Ok(("application/json", index(root).to_string().into_bytes())),
        _ => {
            let rel = rest.strip_prefix("/files/").filter(|r| safe(r)).ok_or(Error::NotFound)?;
            let body = std::fs::read(root.join(rel)).map_err(|_| Error::NotFound)?;
            Ok(("application/x-ndjson; charset=utf-8", body))
        }
    }
}

/// Recent dumps, newest first: `[{"path", "bytes", "time"}]`, `path` relative to the root.
fn index(root: &Path) -> serde_json::Value {
    let mut files = Vec::new();
    super::list(root, &mut files);
    files.sort_by(|a, b| b.0.file_name().cmp(&a.0.file_name()));
    let item = |(p, bytes): &(PathBuf, u64)| {
        let rel = p.strip_prefix(root).ok()?.to_str()?.replace('\\', "/");
        let name = p.file_stem()?.to_str()?;
        let (method, agent) = first_request(p).unwrap_or_default();
        Some(json!({"path": rel, "bytes": bytes, "time": readable_time(name), "method": method, "agent": agent}))
    };
    files.iter().take(LISTED).filter_map(item).collect()
}

/// The method and `User-Agent` of a dump's client request (its first line, read alone), which
/// tell a Cursor request from a Claude Code one at a glance.
fn first_request(path: &Path) -> Option<(String, String)> {
    use std::io::BufRead;
    let mut line = String::new();
    std::io::BufReader::new(std::fs::File::open(path).ok()?).take(16 * 1024).read_line(&mut line).ok()?;
    let v: serde_json::Value = serde_json::from_str(&line).ok()?;
    let info = &v["payload"];
    let agent = info["headers"].as_array()?.iter().find(|h| h[0] == "user-agent").and_then(|h| h[1].as_str());
    Some((info["method"].as_str()?.to_string(), agent.unwrap_or("").to_string()))
}

/// `20261124T074546.123456Z-000007` → `2026-11-24 07:45:46.123`.
fn readable_time(name: &str) -> String {
    let b = name.as_bytes();
    if b.len() < 19 || b[8] != b'T' || !name.is_ascii() {
        return name.to_string();
    }
    let s = |r: std::ops::Range<usize>| &name[r];
    format!("{}-{}-{} {}:{}:{}{}", s(0..4), s(4..6), s(6..8), s(9..11), s(11..13), s(13..15), s(15..19))
}

/// A relative dump path that stays inside the root: plain segments, a `.jsonl` file.
fn safe(rel: &str) -> bool {
    rel.ends_with(".jsonl")
        && rel.split('/').all(|s| {
            !s.is_empty() && s != "." && s != ".." && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_paths_inside_the_root_are_served() {
        assert!(safe("v1/chat/completions/20261124T074546.123456Z-000007.jsonl"));
        for bad in ["../x.jsonl", "a/../../x.jsonl", "/etc/x.jsonl", "a//b.jsonl", "a/b.txt", "a/%2e%2e/b.jsonl", ""] {
            assert!(!safe(bad), "{bad}");
        }
        assert_eq!(readable_time("20261124T074546.123456Z-000007"), "2026-11-24 07:45:46.123");
        assert_eq!(readable_time("20261124Tééééééééééé"), "20261124Tééééééééééé");
    }
}
