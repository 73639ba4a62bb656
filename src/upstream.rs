//! Upstream calls: owns the ureq agent (named timeouts, status codes as data, no redirects, small
//! buffers), builds each outgoing request from the client headers meant for the upstream's
//! dialect (one rule: [`forwarded`]) plus the deployment's injected credential, and walks a
//! deployment group with failover before the first byte.

use crate::balance::Balancer;
use crate::config::{Config, Deployment, Provider, Timeouts};
use crate::connect::{Connectors, DnsCache};
use crate::dialect::Dialect;
use crate::dump::{Direction, Dump, Leg, Tee};
use crate::emulate::models::{Listed, Listing};
use crate::error::{Error, Fault};
use crate::fallback::{self, Failure};
use crate::metrics::Metrics;
use crate::providers::Auth;
use crate::route;
use std::borrow::Cow;
use std::cell::RefCell;
use std::io::Read;
use std::time::{Duration, Instant};
use ureq::http;
use ureq::tls::{RootCerts, TlsConfig};

/// Headers never passed on in either direction: hop-by-hop and framing (ureq frames the request
/// body, we frame the response).
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
    "te",
    "trailer",
    "upgrade",
    "proxy-connection",
];

/// Client headers never forwarded besides [`HOP_BY_HOP`]: the rest of what ureq sets itself, the
/// client's own credentials, and what would let upstream compress a body we may need to read.
const DROP_REQUEST_HEADERS: &[&str] = &[
    "host",
    "proxy-authorization",
    "expect",
    "authorization",
    "x-api-key",
    "api-key",
    "cookie",
    "accept-encoding",
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-forwarded-port",
    "x-forwarded-server",
    "x-real-ip",
    // Credential scoping: these name the organization and project an OpenAI key belongs to, and
    // OpenAI refuses (401) a key they do not match. The proxy sends its own key, so a client's
    // never travel with it; a deployment that needs them sets them in `extra_headers`.
    "openai-organization",
    "openai-project",
];

/// ureq's per-connection output buffer. A request head must fit in it whole, so a head that
/// would not is refused as the client's (431) before anything is sent. 8 KiB less 20 bytes:
/// the largest block in musl's 8,176-byte size class (8 KiB itself takes a 9,344-byte one).
const OUTPUT_BUFFER: usize = 8 * 1024 - 20;

/// ureq's per-connection input buffer: it holds a whole response head, and ureq grows it to
/// 10 KiB whenever a request body is sent. Asked for smaller, ureq shrinks it back on every
/// later read and grows it again (zeroing 2 KiB) on every write: about 5% of the instructions
/// of a proxied request. 10,900 bytes fills musl's 10,912-byte size class that 10 KiB takes.
const INPUT_BUFFER: usize = 10_900;

/// Largest error body of a retried attempt read for the dump.
const RETRIED_BODY_DUMPED: u64 = 64 * 1024;

/// The Anthropic API version sent when the client named none.
const ANTHROPIC_VERSION: &str = "2023-06-01";

/// Headers the original project sent as the Claude Code client (`openai2claudecode`):
/// `(name, value, replace the client's own)`.
const CLAUDE_CODE_HEADERS: &[(&str, &str, bool)] = &[
    (
        "anthropic-beta",
        "claude-code-20250219,interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14",
        false,
    ),
    ("anthropic-dangerous-direct-browser-access", "true", false),
    ("user-agent", "claude-cli/1.0.69 (external, cli)", true),
];

/// What one deployment is sent: decided per deployment, since a group may mix providers.
pub struct Prepared<'a> {
    /// The model name sent upstream (Azure puts it in the URL).
    pub model: String,
    /// The OpenAI-style path, e.g. `/chat/completions`; joined per provider by [`route::upstream_url`].
    pub path: Cow<'a, str>,
    /// The body, translated or passed through.
    pub body: Cow<'a, [u8]>,
}

