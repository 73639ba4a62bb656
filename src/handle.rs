//! The request path, top to bottom: check the head → route the path → authenticate → read the
//! body → resolve the model → prepare each deployment's body (as is, or translated) → call
//! upstream with failover → turn the answer into the client's dialect → send → log. This is the
//! only file that knows the order of the stages; the stages never call one another.

use crate::config::{Config, Deployment, Provider};
use crate::conversations;
use crate::dialect::Dialect;
use crate::dump::{self, Direction, Dump, Dumper, Leg};
use crate::emulate::{self, models, ollama};
use crate::error::{Error, Fault};
use crate::lanes::After;
use crate::metrics::{self, printable, Metrics};
use crate::repair::{self, Repair};
use crate::respond::{self, Reply};
use crate::route::{self, Mount, Route};
use crate::translate::responses::{self, OnComplete};
use crate::translate::{self, normalize, Pipeline, Target, Transform, MINTED_SIGNATURE};
use crate::upstream::{Answer, Outgoing, Prepared, Upstream};
use crate::{admit, auth, sse};
use serde_json::{json, Value};
use std::borrow::Cow;
use std::cell::RefCell;
use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::Instant;

mod forward;
mod ollama_api;
mod responses_api;

/// The longest model name, path or method an access log line shows (in characters).
const LONGEST_LOGGED: usize = 256;

/// Largest complete upstream answer read into memory for translation.
const MAX_TRANSLATED_BODY: u64 = 64 << 20;

/// State shared read-only by every worker (plus the model-list cache).
pub struct Shared {
    /// The validated configuration.
    pub cfg: Config,
    /// The upstream connection pool.
    pub upstream: Upstream,
    /// The merged model list and when it was built.
    models: Mutex<Option<(Instant, Arc<Vec<models::Entry>>)>>,
    /// Held by the one caller refreshing the model list (50 callers made 50 refreshes of every
    /// entry's upstream list at once).
    refreshing: Mutex<()>,
    /// Start time in Unix seconds: the `created` of configured model names.
    started_unix: u64,
    /// What `/metrics` reports (kept across reloads).
    pub metrics: Arc<Metrics>,
    /// The dump writer, when `DUMP_HTTP_CONTENT` is on.
    pub dumps: Option<Arc<Dumper>>,
}

impl Shared {
    /// Bundles the config with its upstream pool.
    pub fn new(cfg: Config, upstream: Upstream, metrics: Arc<Metrics>, dumps: Option<Arc<Dumper>>) -> Shared {
        Shared {
            cfg,
            upstream,
            models: Mutex::new(None),
            refreshing: Mutex::new(()),
            started_unix: crate::clock::unix_now(),
            metrics,
            dumps,
        }
    }
}

/// What the pipeline learns on the way, for the error reply and the access line.
struct Facts {
    started: Instant,
    route: &'static str,
    dialect: Dialect,
    model: Option<String>,
    /// The deployment that answered and after how many attempts.
    upstream: Option<(usize, usize)>,
    /// The fallback model group that served the request, when the first one failed.
    fallback: Option<String>,
    /// This request's dump, when dumps are on.
    dump: Option<Dump>,
    /// The head was framed so that the bytes after it cannot be trusted: nothing more is served
    /// on this connection.
    close: bool,
    /// The request body was read to its end.
    body_read: bool,
}

impl Facts {
    fn elapsed_ns(&self) -> u64 {
        self.started.elapsed().as_nanos() as u64
    }
}

