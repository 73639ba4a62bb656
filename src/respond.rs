//! Everything written to the client. We write status line, headers and chunk framing ourselves
//! through `Request::into_writer()`, because tiny_http's `Response` path holds ~8 KiB before
//! sending anything; every upstream read becomes one chunk and one flush. Errors become HTTP
//! responses here and nowhere else.

use crate::dialect::Dialect;
use crate::dump::{Direction, Dump, Leg};
use crate::error::{Error, Fault};
use crate::sse;
use crate::translate::Pipeline;
use crate::upstream::Answer;
use crate::usage::{self, StreamUsage};
use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

mod relay;
mod whole;
use relay::Relay;

/// Bytes read from the upstream at a time, at most (per live stream, so kept small). A stream
/// starts with [`FIRST_READ_BUFFER`]; a read that fills the buffer doubles it, up to this.
const READ_BUFFER: usize = 4 * 1024;

/// A stream's first read buffer: SSE events are a few hundred bytes, and most streams never need more.
const FIRST_READ_BUFFER: usize = 1024;

/// A complete (non-streamed) answer up to this size is read whole and sent in one write.
const WHOLE_ANSWER: u64 = 256 * 1024;

/// What the pipeline decided to send.
pub enum Reply {
    /// A complete local body (health, model lists, the demo model).
    Full {
        /// HTTP status.
        status: u16,
        /// `Content-Type` value.
        content_type: &'static str,
        /// The body.
        body: Vec<u8>,
        /// More headers (e.g. an upstream's `retry-after` on a translated error).
        extra: Vec<(String, String)>,
    },
    /// A CORS preflight answer (no body).
    Preflight {
        /// The headers the browser asked to send (`Access-Control-Request-Headers`).
        allow_headers: String,
    },
    /// An upstream answer passed on as it arrives, bytes untouched (watched for usage and limits).
    Bytes {
        /// The answer, body unread.
        answer: Answer,
        /// The client's dialect, for an error that happens mid-stream.
        dialect: Dialect,
    },
    /// An upstream stream parsed into events, run through a pipeline (translation, repair) and
    /// written in the client's framing, event by event as it arrives.
    Events {
        /// The answer, body unread.
        answer: Answer,
        /// The stages, ending in the client's dialect.
        pipeline: Pipeline,
    },
    /// A failure, rendered in the client's dialect.
    Error(Error, Dialect),
}

/// What happened on the wire, for the access log.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The status sent.
    pub status: u16,
    /// Body bytes sent (excluding framing).
    pub bytes: u64,
    /// When the first body byte went out, from the start of the request.
    pub ttfb: Option<Duration>,
    /// Why the response ended early, if it did.
    pub error: Option<String>,
    /// `(prompt, completion)` tokens the answer reported.
    pub tokens: Option<(u64, u64)>,
    /// Writing to the client failed: its connection is of no further use.
    pub broken: bool,
}

/// Sends `reply` on `rq`'s connection, recording what is sent in `dump`; `close` says the
/// connection serves nothing after it (`Connection: close`).
pub fn send(rq: tiny_http::Request, reply: Reply, started: Instant, dump: Option<&Dump>, close: bool) -> Outcome {
    let http10 = *rq.http_version() == (1, 0);
    let whole = http10 && whole::keeps_alive(rq.headers());
    let conn = Conn { http10, whole, head_only: *rq.method() == tiny_http::Method::Head, dump, close };
    let mut out = Outcome::default();
    let result = match reply {
        Reply::Bytes { answer, dialect } => {
            let relay = Relay::Bytes { watch: None, dialect };
            stream(&mut *rq.into_writer(), &conn, answer, relay, &mut out, started)
        }
        Reply::Events { answer, pipeline } => {
            let framing = pipeline.client().framing();
            let relay = Relay::Events { parser: sse::Parser::default(), pipeline, meter: Default::default(), framing };
            stream(&mut *rq.into_writer(), &conn, answer, relay, &mut out, started)
        }
        whole => {
            let (status, headers, body) = whole_parts(whole, &mut out);
            let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            if expects_continue(&rq) {
                early(rq, &conn, status, &headers, &body, &mut out, started)
            } else {
                full(&mut *rq.into_writer(), &conn, status, &headers, &body, &mut out, started)
            }
        }
    };
    if let Err(e) = result {
        // The client went away; nothing more to do but say so in the log.
        out.broken = true;
        out.error.get_or_insert_with(|| format!("client_disconnected ({})", e.kind()));
    }
    if let (Some(d), Some(e)) = (dump, &out.error) {
        d.error(Leg::Client, Direction::Response, None, e.clone());
    }
    out
}