/// One request to send to whichever deployment of a group answers (`'b`: the client's body).
pub struct Outgoing<'a, 'b> {
    /// The client's request: its method, and its headers (filtered before sending).
    pub rq: &'a tiny_http::Request,
    /// The dialect the client speaks (decides which of its SDK's headers an upstream may get).
    pub client: Dialect,
    /// Whether the client asked for a stream (selects `stream_timeout`).
    pub stream: bool,
    /// Path and body for a deployment, given the model group's name the client's request reached
    /// it by (its own, an alias's target or a fallback's).
    pub prepare: &'a dyn Fn(&Deployment, &str) -> Result<Prepared<'b>, Error>,
    /// Where each attempt is recorded, when dumps are on.
    pub dump: Option<&'a Dump>,
}

/// An upstream's answer, status and all, with the body still unread.
pub struct Answer {
    /// The upstream status, passed through to the client.
    pub status: u16,
    /// Response headers worth passing on.
    pub headers: Vec<(String, String)>,
    /// The body, read as it arrives.
    pub body: Box<dyn Read + Send>,
    /// Which deployment answered: its index in the model list.
    pub deployment: usize,
    /// The dialect the answer is in.
    pub wire: Dialect,
    /// How many attempts it took.
    pub attempts: usize,
    /// The body's length, when the upstream said (`Content-Length`).
    pub length: Option<u64>,
}

/// The upstream side of the proxy: one shared connection pool.
pub struct Upstream {
    agent: ureq::Agent,
    /// The same without certificate verification, for entries with `ssl_verify: false`.
    insecure: Option<ureq::Agent>,
    /// The agents' resolver, cleared when a connection fails.
    dns: DnsCache,
    /// Which deployment of a group goes first.
    balance: Balancer,
    num_retries: usize,
    /// Least time between two attempts of one request (LiteLLM's `retry_after`).
    retry_after: Duration,
}

impl Upstream {
    /// Builds the agent from the validated config.
    pub fn new(cfg: &Config) -> Result<Upstream, String> {
        let proxy = cfg.outbound_proxy.as_ref().map(|(url, no)| crate::connect::outbound_proxy(url, no)).transpose()?;
        let workers = cfg.settings.max_concurrent_requests;
        let roots = cfg.ca_file.as_ref().map_or(RootCerts::WebPki, |ca| RootCerts::Specific(ca.certs.clone()));
        let config = |verify: bool| {
            let tls = TlsConfig::builder().root_certs(roots.clone()).disable_verification(!verify).build();
            ureq::Agent::config_builder()
                .http_status_as_error(false)
                .max_redirects(0)
                .proxy(proxy.clone())
                .tls_config(tls)
                .user_agent(concat!("gpt-reverse-proxy/", env!("CARGO_PKG_VERSION")))
                .accept(ureq::config::AutoHeaderValue::None)
                .accept_encoding(ureq::config::AutoHeaderValue::None)
                // ureq's 128 KiB defaults cost ~230 KB RSS per live stream; ~10 KiB holds any
                // response head we accept and SSE events; bodies larger than a buffer stream through.
                .input_buffer_size(INPUT_BUFFER)
                .output_buffer_size(OUTPUT_BUFFER)
                .max_idle_connections(workers.min(256))
                .max_idle_connections_per_host(workers.min(64))
                .timeout_connect(Some(cfg.settings.connect_timeout))
                .build()
        };
        let dns = DnsCache::new(cfg.settings.dns_cache_ttl);
        let agent = |verify| ureq::Agent::with_parts(config(verify), Connectors::default(), dns.clone());
        Ok(Upstream {
            insecure: cfg.deployments.iter().any(|d| !d.tls_verify).then(|| agent(false)),
            agent: agent(true),
            dns,
            balance: Balancer::new(cfg),
            num_retries: cfg.settings.num_retries as usize,
            retry_after: cfg.router.retry_after,
        })
    }

