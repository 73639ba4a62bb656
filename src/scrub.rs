//! Secrets kept out of what is shown: upstream bodies and response headers with the
//! deployment's own secrets taken out (providers echo a rejected key, `Incorrect API key
//! provided: sk-…`, sometimes whole, sometimes JSON-escaped; that text would otherwise reach the
//! client, in any dialect, and the dump files), and URLs with their credentials masked before
//! they are printed.

use crate::dialect::Dialect;
use crate::error::Error;
use serde_json::Value;
use std::borrow::Cow;
use std::fmt;
use std::io::{self, Cursor, Read};
use std::sync::Arc;

/// Secrets shorter than this are not worth hiding (`EMPTY`, `none`) and would mangle words.
const SHORTEST_SCRUBBED: usize = 8;

/// Header names that carry credentials: any name containing one of these (lower case). The one
/// rule for the header values dumps redact and the `extra_headers` values scrubbed like the key.
pub const CREDENTIAL_HEADER_WORDS: &[&str] =
    &["auth", "key", "token", "secret", "cookie", "session", "password", "signature"];

/// Bytes read from the upstream at a time when the caller's buffer is too small to read into.
const READ: usize = 4 * 1024;

/// Largest error body read whole to be checked; a larger one is replaced by the proxy's own error.
pub const ERROR_BODY_LIMIT: usize = 1 << 20;

/// Whether a header named `name` may carry a credential (see [`CREDENTIAL_HEADER_WORDS`]): what
/// a dump redacts, erring on the side of hiding.
pub fn is_credential_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    CREDENTIAL_HEADER_WORDS.iter().any(|w| name.contains(w))
}

/// Whether a header named `name` carries a credential by one of its words (`x-goog-api-key`,
/// `x-auth-token`, `apikey`): its value is masked in every answer, so a name that only contains
/// a word (`x-portkey-provider: anthropic`) must not make an ordinary word a secret.
fn names_credential(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    let word = |w: &str| CREDENTIAL_HEADER_WORDS.contains(&w) || matches!(w, "apikey" | "authorization");
    name.split(['-', '_']).any(word)
}

/// Every secret one deployment sends upstream, as an upstream could echo it back: its
/// `api_key`, and the value of each credential-like `extra_headers` entry (the part after the
/// last space: `Bearer x` → `x`), each at least [`SHORTEST_SCRUBBED`] bytes. Longest first, so
/// a secret containing another is masked whole. Cheap to clone.
#[derive(Clone, Default)]
pub struct Secrets(Arc<[Masked]>);

/// A secret and what it is shown as.
type Masked = (Box<[u8]>, Box<[u8]>);

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{} secret(s)>", self.0.len())
    }
}

impl Secrets {
    /// The secrets of a deployment with this key and these extra headers.
    pub fn new(api_key: Option<&str>, extra_headers: &[(String, String)]) -> Secrets {
        let headers = extra_headers.iter().filter(|(k, _)| names_credential(k));
        let credentials = headers.filter_map(|(_, v)| v.trim().rsplit(' ').next());
        let mut all: Vec<&str> = api_key.map(str::trim).into_iter().chain(credentials).collect();
        all.retain(|s| s.len() >= SHORTEST_SCRUBBED);
        all.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
        all.dedup();
        Secrets(all.into_iter().map(|s| (s.as_bytes().into(), mask(s).into_bytes().into())).collect())
    }