/// Status, headers and body of a reply sent whole (anything but an upstream answer).
fn whole_parts(reply: Reply, out: &mut Outcome) -> (u16, Vec<(String, String)>, Vec<u8>) {
    match reply {
        Reply::Full { status, content_type, body, extra } => {
            out.status = status;
            if content_type == "application/json" {
                out.tokens = usage::of_whole(&body);
            }
            let mut headers = vec![("Content-Type".to_string(), content_type.to_string())];
            headers.extend(extra);
            (status, headers, body)
        }
        Reply::Preflight { allow_headers } => {
            out.status = 204;
            let headers = vec![
                ("Access-Control-Allow-Methods".into(), "GET, POST, PUT, PATCH, DELETE, OPTIONS".into()),
                ("Access-Control-Allow-Headers".into(), allow_headers),
                ("Access-Control-Max-Age".into(), "86400".into()),
            ];
            (204, headers, Vec::new())
        }
        Reply::Error(e, dialect) => {
            // An upstream call given up because the proxy is shutting down says so.
            let e = if e.fault() == Fault::Upstream && crate::connect::abandoned() { Error::ShuttingDown } else { e };
            out.status = e.status_in(dialect);
            out.error = Some(e.kind().to_string());
            let mut headers = vec![("Content-Type".to_string(), "application/json".to_string())];
            match e {
                Error::Overloaded | Error::ShuttingDown => headers.push(("Retry-After".into(), "1".into())),
                Error::Unauthorized => headers.push(("WWW-Authenticate".into(), "Bearer".into())),
                _ => {}
            }
            (out.status, headers, e.body(dialect).to_string().into_bytes())
        }
        Reply::Bytes { .. } | Reply::Events { .. } => unreachable!("upstream answers are streamed"),
    }
}

/// Whether the client waits for `100 Continue` before it sends its body.
fn expects_continue(rq: &tiny_http::Request) -> bool {
    rq.headers().iter().any(|h| h.field.equiv("expect") && h.value.as_str().eq_ignore_ascii_case("100-continue"))
}

/// A whole reply written before the request's unread body is drained: tiny_http drains it when
/// the request is dropped, and a client that sent `Expect: 100-continue` sends it only once it
/// gives up waiting, so the reply is written through the request itself, which drops afterwards.
/// Out of line: tiny_http's `respond` copies through an 8 KiB stack buffer, which would otherwise
/// make [`send`]'s frame 9 KB for every request, this rare one or not.
#[inline(never)]
fn early(
    rq: tiny_http::Request,
    f: &Conn,
    status: u16,
    headers: &[(&str, &str)],
    body: &[u8],
    out: &mut Outcome,
    started: Instant,
) -> io::Result<()> {
    let mut response = tiny_http::Response::from_data(body.to_vec()).with_status_code(status);
    for (k, v) in headers.iter().chain([&("Access-Control-Allow-Origin", "*")]) {
        if let Ok(h) = tiny_http::Header::from_bytes(k.as_bytes(), v.as_bytes()) {
            response.add_header(h);
        }
    }
    f.note_head(status, headers);
    f.note_body(body);
    out.bytes = body.len() as u64;
    rq.respond(response)?;
    out.ttfb = Some(started.elapsed());
    Ok(())
}

/// This connection's facts: how the response body is delimited, and where it is recorded.
struct Conn<'d> {
    /// HTTP/1.0 clients get no chunking; the body ends when the connection closes.
    http10: bool,
    /// An HTTP/1.0 client keeping its connection: tiny_http will not close it, so a body ended
    /// by closing would never end; streams are sent whole, with their length.
    whole: bool,
    /// A HEAD request: headers only.
    head_only: bool,
    /// The request's dump, if any.
    dump: Option<&'d Dump>,
    /// Nothing is served on this connection after this reply.
    close: bool,
}

impl Conn<'_> {
    /// Records a response head in the dump.
    fn note_head(&self, status: u16, headers: &[(&str, &str)]) {
        if let Some(d) = self.dump {
            d.response(Leg::Client, None, status, headers.iter().copied());
        }
    }

    /// Records body bytes sent in the dump.
    fn note_body(&self, data: &[u8]) {
        if let Some(d) = self.dump {
            d.chunk(Leg::Client, Direction::Response, None, data);
        }
    }
}