/// Serves one request completely, including its access log line; returns what became of its
/// connection.
pub fn handle(mut rq: tiny_http::Request, sh: &Shared) -> After {
    let started = Instant::now();
    let (method, path) = request_line(&rq, &sh.cfg);
    let mut facts = Facts {
        started,
        route: "not_found",
        dialect: Dialect::OpenAi,
        model: None,
        upstream: None,
        fallback: None,
        dump: None,
        close: false,
        body_read: false,
    };
    sh.metrics.begin();
    let reply = pipeline(&mut rq, sh, &mut facts).unwrap_or_else(|e| Reply::Error(e, facts.dialect));
    let fault = if let Reply::Error(e, _) = &reply { Some(e.fault()) } else { None };
    // A chunked body left unread would be parsed as the next request.
    let close = facts.close || (admit::chunked(rq.headers()) && !facts.body_read);
    let out = respond::send(rq, reply, started, facts.dump.as_ref(), close);
    sh.metrics.end(facts.route, facts.dialect.name(), out.status, started.elapsed(), out.ttfb);
    if let Some(tokens) = out.tokens {
        // Labelled by the configured name that served it (a glob for names it matched): the
        // names clients send would each be a label for good.
        let entry = facts.upstream.map(|(d, _)| sh.cfg.deployments[d].model_name.as_str());
        sh.metrics.tokens(entry.unwrap_or(metrics::OTHER_MODEL), tokens);
    }
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
    // Health checks (the watchdog's, a load balancer's) would drown the log; our own failures
    // and an upstream's are worth more attention than a client's mistakes.
    let level = match fault {
        Some(Fault::Proxy) => log::Level::Error,
        Some(Fault::Upstream) => log::Level::Warn,
        _ if path == "/health" || path == "/" => log::Level::Debug,
        _ => log::Level::Info,
    };
    log::log!(
        level,
        "{method} {path} {} model={}{}{} bytes={} ttfb={} total={:.1}ms{}{}",
        out.status,
        facts.model.as_deref().map_or("-".into(), |m| printable(m, LONGEST_LOGGED)),
        facts
            .upstream
            .map_or(String::new(), |(d, n)| format!(" deployment={} attempts={n}", sh.cfg.deployments[d].label())),
        facts.fallback.as_deref().map_or(String::new(), |f| format!(" fallback={f}")),
        out.bytes,
        out.ttfb.map_or("-".into(), |t| format!("{:.1}ms", ms(t))),
        ms(started.elapsed()),
        out.error.as_ref().map_or(String::new(), |e| format!(" error={e}")),
        facts.dump.as_ref().map_or(String::new(), |d| format!(" dump={}", printable(d.path(), 4 * LONGEST_LOGGED))),
    );
    after(close, &out)
}

/// What became of a connection after this answer: closed by us, gone, or kept.
fn after(close: bool, out: &respond::Outcome) -> After {
    match (close, out.broken) {
        (true, _) => After::Close,
        (false, true) => After::Gone,
        (false, false) => After::Keep,
    }
}

/// Answers a request with an error without running the pipeline (e.g. when overloaded); returns
/// what became of its connection.
pub fn reject(rq: tiny_http::Request, e: Error, sh: &Shared) -> After {
    let (method, path) = request_line(&rq, &sh.cfg);
    let (route, mount) = route::classify(rq.method(), rq.url(), sh.cfg.path_prefix.as_deref(), &sh.cfg.ollama_secret);
    let dialect = client_dialect(&route, mount, rq.headers());
    let started = Instant::now();
    sh.metrics.begin();
    let close = admit::chunked(rq.headers());
    let out = respond::send(rq, Reply::Error(e, dialect), started, None, close);
    sh.metrics.end(route.name(), dialect.name(), out.status, started.elapsed(), out.ttfb);
    log::warn!("{method} {path} {} error={}", out.status, out.error.clone().unwrap_or_default());
    after(close, &out)
}

/// Opens this request's dump and records its head (credentials redacted).
fn begin_dump(rq: &tiny_http::Request, sh: &Shared) -> Option<Dump> {
    let secret = sh.cfg.ollama_secret_explicit.then_some(sh.cfg.ollama_secret.as_str());
    let url = dump::redact_url(rq.url(), secret);
    let d = sh.dumps.as_ref()?.begin(&url)?;
    let headers = rq.headers().iter().map(|h| (h.field.as_str().as_str(), h.value.as_str()));
    d.request(Leg::Client, None, rq.method().as_str(), &url, headers);
    Some(d)
}