    /// Sends `out` to the group (reached by the name `model`), trying the next deployment on
    /// transport errors, 429 and 5xx as long as nothing has reached the client. The last answer
    /// (or error) is returned as is. `spent` counts the request's attempts, which stop at
    /// [`fallback::MAX_ATTEMPTS`] (at least one is made).
    pub fn send(
        &self,
        model: &str,
        group: &[&Deployment],
        out: &Outgoing,
        metrics: &Metrics,
        spent: &mut usize,
    ) -> Result<Answer, Error> {
        let order = self.balance.order(group);
        let retries = group.iter().filter_map(|d| d.num_retries).max().map_or(self.num_retries, |n| n as usize);
        let left = fallback::MAX_ATTEMPTS.saturating_sub(*spent).max(1);
        if group.len() + retries > left {
            log::warn!("{model}: at most {left} more upstream attempts for this request (MAX_ATTEMPTS)");
        }
        let attempts = (group.len() + retries).min(left);
        let mut last = Err(Error::Internal("empty deployment group".into()));
        for i in 0..attempts {
            let d = order[i % order.len()];
            let final_try = i + 1 == attempts;
            if i > 0 && !self.retry_after.is_zero() {
                std::thread::sleep(self.retry_after);
            }
            *spent += 1;
            last = self.attempt(d, model, out, i + 1);
            // The request itself is at fault: no other deployment would take it either.
            if last.as_ref().is_err_and(|e| e.fault() == Fault::Client) {
                return last;
            }
            let outcome = match &last {
                Ok(a) if !(a.status == 429 || a.status >= 500) => "ok",
                Ok(_) if final_try => "http_error",
                Ok(a) => {
                    log::warn!("{}: upstream answered {}, trying the next deployment", d.label(), a.status);
                    "retried"
                }
                Err(e) => {
                    if !final_try {
                        log::warn!("{}: {e}, trying the next deployment", d.label());
                    }
                    "failed"
                }
            };
            metrics.attempt(d.label(), outcome);
            if self.balance.record(d, outcome == "ok") {
                log::warn!("{}: failed repeatedly, tried last for a while", d.label());
                metrics.cooldown(d.label());
            }
            if matches!(outcome, "ok" | "http_error") {
                return last;
            }
            // A dump shows why an attempt was given up: read its error body when it is small and
            // announced (then it has arrived with the head, so failover does not wait for it).
            if let (Some(_), Ok(a)) = (out.dump, last.as_mut()) {
                if a.length.is_some_and(|n| n <= RETRIED_BODY_DUMPED) {
                    // Into the heap: `io::copy`'s 8 KiB stack buffer would deepen every worker's stack.
                    let _ = a.body.by_ref().take(RETRIED_BODY_DUMPED).read_to_end(&mut Vec::new());
                }
            }
        }
        last
    }

    /// Sends to the model's group; when the answer is a failure one of LiteLLM's fallback lists
    /// covers, to those groups in turn; when an upstream refuses a parameter by name and the
    /// deployment has `drop_params`, again without it. Also says which fallback group answered.
    pub fn call(
        &self,
        cfg: &Config,
        model: &str,
        out: &Outgoing,
        dropped: &RefCell<Vec<String>>,
        metrics: &Metrics,
    ) -> (Result<Answer, Error>, Option<String>) {
        let router = &cfg.router;
        let first = route::alias(model, router);
        let mut tried = vec![first.to_string()];
        let mut spent = 0;
        loop {
            let name = tried.last().cloned().unwrap_or_default();
            let fell_back = (tried.len() > 1).then(|| name.clone());
            let group = match route::group(&name, cfg) {
                Ok(g) => g,
                Err(e) => return (Err(e), fell_back),
            };
            let mut answer = self.send(&name, &group, out, metrics, &mut spent);
            let drop = group.iter().any(|d| d.drop_refused_params) && dropped.borrow().len() < fallback::MAX_DROPPED;
            let failure = match &mut answer {
                Ok(a) => fallback::by_status(Ok(a.status)).or_else(|| classify_body(a, drop)),
                Err(e) => fallback::by_status(Err(e.fault())),
            };
            match failure {
                None => return (answer, fell_back),
                Some(f) if spent >= fallback::MAX_ATTEMPTS => {
                    log::warn!(
                        "{name}: {} failure after {spent} upstream attempts, the most for one request: passing it on",
                        f.name()
                    );
                    return (answer, fell_back);
                }
                Some(Failure::RefusedParam(p)) if !dropped.borrow().contains(&p) => {
                    log::info!(
                        "{name}: the upstream refused the parameter `{p}`; sending again without it (drop_params)"
                    );
                    dropped.borrow_mut().push(p);
                }
                Some(f) => match fallback::next(router, first, &f, &tried, &cfg.deployments) {
                    Some((list, next)) => {
                        log::warn!("{name}: {} failure, falling back to `{next}`", f.name());
                        metrics.fallback(list, next, f.name());
                        tried.push(next.to_string());
                    }
                    None => return (answer, fell_back),
                },
            }
        }
    }