    /// `text` with every secret masked (a header value, a decoded JSON string).
    pub fn mask_str<'t>(&self, text: &'t str) -> Cow<'t, str> {
        if self.find(text.as_bytes()).is_none() {
            return text.into();
        }
        let mut out = Vec::with_capacity(text.len());
        self.scan(text.as_bytes(), true, &mut out);
        // Secrets and masks are whole UTF-8 strings, so the result is one too.
        String::from_utf8_lossy(&out).into_owned().into()
    }

    /// A header value with every secret masked, in ASCII (`sk-...WXYZ`): header values are.
    pub fn mask_header<'t>(&self, value: &'t str) -> Cow<'t, str> {
        match self.mask_str(value) {
            Cow::Owned(masked) => masked.replace('…', "...").into(),
            same => same,
        }
    }

    /// Where the first secret in `data` starts, and which (the longest at that place).
    fn find(&self, data: &[u8]) -> Option<(usize, usize)> {
        let mut best: Option<(usize, usize)> = None;
        for (i, (s, _)) in self.0.iter().enumerate() {
            let within = best.map_or(data.len(), |(at, _)| (at + s.len()).min(data.len()));
            if let Some(at) = find_in(&data[..within], s) {
                if best.is_none_or(|(b, _)| at < b) {
                    best = Some((at, i));
                }
            }
        }
        best
    }

    /// Appends `data` to `out` with every secret masked, except a tail that could begin one
    /// (unless at the `end` of the body), and says where that tail starts.
    fn scan(&self, data: &[u8], end: bool, out: &mut Vec<u8>) -> usize {
        let mut at = 0;
        while let Some((found, i)) = self.find(&data[at..]) {
            out.extend_from_slice(&data[at..at + found]);
            out.extend_from_slice(&self.0[i].1);
            at += found + self.0[i].0.len();
        }
        let hold = if end { data.len() } else { self.possible_start(data, at) };
        out.extend_from_slice(&data[at..hold]);
        hold
    }

    /// The first place from `from` where the rest of `data` is a proper start of a secret
    /// (`data.len()` when there is none): what must wait for the next read.
    fn possible_start(&self, data: &[u8], from: usize) -> usize {
        let longest = self.0.first().map_or(0, |(s, _)| s.len());
        let first = from.max(data.len().saturating_sub(longest.saturating_sub(1)));
        (first..data.len())
            .find(|&i| self.0.iter().any(|(s, _)| s.len() > data.len() - i && s.starts_with(&data[i..])))
            .unwrap_or(data.len())
    }
}

/// Where `needle` first occurs in `hay`.
fn find_in(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let last = hay.len().checked_sub(needle.len())?;
    let mut i = 0;
    while i <= last {
        i += hay[i..=last].iter().position(|&b| b == needle[0])?;
        if hay[i..].starts_with(needle) {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// What a secret is shown as: enough to recognise it, never enough to use it.
fn mask(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() < 16 {
        return "<redacted key>".into();
    }
    let (head, tail): (String, String) = (chars[..3].iter().collect(), chars[chars.len() - 4..].iter().collect());
    format!("{head}…{tail}")
}

/// `body` with `secrets` masked. A 2xx body as it streams: each read passes at once, but for a
/// tail that could begin a secret, held until the next read (see [`Streamed`]). Any other
/// status is an error body: read whole (up to [`ERROR_BODY_LIMIT`]; a larger one is replaced by
/// an error of the proxy's own in the `wire` dialect), masked, and also checked through JSON's
/// string escapes.
pub fn body<R: Read + Send + 'static>(body: R, status: u16, wire: Dialect, secrets: &Secrets) -> Box<dyn Read + Send> {
    if secrets.0.is_empty() {
        return Box::new(body);
    }
    let secrets = secrets.clone();
    if (200..300).contains(&status) {
        return Box::new(Streamed { inner: body, secrets, held: Vec::new(), out: Vec::new(), at: 0, eof: false });
    }
    Box::new(Whole { inner: Some(body), secrets, wire, read: Cursor::new(Vec::new()) })
}

/// The proxy's own error body, in `wire`'s shape, for an error answer (`status`) whose body is
/// compressed (`Content-Encoding`), with `headers` made to match. None was asked for, and what
/// cannot be read cannot be checked for secrets. `None` for any other answer.
pub fn compressed_error(status: u16, wire: Dialect, headers: &mut Vec<(String, String)>) -> Option<Vec<u8>> {
    let coded = |(k, v): &(String, String)| k == "content-encoding" && !v.trim().eq_ignore_ascii_case("identity");
    if (200..300).contains(&status) || !headers.iter().any(coded) {
        return None;
    }
    headers.retain(|(k, _)| k != "content-encoding" && k != "content-type");
    headers.push(("content-type".into(), "application/json".into()));
    Some(withheld(wire, "it is compressed (Content-Encoding), though no compression was asked for"))
}

/// An error body in `wire`'s shape saying why the upstream's own is not shown.
pub fn withheld(wire: Dialect, why: &str) -> Vec<u8> {
    Error::UpstreamInvalid(format!("its error body is not passed on: {why}")).body(wire).to_string().into_bytes()
}

/// An error body, read whole at the first read and handed out masked.
struct Whole<R> {
    inner: Option<R>,
    secrets: Secrets,
    wire: Dialect,
    read: Cursor<Vec<u8>>,
}

impl<R: Read> Read for Whole<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(inner) = self.inner.take() {
            let mut raw = Vec::new();
            inner.take(ERROR_BODY_LIMIT as u64 + 1).read_to_end(&mut raw)?;
            let body = if raw.len() > ERROR_BODY_LIMIT {
                let why = format!("larger than {} KiB, too large to check for secrets", ERROR_BODY_LIMIT >> 10);
                withheld(self.wire, &why)
            } else {
                let mut masked = Vec::with_capacity(raw.len());
                self.secrets.scan(&raw, true, &mut masked);
                unescaped(masked, &self.secrets)
            };
            self.read = Cursor::new(body);
        }
        self.read.read(buf)
    }
}