/// Method and path for the access log, without the query (it may carry secrets), with an
/// explicit Ollama secret (a credential) masked, control characters escaped and cut short.
fn request_line(rq: &tiny_http::Request, cfg: &Config) -> (String, String) {
    let path = rq.url().split('?').next().unwrap_or("");
    let secret = format!("/{}", cfg.ollama_secret);
    let path =
        if cfg.ollama_secret_explicit { path.replacen(&secret, "/<LOCAL_OLLAMA_SECRET>", 1) } else { path.to_string() };
    (printable(rq.method().as_str(), LONGEST_LOGGED).into_owned(), printable(&path, LONGEST_LOGGED).into_owned())
}

/// The stages in order; any error short-circuits to an error reply in the client's dialect.
fn pipeline(rq: &mut tiny_http::Request, sh: &Shared, facts: &mut Facts) -> Result<Reply, Error> {
    let cfg = &sh.cfg;
    let (route, mount) = route::classify(rq.method(), rq.url(), cfg.path_prefix.as_deref(), &cfg.ollama_secret);
    facts.dialect = client_dialect(&route, mount, rq.headers());
    facts.route = route.name();
    if let Err(e) = admit::check_head(rq, cfg) {
        // A head too large was still parsed whole; a 400 here is about framing.
        facts.close = matches!(e, Error::BadRequest(_));
        return Err(e);
    }
    match route {
        Route::Preflight => return Ok(preflight(rq)),
        Route::Health => return Ok(json(200, &json!({"status": "ok"}))),
        _ => {}
    }
    let dumps = matches!(route, Route::Dumps(_));
    if cfg.tokens.is_empty() {
        admit::local_origin(rq.headers(), cfg.listen.ip().is_loopback(), dumps)?;
    }
    // An explicitly set Ollama secret is itself the credential: Copilot cannot send a key.
    if !(mount == Mount::Ollama && cfg.ollama_secret_explicit) {
        match auth::check(rq.headers(), &cfg.tokens, dumps) {
            Ok(()) => {}
            // The viewer is opened in a browser, which asks for the token as a Basic password.
            Err(e) if dumps => {
                let extra = vec![("WWW-Authenticate".into(), "Basic realm=\"gpt-reverse-proxy dumps\"".into())];
                let body = b"The dump viewer needs the proxy's token as the password.".to_vec();
                return Ok(Reply::Full { status: e.status(), content_type: "text/plain", body, extra });
            }
            Err(e) => return Err(e),
        }
    }
    if admit::acts(&route) {
        admit::same_site_or_json(rq.headers())?;
    }
    // Only authenticated requests are dumped: nobody else may fill the disk.
    if !dumps && !matches!(route, Route::Metrics | Route::NotFound | Route::MethodNotAllowed) {
        facts.dump = begin_dump(rq, sh);
    }
    match route {
        Route::OllamaRoot => {
            let body = ollama::RUNNING.as_bytes().to_vec();
            Ok(Reply::Full { status: 200, content_type: "text/plain; charset=utf-8", body, extra: Vec::new() })
        }
        Route::OllamaVersion => Ok(json(200, &ollama::version())),
        Route::Dumps(rest) => match &sh.dumps {
            Some(d) => {
                let (content_type, body) = dump::viewer::serve(&d.root, &rest)?;
                let extra = dump::viewer::HEADERS.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
                Ok(Reply::Full { status: 200, content_type, body, extra })
            }
            None => Err(Error::NotFound),
        },
        Route::Metrics => {
            let body = sh.metrics.render().into_bytes();
            Ok(Reply::Full { status: 200, content_type: "text/plain; version=0.0.4", body, extra: Vec::new() })
        }
        Route::OllamaTags => Ok(json(200, &models::list(&model_list(sh), Dialect::Ollama))),
        Route::OllamaShow => ollama_api::show(rq, sh, facts),
        Route::OllamaPs => Ok(json(200, &ollama_api::ps(sh))),
        Route::OllamaGenerate => ollama_api::generate(rq, sh, facts),
        Route::OllamaEmbed => ollama_api::embed(rq, sh, facts, false),
        Route::OllamaEmbeddings => ollama_api::embed(rq, sh, facts, true),
        Route::Models => Ok(json(200, &models::list(&model_list(sh), facts.dialect))),
        Route::Model(id) => match model_list(sh).iter().find(|e| e.id == id) {
            Some(e) => Ok(json(200, &models::one(e, facts.dialect))),
            None => Err(Error::UnknownModel(id)),
        },
        Route::ChatCompletions | Route::Messages | Route::Responses | Route::OllamaChat => chat(rq, sh, facts),
        Route::CountTokens => forward::count_tokens(rq, sh, facts),
        Route::OpenAiPassthrough(path) => forward::passthrough(rq, sh, facts, &path),
        Route::MethodNotAllowed => Err(Error::MethodNotAllowed),
        Route::NotFound | Route::Preflight | Route::Health => Err(Error::NotFound),
    }
}

