//! Server-sent events, protocol-blind: an incremental parser that turns network reads (split
//! anywhere, `\n` or `\r\n` line ends) into events, and the two ways of writing one.

/// One event: its `event:` name (if any) and its `data:` lines joined by `\n`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Event {
    /// The `event:` field.
    pub name: Option<String>,
    /// The `data:` field(s).
    pub data: String,
    /// The exact bytes this event arrived as (with any comment lines within it), so that an
    /// unchanged event can be passed on byte for byte.
    pub raw: Vec<u8>,
}

impl Event {
    /// An unnamed event (`data: …`), as OpenAI and Ollama write them.
    pub fn data(data: impl Into<String>) -> Event {
        Event { name: None, data: data.into(), raw: Vec::new() }
    }

    /// A named event (`event: …` then `data: …`), as Anthropic writes them.
    pub fn named(name: &str, data: impl Into<String>) -> Event {
        Event { name: Some(name.to_string()), data: data.into(), raw: Vec::new() }
    }

    /// A comment (`: text`): keeps a connection alive; clients ignore it.
    pub fn comment(text: &str) -> Event {
        Event { name: None, data: String::new(), raw: format!(": {text}\n\n").into_bytes() }
    }

    /// Whether this is only comment lines (`: …`): no data for any stage to read, only bytes that
    /// keep the connection alive, to be passed on as they came. (An event with an empty `data:`
    /// is not one: an SDK would parse its empty data.)
    pub fn is_comment(&self) -> bool {
        self.name.is_none() && self.data.is_empty() && self.raw.first() == Some(&b':')
    }
}

/// How a client's events are written on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// Server-sent events (OpenAI, Anthropic).
    Sse,
    /// One JSON document per line (Ollama).
    Ndjson,
}

impl Framing {
    /// The `Content-Type` of a stream in this framing.
    pub fn content_type(self) -> &'static str {
        match self {
            Framing::Sse => "text/event-stream",
            Framing::Ndjson => "application/x-ndjson",
        }
    }

    /// Appends `ev`: an SSE event as the exact bytes it arrived as when it has them, otherwise
    /// made from its name and data (`event: <name>` the Anthropic way, then `data: <data>`); an
    /// NDJSON line of its data (comments have none to write).
    pub fn write(self, ev: &Event, out: &mut Vec<u8>) {
        match self {
            Framing::Ndjson if ev.data.is_empty() => {}
            Framing::Ndjson => {
                out.extend_from_slice(ev.data.as_bytes());
                out.push(b'\n');
            }
            Framing::Sse if !ev.raw.is_empty() => out.extend_from_slice(&ev.raw),
            Framing::Sse => {
                if let Some(name) = &ev.name {
                    out.extend_from_slice(b"event: ");
                    out.extend_from_slice(name.as_bytes());
                    out.push(b'\n');
                }
                out.extend_from_slice(b"data: ");
                out.extend_from_slice(ev.data.as_bytes());
                out.extend_from_slice(b"\n\n");
            }
        }
    }
}

/// Whether a `Content-Type` value names `media` (`type/subtype`): media types are compared
/// without regard to case and parameters (`TEXT/EVENT-STREAM; charset=utf-8` is an event stream).
pub fn is_media_type(content_type: &str, media: &str) -> bool {
    content_type.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case(media)
}

/// The longest line accepted from an upstream (real streams stay under a few hundred KiB, even
/// with images in them); past it the stream is refused rather than buffered without end.
pub const MAX_LINE_BYTES: usize = 4 << 20;

/// The largest event accepted, comment lines within it included (each blank line starts anew).
pub const MAX_EVENT_BYTES: usize = 8 << 20;

/// Why a stream could not be parsed: it broke one of the limits above.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TooLarge {
    /// A line longer than [`MAX_LINE_BYTES`].
    Line,
    /// An event larger than [`MAX_EVENT_BYTES`].
    Event,
}

impl std::fmt::Display for TooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TooLarge::Line => write!(f, "a stream line longer than {} MiB", MAX_LINE_BYTES >> 20),
            TooLarge::Event => write!(f, "a stream event larger than {} MiB", MAX_EVENT_BYTES >> 20),
        }
    }
}

/// Accumulates bytes until whole events are available. Keeps bytes, not text, so a UTF-8
/// character split across two reads is decoded only once it is complete. Each byte is looked
/// at once, however the stream is cut into reads; a line or event past its limit stops the
/// parser (see [`Parser::too_large`]) and frees what it held.
#[derive(Debug, Default)]
pub struct Parser {
    buf: Vec<u8>,
    event: Event,
    has_data: bool,
    raw: Vec<u8>,
    too_large: Option<TooLarge>,
}