/// `body` with the secrets that only JSON string escapes hide (`\u0073k-…`, which a client's
/// JSON parser or the proxy's translation turn back into the key) masked. A body (or, in an
/// SSE or NDJSON body, a line) is re-serialised only when one of its decoded strings holds a
/// secret; any other is returned byte for byte.
fn unescaped(body: Vec<u8>, secrets: &Secrets) -> Vec<u8> {
    if !body.contains(&b'\\') {
        return body;
    }
    if let Some(masked) = masked_json(&body, secrets) {
        return masked;
    }
    let mut out = Vec::with_capacity(body.len());
    for line in body.split_inclusive(|&b| b == b'\n') {
        let start = line.iter().position(|&b| b == b'{' || b == b'[').unwrap_or(line.len());
        let end = (line.len() - line.iter().rev().take_while(|b| b.is_ascii_whitespace()).count()).max(start);
        match masked_json(&line[start..end], secrets) {
            Some(json) => {
                out.extend_from_slice(&line[..start]);
                out.extend_from_slice(&json);
                out.extend_from_slice(&line[end..]);
            }
            None => out.extend_from_slice(line),
        }
    }
    out
}

/// `json` re-serialised with its secrets masked, when it is JSON and a decoded string (or
/// object key) holds a secret.
fn masked_json(json: &[u8], secrets: &Secrets) -> Option<Vec<u8>> {
    let mut v: Value = serde_json::from_slice(json).ok()?;
    mask_value(&mut v, secrets).then(|| serde_json::to_vec(&v).ok()).flatten()
}

/// Masks every secret in `v`'s strings and object keys; says whether there was any.
fn mask_value(v: &mut Value, secrets: &Secrets) -> bool {
    match v {
        Value::String(s) => match secrets.mask_str(s) {
            Cow::Owned(masked) => {
                *s = masked;
                true
            }
            Cow::Borrowed(_) => false,
        },
        Value::Array(items) => items.iter_mut().fold(false, |any, item| mask_value(item, secrets) | any),
        Value::Object(map) => {
            let in_values = map.values_mut().fold(false, |any, item| mask_value(item, secrets) | any);
            let in_keys = map.keys().any(|k| matches!(secrets.mask_str(k), Cow::Owned(_)));
            if in_keys {
                *map = std::mem::take(map).into_iter().map(|(k, v)| (secrets.mask_str(&k).into_owned(), v)).collect();
            }
            in_values || in_keys
        }
        _ => false,
    }
}

/// A 2xx body scrubbed as it streams. Each read is handed on at once, in the caller's buffer,
/// except for a tail that could begin a secret: that waits for the next read. Secrets hold no
/// line break, so what waits is always part of an unfinished line, which no SSE or NDJSON
/// reader can use before the rest of that line arrives with the next read anyway; at the end
/// of the body it is passed as it is.
struct Streamed<R> {
    inner: R,
    secrets: Secrets,
    /// Bytes read but not yet passed: a possible start of a secret.
    held: Vec<u8>,
    /// Masked bytes not yet handed out, from `at` (only after a read that held a secret).
    out: Vec<u8>,
    at: usize,
    eof: bool,
}

impl<R: Read> Read for Streamed<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.at < self.out.len() {
                let n = buf.len().min(self.out.len() - self.at);
                buf[..n].copy_from_slice(&self.out[self.at..self.at + n]);
                self.at += n;
                return Ok(n);
            }
            self.out.clear();
            self.at = 0;
            if self.eof {
                return Ok(0);
            }
            let h = self.held.len();
            if buf.len() <= h + SHORTEST_SCRUBBED {
                self.read_aside()?;
                continue;
            }
            buf[..h].copy_from_slice(&self.held);
            let n = self.inner.read(&mut buf[h..])?;
            self.eof = n == 0;
            let data = &buf[..h + n];
            let passed = match self.secrets.find(data) {
                // The common case: nothing to mask, the bytes stay where they were read.
                None if self.eof => data.len(),
                None => self.secrets.possible_start(data, 0),
                Some(_) => self.secrets.scan(data, self.eof, &mut self.out),
            };
            self.held.clear();
            self.held.extend_from_slice(&data[passed..]);
            if self.out.is_empty() && passed > 0 {
                return Ok(passed);
            }
        }
    }
}