/// Anthropic for the Messages routes, and for model lists asked with `anthropic-version`; under
/// the Ollama mount, OpenAI for its OpenAI routes and Ollama for all else (its own routes are
/// only there).
fn client_dialect(route: &Route, mount: Mount, headers: &[tiny_http::Header]) -> Dialect {
    let anthropic_header = headers.iter().any(|h| h.field.equiv("anthropic-version"));
    match route {
        Route::Messages | Route::CountTokens => Dialect::Anthropic,
        Route::Responses => Dialect::Responses,
        Route::Models | Route::Model(_) if anthropic_header => Dialect::Anthropic,
        Route::ChatCompletions | Route::Models | Route::Model(_) => Dialect::OpenAi,
        _ if mount == Mount::Ollama => Dialect::Ollama,
        _ => Dialect::OpenAi,
    }
}

/// Reads the body, refusing more than `max` bytes; the dump gets it as read.
fn read_body(rq: &mut tiny_http::Request, max: usize, facts: &mut Facts) -> Result<Vec<u8>, Error> {
    if rq.body_length().is_some_and(|n| n > max) {
        return Err(Error::BodyTooLarge(max));
    }
    let mut body = Vec::with_capacity(rq.body_length().unwrap_or(0));
    rq.as_reader().take(max as u64 + 1).read_to_end(&mut body).map_err(|e| {
        // Where the body stopped is unknown (a read timeout, a broken chunk): serve nothing after.
        facts.close = true;
        Error::BadRequest(format!("Could not read the request body: {e}"))
    })?;
    if body.len() > max {
        return Err(Error::BodyTooLarge(max));
    }
    facts.body_read = true;
    if let Some(d) = &facts.dump {
        d.chunk(Leg::Client, Direction::Request, None, &body);
    }
    Ok(body)
}

/// A JSON request body with a `model`: the bytes, the parsed object and the model name.
struct ModelRequest {
    raw: Vec<u8>,
    json: Value,
    model: String,
    /// Responses-style `custom` tools the request declared (their calls return as raw text).
    custom_tools: Vec<String>,
    /// The client asked for a stream (Ollama streams unless told not to; the others only when asked).
    stream: bool,
    /// An OpenAI client asked for a usage chunk at the end of its stream.
    include_usage: bool,
    /// A Responses request's turn (its answer's id and the conversation so far).
    turn: Option<responses_api::Turn>,
}

impl ModelRequest {
    /// The request facts read once from a parsed body in the `client` dialect.
    fn new(raw: Vec<u8>, json: Value, model: String, client: Dialect) -> ModelRequest {
        let stream = json.get("stream").and_then(Value::as_bool).unwrap_or(client == Dialect::Ollama);
        let include_usage = json.pointer("/stream_options/include_usage").and_then(Value::as_bool) == Some(true);
        ModelRequest { raw, json, model, custom_tools: Vec::new(), stream, include_usage, turn: None }
    }
}

