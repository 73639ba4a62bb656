//! The request path, top to bottom: check the head → route the path → authenticate → read the
//! body → resolve the model → answer locally or call upstream → send → log. This is the only
//! file that knows the order of the stages; the stages never call one another.

use crate::config::{Config, Provider};
use crate::emulate::{self, models};
use crate::error::Error;
use crate::respond::{self, Reply};
use crate::route::{self, Route};
use crate::upstream::{Outgoing, Upstream};
use crate::{auth, config::Deployment};
use serde_json::Value;
use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// State shared read-only by every worker (plus the model-list cache).
pub struct Shared {
    /// The validated configuration.
    pub cfg: Config,
    /// The upstream connection pool.
    pub upstream: Upstream,
    /// The merged model list and when it was built.
    models: Mutex<Option<(Instant, Arc<Vec<models::Entry>>)>>,
    /// Start time in Unix seconds: the `created` of configured model names.
    started_unix: u64,
}

impl Shared {
    /// Bundles the config with its upstream pool.
    pub fn new(cfg: Config, upstream: Upstream) -> Shared {
        Shared {
            cfg,
            upstream,
            models: Mutex::new(None),
            started_unix: emulate::unix_now(),
        }
    }
}

/// What the access line reports beyond the wire outcome.
#[derive(Default)]
struct Facts {
    model: Option<String>,
}

/// Serves one request completely, including its access log line.
pub fn handle(mut rq: tiny_http::Request, sh: &Shared) {
    let started = Instant::now();
    let (method, path) = request_line(&rq);
    let mut facts = Facts::default();
    let reply = pipeline(&mut rq, sh, &mut facts).unwrap_or_else(Reply::Error);
    let upstream = match &reply {
        Reply::Upstream(a) => format!(" deployment={} attempts={}", a.deployment, a.attempts),
        _ => String::new(),
    };
    let out = respond::send(rq, reply, started);
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
    log::info!(
        "{method} {path} {} model={}{upstream} bytes={} ttfb={} total={:.1}ms{}",
        out.status,
        facts.model.as_deref().unwrap_or("-"),
        out.bytes,
        out.ttfb.map_or("-".into(), |t| format!("{:.1}ms", ms(t))),
        ms(started.elapsed()),
        out.error.map_or(String::new(), |e| format!(" error={e}")),
    );
}

/// Answers a request with an error without running the pipeline (e.g. when overloaded).
pub fn reject(rq: tiny_http::Request, e: Error) {
    let (method, path) = request_line(&rq);
    let out = respond::send(rq, Reply::Error(e), Instant::now());
    log::warn!("{method} {path} {} error={}", out.status, out.error.unwrap_or_default());
}

/// Method and path (without the query, which may carry secrets) for the access log.
fn request_line(rq: &tiny_http::Request) -> (String, String) {
    (
        rq.method().to_string(),
        rq.url().split('?').next().unwrap_or("").to_string(),
    )
}

/// The stages in order; any error short-circuits to an error reply.
fn pipeline(rq: &mut tiny_http::Request, sh: &Shared, facts: &mut Facts) -> Result<Reply, Error> {
    let cfg = &sh.cfg;
    check_head(rq, cfg)?;
    let route = route::classify(rq.method(), rq.url(), cfg.path_prefix.as_deref());
    match route {
        Route::Preflight => return Ok(preflight(rq)),
        Route::Health => return Ok(json(200, &serde_json::json!({"status": "ok"}))),
        _ => {}
    }
    auth::check(rq.headers(), &cfg.tokens)?;
    match route {
        Route::Models => Ok(json(200, &models::openai_list(&model_list(sh)))),
        Route::Model(id) => match model_list(sh).iter().find(|e| e.id == id) {
            Some(e) => Ok(json(200, &models::openai_model(e))),
            None => Err(Error::UnknownModel(id)),
        },
        Route::ChatCompletions => forward(rq, sh, facts, "/chat/completions", true),
        Route::OpenAiPassthrough(path) => forward(rq, sh, facts, &path, false),
        Route::MethodNotAllowed => Err(Error::MethodNotAllowed),
        Route::NotFound | Route::Preflight | Route::Health => Err(Error::NotFound),
    }
}

/// Refuses heads that are too large or framed ambiguously (the shapes of request smuggling).
fn check_head(rq: &tiny_http::Request, cfg: &Config) -> Result<(), Error> {
    let headers = rq.headers();
    let size: usize = headers
        .iter()
        .map(|h| h.field.as_str().as_str().len() + h.value.as_str().len() + 4)
        .sum();
    if size > cfg.settings.max_header_bytes || headers.len() > 256 {
        return Err(Error::HeadersTooLarge);
    }
    let count = |name: &str| {
        headers
            .iter()
            .filter(|h| h.field.as_str().as_str().eq_ignore_ascii_case(name))
            .count()
    };
    let (cl, te) = (count("content-length"), count("transfer-encoding"));
    if cl > 0 && te > 0 {
        return Err(Error::BadRequest(
            "Both Content-Length and Transfer-Encoding are set".into(),
        ));
    }
    if cl > 1 || (cl == 1 && rq.body_length().is_none()) {
        return Err(Error::BadRequest("Invalid Content-Length".into()));
    }
    Ok(())
}