    /// One call to one deployment (attempt `n` of the request), recorded in the dump if any.
    fn attempt(&self, d: &Deployment, model: &str, out: &Outgoing, n: usize) -> Result<Answer, Error> {
        if let Some(why) = &d.broken {
            return Err(Error::UpstreamUnreachable(format!("{}: {why} (check the config)", d.label())));
        }
        let prepared = (out.prepare)(d, model)?;
        let url = route::upstream_url(d, &prepared.path, &prepared.model)?;
        let method = out.rq.method().as_str();
        let mut rq = http::Request::builder().method(method).uri(&url);
        let wire = Dialect::of(d.provider);
        for h in out.rq.headers() {
            let name = h.field.as_str().as_str();
            if forwarded(name, out.rq.headers(), out.client, wire) {
                rq = rq.header(name, h.value.as_str());
            }
        }
        let rq = rq.body(&*prepared.body).map_err(|e| Error::BadRequest(format!("cannot forward request: {e}")))?;
        let rq = with_deployment_headers(rq, d);
        let head: usize = rq.headers().iter().map(|(k, v)| k.as_str().len() + v.len() + 4).sum();
        if head + url.len() + 64 > OUTPUT_BUFFER {
            return Err(Error::HeadersTooLarge);
        }
        let t = if out.stream { d.stream_timeouts } else { d.timeouts };
        let rq = self.timed(rq, t);
        if let Some(dump) = out.dump {
            let url = crate::dump::redact_url(&url, None);
            let headers = rq.headers().iter().map(|(k, v)| (k.as_str(), v.to_str().unwrap_or("<binary>")));
            dump.request(Leg::Upstream, Some(n), method, &url, headers);
            dump.chunk(Leg::Upstream, Direction::Request, Some(n), &prepared.body);
        }
        let started = Instant::now();
        let agent = if d.tls_verify { &self.agent } else { self.insecure.as_ref().unwrap_or(&self.agent) };
        let resp = agent.run(rq).inspect_err(|e| {
            self.dns.clear();
            if let Some(dump) = out.dump {
                dump.error(Leg::Upstream, Direction::Response, Some(n), e.to_string());
            }
        })?;
        let status = resp.status().as_u16();
        if !matches!(status, 200..=299 | 400..=599) {
            // 1xx, 3xx (redirects are not followed) and unknown codes mean nothing to a client.
            let e = Error::UpstreamInvalid(format!("the upstream answered with HTTP status {status}"));
            if let Some(dump) = out.dump {
                dump.error(Leg::Upstream, Direction::Response, Some(n), e.to_string());
            }
            return Err(e);
        }
        if status < 300 {
            self.balance.answered(d, started.elapsed());
        }
        let mut length = resp.body().content_length();
        // A header may echo a secret too (`WWW-Authenticate: Bearer sk-…`), whatever the status.
        let mut headers: Vec<(String, String)> = resp
            .headers()
            .iter()
            .filter(|(k, _)| !HOP_BY_HOP.contains(&k.as_str()))
            .filter_map(|(k, v)| Some((k.as_str().to_string(), d.secrets.mask_header(v.to_str().ok()?).into_owned())))
            .collect();
        let mut body = crate::scrub::body(resp.into_body().into_reader(), status, wire, &d.secrets);
        if let Some(replaced) = crate::scrub::compressed_error(status, wire, &mut headers) {
            length = Some(replaced.len() as u64);
            body = Box::new(std::io::Cursor::new(replaced));
        }
        let body: Box<dyn Read + Send> = match out.dump {
            Some(dump) => {
                dump.response(Leg::Upstream, Some(n), status, headers.iter().map(|(k, v)| (k.as_str(), v.as_str())));
                Box::new(Tee { inner: body, dump: dump.clone(), attempt: n })
            }
            None => body,
        };
        let body = self.balance.in_flight(d, body);
        Ok(Answer { status, headers, body, deployment: d.index, wire, attempts: n, length })
    }