/// Reads and parses a body that must be a JSON object naming a model.
fn read_model_request(rq: &mut tiny_http::Request, sh: &Shared, facts: &mut Facts) -> Result<ModelRequest, Error> {
    let raw = read_body(rq, sh.cfg.settings.max_body_bytes, facts)?;
    let json: Value = serde_json::from_slice(&raw)
        .ok()
        .filter(Value::is_object)
        .ok_or_else(|| Error::BadRequest("The request body must be a JSON object".into()))?;
    let model = json
        .get("model")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::BadRequest("The request body has no `model` string".into()))?
        .to_string();
    facts.model = Some(model.clone());
    Ok(ModelRequest::new(raw, json, model, facts.dialect))
}

/// Per deployment: the path for its dialect, and the client's bytes untouched when nothing
/// needs to change, otherwise the translated (or re-modelled) body.
fn preparer<'a>(
    client: Dialect,
    req: &'a ModelRequest,
    paths: [&'a str; 2],
    cfg: &'a Config,
    dropped: &'a RefCell<Vec<String>>,
) -> impl Fn(&Deployment, &str) -> Result<Prepared<'a>, Error> + 'a {
    // Signatures this proxy minted must never reach Anthropic; searching bytes is cheap.
    let minted = req.raw.windows(MINTED_SIGNATURE.len()).any(|w| w == MINTED_SIGNATURE.as_bytes());
    move |d: &Deployment, group_model: &str| {
        let wire = wire_for(client, d);
        let path = match wire {
            Dialect::OpenAi => paths[0],
            Dialect::Responses => "/responses",
            _ => paths[1],
        };
        let model = route::upstream_model(d, group_model);
        let dropped = dropped.borrow();
        let target = Target {
            model,
            info: &d.info,
            claude_code: d.provider == Provider::OpenAi2ClaudeCode,
            max_completion_tokens: cfg.wants_completion_tokens(d, model),
            default_params: &d.default_params,
            force_params: &d.force_params,
            drop_params: [&d.drop_params, &dropped],
        };
        // A Responses body goes to a Responses upstream as it is (the parameters a deployment
        // sets are in Chat Completions' names).
        let untouched = wire == client
            && target.model == req.model
            && (wire == Dialect::Responses || !target.rewrites(&req.json, wire))
            && !(minted && wire == Dialect::Anthropic);
        let body = match untouched {
            true => Cow::Borrowed(&req.raw[..]),
            false => Cow::Owned(translate::request(client, wire, &req.json, &target).to_string().into_bytes()),
        };
        Ok(Prepared { model: model.to_string(), path: path.into(), body })
    }
}

/// Chat in either dialect, to any deployment: answered by a mock, passed through, or translated.
fn chat(rq: &mut tiny_http::Request, sh: &Shared, facts: &mut Facts) -> Result<Reply, Error> {
    let req = read_model_request(rq, sh, facts)?;
    chat_request(rq, sh, facts, req)
}

