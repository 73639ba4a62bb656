//! Counters and histograms for `GET /metrics`, in Prometheus' text format: requests by route,
//! dialect and status, requests in flight, request duration and time to first byte, and upstream
//! attempts by deployment and outcome. One short lock per request; rendering sorts.

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
    cut(s, LONGEST_LABEL, |out, c| match c {
        '\\' => out.push_str("\\\\"),
        '"' => out.push_str("\\\""),
        '\n' => out.push_str("\\n"),
        c if c.is_control() => out.push('\u{fffd}'),
        c => out.push(c),
    })
}

/// `s` fit for one log line: control characters escaped (a line feed cannot forge a line), at
/// most `max` characters (longer is cut and ends in `…`).
pub fn printable(s: &str, max: usize) -> std::borrow::Cow<'_, str> {
    if s.len() <= max && !s.chars().any(char::is_control) {
        return s.into();
    }
    cut(s, max, |out, c| if c.is_control() { out.extend(c.escape_default()) } else { out.push(c) }).into()
}

/// `s`'s first `max` characters, each written by `push`, and `…` when there were more.
fn cut(s: &str, max: usize, push: impl Fn(&mut String, char)) -> String {
    let mut out = String::with_capacity(s.len().min(max) + 2);
    for (i, c) in s.chars().enumerate() {
        if i == max {
            out.push('…');
            break;
        }
        push(&mut out, c);
    }
    out
}

/// The proxy's metrics, shared by all workers.
#[derive(Default)]
pub struct Metrics {
    in_flight: AtomicI64,
    inner: Mutex<Inner>,
}

impl Metrics {
    /// The counters; a worker that panicked holding them left them whole (each update is one step).
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

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
        let mut m = self.lock();
        *m.requests.entry((route, dialect, status)).or_default() += 1;
        m.duration.entry(route).or_default().observe(total);
        if let Some(t) = ttfb {
            m.ttfb.entry(route).or_default().observe(t);
        }
    }

    /// One upstream attempt: `ok`, `retried` (a 429/5xx answer that led to the next
    /// deployment), `failed` (transport error) or `http_error` (a final 4xx/5xx answer).
    pub fn attempt(&self, deployment: &str, outcome: &'static str) {
        *self.lock().attempts.entry((deployment.to_string(), outcome)).or_default() += 1;
    }

    /// A deployment started cooling down.
    pub fn cooldown(&self, deployment: &str) {
        *self.lock().cooldowns.entry(deployment.to_string()).or_default() += 1;
    }

    /// A request whose model group `from` failed (`why`) was sent to the group `to`; both are
    /// configured names.
    pub fn fallback(&self, from: &str, to: &str, why: &'static str) {
        *self.lock().fallbacks.entry((from.to_string(), to.to_string(), why)).or_default() += 1;
    }

    /// Tokens an answer for `model` reported using. `model` is a configured model name (or
    /// glob) or [`OTHER_MODEL`], never a client's: each distinct one is kept for good.
    pub fn tokens(&self, model: &str, (prompt, completion): (u64, u64)) {
        let mut m = self.lock();
        // Saturating: the counts are the upstream's, and any number may come.
        for (kind, n) in [("prompt", prompt), ("completion", completion)] {
            let total = m.tokens.entry((model.to_string(), kind)).or_default();
            *total = total.saturating_add(n);
        }
    }

    /// Everything in Prometheus' text exposition format.
    pub fn render(&self) -> String {
        let m = self.lock();
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
        // An upstream's absurd count saturates the total instead of overflowing it.
        m.tokens("m\"x", (u64::MAX, u64::MAX));
        assert!(m.render().contains(&format!("grp_tokens_total{{model=\"m\\\"x\",kind=\"prompt\"}} {}", u64::MAX)));
    }
}
