//! HTTP/1.0 clients that keep their connection (`Connection: keep-alive`): tiny_http will not
//! close it, and HTTP/1.0 has no chunking, so a stream is sent whole with its length, held up to
//! [`WHOLE_STREAM`]; a larger one is an error in the client's dialect.

use super::relay::Relay;
use super::{error_full, full, pump, Conn, Outcome};
use crate::error::Error;
use std::io::{self, Read, Write};
use std::time::Instant;

/// The most of a stream held to be sent whole.
pub(super) const WHOLE_STREAM: usize = 16 << 20;

/// Whether tiny_http keeps an HTTP/1.0 connection open after this request: its first
/// `Connection` header asks for `keep-alive` (and neither `close` nor `upgrade`).
pub(super) fn keeps_alive(headers: &[tiny_http::Header]) -> bool {
    let connection = headers.iter().find(|h| h.field.equiv("connection"));
    let value = connection.map(|h| h.value.as_str().to_ascii_lowercase()).unwrap_or_default();
    value.contains("keep-alive") && !value.contains("close") && !value.contains("upgrade")
}

/// Reads the whole stream, then sends it with `status`, `headers` and its length (`prefix`:
/// body bytes already read).
pub(super) fn send(
    w: &mut dyn Write,
    f: &Conn,
    upstream: &mut dyn Read,
    relay: Relay,
    (status, headers, prefix): (u16, &[(&str, &str)], Vec<u8>),
    out: &mut Outcome,
    started: Instant,
) -> io::Result<()> {
    let dialect = relay.client();
    let mut body = Capped::default();
    let quiet = Conn { http10: true, whole: true, head_only: false, dump: None, close: f.close };
    match pump(&mut body, &quiet, upstream, relay, (Vec::new(), prefix), out, started) {
        Ok(()) => full(w, f, status, headers, &body.buf, out, started),
        Err(_) if body.over => {
            let e = Error::UpstreamInvalid(format!(
                "the stream is larger than the {WHOLE_STREAM} bytes an HTTP/1.0 connection kept alive is sent in; use HTTP/1.1"
            ));
            error_full(w, f, e, dialect, out, started)
        }
        Err(e) => Err(e),
    }
}

/// A buffer that refuses to grow past [`WHOLE_STREAM`]: the write that would pass it fails,
/// and says so in `over`.
#[derive(Default)]
struct Capped {
    buf: Vec<u8>,
    over: bool,
}

impl Write for Capped {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.over = self.buf.len() + data.len() > WHOLE_STREAM;
        if self.over {
            return Err(io::Error::other("too large to hold whole"));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
