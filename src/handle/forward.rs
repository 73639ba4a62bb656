//! The routes that forward a request with little change: Anthropic's `count_tokens` (to an
//! Anthropic deployment, or estimated here) and the other `/v1/*` calls (embeddings, images,
//! audio, files) to the OpenAI-compatible deployment the body's model names.

use super::*;

/// `POST /v1/messages/count_tokens`: Anthropic deployments count for real; for the others the
/// proxy estimates, erring high.
pub(super) fn count_tokens(rq: &mut tiny_http::Request, sh: &Shared, facts: &mut Facts) -> Result<Reply, Error> {
    let req = read_model_request(rq, sh, facts)?;
    let group = route::group(&req.model, &sh.cfg)?;
    let anthropic: Vec<&Deployment> = group
        .into_iter()
        .filter(|d| Dialect::of(d.provider) == Dialect::Anthropic && d.mock_response.is_none())
        .collect();
    if anthropic.is_empty() {
        return Ok(json(200, &json!({"input_tokens": translate::count_tokens(&req.json)})));
    }
    let dropped = RefCell::new(Vec::new());
    let prepare = preparer(Dialect::Anthropic, &req, ["", "/messages/count_tokens"], &sh.cfg, &dropped);
    let out = Outgoing { rq, client: Dialect::Anthropic, stream: false, prepare: &prepare, dump: facts.dump.as_ref() };
    let answer = send_once(sh, &req.model, &anthropic, &out)?;
    answer_reply(answer, &req, sh, facts)
}

/// Other `/v1/*` calls (embeddings, images, audio, …): forwarded to the OpenAI deployment the
/// body's `model` picks, or the catch-all entry when there is none (files, multipart uploads).
pub(super) fn passthrough(
    rq: &mut tiny_http::Request,
    sh: &Shared,
    facts: &mut Facts,
    path: &str,
) -> Result<Reply, Error> {
    let raw = read_body(rq, sh.cfg.settings.max_body_bytes, facts)?;
    let json: Value = serde_json::from_slice(&raw).ok().filter(Value::is_object).unwrap_or(Value::Null);
    let model = json.get("model").and_then(Value::as_str).unwrap_or("").to_string();
    facts.model = Some(model.clone());
    let group: Vec<&Deployment> =
        route::group(&model, &sh.cfg)?.into_iter().filter(|d| d.provider == Provider::OpenAi).collect();
    if group.is_empty() {
        return Err(Error::BadRequest(format!(
            "`/v1{path}` is only forwarded to OpenAI-compatible deployments, and model `{model}` is served by the Anthropic API"
        )));
    }
    let req = ModelRequest::new(raw, json, model, Dialect::OpenAi);
    let prepare = |d: &Deployment, group_model: &str| {
        let model = route::upstream_model(d, group_model);
        let body = match model {
            m if m == req.model || !req.json.is_object() => Cow::Borrowed(&req.raw[..]),
            m => {
                let mut j = req.json.clone();
                j["model"] = m.into();
                Cow::Owned(j.to_string().into_bytes())
            }
        };
        Ok(Prepared { model: model.to_string(), path: path.into(), body })
    };
    let out =
        Outgoing { rq, client: Dialect::OpenAi, stream: req.stream, prepare: &prepare, dump: facts.dump.as_ref() };
    let answer = send_once(sh, &req.model, &group, &out)?;
    facts.upstream = Some((answer.deployment, answer.attempts));
    Ok(Reply::Bytes { answer, dialect: Dialect::OpenAi })
}