impl Parser {
    /// Feeds one read; returns the events it completed, in order (none once a limit is broken).
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Event> {
        let mut out = Vec::new();
        if self.too_large.is_some() {
            return out;
        }
        // `buf` holds only the start of a line: no `\n` in it, so only new bytes are searched.
        // Taken out while its lines are read, so that they are read in place.
        let mut buf = std::mem::take(&mut self.buf);
        let mut from = buf.len();
        buf.extend_from_slice(bytes);
        let mut start = 0;
        while let Some(nl) = buf[from..].iter().position(|&b| b == b'\n') {
            let end = from + nl;
            if end - start > MAX_LINE_BYTES {
                return self.refuse(TooLarge::Line);
            }
            self.raw.extend_from_slice(&buf[start..=end]);
            let line = &buf[start..end];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            start = end + 1;
            from = start;
            self.line(&String::from_utf8_lossy(line), &mut out);
            if self.raw.len() > MAX_EVENT_BYTES {
                return self.refuse(TooLarge::Event);
            }
        }
        buf.drain(..start);
        self.buf = buf;
        match self.buf.len() {
            n if n > MAX_LINE_BYTES => self.refuse(TooLarge::Line),
            n if n + self.raw.len() > MAX_EVENT_BYTES => self.refuse(TooLarge::Event),
            _ => out,
        }
    }

    /// Which limit the stream broke, if it did; it is then to be abandoned.
    pub fn too_large(&self) -> Option<TooLarge> {
        self.too_large
    }

    /// Stops for good: what was held is freed, nothing more is parsed.
    fn refuse(&mut self, why: TooLarge) -> Vec<Event> {
        *self = Parser { too_large: Some(why), ..Parser::default() };
        Vec::new()
    }

    /// The stream ended: an event not yet closed by a blank line still counts.
    pub fn finish(&mut self) -> Option<Event> {
        if self.too_large.is_some() {
            return None;
        }
        // The last line may end the event itself (`data: x\n\r`: the `\r` is its blank line).
        let mut out = Vec::new();
        if !self.buf.is_empty() {
            let rest = std::mem::take(&mut self.buf);
            self.raw.extend_from_slice(&rest);
            self.line(String::from_utf8_lossy(&rest).trim_end_matches('\r'), &mut out);
        }
        out.pop().or_else(|| self.has_data.then(|| self.take_event()))
    }

    /// The event gathered so far, with the bytes it came as; the next one starts from nothing.
    fn take_event(&mut self) -> Event {
        self.has_data = false;
        Event { raw: std::mem::take(&mut self.raw), ..std::mem::take(&mut self.event) }
    }

