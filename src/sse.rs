//! Server-sent events, protocol-blind: an incremental parser that turns network reads (split
//! anywhere, `\n` or `\r\n` line ends) into events, and the two ways of writing one.

/// One event: its `event:` name (if any) and its `data:` lines joined by `\n`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Event {
    /// The `event:` field.
    pub name: Option<String>,
    /// The `data:` field(s).
    pub data: String,
    /// The exact bytes this event arrived as, with any comments and blank lines before it, so
    /// that an unchanged event can be passed on byte for byte.
    pub raw: Vec<u8>,
}

/// Accumulates bytes until whole events are available. Keeps bytes, not text, so a UTF-8
/// character split across two reads is decoded only once it is complete.
#[derive(Debug, Default)]
pub struct Parser {
    buf: Vec<u8>,
    event: Event,
    has_data: bool,
    raw: Vec<u8>,
}

impl Parser {
    /// Feeds one read; returns the events it completed, in order.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Event> {
        self.buf.extend_from_slice(bytes);
        let mut out = Vec::new();
        let mut start = 0;
        while let Some(nl) = self.buf[start..].iter().position(|&b| b == b'\n') {
            let end = start + nl;
            self.raw.extend_from_slice(&self.buf[start..=end]);
            let line = &self.buf[start..end];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let line = String::from_utf8_lossy(line).into_owned();
            start = end + 1;
            self.line(&line, &mut out);
        }
        self.buf.drain(..start);
        out
    }

    /// The stream ended: an event not yet closed by a blank line still counts.
    pub fn finish(&mut self) -> Option<Event> {
        if !self.buf.is_empty() {
            let rest = std::mem::take(&mut self.buf);
            self.raw.extend_from_slice(&rest);
            let mut out = Vec::new();
            self.line(String::from_utf8_lossy(&rest).trim_end_matches('\r'), &mut out);
        }
        self.has_data.then(|| {
            self.has_data = false;
            let mut ev = std::mem::take(&mut self.event);
            ev.raw = std::mem::take(&mut self.raw);
            ev
        })
    }

    fn line(&mut self, line: &str, out: &mut Vec<Event>) {
        if line.is_empty() {
            if self.has_data {
                let mut ev = std::mem::take(&mut self.event);
                ev.raw = std::mem::take(&mut self.raw);
                out.push(ev);
                self.has_data = false;
            } else {
                self.event.name = None;
            }
            return;
        }
        if line.starts_with(':') {
            return;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "event" => self.event.name = Some(value.to_string()),
            "data" => {
                if self.has_data {
                    self.event.data.push('\n');
                }
                self.event.data.push_str(value);
                self.has_data = true;
            }
            _ => {}
        }
    }
}

/// Appends `data: <data>\n\n` (the OpenAI way).
pub fn write_data(out: &mut Vec<u8>, data: &str) {
    out.extend_from_slice(b"data: ");
    out.extend_from_slice(data.as_bytes());
    out.extend_from_slice(b"\n\n");
}

/// Appends `event: <name>\ndata: <data>\n\n` (the Anthropic way).
pub fn write_named(out: &mut Vec<u8>, name: &str, data: &str) {
    out.extend_from_slice(b"event: ");
    out.extend_from_slice(name.as_bytes());
    out.push(b'\n');
    write_data(out, data);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(name: Option<&str>, data: &str) -> Event {
        Event { name: name.map(String::from), data: data.into(), raw: Vec::new() }
    }

    fn without_raw(mut e: Event) -> Event {
        e.raw.clear();
        e
    }

    #[test]
    fn events_split_anywhere_and_crlf_framing() {
        let input =
            "event: a\r\ndata: {\"x\":\"é\"}\r\n\r\n: comment\n\ndata: 1\ndata: 2\n\ndata:[DONE]\n\n".as_bytes();
        for piece in [1, 2, 3, 7, input.len()] {
            let mut p = Parser::default();
            let got: Vec<Event> = input.chunks(piece).flat_map(|c| p.push(c)).collect();
            let raw: Vec<u8> = got.iter().flat_map(|e| e.raw.clone()).collect();
            assert_eq!(raw, input, "raw bytes reassemble the input exactly");
            let got: Vec<Event> = got.into_iter().map(without_raw).collect();
            assert_eq!(got, [ev(Some("a"), "{\"x\":\"é\"}"), ev(None, "1\n2"), ev(None, "[DONE]")], "piece {piece}");
            assert_eq!(p.finish(), None);
        }
    }

    #[test]
    fn an_unterminated_last_event_is_delivered_at_finish() {
        let mut p = Parser::default();
        assert!(p.push(b"data: {\"a\":1}").is_empty());
        assert_eq!(p.finish().map(without_raw), Some(ev(None, "{\"a\":1}")));
    }

    #[test]
    fn writers_frame_events() {
        let mut out = Vec::new();
        write_named(&mut out, "ping", "{}");
        write_data(&mut out, "[DONE]");
        assert_eq!(out, b"event: ping\ndata: {}\n\ndata: [DONE]\n\n");
    }
}