/// [`chat`] for a request already read (and perhaps reshaped, as `/api/generate`'s is).
fn chat_request(
    rq: &tiny_http::Request,
    sh: &Shared,
    facts: &mut Facts,
    mut req: ModelRequest,
) -> Result<Reply, Error> {
    let client = facts.dialect;
    let group = route::group(&req.model, &sh.cfg)?;
    if client == Dialect::Responses {
        req.turn = Some(responses_api::turn(&mut req, &group)?);
    }
    if client == Dialect::OpenAi {
        // Whatever sent it, an OpenAI upstream gets a standard body; untouched bytes if it was one.
        let mut n = normalize::chat(&mut req.json);
        // Reasoning replayed as `<think>` text (Cursor's history) never goes back upstream,
        // whichever deployment made it and whether or not this one rewrites into tags.
        n.changed |= normalize::strip_think_tags(&mut req.json);
        if n.changed {
            req.raw = req.json.to_string().into_bytes();
        }
        req.custom_tools = n.custom_tools;
    }
    if client == Dialect::Ollama {
        // Always translated for the upstream, so the parsed body alone changes.
        normalize::strip_think_tags(&mut req.json);
    }
    if let Some(text) = &group[0].mock_response {
        let usage = client != Dialect::OpenAi || req.include_usage;
        let (content_type, body) = emulate::mock::chat(text, &req.model, req.raw.len(), req.stream, usage);
        // The mock speaks OpenAI; its answer travels back like an OpenAI upstream's.
        let answer = Answer {
            status: 200,
            headers: vec![("content-type".into(), content_type.into())],
            length: Some(body.len() as u64),
            body: Box::new(std::io::Cursor::new(body)),
            deployment: group[0].index,
            wire: Dialect::OpenAi,
            attempts: 0,
        };
        return answer_reply(answer, &req, sh, facts);
    }
    let dropped = RefCell::new(Vec::new());
    let prepare = preparer(client, &req, ["/chat/completions", "/messages"], &sh.cfg, &dropped);
    let out = Outgoing { rq, client, stream: req.stream, prepare: &prepare, dump: facts.dump.as_ref() };
    let (answer, fell_back) = sh.upstream.call(&sh.cfg, &req.model, &out, &dropped, &sh.metrics);
    facts.fallback = fell_back;
    let mut answer = answer?;
    answer.wire = wire_for(client, &sh.cfg.deployments[answer.deployment]);
    answer_reply(answer, &req, sh, facts)
}

/// Turns an upstream answer into the client's dialect, its shape decided once: a stream goes
/// event by event through translation and repair; a whole answer that needs nothing passes as
/// its bytes; any other is read whole, translated and repaired (and shown as a stream when the
/// client asked for one and the upstream answered whole).
fn answer_reply(answer: Answer, req: &ModelRequest, sh: &Shared, facts: &mut Facts) -> Result<Reply, Error> {
    let client = facts.dialect;
    let d = &sh.cfg.deployments[answer.deployment];
    facts.upstream = Some((answer.deployment, answer.attempts));
    let ok = (200..300).contains(&answer.status);
    // Every Chat Completions answer leaving the proxy is repaired (and rewritten where opted in).
    let repair = (client == Dialect::OpenAi && ok).then(|| repair::Options {
        drop_null_finish_reason: d.rewrites.drop_null_finish_reason,
        think_tags: d.rewrites.reasoning_as_think_tags,
        custom_tools: req.custom_tools.clone(),
    });
    let sse = answer.headers.iter().any(|(k, v)| k == "content-type" && sse::is_media_type(v, "text/event-stream"));
    if ok && sse {
        let mut stages = match &req.turn {
            Some(t) => responses::stages(answer.wire, t.ctx.clone(), responses_api::keeper(t)),
            None => translate::stream(client, answer.wire, &req.model, &req.json),
        };
        stages.extend(repair.map(|o| Box::new(Repair::new(o)) as Box<dyn Transform>));
        // A stream with nothing to change keeps the byte path: no parsing, no copies.
        return Ok(match stages.is_empty() {
            true => Reply::Bytes { answer, dialect: client },
            false => Reply::Events { answer, pipeline: Pipeline::new(stages, client) },
        });
    }
    let as_stream = ok && req.stream;
    let rewrites = repair.as_ref().is_some_and(|o| o.think_tags || !o.custom_tools.is_empty());
    if answer.wire == client && !as_stream && !rewrites {
        return Ok(Reply::Bytes { answer, dialect: client });
    }
    let (status, wire) = (answer.status, answer.wire);
    let retry_after = answer.headers.iter().filter(|(k, _)| k == "retry-after").take(1).cloned().collect();
    let mut raw = Vec::new();
    answer.body.take(MAX_TRANSLATED_BODY).read_to_end(&mut raw).map_err(Error::from_upstream_read)?;
    if !ok {
        let body = translate::error(client, status, &raw, d.info.max_input_tokens);
        return Ok(Reply::Full { status, content_type: "application/json", body, extra: retry_after });
    }
    if let Some(t) = &req.turn {
        return responses_api::whole(wire, &raw, t, as_stream);
    }
    // Parsed once, serialised once (and not at all when nothing changed).
    let (mut v, translated) = translate::response_value(client, wire, &raw, &req.model, facts.elapsed_ns(), &req.json)?;
    let events = as_stream.then(|| translate::value_as_events(client, &v, req.include_usage)).flatten();
    if let Some(events) = events {
        let stages = repair.map(|o| Box::new(Repair::new(o)) as Box<dyn Transform>).into_iter().collect();
        let framing = client.framing();
        let mut bytes = Vec::new();
        Pipeline::new(stages, client).run_whole(events).iter().for_each(|ev| framing.write(ev, &mut bytes));
        return Ok(Reply::Full { status, content_type: framing.content_type(), body: bytes, extra: Vec::new() });
    }
    let repaired = repair.as_ref().is_some_and(|opts| repair::complete_value(&mut v, opts));
    let body = if translated || repaired { v.to_string().into_bytes() } else { raw };
    Ok(Reply::Full { status, content_type: "application/json", body, extra: Vec::new() })
}