/// Status line, the given headers and ours, ending in the blank line unless more follow. Every
/// answer allows any origin (the API is for tools and browser apps alike, a token guards it),
/// unless the headers name one, or an empty `Access-Control-Allow-Origin`, which means none.
fn head(status: u16, headers: &[(&str, &str)]) -> Vec<u8> {
    let mut h = Vec::with_capacity(256);
    let reason = tiny_http::StatusCode(status).default_reason_phrase();
    let _ = write!(h, "HTTP/1.1 {status} {reason}\r\n");
    let mut cors = true;
    for (k, v) in headers {
        let origin = k.eq_ignore_ascii_case("access-control-allow-origin");
        cors &= !origin;
        if !(origin && v.is_empty()) {
            let _ = write!(h, "{k}: {v}\r\n");
        }
    }
    if cors {
        h.extend_from_slice(b"Access-Control-Allow-Origin: *\r\n");
    }
    h
}

/// A complete response in one write.
fn full(
    w: &mut dyn Write,
    f: &Conn,
    status: u16,
    headers: &[(&str, &str)],
    body: &[u8],
    out: &mut Outcome,
    started: Instant,
) -> io::Result<()> {
    let mut buf = head(status, headers);
    if f.close {
        buf.extend_from_slice(b"Connection: close\r\n");
    }
    let _ = write!(buf, "Content-Length: {}\r\n\r\n", body.len());
    f.note_head(status, headers);
    if !f.head_only {
        f.note_body(body);
        buf.extend_from_slice(body);
        out.bytes = body.len() as u64;
    }
    w.write_all(&buf)?;
    w.flush()?;
    out.ttfb = Some(started.elapsed());
    Ok(())
}

/// The headers the client gets, made from the upstream's own, and whether the answer is a stream.
fn client_headers<'a>(upstream: &'a [(String, String)], relay: &Relay) -> (Vec<(&'a str, &'a str)>, bool) {
    let mut headers: Vec<(&str, &str)> = upstream.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let sse = match relay {
        Relay::Bytes { .. } => {
            let content_type = upstream.iter().find(|(k, _)| k == "content-type").map(|(_, v)| v.as_str());
            content_type.is_some_and(|v| sse::is_media_type(v, "text/event-stream"))
        }
        // Events are a stream whatever they are framed as (SSE or NDJSON).
        Relay::Events { framing, .. } => {
            headers.retain(|(k, _)| *k != "content-type");
            headers.push(("Content-Type", framing.content_type()));
            true
        }
    };
    if sse {
        headers.retain(|(k, _)| *k != "cache-control");
        headers.extend([("Cache-Control", "no-cache"), ("X-Accel-Buffering", "no")]);
    }
    (headers, sse)
}

/// Copies an upstream answer: one chunk and one flush per read. An SSE head goes out at once so
/// the client sees `200` before the first token; any other head rides with the first chunk.
fn stream(
    w: &mut dyn Write,
    f: &Conn,
    mut a: Answer,
    mut relay: Relay,
    out: &mut Outcome,
    started: Instant,
) -> io::Result<()> {
    out.status = a.status;
    let (mut headers, sse) = client_headers(&a.headers, &relay);
    let mut prefix = Vec::new();
    if let (false, Relay::Bytes { dialect, .. }) = (sse, &relay) {
        if a.length.is_none_or(|len| len <= WHOLE_ANSWER) {
            // A sized answer is read into a buffer of its size, not one grown read by read.
            prefix.reserve_exact(a.length.unwrap_or(0) as usize);
            match a.body.by_ref().take(WHOLE_ANSWER + 1).read_to_end(&mut prefix) {
                Ok(n) if n as u64 <= WHOLE_ANSWER => {
                    out.tokens = usage::of_whole(&prefix);
                    return full(w, f, a.status, &headers, &prefix, out, started);
                }
                Ok(_) => {} // larger than we hold whole: stream it, starting with what was read
                Err(e) => return error_full(w, f, Error::from_upstream_read(e), *dialect, out, started),
            }
        }
    }
    if let Relay::Bytes { watch, .. } = &mut relay {
        // An untranslated stream is only watched, for its usage (`/metrics`) and its limits.
        *watch = sse.then(StreamUsage::default);
    }
    if f.whole {
        return whole::send(w, f, &mut *a.body, relay, (a.status, &headers, prefix), out, started);
    }
    headers.push(if f.http10 { ("Connection", "close") } else { ("Transfer-Encoding", "chunked") });
    let mut pending = head(a.status, &headers);
    pending.extend_from_slice(b"\r\n");
    f.note_head(a.status, &headers);
    if f.head_only {
        w.write_all(&pending)?;
        return w.flush();
    }
    if sse {
        w.write_all(&pending)?;
        w.flush()?;
        pending.clear();
    }
    pump(w, f, &mut *a.body, relay, (pending, prefix), out, started)
}