    /// The items of a deployment's own model list (`data` of `GET /models`), for glob entries.
    pub fn model_list(&self, d: &Deployment, timeout: Duration) -> Result<Vec<Listed>, Error> {
        let rq = http::Request::builder().method("GET").uri(route::upstream_url(d, "/models", "")?);
        let rq = rq.body(()).map_err(|e| Error::Internal(e.to_string()))?;
        let rq = with_deployment_headers(rq, d);
        let t = Timeouts { connect: d.timeouts.connect.min(timeout), response_header: timeout, idle: timeout };
        let agent = if d.tls_verify { &self.agent } else { self.insecure.as_ref().unwrap_or(&self.agent) };
        let resp = agent.run(self.timed(rq, t))?;
        if resp.status() != 200 {
            return Err(Error::UpstreamInvalid(format!("model list answered {}", resp.status())));
        }
        let bytes = resp.into_body().with_config().limit(8 << 20).read_to_vec()?;
        let list = serde_json::from_slice::<Listing>(&bytes).map_err(|e| {
            Error::UpstreamInvalid(format!("model list is not an object with a `data` array of models: {e}"))
        })?;
        Ok(list.data)
    }

    /// The model lists of every glob entry (fetched in parallel, each within `timeout`); a
    /// failed fetch is logged and left out, so the merged list is partial rather than an error.
    pub fn model_lists(&self, deployments: &[Deployment], timeout: Duration) -> Vec<(usize, Vec<Listed>)> {
        let globs = deployments.iter().filter(|d| d.is_glob() && d.mock_response.is_none());
        std::thread::scope(|s| {
            let jobs: Vec<_> = globs.map(|d| (d, s.spawn(move || self.model_list(d, timeout)))).collect();
            jobs.into_iter()
                .filter_map(|(d, job)| match job.join() {
                    Ok(Ok(items)) => Some((d.index, items)),
                    Ok(Err(e)) => {
                        log::warn!("{}: model list skipped: {e}", d.label());
                        None
                    }
                    Err(_) => None,
                })
                .collect()
        })
    }

    /// Applies the named timeouts to one request. No total budget: streams may run as long as
    /// they keep sending.
    fn timed<B: ureq::AsSendBody>(&self, rq: http::Request<B>, t: Timeouts) -> http::Request<B> {
        self.agent
            .configure_request(rq)
            .timeout_connect(Some(t.connect))
            .timeout_recv_response(Some(t.response_header))
            .timeout_per_read(Some(t.idle))
            .timeout_per_write(Some(t.idle))
            .build()
    }
}

/// Reads the start of an error answer to tell what failed, then puts it back in front of the
/// rest of the body, so the client still gets the whole answer if no fallback takes over. Only
/// these statuses may be a failure that only the body tells apart.
fn classify_body(a: &mut Answer, drop: bool) -> Option<Failure> {
    if !matches!(a.status, 400 | 413 | 422) {
        return None;
    }
    let mut head = Vec::new();
    let _ = a.body.by_ref().take(fallback::CLASSIFY_BYTES).read_to_end(&mut head);
    let failure = fallback::by_body(&head, drop);
    let rest = std::mem::replace(&mut a.body, Box::new(std::io::empty()));
    a.body = Box::new(std::io::Cursor::new(head).chain(rest));
    failure
}

/// Whether a `client`-dialect client's header goes to an upstream of dialect `wire`: the one rule
/// for every request the proxy sends. Not on the deny-list, not named by `Connection`, and meant
/// for that upstream's dialect:
/// - `anthropic-*` (`anthropic-version`, `anthropic-beta`, …) only to Anthropic upstreams;
/// - `openai-*` (e.g. `openai-beta`) only to OpenAI-dialect upstreams (the credential-scoping
///   `openai-organization` and `openai-project` to none: they are on the deny-list);
/// - `x-stainless-*` only when the client speaks the upstream's own dialect. They are the
///   telemetry of the Stainless-generated SDKs (the openai and anthropic SDKs both send them:
///   language, OS, package version, retry count, timeout) and describe that SDK's calls to its
///   own API; an OpenAI upstream has no use for the anthropic SDK's, nor Anthropic for openai's.
fn forwarded(name: &str, all: &[tiny_http::Header], client: Dialect, wire: Dialect) -> bool {
    let lower = name.to_ascii_lowercase();
    if HOP_BY_HOP.contains(&lower.as_str()) || DROP_REQUEST_HEADERS.contains(&lower.as_str()) {
        return false;
    }
    let family = |d: Dialect| if d == Dialect::Anthropic { Dialect::Anthropic } else { Dialect::OpenAi };
    let meant = if lower.starts_with("anthropic-") {
        wire == Dialect::Anthropic
    } else if lower.starts_with("openai-") {
        family(wire) == Dialect::OpenAi
    } else if lower.starts_with("x-stainless-") {
        family(client) == family(wire) && client != Dialect::Ollama
    } else {
        true
    };
    if !meant {
        return false;
    }
    !all.iter().any(|h| {
        h.field.equiv("connection") && h.value.as_str().split(',').any(|t| t.trim().eq_ignore_ascii_case(&lower))
    })
}

