//! The rest of Ollama's API under its mount, beside `/api/chat`: `/api/generate` goes the chat
//! path as a one-turn chat and comes back in generate's shape; `/api/embed` and the older
//! `/api/embeddings` go to the deployment's OpenAI `/embeddings`; `/api/ps` lists the models.

use super::{json, model_list, read_body, read_model_request, send_once, Facts, Shared, MAX_TRANSLATED_BODY};
use crate::config::{Deployment, Provider};
use crate::dialect::Dialect;
use crate::emulate::{models, ollama};
use crate::error::Error;
use crate::respond::Reply;
use crate::route;
use crate::translate::{self, generate};
use crate::upstream::{Outgoing, Prepared};
use serde_json::Value;
use std::borrow::Cow;
use std::io::Read;

/// `POST /api/generate`: without a prompt, the answer Ollama gives when it loads (or unloads) a
/// model; otherwise the prompt as a chat, its answer (whole or NDJSON) in generate's shape.
pub(super) fn generate(rq: &mut tiny_http::Request, sh: &Shared, facts: &mut Facts) -> Result<Reply, Error> {
    let mut req = read_model_request(rq, sh, facts)?;
    route::group(&req.model, &sh.cfg)?;
    let chat = generate::request_to_chat(&req.json)?;
    if generate::prompt(&req.json).is_empty() {
        return Ok(json(200, &generate::without_prompt(&req.json, &req.model)));
    }
    req.raw = chat.to_string().into_bytes();
    req.json = chat;
    Ok(match super::chat_request(rq, sh, facts, req)? {
        Reply::Events { answer, pipeline } => {
            Reply::Events { answer, pipeline: pipeline.then(Box::<generate::ChatToGenerate>::default()) }
        }
        Reply::Full { status: status @ 200..=299, content_type, body, extra } => {
            Reply::Full { status, content_type, body: generate::from_chat_body(&body), extra }
        }
        // Errors are `{"error": …}` in both; an Ollama answer is never passed on as its bytes.
        other => other,
    })
}

/// `GET /api/ps`: every listed model, ready (see [`ollama::running`]).
pub(super) fn ps(sh: &Shared) -> Value {
    let now = crate::clock::unix_now();
    let running = model_list(sh)
        .iter()
        .map(|e| {
            let d = route::resolve(route::alias(&e.id, &sh.cfg.router), &sh.cfg.deployments).into_iter().next();
            ollama::running(models::one(e, Dialect::Ollama), d, now)
        })
        .collect();
    json!({"models": Value::Array(running)})
}

/// The texts to embed: `/api/embed`'s `input` (a string or a list of strings), or the older
/// `/api/embeddings`' `prompt`. Empty strings are nothing to embed, as in Ollama.
fn embed_input(body: &Value, legacy: bool) -> Result<Vec<Value>, Error> {
    match body.get(if legacy { "prompt" } else { "input" }) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(if s.is_empty() { Vec::new() } else { vec![s.as_str().into()] }),
        Some(Value::Array(list)) if !legacy && list.iter().all(Value::is_string) => Ok(list.clone()),
        Some(_) => Err(Error::BadRequest("invalid input type: `input` must be a string or a list of strings".into())),
    }
}

