//! Token usage, read the one way wherever it appears: in a whole answer, in the events of a
//! stream (either upstream dialect), and in the lines of a stream passed through untouched. What
//! it finds goes to `/metrics`, the access log and the dump viewer.

use crate::sse;
use serde_json::Value;

/// The counts a stream has reported so far. Anthropic reports them in parts (input at
/// `message_start`, output at `message_delta`), so each count reported replaces the one before.
#[derive(Debug, Default)]
pub struct Meter {
    usage: Value,
}

impl Meter {
    /// One event's data: parsed only when it mentions `"usage"`.
    pub fn data(&mut self, data: &[u8]) {
        if !data.windows(7).any(|w| w == b"\"usage\"") {
            return;
        }
        let Ok(v) = serde_json::from_slice::<Value>(data) else { return };
        let nested = v.pointer("/message/usage").or(v.pointer("/response/usage"));
        if let Some(u) = v.get("usage").or(nested).and_then(Value::as_object) {
            for (k, n) in u.iter().filter(|(_, n)| n.is_u64()) {
                self.usage[k] = n.clone();
            }
        }
    }

    /// `(prompt, completion)` tokens, once the stream has reported both.
    pub fn tokens(&self) -> Option<(u64, u64)> {
        tokens_in(&self.usage)
    }

    /// A line of a stream: a `data:` line is one event's data.
    fn line(&mut self, line: &[u8]) {
        if let Some(data) = line.strip_prefix(b"data:") {
            self.data(data);
        }
    }
}

/// The prompt tokens of an Anthropic usage object: its input, cache reads and cache writes.
pub fn anthropic_prompt_tokens(usage: &Value) -> u64 {
    let n = |k: &str| usage.get(k).and_then(Value::as_u64).unwrap_or(0);
    n("input_tokens").saturating_add(n("cache_read_input_tokens")).saturating_add(n("cache_creation_input_tokens"))
}

/// `(prompt, completion)` tokens from a usage object of either dialect (Anthropic's cache reads
/// and writes count as prompt tokens).
pub fn tokens_in(usage: &Value) -> Option<(u64, u64)> {
    let n = |k: &str| usage.get(k).and_then(Value::as_u64);
    match (n("prompt_tokens"), n("completion_tokens"), n("input_tokens"), n("output_tokens")) {
        (Some(p), Some(c), _, _) => Some((p, c)),
        (_, _, Some(_), Some(o)) => Some((anthropic_prompt_tokens(usage), o)),
        _ => None,
    }
}

/// Reads the usage out of a stream that passes through untranslated (Anthropic to Anthropic,
/// `/v1/*` passthrough), without touching its bytes. It also measures lines and events against the
/// parser's limits ([`sse::MAX_LINE_BYTES`], [`sse::MAX_EVENT_BYTES`]), so a passed-through stream
/// is held to them too.
#[derive(Default)]
pub struct StreamUsage {
    /// The start of a line that has not ended yet in the reads so far.
    partial: Vec<u8>,
    /// The counts seen so far.
    meter: Meter,
    /// Bytes of the current line, and of the current event, so far.
    line_bytes: usize,
    event_bytes: usize,
}

/// A line longer than this is not usage: it is dropped rather than buffered.
const LONGEST_USAGE_LINE: usize = 64 * 1024;

impl StreamUsage {
    /// One read of the stream. Lines are looked at where they lie in the read; only a line cut
    /// by the read's end is copied, so the bytes that pass by cost no allocation. Each byte is
    /// looked at once. Errs when a line or an event breaks its limit.
    pub fn push(&mut self, bytes: &[u8]) -> Result<(), sse::TooLarge> {
        let mut rest = bytes;
        while let Some(nl) = rest.iter().position(|&b| b == b'\n') {
            let (line, tail) = rest.split_at(nl + 1);
            // A blank line (`\n` or `\r\n`, perhaps cut by a read) ends the event.
            let blank =
                self.line_bytes + line.len() <= 2 && self.partial.iter().chain(line).all(|&b| b == b'\r' || b == b'\n');
            self.measure(line.len(), Some(blank))?;
            if self.partial.is_empty() {
                self.meter.line(line);
            } else {
                self.partial.extend_from_slice(line);
                self.meter.line(&self.partial);
                self.partial.clear();
            }
            rest = tail;
        }
        self.measure(rest.len(), None)?;
        if self.partial.len() + rest.len() <= LONGEST_USAGE_LINE {
            self.partial.extend_from_slice(rest);
        } else {
            self.partial.clear();
        }
        Ok(())
    }

    /// Counts `n` more bytes of the current line; `ends` says whether the line ends with them,
    /// and if so whether it was blank.
    fn measure(&mut self, n: usize, ends: Option<bool>) -> Result<(), sse::TooLarge> {
        self.line_bytes += n;
        self.event_bytes += n;
        // `+ 1`: the line's own `\n` is counted here, not by the parser.
        if self.line_bytes > sse::MAX_LINE_BYTES + 1 {
            return Err(sse::TooLarge::Line);
        }
        if self.event_bytes > sse::MAX_EVENT_BYTES {
            return Err(sse::TooLarge::Event);
        }
        if let Some(blank) = ends {
            if blank {
                self.event_bytes = 0;
            }
            self.line_bytes = 0;
        }
        Ok(())
    }