/// Adds what the deployment itself sends: its credential in the header its provider expects,
/// the provider's defaults, and `extra_headers` (which win over everything).
fn with_deployment_headers<B>(mut rq: http::Request<B>, d: &Deployment) -> http::Request<B> {
    let mut set: Vec<(&str, String, bool)> = Vec::new();
    if let Some(k) = d.api_key.as_ref().map(|k| k.expose()) {
        match d.family.auth {
            Auth::Bearer => set.push(("authorization", format!("Bearer {k}"), true)),
            Auth::ApiKey => set.push(("api-key", k.to_string(), true)),
            Auth::XApiKey => set.push(("x-api-key", k.to_string(), true)),
            Auth::BearerAndXApiKey => {
                set.push(("authorization", format!("Bearer {k}"), true));
                set.push(("x-api-key", k.to_string(), true));
            }
        }
    }
    if d.provider != Provider::OpenAi {
        set.push(("anthropic-version", ANTHROPIC_VERSION.into(), false));
    }
    if d.provider == Provider::OpenAi2ClaudeCode {
        set.extend(CLAUDE_CODE_HEADERS.iter().map(|(k, v, replace)| (*k, v.to_string(), *replace)));
    }
    set.extend(d.extra_headers.iter().map(|(k, v)| (k.as_str(), v.clone(), true)));
    let headers = rq.headers_mut();
    for (k, v, replace) in set {
        // Names and values were validated at startup or are constants, so both parse.
        if let (Ok(k), Ok(v)) = (http::HeaderName::from_bytes(k.as_bytes()), http::HeaderValue::from_str(&v)) {
            if replace || !headers.contains_key(&k) {
                headers.insert(k, v);
            }
        }
    }
    rq
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_and_credentials_are_not_forwarded() {
        let hs: Vec<tiny_http::Header> = ["Connection: keep-alive, X-Secret-Hop", "X-Secret-Hop: 1", "Content-Type: x"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        let f = |name: &str| forwarded(name, &hs, Dialect::OpenAi, Dialect::OpenAi);
        for dropped in ["Authorization", "X-API-Key", "Transfer-Encoding", "x-secret-hop"] {
            assert!(!f(dropped), "{dropped}");
        }
        assert!(f("Content-Type"));
        assert!(!f("OpenAI-Organization") && !f("openai-project"), "credential scoping never travels");
    }

    #[test]
    fn dialect_headers_go_only_to_their_dialects_upstreams() {
        let hs: Vec<tiny_http::Header> = Vec::new();
        let (o, a, r, l) = (Dialect::OpenAi, Dialect::Anthropic, Dialect::Responses, Dialect::Ollama);
        let f = |name: &str, client, wire| forwarded(name, &hs, client, wire);
        assert!(f("anthropic-beta", a, a) && f("anthropic-version", o, a));
        assert!(!f("anthropic-beta", a, o) && !f("Anthropic-Version", a, o));
        assert!(f("OpenAI-Beta", o, o) && f("openai-beta", r, o) && !f("openai-beta", o, a));
        assert!(f("x-stainless-lang", o, o) && f("x-stainless-lang", r, o) && f("x-stainless-os", a, a));
        assert!(!f("x-stainless-lang", a, o) && !f("X-Stainless-Retry-Count", o, a) && !f("x-stainless-lang", l, o));
        assert!(f("user-agent", a, o) && f("x-request-id", o, a));
    }
}