    fn line(&mut self, line: &str, out: &mut Vec<Event>) {
        if line.is_empty() {
            if self.has_data {
                out.push(self.take_event());
            } else {
                self.event.name = None;
                // Nothing to dispatch. Comments (keep-alives) go on at once, as an event of their
                // own; blank lines and lone fields (`id:`, `retry:`) go nowhere. Either way the next
                // event starts from nothing.
                let lines = self.raw.split(|&b| b == b'\n').map(|l| l.strip_suffix(b"\r").unwrap_or(l));
                let mut lines = lines.filter(|l| !l.is_empty()).peekable();
                if lines.peek().is_some() && lines.all(|l| l.starts_with(b":")) {
                    out.push(Event { raw: std::mem::take(&mut self.raw), ..Event::default() });
                } else {
                    self.raw.clear();
                }
            }
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
            _ => {} // a comment (`: …`, no field name) or a field no stage reads
        }
    }
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
            assert!(got[1].is_comment() && got[1].raw == b": comment\n\n", "a comment is an event of its own");
            let got: Vec<Event> = got.into_iter().map(without_raw).collect();
            let want = [ev(Some("a"), "{\"x\":\"é\"}"), ev(None, ""), ev(None, "1\n2"), ev(None, "[DONE]")];
            assert_eq!(got, want, "piece {piece}");
            assert_eq!(p.finish(), None);
        }
    }

    #[test]
    fn an_unterminated_last_event_is_delivered_at_finish() {
        let mut p = Parser::default();
        assert!(p.push(b"data: {\"a\":1}").is_empty());
        assert_eq!(p.finish().map(without_raw), Some(ev(None, "{\"a\":1}")));
        // A last blank line of a lone `\r` ended the event and then lost it.
        let mut p = Parser::default();
        assert!(p.push(b"data: x\n\r").is_empty());
        let last = p.finish().expect("the event closed by the last `\\r`");
        assert_eq!((last.data.as_str(), last.raw.as_slice()), ("x", &b"data: x\n\r"[..]));
    }

    #[test]
    fn a_line_past_the_limit_stops_the_parser_and_frees_what_it_held() {
        let mut p = Parser::default();
        assert_eq!(p.push(b"data: 1\n\n").len(), 1);
        let read = vec![b'x'; 64 << 10];
        let mut reads = 0;
        while p.too_large().is_none() {
            assert!(p.push(&read).is_empty());
            reads += 1;
        }
        assert_eq!(p.too_large(), Some(TooLarge::Line));
        assert_eq!(reads, MAX_LINE_BYTES / read.len() + 1, "refused as soon as the line is too long");
        assert!(p.buf.capacity() == 0 && p.raw.capacity() == 0, "nothing is held");
        assert!(p.push(b"\ndata: 2\n\n").is_empty() && p.finish().is_none(), "nothing more is parsed");
        // A line that ends within the same read is measured too.
        let mut p = Parser::default();
        let mut long = b"data: ".to_vec();
        long.resize(MAX_LINE_BYTES + 10, b'y');
        long.extend_from_slice(b"\n\n");
        assert!(p.push(&long).is_empty());
        assert_eq!(p.too_large(), Some(TooLarge::Line));
    }

    #[test]
    fn an_event_that_never_ends_stops_the_parser() {
        let mut p = Parser::default();
        let lines = b"data: a short line that keeps the event open\n".repeat(1000);
        while p.too_large().is_none() {
            assert!(p.push(&lines).is_empty());
        }
        assert_eq!(p.too_large(), Some(TooLarge::Event));
        assert!(p.event.data.capacity() == 0 && p.raw.capacity() == 0);
        assert!(TooLarge::Event.to_string().contains("8 MiB"));
        // Many events of any total size are fine: the limit is per event.
        let mut p = Parser::default();
        let events = b"data: {}\n\n".repeat(100_000);
        assert_eq!((0..10).map(|_| p.push(&events).len()).sum::<usize>(), 1_000_000);
        assert_eq!(p.too_large(), None);
    }

    #[test]
    fn keepalive_comments_between_events_are_not_one_event_too_large() {
        let mut p = Parser::default();
        assert_eq!(p.push(b"data: 1\n\n").len(), 1);
        // 13 MB of keep-alives and blank lines between two events, in 64 KiB reads.
        let idle = [b": keepalive\n\n".repeat(500_000), b"\r\n".repeat(3_000_000)].concat();
        let mut comments = 0;
        for read in idle.chunks(64 << 10) {
            let got = p.push(read);
            assert!(got.iter().all(|e| e.is_comment() && e.raw == b": keepalive\n\n"));
            comments += got.len();
        }
        assert_eq!(comments, 500_000, "each comment is passed on as it came");
        assert_eq!(p.too_large(), None);
        assert!(p.raw.is_empty(), "no bytes are held for the next event");
        let got = p.push(b"data: 2\n\n");
        assert_eq!(got.into_iter().map(without_raw).collect::<Vec<_>>(), [ev(None, "2")]);
    }

    #[test]
    fn a_comment_is_an_event_of_its_own_as_soon_as_its_blank_line_arrives() {
        let mut p = Parser::default();
        assert!(p.push(b": OPENROUTER PROCESSING\n").is_empty());
        let got = p.push(b"\n");
        assert_eq!(got.len(), 1);
        assert!(got[0].is_comment() && got[0].raw == b": OPENROUTER PROCESSING\n\n");
        // A comment within an event stays part of it, as do fields that dispatch nothing alone.
        let got = p.push(b"event: x\n: inside\ndata: 1\n\nid: 7\n\ndata:\n\n");
        assert_eq!((got.len(), got[0].raw.as_slice()), (2, &b"event: x\n: inside\ndata: 1\n\n"[..]));
        // A lone `id:` dispatches nothing and goes nowhere; an empty `data:` is an event, not a comment.
        assert!(!got[1].is_comment() && got[1].data.is_empty() && got[1].raw == b"data:\n\n");
        assert!(!Event::data("").is_comment() && Event::comment("ping").is_comment());
    }

    #[test]
    fn a_capitalised_sse_content_type_is_an_event_stream() {
        for ct in ["text/event-stream", "TEXT/EVENT-STREAM; charset=utf-8", " Text/Event-Stream ;x=y"] {
            assert!(is_media_type(ct, "text/event-stream"), "{ct}");
        }
        for ct in ["text/event-streams", "text/plain", "", "application/json"] {
            assert!(!is_media_type(ct, "text/event-stream"), "{ct}");
        }
        assert!(is_media_type("Application/X-NDJSON", "application/x-ndjson"));
    }

    #[test]
    fn framings_write_events_their_way() {
        let mut out = Vec::new();
        Framing::Sse.write(&Event::named("ping", "{}"), &mut out);
        Framing::Sse.write(&Event::data("[DONE]"), &mut out);
        Framing::Sse.write(&Event::comment("ping"), &mut out);
        Framing::Sse.write(&Event { name: None, data: "x".into(), raw: b"data:x\r\n\r\n".to_vec() }, &mut out);
        assert_eq!(out, b"event: ping\ndata: {}\n\ndata: [DONE]\n\n: ping\n\ndata:x\r\n\r\n");
        let mut nd = Vec::new();
        for ev in [Event::data("{\"done\":false}"), Event::comment("ping"), Event::data("{\"done\":true}")] {
            Framing::Ndjson.write(&ev, &mut nd);
        }
        assert_eq!(nd, b"{\"done\":false}\n{\"done\":true}\n");
    }
}