/// The dialect a deployment is spoken to in for a `client`-dialect request: a Responses request
/// goes as it is to a deployment that serves the Responses API.
fn wire_for(client: Dialect, d: &Deployment) -> Dialect {
    match Dialect::of(d.provider) {
        Dialect::OpenAi if client == Dialect::Responses && d.responses_api && d.mock_response.is_none() => {
            Dialect::Responses
        }
        wire => wire,
    }
}

/// One group's deployments tried in turn for `model` (named by its alias's group), without the
/// fallbacks and resends of chat: the routes that forward a request as it is.
fn send_once(sh: &Shared, model: &str, group: &[&Deployment], out: &Outgoing) -> Result<Answer, Error> {
    sh.upstream.send(route::alias(model, &sh.cfg.router), group, out, &sh.metrics, &mut 0)
}

/// The merged model list, rebuilt at most once per `model_list_ttl`. Upstream lists are fetched
/// in parallel without holding the cache lock; failures are logged and leave the list partial.
fn model_list(sh: &Shared) -> Arc<Vec<models::Entry>> {
    let ttl = sh.cfg.settings.model_list_ttl;
    let cached = || sh.models.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let asked = Instant::now();
    if let Some((_, list)) = cached().filter(|(at, _)| at.elapsed() < ttl) {
        return list;
    }
    // One refresh at a time: a caller with a stale list to serve serves it; one without waits.
    let _refreshing = match sh.refreshing.try_lock() {
        Ok(g) => g,
        Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
        Err(std::sync::TryLockError::WouldBlock) => match cached() {
            Some((_, stale)) => return stale,
            None => sh.refreshing.lock().unwrap_or_else(|p| p.into_inner()),
        },
    };
    // The refresh this caller waited for (or one just before it) is as new as it asked for.
    if let Some((_, list)) = cached().filter(|(at, _)| at.elapsed() < ttl || *at >= asked) {
        return list;
    }
    let fetched = sh.upstream.model_lists(&sh.cfg.deployments, sh.cfg.settings.model_list_timeout);
    let mut list = models::merge(&sh.cfg.deployments, &fetched, sh.started_unix);
    list.extend(models::aliases(&list, &sh.cfg.router));
    let list = Arc::new(list);
    *sh.models.lock().unwrap_or_else(|p| p.into_inner()) = Some((Instant::now(), list.clone()));
    list
}

/// A JSON reply.
fn json(status: u16, v: &Value) -> Reply {
    Reply::Full { status, content_type: "application/json", body: v.to_string().into_bytes(), extra: Vec::new() }
}

/// The CORS preflight answer, allowing whatever headers the browser asked for.
fn preflight(rq: &tiny_http::Request) -> Reply {
    let asked = rq.headers().iter().find(|h| h.field.equiv("access-control-request-headers"));
    let allow_headers = asked.map_or("authorization, content-type, x-api-key, api-key".into(), |h| h.value.to_string());
    Reply::Preflight { allow_headers }
}
