//! The Responses dialect's part of the request path: a request's conversation (its earlier turns
//! from `previous_response_id`, then its input) before translation, and the answer kept for the
//! next turn; whole answers in the Responses shape.

use super::*;
use std::collections::{BTreeSet, HashMap};

/// What a Responses request's answer is built from, and kept for the next turn.
pub(super) struct Turn {
    /// The response's id and the request fields it repeats.
    pub(super) ctx: responses::Context,
    /// The kept conversation of `previous_response_id`, as its text (not copied again).
    pub(super) before: Option<conversations::Kept>,
    /// This request's input items.
    pub(super) items: Arc<Vec<Value>>,
    /// Keep the answer for `previous_response_id` (`store` is not false).
    pub(super) store: bool,
}

/// A Responses request's turn: built-in tools refused where no deployment can run them, the
/// conversation of a `previous_response_id` this proxy keeps put before the input (the body then
/// changes for every deployment), and the context its answer is built in.
pub(super) fn turn(req: &mut ModelRequest, group: &[&Deployment]) -> Result<Turn, Error> {
    let native = group.iter().any(|d| wire_for(Dialect::Responses, d) == Dialect::Responses);
    if let (Some(tool), false) = (responses::builtin_tools(&req.json).first(), native) {
        return Err(Error::BadRequest(format!(
            "The tool type `{tool}` is run by OpenAI's Responses API itself, and model `{}` is served here through \
             Chat Completions or Anthropic Messages, which cannot run it: remove the tool, or use a deployment that \
             serves /v1/responses (`responses_api: true`)",
            req.model
        )));
    }
    let ctx = responses::Context::new(&req.json, &req.model);
    if resolve_references(&mut req.json, native)? {
        req.raw = req.json.to_string().into_bytes();
    }
    let items = responses::input_items(&req.json);
    let mut before = None;
    if let Some(prev) = req.json.get("previous_response_id").and_then(Value::as_str).map(String::from) {
        match conversations::shared().get(&prev) {
            conversations::Found::Kept(kept) => {
                let earlier: Vec<Value> = serde_json::from_str(&kept.json).unwrap_or_default();
                req.json["input"] = Value::Array(earlier.into_iter().chain(items.iter().cloned()).collect());
                req.json.as_object_mut().map(|o| o.remove("previous_response_id"));
                req.raw = req.json.to_string().into_bytes();
                before = Some(kept);
            }
            // An upstream that serves the Responses API may know it.
            _ if native => {}
            conversations::Found::TooLarge => return Err(Error::ResponseNotKept(prev)),
            conversations::Found::Unknown => return Err(Error::UnknownResponse(prev)),
        }
    }
    let store = req.json.get("store") != Some(&Value::Bool(false));
    Ok(Turn { ctx, before, items: Arc::new(items), store })
}

/// `item_reference` input items (the Vercel AI SDK's openai provider sends one in place of each
/// earlier output item while `store` is on) as the output items this proxy kept for the responses
/// that made them; one it does not know stays (an upstream that serves the Responses API may know
/// it; a translation leaves it out). Only each named response's output is parsed, once, and each
/// kept item stands for one reference at most: 2,000 references to one 256 KB answer made 512 MB
/// of copies, and 640 references to responses of long conversations parsed 256 MiB.
/// True when one was replaced. Without a `native` deployment, a reference left is a 400, as an
/// unknown `previous_response_id` is: dropped, the conversation lost a turn without a word (or
/// kept a tool result whose call was gone, which the upstream refuses).
fn resolve_references(body: &mut Value, native: bool) -> Result<bool, Error> {
    let Some(input) = body.get_mut("input").and_then(Value::as_array_mut) else { return Ok(false) };
    // Its `type` may be left out: then an item with an id and nothing else a message has.
    let untyped = |i: &Value| i.get("type").is_none() && i.get("role").is_none() && i.get("content").is_none();
    let is_reference = |i: &Value| i["type"] == "item_reference" || untyped(i);
    let reference = |i: &Value| if is_reference(i) { i["id"].as_str().map(String::from) } else { None };
    let ids: BTreeSet<String> = input.iter().filter_map(reference).collect();
    let mut found: HashMap<String, Value> = HashMap::new();
    for resp in ids.iter().filter_map(|id| responses::response_of_item(id)).collect::<BTreeSet<_>>() {
        let Some(output) = conversations::shared().output(&resp) else { continue };
        let items: Vec<Value> = serde_json::from_str(&output).unwrap_or_default();
        for item in items {
            let id = item["id"].as_str().filter(|id| ids.contains(*id) && item["type"] != "item_reference");
            if let Some(id) = id {
                found.insert(id.to_string(), item);
            }
        }
    }
    let mut replaced = false;
    for item in input.iter_mut() {
        if let Some(known) = reference(item).and_then(|id| found.remove(&id)) {
            *item = known;
            replaced = true;
        }
    }
    match input.iter().find_map(reference) {
        Some(id) if !native => Err(Error::BadRequest(format!(
            "Input item `item_reference` `{}` names an item this proxy does not hold, or names it twice (the items \
             of translated responses are kept in memory, for 6 hours, by the instance that made them): send the item \
             itself, or start the conversation again",
            printable(&id, 64)
        ))),
        _ => Ok(replaced),
    }
}

/// Keeps a translated response's conversation for the next turn, unless the client said not to:
/// the kept text it continues, this request's input, then the output (nothing copied whole).
pub(super) fn keeper(t: &Turn) -> Option<OnComplete> {
    let (before, items) = (t.before.clone(), t.items.clone());
    t.store.then(|| {
        Box::new(move |r: &Value| {
            let output = r["output"].as_array().map_or(&[][..], Vec::as_slice);
            conversations::shared().keep(r["id"].as_str().unwrap_or(""), before.as_ref(), &items, output);
        }) as OnComplete
    })
}

/// A complete answer to a Responses request: a Response object (translated and kept, unless an
/// upstream that serves the Responses API made it), as JSON or as the stream asked for.
pub(super) fn whole(wire: Dialect, raw: &[u8], t: &Turn, as_stream: bool) -> Result<Reply, Error> {
    let v = match wire {
        Dialect::Responses => translate::response::parse(raw)?,
        _ => responses::whole(wire, raw, &t.ctx)?,
    };
    if let (Some(keep), false) = (keeper(t), wire == Dialect::Responses) {
        keep(&v);
    }
    if let Some(events) = as_stream.then(|| responses::as_events(&v)).flatten() {
        let mut body = Vec::new();
        events.iter().for_each(|ev| Dialect::Responses.framing().write(ev, &mut body));
        return Ok(Reply::Full { status: 200, content_type: "text/event-stream", body, extra: Vec::new() });
    }
    Ok(json(200, &v))
}
