//! Secrets kept out of what is shown: upstream error bodies with the deployment's own key taken
//! out (providers echo a rejected key, `Incorrect API key provided: sk-…`, sometimes whole; that
//! text would otherwise reach the client, in any dialect, and the dump files), and URLs with
//! their credentials masked before they are printed.

use std::io::{self, Read};

/// Keys shorter than this are not secrets worth hiding (`EMPTY`, `none`) and would mangle words.
const SHORTEST_SCRUBBED: usize = 8;

/// Bytes read from the upstream at a time.
const READ: usize = 4 * 1024;

/// `body` as it is, or, for an error status and a key worth hiding, with every occurrence of
/// `key` replaced by a masked form (its first three and last four characters at most).
pub fn error_body<R: Read + Send + 'static>(body: R, status: u16, key: Option<&str>) -> Box<dyn Read + Send> {
    match key {
        Some(k) if !(200..300).contains(&status) && k.len() >= SHORTEST_SCRUBBED => Box::new(Scrubbed {
            inner: body,
            key: k.as_bytes().to_vec(),
            mask: mask(k).into_bytes(),
            carry: Vec::new(),
            out: Vec::new(),
            at: 0,
            eof: false,
        }),
        _ => Box::new(body),
    }
}

/// What a key is shown as: enough to recognise it, never enough to use it.
fn mask(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() < 16 {
        return "<redacted key>".into();
    }
    let (head, tail): (String, String) = (chars[..3].iter().collect(), chars[chars.len() - 4..].iter().collect());
    format!("{head}…{tail}")
}

/// A reader that replaces a key as the bytes pass, holding back only what could be the start
/// of one (fewer bytes than the key) until the next read shows how it goes on.
struct Scrubbed<R> {
    inner: R,
    key: Vec<u8>,
    mask: Vec<u8>,
    /// Bytes read but not yet scrubbed: a possible start of the key.
    carry: Vec<u8>,
    /// Scrubbed bytes not yet handed out, from `at`.
    out: Vec<u8>,
    at: usize,
    eof: bool,
}

impl<R: Read> Scrubbed<R> {
    /// Scrubs `carry` into `out`, keeping back a tail that could begin the key (unless at the end).
    fn scrub(&mut self) {
        let data = std::mem::take(&mut self.carry);
        let k = self.key.len();
        let mut i = 0;
        while i < data.len() {
            if data[i..].starts_with(&self.key) {
                self.out.extend_from_slice(&self.mask);
                i += k;
            } else if !self.eof && data.len() - i < k && self.key.starts_with(&data[i..]) {
                break;
            } else {
                self.out.push(data[i]);
                i += 1;
            }
        }
        self.carry = data[i..].to_vec();
    }
}

impl<R: Read> Read for Scrubbed<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at == self.out.len() {
            self.out.clear();
            self.at = 0;
            if self.eof {
                return Ok(0);
            }
            let len = self.carry.len();
            self.carry.resize(len + READ, 0);
            let n = match self.inner.read(&mut self.carry[len..]) {
                Ok(n) => n,
                Err(e) => {
                    self.carry.truncate(len);
                    return Err(e);
                }
            };
            self.carry.truncate(len + n);
            self.eof = n == 0;
            self.scrub();
        }
        let n = buf.len().min(self.out.len() - self.at);
        buf[..n].copy_from_slice(&self.out[self.at..self.at + n]);
        self.at += n;
        Ok(n)
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

    fn scrubbed(body: &str, piece: usize, status: u16, key: &str) -> String {
        let mut out = String::new();
        error_body(Pieces(body.as_bytes().to_vec(), piece), status, Some(key)).read_to_string(&mut out).unwrap();
        out
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
        }
        assert_eq!(scrubbed(&body, 7, 200, key), body, "answers are not touched");
        assert_eq!(scrubbed("key: none", 7, 401, "none"), "key: none", "short keys are no secret");
        assert_eq!(scrubbed("got sk-upstream", 3, 500, "sk-upstream"), "got <redacted key>");
    }
}