/// `e` as a complete JSON answer in the client's dialect, in place of an upstream answer.
fn error_full(
    w: &mut dyn Write,
    f: &Conn,
    e: Error,
    dialect: Dialect,
    out: &mut Outcome,
    started: Instant,
) -> io::Result<()> {
    out.status = e.status_in(dialect);
    out.error = Some(e.kind().to_string());
    let body = e.body(dialect).to_string();
    full(w, f, out.status, &[("Content-Type", "application/json")], body.as_bytes(), out, started)
}

/// The pump: each upstream read becomes one chunk and one flush, until the relay says the
/// stream is over or the client is gone. `(pending, prefix)`: a head not yet sent, and body
/// bytes already read.
fn pump(
    w: &mut dyn Write,
    f: &Conn,
    upstream: &mut dyn Read,
    mut relay: Relay,
    (mut pending, prefix): (Vec<u8>, Vec<u8>),
    out: &mut Outcome,
    started: Instant,
) -> io::Result<()> {
    // SSE events are small; a read returns what has arrived. Every live stream holds one.
    let mut buf = vec![0u8; FIRST_READ_BUFFER];
    // Both grow to the largest chunk sent: a few hundred bytes for most streams, a thousand of
    // which are alive at once.
    let (mut frame, mut framed) = (Vec::new(), Vec::new());
    if !prefix.is_empty() {
        write_chunk(w, f, &mut frame, &pending, &prefix)?;
        pending.clear();
        out.bytes += prefix.len() as u64;
        out.ttfb = Some(started.elapsed());
    }
    loop {
        framed.clear();
        let (passed, last) = relay.read(upstream, &mut buf, &mut framed, out);
        let data = match passed {
            Some(n) => &buf[..n],
            None => &framed[..],
        };
        // A failed write (the client is gone) returns here, and dropping the answer drops the
        // upstream connection.
        if !data.is_empty() {
            write_chunk(w, f, &mut frame, &pending, data)?;
            pending.clear();
            out.bytes += data.len() as u64;
            out.ttfb.get_or_insert_with(|| started.elapsed());
        }
        if last {
            break;
        }
    }
    out.tokens = relay.tokens();
    frame.clear();
    frame.extend_from_slice(&pending);
    if !f.http10 {
        frame.extend_from_slice(b"0\r\n\r\n");
    }
    w.write_all(&frame)?;
    w.flush()
}