impl<R: Read> Streamed<R> {
    /// One read for a caller's buffer too small to read into: through `out`.
    fn read_aside(&mut self) -> io::Result<()> {
        let h = self.held.len();
        self.held.resize(h + READ, 0);
        let read = self.inner.read(&mut self.held[h..]);
        self.held.truncate(h + read.as_ref().map_or(0, |n| *n));
        self.eof = read? == 0;
        let passed = self.secrets.scan(&self.held, self.eof, &mut self.out);
        self.held.drain(..passed);
        Ok(())
    }
}

/// `url` with its credentials replaced by `***`: user info (`user:password@`) and query values
/// (`?api_key=…`, Gemini's `?key=…`), also in text that is not a valid URL.
pub fn mask_url(url: &str) -> String {
    let (scheme, rest) = url.find("://").map_or(("", url), |i| url.split_at(i + 3));
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let rest = match rest[..authority_end].rfind('@') {
        Some(at) => format!("***@{}", &rest[at + 1..]),
        None => rest.to_string(),
    };
    match rest.split_once('?') {
        Some((path, query)) => {
            let masked: Vec<String> = query
                .split('&')
                .map(|kv| kv.split_once('=').map_or(kv.to_string(), |(k, _)| format!("{k}=***")))
                .collect();
            format!("{scheme}{path}?{}", masked.join("&"))
        }
        None => format!("{scheme}{rest}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader handing out `data` in pieces of `piece` bytes.
    struct Pieces(Vec<u8>, usize);
    impl Read for Pieces {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.1.min(self.0.len()).min(buf.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0.drain(..n);
            Ok(n)
        }
    }

    /// `body` read through the scrubber in upstream reads of `piece` bytes and reads of `caller` bytes.
    fn read_in(body: &str, piece: usize, caller: usize, status: u16, secrets: &Secrets) -> String {
        let mut r = super::body(Pieces(body.as_bytes().to_vec(), piece), status, Dialect::OpenAi, secrets);
        let (mut out, mut buf) = (Vec::new(), vec![0; caller]);
        loop {
            match r.read(&mut buf).unwrap() {
                0 => return String::from_utf8(out).unwrap(),
                n => out.extend_from_slice(&buf[..n]),
            }
        }
    }

    fn scrubbed(body: &str, piece: usize, status: u16, key: &str) -> String {
        let secrets = Secrets::new(Some(key), &[]);
        let whole = read_in(body, piece, 4096, status, &secrets);
        for caller in [1, 3, 9, 40] {
            assert_eq!(read_in(body, piece, caller, status, &secrets), whole, "reads of {caller} bytes by the caller");
        }
        whole
    }

    #[test]
    fn an_echoed_key_is_masked_wherever_the_reads_cut_it() {
        let key = "sk-proj-0123456789abcdefWXYZ";
        let body = format!(
            r#"{{"error":{{"message":"Incorrect API key provided: {key}. And again:{key}{key}","code":"invalid_api_key"}}}}sk-p"#
        );
        let want = r#"{"error":{"message":"Incorrect API key provided: sk-…WXYZ. And again:sk-…WXYZsk-…WXYZ","code":"invalid_api_key"}}sk-p"#;
        for piece in [1, 2, 5, 27, 28, 29, 4096] {
            assert_eq!(scrubbed(&body, piece, 401, key), want, "reads of {piece} bytes");
            assert_eq!(scrubbed(&body, piece, 200, key), want, "a 2xx stream too, reads of {piece} bytes");
        }
        assert_eq!(scrubbed("key: none", 7, 401, "none"), "key: none", "short keys are no secret");
        assert_eq!(scrubbed("got sk-upstream", 3, 500, "sk-upstream"), "got <redacted key>");
    }

    #[test]
    fn a_json_escaped_key_in_an_error_body_is_masked_once_decoded() {
        let key = "sk-UPSTREAM-SECRET-0123456789";
        let escaped: String = format!("Bearer {key}").chars().map(|c| format!("\\u{:04x}", c as u32)).collect();
        let body = format!(
            r#"{{"error":{{"message":"Incorrect API key provided: {escaped}","type":"invalid_request_error"}}}}"#
        );
        let out = scrubbed(&body, 5, 401, key);
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["error"]["message"], "Incorrect API key provided: Bearer sk-…6789");
        assert_eq!(v["error"]["type"], "invalid_request_error");
        // In SSE or NDJSON lines, and in an object key.
        let in_key = key.replace('-', "\\u002d");
        let body =
            format!("event: error\ndata: {{\"error\":{{\"message\":\"{escaped}\"}}}}\r\n\n{{\"x-{in_key}\":1}}\n");
        let out = scrubbed(&body, 3, 400, key);
        assert_eq!(out, "event: error\ndata: {\"error\":{\"message\":\"Bearer sk-…6789\"}}\r\n\n{\"x-sk-…6789\":1}\n");
    }

    #[test]
    fn an_error_body_without_a_hidden_secret_keeps_its_bytes() {
        let key = "sk-UPSTREAM-SECRET-0123456789";
        for body in [
            r#"{"error": {"message": "caf\u00e9 \"quoted\" \/ path",   "z": 1, "a": 2}}"#,
            "data: {\"e\":\"\\u0041\"}\n\nnot json \\u0073",
            "plain text",
        ] {
            assert_eq!(scrubbed(body, 4, 500, key), body);
        }
    }

    #[test]
    fn an_error_body_too_large_to_check_is_replaced() {
        let secrets = Secrets::new(Some("sk-UPSTREAM-SECRET-0123456789"), &[]);
        let body = "x".repeat(ERROR_BODY_LIMIT + 1);
        let out = read_in(&body, 64 * 1024, 64 * 1024, 502, &secrets);
        assert!(out.contains("too large to check for secrets"), "{out}");
        assert_eq!(read_in(&body[1..], 64 * 1024, 64 * 1024, 502, &secrets).len(), ERROR_BODY_LIMIT);
    }

    #[test]
    fn credential_extra_headers_are_secrets_like_the_key() {
        let headers = [
            ("X-Goog-Api-Key", "goog-SECRET-HDR-123456"),
            ("Authorization", "Bearer tok-SECRET-HDR-98765"),
            ("Cookie", "short"),
            ("X-Title", "my-application-name"),
            ("OpenAI-Organization", "org-0123456789"),
            // "portkey" holds the word "key": its value is a provider's name, which answers contain.
            ("x-portkey-provider", "anthropic"),
        ];
        let headers: Vec<(String, String)> = headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let s = Secrets::new(Some("sk-key-0123456789"), &headers);
        assert_eq!(format!("{s:?}"), "<3 secret(s)>");
        let text =
            "goog-SECRET-HDR-123456 tok-SECRET-HDR-98765 sk-key-0123456789 short my-application-name org-0123456789 anthropic";
        assert_eq!(s.mask_str(text), "goo…3456 tok…8765 sk-…6789 short my-application-name org-0123456789 anthropic");
        let mut out = String::new();
        super::body(Pieces(text.as_bytes().to_vec(), 7), 401, Dialect::OpenAi, &s).read_to_string(&mut out).unwrap();
        assert_eq!(out, s.mask_str(text));
    }

    /// A reader that hands out one piece per read and counts the reads.
    struct Counted(Vec<&'static [u8]>, std::rc::Rc<std::cell::Cell<usize>>);
    impl Read for Counted {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.1.set(self.1.get() + 1);
            let piece = if self.0.is_empty() { &b""[..] } else { self.0.remove(0) };
            buf[..piece.len()].copy_from_slice(piece);
            Ok(piece.len())
        }
    }

    #[test]
    fn a_streamed_answer_passes_each_read_at_once_holding_only_a_possible_start_of_a_secret() {
        let secrets = Secrets::new(Some("sk-UPSTREAM-SECRET-0123456789"), &[]);
        let reads = std::rc::Rc::new(std::cell::Cell::new(0));
        let pieces: Vec<&'static [u8]> = vec![
            b"data: {\"a\":\"tasks\"}\n\n",
            b"data: {\"a\":\"sk-UPS",
            b"TREAM-SECRET-0123456789 x\"}\n\n",
            b"data: [DONE]\n\n",
        ];
        // `Counted` is not Send: drive the reader directly.
        let mut r =
            Streamed { inner: Counted(pieces, reads.clone()), secrets, held: vec![], out: vec![], at: 0, eof: false };
        let mut buf = vec![0; 1024];
        let mut next = || {
            let n = r.read(&mut buf).unwrap();
            String::from_utf8(buf[..n].to_vec()).unwrap()
        };
        assert_eq!((next(), reads.get()), ("data: {\"a\":\"tasks\"}\n\n".into(), 1), "a whole event passes at once");
        assert_eq!((next(), reads.get()), ("data: {\"a\":\"".into(), 2), "all but the possible key start passes");
        assert_eq!((next(), reads.get()), ("sk-…6789 x\"}\n\n".into(), 3));
        assert_eq!((next(), reads.get()), ("data: [DONE]\n\n".into(), 4));
        assert_eq!((next(), reads.get()), (String::new(), 5));
    }
}