/// `POST /api/embed` and (`legacy`) `/api/embeddings`: the texts to the OpenAI embeddings of the
/// deployment serving the model; Anthropic deployments have none, and nothing to embed is
/// answered here, as Ollama does.
pub(super) fn embed(rq: &mut tiny_http::Request, sh: &Shared, facts: &mut Facts, legacy: bool) -> Result<Reply, Error> {
    let req = read_model_request(rq, sh, facts)?;
    let group: Vec<&Deployment> = route::group(&req.model, &sh.cfg)?
        .into_iter()
        .filter(|d| d.provider == Provider::OpenAi && d.mock_response.is_none())
        .collect();
    if group.is_empty() {
        return Err(Error::BadRequest(format!(
            "The model `{}` does not support embeddings: it is served by the Anthropic API (or is the demo model), \
             which has no embeddings; use a model served by an OpenAI-compatible deployment",
            req.model
        )));
    }
    let input = embed_input(&req.json, legacy)?;
    if input.is_empty() {
        return Ok(json(200, &embeddings_answer(legacy, &req.model, Vec::new(), &Value::Null, 0)));
    }
    let mut body = json!({"model": "", "input": input});
    if let Some(n) = req.json.get("dimensions").filter(|n| n.is_u64()) {
        body["dimensions"] = n.clone();
    }
    let prepare = |d: &Deployment, group_model: &str| {
        let model = route::upstream_model(d, group_model);
        let mut body = body.clone();
        body["model"] = model.into();
        Ok(Prepared { model: model.to_string(), path: "/embeddings".into(), body: Cow::Owned(body.to_string().into()) })
    };
    let out = Outgoing { rq, client: Dialect::Ollama, stream: false, prepare: &prepare, dump: facts.dump.as_ref() };
    let answer = send_once(sh, &req.model, &group, &out)?;
    let d = &sh.cfg.deployments[answer.deployment];
    facts.upstream = Some((answer.deployment, answer.attempts));
    let status = answer.status;
    let mut raw = Vec::new();
    answer.body.take(MAX_TRANSLATED_BODY).read_to_end(&mut raw).map_err(Error::from_upstream_read)?;
    if !(200..300).contains(&status) {
        let body = translate::error(Dialect::Ollama, status, &raw, d.info.max_input_tokens);
        return Ok(Reply::Full { status, content_type: "application/json", body, extra: Vec::new() });
    }
    let v = translate::response::parse(&raw)?;
    let mut data: Vec<&Value> = v.get("data").and_then(Value::as_array).into_iter().flatten().collect();
    data.sort_by_key(|item| item.get("index").and_then(Value::as_u64).unwrap_or(0));
    let vectors: Option<Vec<Value>> =
        data.iter().map(|item| item.get("embedding").filter(|e| e.is_array()).cloned()).collect();
    match vectors {
        Some(vectors) if vectors.len() == input.len() => {
            Ok(json(200, &embeddings_answer(legacy, &req.model, vectors, &v["usage"], facts.elapsed_ns())))
        }
        _ => Err(Error::UpstreamInvalid(format!(
            "the embeddings answer does not hold one `embedding` list per input ({} asked)",
            input.len()
        ))),
    }
}

/// Ollama's embeddings answer: `/api/embed`'s with its counts, or the older `{"embedding": […]}`.
fn embeddings_answer(legacy: bool, model: &str, vectors: Vec<Value>, usage: &Value, elapsed_ns: u64) -> Value {
    if legacy {
        return json!({"embedding": vectors.into_iter().next().unwrap_or_else(|| json!([]))});
    }
    let prompt_tokens = usage.get("prompt_tokens").and_then(Value::as_u64).unwrap_or(0);
    json!({"model": model, "embeddings": vectors, "total_duration": elapsed_ns, "load_duration": 0,
           "prompt_eval_count": prompt_tokens})
}

/// `POST /api/show`: a listed model's capabilities, from the deployment that serves it.
pub(super) fn show(rq: &mut tiny_http::Request, sh: &Shared, facts: &mut Facts) -> Result<Reply, Error> {
    let raw = read_body(rq, sh.cfg.settings.max_body_bytes, facts)?;
    let body: Value = serde_json::from_slice(&raw).map_err(|e| Error::BadRequest(format!("Invalid JSON: {e}")))?;
    // `name` is what older clients send.
    let model = body.get("model").or(body.get("name")).and_then(Value::as_str).unwrap_or("");
    let entry = model_list(sh).iter().find(|e| e.id == model).cloned();
    match (entry, route::resolve(route::alias(model, &sh.cfg.router), &sh.cfg.deployments).first()) {
        (Some(e), Some(d)) => Ok(json(200, &ollama::show(model, d, e.created))),
        _ => Err(Error::UnknownModel(model.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_are_a_string_or_a_list_and_empty_is_nothing() {
        assert_eq!(embed_input(&json!({"input": "a"}), false).unwrap(), [json!("a")]);
        assert_eq!(embed_input(&json!({"input": ["a", "b"]}), false).unwrap(), [json!("a"), json!("b")]);
        assert!(embed_input(&json!({"input": ""}), false).unwrap().is_empty());
        assert!(embed_input(&json!({}), false).unwrap().is_empty());
        assert_eq!(embed_input(&json!({"prompt": "p", "input": 1}), true).unwrap(), [json!("p")]);
        for bad in [json!({"input": 1}), json!({"input": ["a", 2]}), json!({"input": {"a": 1}})] {
            assert_eq!(embed_input(&bad, false).unwrap_err().status(), 400, "{bad}");
        }
        assert!(embed_input(&json!({"prompt": ["a"]}), true).is_err(), "the older route takes one string");
    }

    #[test]
    fn answers_in_both_shapes() {
        let v = embeddings_answer(false, "m", vec![json!([0.5])], &json!({"prompt_tokens": 3}), 9);
        assert_eq!(
            v,
            json!({"model": "m", "embeddings": [[0.5]], "total_duration": 9, "load_duration": 0,
                             "prompt_eval_count": 3})
        );
        assert_eq!(embeddings_answer(true, "m", Vec::new(), &Value::Null, 0), json!({"embedding": []}));
        assert_eq!(embeddings_answer(true, "m", vec![json!([1.0])], &Value::Null, 0), json!({"embedding": [1.0]}));
    }
}