    /// `(prompt, completion)` tokens, once the stream has reported both.
    pub fn tokens(&self) -> Option<(u64, u64)> {
        self.meter.tokens()
    }
}

/// The tokens a complete JSON answer reports, if any. Only the `usage` object is parsed: both
/// dialects put it at the top level, after the content, so it is found from the end. (Inside a
/// JSON string a quote is escaped, so `"usage"` followed by `:` is always a key.)
pub fn of_whole(body: &[u8]) -> Option<(u64, u64)> {
    const KEY: &[u8] = b"\"usage\"";
    let mut end = body.len();
    while let Some(at) = body[..end].windows(KEY.len()).rposition(|w| w == KEY) {
        let rest = &body[at + KEY.len()..];
        let colon = rest.iter().position(|b| !b.is_ascii_whitespace());
        if let Some(i) = colon.filter(|&i| rest[i] == b':') {
            let mut values = serde_json::Deserializer::from_slice(&rest[i + 1..]).into_iter::<Value>();
            return values.next()?.ok().as_ref().and_then(tokens_in);
        }
        end = at;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_of_either_dialect_counts_cache_reads_as_prompt() {
        let anthropic = serde_json::json!({"input_tokens": 5, "cache_read_input_tokens": 7, "output_tokens": 2});
        assert_eq!(tokens_in(&anthropic), Some((12, 2)));
        assert_eq!(tokens_in(&serde_json::json!({"prompt_tokens": 1, "completion_tokens": 2})), Some((1, 2)));
    }

    #[test]
    fn the_meter_takes_each_count_from_the_latest_event_that_reports_it() {
        let mut m = Meter::default();
        m.data(br#"{"type":"message_start","message":{"usage":{"input_tokens":9,"output_tokens":1}}}"#);
        m.data(br#"{"type":"content_block_delta","delta":{"text":"no usage here"}}"#);
        m.data(br#"{"type":"message_delta","usage":{"output_tokens":30}}"#);
        assert_eq!(m.tokens(), Some((9, 30)));
        let mut m = Meter::default();
        m.data(br#"{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4}}"#);
        assert_eq!(m.tokens(), Some((3, 4)));
    }

    #[test]
    fn stream_usage_is_read_across_reads_in_its_parts() {
        let stream = "event: message_start\r\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":7,\"output_tokens\":1}}}\r\n\r\n\
                      event: ping\ndata: {\"type\":\"ping\",\"text\":\"\\\"usage\\\"\"}\n\n\
                      data: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":9}}\n\n";
        for piece in [1, 5, 4096] {
            let mut u = StreamUsage::default();
            assert_eq!(u.tokens(), None);
            for part in stream.as_bytes().chunks(piece) {
                u.push(part).unwrap();
            }
            assert_eq!(u.tokens(), Some((7, 9)), "reads of {piece} bytes");
        }
    }

    #[test]
    fn a_passed_through_stream_is_held_to_the_line_and_event_limits() {
        let mut u = StreamUsage::default();
        let events = b"event: ping\r\ndata: {}\r\n\r\n".repeat(10_000);
        for _ in 0..40 {
            u.push(&events).unwrap();
        }
        for piece in events.chunks(1) {
            u.push(piece).unwrap();
        }
        let mut u = StreamUsage::default();
        let endless = b"data: x\n".repeat(100_000);
        let failed = (0..20).find_map(|_| u.push(&endless).err());
        assert_eq!(failed, Some(sse::TooLarge::Event));
        let mut u = StreamUsage::default();
        let long = vec![b'x'; 1 << 20];
        let failed = (0..6).find_map(|_| u.push(&long).err());
        assert_eq!(failed, Some(sse::TooLarge::Line));
        assert!(u.partial.is_empty(), "a long line is not buffered");
    }

    #[test]
    fn tokens_are_read_from_the_top_level_usage_alone() {
        let openai = br#"{"choices":[{"message":{"content":"the \"usage\": key, and \"usage\""}}],"usage" : {"prompt_tokens":3,"completion_tokens":5}}"#;
        assert_eq!(of_whole(openai), Some((3, 5)));
        let anthropic = br#"{"content":[{"type":"text","text":"usage"}],"usage":{"input_tokens":7,"output_tokens":2,"cache_read_input_tokens":1},"x":1}"#;
        assert_eq!(of_whole(anthropic), Some((8, 2)));
        assert_eq!(of_whole(br#"{"content":"usage"}"#), None);
        assert_eq!(of_whole(br#"{"usage":"#), None);
        assert_eq!(of_whole(b""), None);
    }
}