/// Writes `prefix` (a pending head, possibly empty) and one framed chunk of `data`, then flushes.
fn write_chunk(w: &mut dyn Write, f: &Conn, frame: &mut Vec<u8>, prefix: &[u8], data: &[u8]) -> io::Result<()> {
    f.note_body(data);
    frame.clear();
    frame.extend_from_slice(prefix);
    if f.http10 {
        frame.extend_from_slice(data);
    } else {
        let _ = write!(frame, "{:x}\r\n", data.len());
        frame.extend_from_slice(data);
        frame.extend_from_slice(b"\r\n");
    }
    w.write_all(frame)?;
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, ct: &str, body: &'static [u8]) -> Answer {
        Answer {
            status,
            headers: vec![("content-type".into(), ct.into()), ("x-request-id".into(), "r1".into())],
            body: Box::new(body),
            deployment: 0,
            wire: Dialect::OpenAi,
            length: None,
            attempts: 1,
        }
    }

    fn run(a: Answer, http10: bool) -> (String, Outcome) {
        run_on(Conn { http10, whole: false, head_only: false, dump: None, close: false }, a, Dialect::OpenAi)
    }

    fn run_on(conn: Conn, a: Answer, dialect: Dialect) -> (String, Outcome) {
        let mut w = Vec::new();
        let mut out = Outcome::default();
        stream(&mut w, &conn, a, Relay::Bytes { watch: None, dialect }, &mut out, Instant::now()).unwrap();
        (String::from_utf8(w).unwrap(), out)
    }

    /// An HTTP/1.0 client keeping its connection.
    const KEPT_HTTP10: Conn = Conn { http10: true, whole: true, head_only: false, dump: None, close: false };

    #[test]
    fn sse_is_chunked_with_no_buffering_headers() {
        let (wire, out) = run(answer(200, "text/event-stream", b"data: {}\n\n"), false);
        assert!(wire.starts_with("HTTP/1.1 200 OK\r\n"), "{wire}");
        for h in ["x-request-id: r1", "Cache-Control: no-cache", "X-Accel-Buffering: no", "Transfer-Encoding: chunked"]
        {
            assert!(wire.contains(h), "{h} missing in {wire}");
        }
        assert!(wire.ends_with("\r\n\r\na\r\ndata: {}\n\n\r\n0\r\n\r\n"), "{wire:?}");
        assert_eq!((out.status, out.bytes), (200, 10));
    }

    #[test]
    fn a_small_sized_answer_goes_out_in_one_piece_with_its_length() {
        let a = Answer { length: Some(12), ..answer(200, "application/json", b"{\"error\":{}}") };
        let (wire, out) = run(a, false);
        assert!(wire.contains("Content-Length: 12\r\n") && !wire.contains("chunked"), "{wire}");
        assert!(wire.ends_with("\r\n\r\n{\"error\":{}}"));
        assert_eq!(out.bytes, 12);
    }

    #[test]
    fn http10_streams_are_delimited_by_close_and_small_answers_by_length() {
        let (wire, _) = run(answer(200, "text/event-stream", b"data: {}\n\n"), true);
        assert!(wire.contains("Connection: close\r\n") && !wire.contains("chunked"), "{wire}");
        assert!(wire.ends_with("\r\n\r\ndata: {}\n\n"));
        let (wire, _) = run(answer(429, "application/json", b"{\"error\":{}}"), true);
        assert!(wire.starts_with("HTTP/1.1 429 Too Many Requests\r\n"));
        assert!(wire.contains("Content-Length: 12\r\n") && !wire.contains("chunked"), "{wire}");
        assert!(wire.ends_with("\r\n\r\n{\"error\":{}}"));
    }

    #[test]
    fn http10_keep_alive_streams_go_out_whole_with_their_length() {
        let a = answer(200, "text/event-stream", b"data: {}\n\ndata: [DONE]\n\n");
        let (wire, _) = run_on(KEPT_HTTP10, a, Dialect::OpenAi);
        assert!(wire.contains("Content-Length: 24\r\n") && !wire.contains("Connection: close"), "{wire}");
        assert!(wire.ends_with("\r\n\r\ndata: {}\n\ndata: [DONE]\n\n") && !wire.contains("chunked"), "{wire}");
    }

    #[test]
    fn http10_keep_alive_streams_too_large_to_hold_whole_are_a_502_not_gigabytes() {
        let events = b"data: {}\n\n".repeat(whole::WHOLE_STREAM / 10 + 1000);
        let a = Answer { body: Box::new(io::Cursor::new(events)), ..answer(200, "text/event-stream", b"") };
        let (wire, _) = run_on(KEPT_HTTP10, a, Dialect::Anthropic);
        assert!(wire.starts_with("HTTP/1.1 502") && wire.contains("use HTTP/1.1"), "{}", &wire[..300.min(wire.len())]);
        assert!(wire.contains(r#""type":"error""#), "in the client's dialect: {wire}");
        assert!(wire.len() < 4096);
    }

    /// A reader that yields some bytes and then fails, like a stream that stalls past its timeout.
    struct Stalls(bool);
    impl Read for Stalls {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if std::mem::replace(&mut self.0, true) {
                return Err(io::Error::new(io::ErrorKind::TimedOut, "per read"));
            }
            buf[..10].copy_from_slice(b"data: 1\n\n\n");
            Ok(10)
        }
    }

    /// An upstream line that never ends.
    struct Endless;
    impl Read for Endless {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            buf.fill(b'x');
            Ok(buf.len())
        }
    }

    #[test]
    fn a_passed_through_line_past_the_limit_ends_with_an_error_event_of_its_own() {
        let a = Answer { body: Box::new(Endless), ..answer(200, "text/event-stream", b"") };
        let (wire, out) = run(a, false);
        // The line ends a chunk; the next begins with the blank line that closes its event.
        let end = "\r\n\n\ndata: {\"error\":{\"code\":\"upstream_invalid_response\",\"message\":\"Upstream sent an invalid response: a stream line longer than 4 MiB\",";
        assert!(wire.contains(end), "{}", &wire[wire.len() - 300..]);
        assert!(wire.ends_with("}}\n\n\r\n0\r\n\r\n"), "{}", &wire[wire.len() - 300..]);
        assert!(out.bytes < (sse::MAX_LINE_BYTES + 8192) as u64);
        assert_eq!(out.error.as_deref(), Some("upstream_invalid_response"));
    }

    #[test]
    fn stream_error_after_head_becomes_an_error_event_and_a_clean_end() {
        let a = Answer { body: Box::new(Stalls(false)), ..answer(200, "text/event-stream", b"") };
        let (wire, out) = run(a, false);
        assert!(wire.contains("data: {\"error\":"), "{wire}");
        assert!(wire.ends_with("\r\n0\r\n\r\n"));
        assert!(!wire.contains("[DONE]"));
        assert_eq!(out.error.as_deref(), Some("upstream_timeout"));
    }
}
