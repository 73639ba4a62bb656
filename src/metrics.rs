//! Counters and histograms for `GET /metrics`, in Prometheus' text format: requests by route,
//! dialect and status, requests in flight, request duration and time to first byte, and upstream
//! attempts by deployment and outcome. One short lock per request; rendering sorts.

use crate::sse;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Histogram upper bounds, in seconds: sub-millisecond proxy answers up to long generations.
const BUCKETS: [f64; 14] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0];

/// A Prometheus histogram: counts per bucket (not yet cumulative), sum and count.
#[derive(Default)]
struct Histogram {
    buckets: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, d: Duration) {
        let s = d.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|b| s <= *b) {
            self.buckets[i] += 1;
        }
        self.sum += s;
        self.count += 1;
    }
}

#[derive(Default)]
struct Inner {
    requests: BTreeMap<(&'static str, &'static str, u16), u64>,
    duration: BTreeMap<&'static str, Histogram>,
    ttfb: BTreeMap<&'static str, Histogram>,
    attempts: BTreeMap<(String, &'static str), u64>,
    cooldowns: BTreeMap<String, u64>,
    tokens: BTreeMap<(String, &'static str), u64>,
    fallbacks: BTreeMap<(String, String, &'static str), u64>,
}

/// Label values longer than this (in characters) are cut: a label is kept for the process's life.
const LONGEST_LABEL: usize = 128;

/// What token counts are labelled with when no configured model name served them.
pub const OTHER_MODEL: &str = "other";

/// `s` as a label value in Prometheus' text format: `\`, `"` and line feeds escaped, other
/// control characters replaced (the format has no escape for them), cut at [`LONGEST_LABEL`].
fn label(s: &str) -> String {
    let mut out = String::with_capacity(s.len().min(LONGEST_LABEL) + 2);
    for (i, c) in s.chars().enumerate() {
        match c {
            _ if i == LONGEST_LABEL => {
                out.push('…');
                break;
            }
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// `s` fit for one log line: control characters escaped (a line feed cannot forge a line), at
/// most `max` characters (longer is cut and ends in `…`).
pub fn printable(s: &str, max: usize) -> std::borrow::Cow<'_, str> {
    if s.len() <= max && !s.chars().any(char::is_control) {
        return s.into();
    }
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i == max {
            out.push('…');
            break;
        }
        match c.is_control() {
            true => out.extend(c.escape_default()),
            false => out.push(c),
        }
    }
    out.into()
}

/// `(prompt, completion)` tokens from a usage object of either dialect (Anthropic's cache reads
/// and writes count as prompt tokens).
pub fn tokens_in(usage: &serde_json::Value) -> Option<(u64, u64)> {
    let n = |k: &str| usage.get(k).and_then(serde_json::Value::as_u64);
    match (n("prompt_tokens"), n("completion_tokens"), n("input_tokens"), n("output_tokens")) {
        (Some(p), Some(c), _, _) => Some((p, c)),
        (_, _, Some(i), Some(o)) => {
            let cache = n("cache_read_input_tokens").unwrap_or(0) + n("cache_creation_input_tokens").unwrap_or(0);
            Some((i + cache, o))
        }
        _ => None,
    }
}

/// Reads the usage out of a stream that passes through untranslated (Anthropic to Anthropic,
/// `/v1/*` passthrough), without touching its bytes. Anthropic reports it in parts — input at
/// `message_start`, output at `message_delta` — so each count reported replaces the one before.
/// It also measures lines and events against the parser's limits ([`sse::MAX_LINE_BYTES`],
/// [`sse::MAX_EVENT_BYTES`]), so a passed-through stream is held to them too.
#[derive(Default)]
pub struct StreamUsage {
    /// The start of a line that has not ended yet in the reads so far.
    partial: Vec<u8>,
    /// The counts seen so far (`null` until the first; indexing makes it an object).
    usage: serde_json::Value,
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
                self.line(line);
            } else {
                let mut whole = std::mem::take(&mut self.partial);
                whole.extend_from_slice(line);
                self.line(&whole);
                whole.clear();
                self.partial = whole;
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

    /// A `data:` line mentioning `"usage"` is parsed; every other line only searched.
    fn line(&mut self, line: &[u8]) {
        let Some(data) = line.strip_prefix(b"data:") else { return };
        if !data.windows(7).any(|w| w == b"\"usage\"") {
            return;
        }
        let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) else { return };
        if let Some(u) = v.get("usage").or(v.pointer("/message/usage")).and_then(|u| u.as_object()) {
            for (k, n) in u.iter().filter(|(_, n)| n.is_u64()) {
                self.usage[k] = n.clone();
            }
        }
    }

    /// `(prompt, completion)` tokens, once the stream has reported both.
    pub fn tokens(&self) -> Option<(u64, u64)> {
        tokens_in(&self.usage)
    }
}

/// The proxy's metrics, shared by all workers.
#[derive(Default)]
pub struct Metrics {
    in_flight: AtomicI64,
    inner: Mutex<Inner>,
}

impl Metrics {
    /// A request started.
    pub fn begin(&self) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
    }

    /// A request ended: its route, client dialect, status and timings.
    pub fn end(
        &self,
        route: &'static str,
        dialect: &'static str,
        status: u16,
        total: Duration,
        ttfb: Option<Duration>,
    ) {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
        let mut m = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        *m.requests.entry((route, dialect, status)).or_default() += 1;
        m.duration.entry(route).or_default().observe(total);
        if let Some(t) = ttfb {
            m.ttfb.entry(route).or_default().observe(t);
        }
    }

    /// One upstream attempt: `ok`, `retried` (a 429/5xx answer that led to the next
    /// deployment), `failed` (transport error) or `http_error` (a final 4xx/5xx answer).
    pub fn attempt(&self, deployment: &str, outcome: &'static str) {
        let mut m = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        *m.attempts.entry((deployment.to_string(), outcome)).or_default() += 1;
    }

    /// A deployment started cooling down.
    pub fn cooldown(&self, deployment: &str) {
        let mut m = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        *m.cooldowns.entry(deployment.to_string()).or_default() += 1;
    }

    /// A request whose model group `from` failed (`why`) was sent to the group `to`; both are
    /// configured names.
    pub fn fallback(&self, from: &str, to: &str, why: &'static str) {
        let mut m = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        *m.fallbacks.entry((from.to_string(), to.to_string(), why)).or_default() += 1;
    }

    /// Tokens an answer for `model` reported using. `model` is a configured model name (or
    /// glob) or [`OTHER_MODEL`], never a client's: each distinct one is kept for good.
    pub fn tokens(&self, model: &str, (prompt, completion): (u64, u64)) {
        let mut m = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        *m.tokens.entry((model.to_string(), "prompt")).or_default() += prompt;
        *m.tokens.entry((model.to_string(), "completion")).or_default() += completion;
    }

    /// Everything in Prometheus' text exposition format.
    pub fn render(&self) -> String {
        let m = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = String::new();
        let head = |out: &mut String, name: &str, kind: &str, help: &str| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        };
        head(&mut out, "grp_requests_total", "counter", "Requests answered, by route, client dialect and status.");
        for ((route, dialect, status), n) in &m.requests {
            let _ =
                writeln!(out, "grp_requests_total{{route=\"{route}\",dialect=\"{dialect}\",status=\"{status}\"}} {n}");
        }
        head(&mut out, "grp_requests_in_flight", "gauge", "Requests being served now.");
        let _ = writeln!(out, "grp_requests_in_flight {}", self.in_flight.load(Ordering::Relaxed));
        for (name, help, hists) in [
            ("grp_request_duration_seconds", "Time from request to the end of the answer.", &m.duration),
            ("grp_time_to_first_byte_seconds", "Time from request to the first byte of the answer.", &m.ttfb),
        ] {
            head(&mut out, name, "histogram", help);
            for (route, h) in hists {
                let mut cumulative = 0;
                for (bound, n) in BUCKETS.iter().zip(h.buckets) {
                    cumulative += n;
                    let _ = writeln!(out, "{name}_bucket{{route=\"{route}\",le=\"{bound}\"}} {cumulative}");
                }
                let _ = writeln!(out, "{name}_bucket{{route=\"{route}\",le=\"+Inf\"}} {}", h.count);
                let _ = writeln!(out, "{name}_sum{{route=\"{route}\"}} {}", h.sum);
                let _ = writeln!(out, "{name}_count{{route=\"{route}\"}} {}", h.count);
            }
        }
        head(&mut out, "grp_upstream_attempts_total", "counter", "Upstream attempts, by deployment and outcome.");
        for ((deployment, outcome), n) in &m.attempts {
            let label = label(deployment);
            let _ = writeln!(out, "grp_upstream_attempts_total{{deployment=\"{label}\",outcome=\"{outcome}\"}} {n}");
        }
        head(
            &mut out,
            "grp_upstream_cooldowns_total",
            "counter",
            "Times a deployment was set aside after failing repeatedly.",
        );
        for (deployment, n) in &m.cooldowns {
            let label = label(deployment);
            let _ = writeln!(out, "grp_upstream_cooldowns_total{{deployment=\"{label}\"}} {n}");
        }
        head(&mut out, "grp_fallbacks_total", "counter", "Requests sent to a fallback model group, by group and why.");
        for ((from, to, why), n) in &m.fallbacks {
            let (from, to) = (label(from), label(to));
            let _ = writeln!(out, "grp_fallbacks_total{{from=\"{from}\",to=\"{to}\",reason=\"{why}\"}} {n}");
        }
        head(
            &mut out,
            "grp_tokens_total",
            "counter",
            "Tokens the answers reported, by the configured model name (or glob) that served them, and kind.",
        );
        for ((model, kind), n) in &m.tokens {
            let label = label(model);
            let _ = writeln!(out, "grp_tokens_total{{model=\"{label}\",kind=\"{kind}\"}} {n}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn labels_and_log_fields_cannot_break_their_line_or_grow_without_end() {
        let m = Metrics::default();
        m.tokens("x\"}\nFORGED{a=\"b\"} 1\r\u{1b}\\", (1, 2));
        m.tokens(&"y".repeat(100_000), (1, 2));
        let text = m.render();
        assert!(text.contains(r#"grp_tokens_total{model="x\"}\nFORGED{a=\"b\"} 1��\\",kind="prompt"} 1"#), "{text}");
        assert!(text.lines().all(|l| l.starts_with('#') || l.starts_with("grp_")), "{text}");
        assert!(text.len() < 2_000, "a label is cut to {LONGEST_LABEL} characters: {} bytes", text.len());
        assert_eq!(printable("gpt-4o", 10), "gpt-4o");
        assert_eq!(printable("x\nFORGED 200\u{1b}[31m", 100), "x\\nFORGED 200\\u{1b}[31m");
        assert_eq!(printable(&"é".repeat(300), 4), "éééé…");
    }

    #[test]
    fn histograms_are_cumulative_and_consistent() {
        let m = Metrics::default();
        for ms in [0, 3, 3, 700, 200_000] {
            m.begin();
            m.end("chat_completions", "openai", 200, Duration::from_millis(ms), None);
        }
        let text = m.render();
        assert!(text.contains("grp_requests_total{route=\"chat_completions\",dialect=\"openai\",status=\"200\"} 5"));
        assert!(text.contains("grp_request_duration_seconds_bucket{route=\"chat_completions\",le=\"0.001\"} 1"));
        assert!(text.contains("grp_request_duration_seconds_bucket{route=\"chat_completions\",le=\"0.005\"} 3"));
        assert!(text.contains("grp_request_duration_seconds_bucket{route=\"chat_completions\",le=\"120\"} 4"));
        assert!(text.contains("grp_request_duration_seconds_bucket{route=\"chat_completions\",le=\"+Inf\"} 5"));
        assert!(text.contains("grp_request_duration_seconds_count{route=\"chat_completions\"} 5"));
        assert!(text.contains("grp_requests_in_flight 0"));
        m.tokens("m\"x", (3, 4));
        assert!(m.render().contains("grp_tokens_total{model=\"m\\\"x\",kind=\"completion\"} 4"));
        let anthropic = serde_json::json!({"input_tokens": 5, "cache_read_input_tokens": 7, "output_tokens": 2});
        assert_eq!(tokens_in(&anthropic), Some((12, 2)));
        assert_eq!(tokens_in(&serde_json::json!({"prompt_tokens": 1, "completion_tokens": 2})), Some((1, 2)));
    }
}