/// Reads the body, refusing more than `max` bytes.
fn read_body(rq: &mut tiny_http::Request, max: usize) -> Result<Vec<u8>, Error> {
    if rq.body_length().is_some_and(|n| n > max) {
        return Err(Error::BodyTooLarge(max));
    }
    let mut body = Vec::with_capacity(rq.body_length().unwrap_or(0));
    rq.as_reader()
        .take(max as u64 + 1)
        .read_to_end(&mut body)
        .map_err(|e| Error::BadRequest(format!("Could not read the request body: {e}")))?;
    if body.len() > max {
        return Err(Error::BodyTooLarge(max));
    }
    Ok(body)
}

/// Chat and other `/v1/*` calls: resolve the model, answer a mock locally, otherwise forward to
/// the deployment group.
fn forward(
    rq: &mut tiny_http::Request,
    sh: &Shared,
    facts: &mut Facts,
    path: &str,
    chat: bool,
) -> Result<Reply, Error> {
    let body = read_body(rq, sh.cfg.settings.max_body_bytes)?;
    let parsed: Option<Value> = serde_json::from_slice(&body).ok().filter(Value::is_object);
    let model = match parsed.as_ref().and_then(|v| v.get("model")) {
        Some(Value::String(m)) => m.clone(),
        _ if chat && parsed.is_none() => {
            return Err(Error::BadRequest("The request body must be a JSON object".into()))
        }
        _ if chat => return Err(Error::BadRequest("The request body has no `model` string".into())),
        // Bodies without a model (files, multipart uploads) go to the catch-all entry.
        _ => String::new(),
    };
    facts.model = Some(model.clone());
    let group = route::resolve(&model, &sh.cfg.deployments);
    if group.is_empty() {
        return Err(Error::UnknownModel(model));
    }
    let stream = parsed
        .as_ref()
        .and_then(|v| v.get("stream"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if let (true, Some(text)) = (chat, &group[0].mock_response) {
        let include_usage = parsed
            .as_ref()
            .and_then(|v| v.pointer("/stream_options/include_usage"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let (content_type, body) = emulate::mock::chat(text, &model, body.len(), stream, include_usage);
        return Ok(Reply::Full {
            status: 200,
            content_type,
            body,
        });
    }
    let group: Vec<&Deployment> = group.into_iter().filter(|d| d.provider == Provider::OpenAi).collect();
    if group.is_empty() {
        let what = if chat { "Chat requests" } else { "This endpoint" };
        return Err(Error::BadRequest(format!(
            "{what} for model `{model}` cannot be served: its deployments speak the Anthropic API, and OpenAI→Anthropic translation is not part of this build"
        )));
    }
    let method = rq.method().to_string();
    let out = Outgoing {
        method: &method,
        path,
        client_headers: rq.headers(),
        body: &body,
        json: parsed.as_ref(),
        client_model: &model,
        stream,
    };
    sh.upstream.send(&group, &out).map(Reply::Upstream)
}

/// The merged model list, rebuilt at most once per `model_list_ttl`. Upstream lists are fetched
/// in parallel without holding the cache lock; failures are logged and leave the list partial.
fn model_list(sh: &Shared) -> Arc<Vec<models::Entry>> {
    let ttl = sh.cfg.settings.model_list_ttl;
    if let Some((at, list)) = &*sh.models.lock().unwrap_or_else(|p| p.into_inner()) {
        if at.elapsed() < ttl {
            return list.clone();
        }
    }
    let globs = sh
        .cfg
        .deployments
        .iter()
        .filter(|d| d.is_glob() && d.mock_response.is_none());
    let timeout = sh.cfg.settings.model_list_timeout;
    let fetched: Vec<(usize, Vec<Value>)> = std::thread::scope(|s| {
        let jobs: Vec<_> = globs
            .map(|d| (d, s.spawn(move || sh.upstream.model_list(d, timeout))))
            .collect();
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
    });
    let list = Arc::new(models::merge(&sh.cfg.deployments, &fetched, sh.started_unix));
    *sh.models.lock().unwrap_or_else(|p| p.into_inner()) = Some((Instant::now(), list.clone()));
    list
}

/// A JSON reply.
fn json(status: u16, v: &Value) -> Reply {
    Reply::Full {
        status,
        content_type: "application/json",
        body: v.to_string().into_bytes(),
    }
}

/// The CORS preflight answer, allowing whatever headers the browser asked for.
fn preflight(rq: &tiny_http::Request) -> Reply {
    let asked = rq
        .headers()
        .iter()
        .find(|h| h.field.equiv("access-control-request-headers"));
    let allow_headers = asked.map_or("authorization, content-type, x-api-key, api-key".into(), |h| {
        h.value.to_string()
    });
    Reply::Preflight { allow_headers }
}
