//! The merged model list (SPEC §4.1): every exact `model_name`, plus, for each glob entry, the
//! upstream's own list filtered by the glob; de-duplicated, first wins, in file order.

use crate::config::{glob_match, Deployment, Router};
use crate::dialect::Dialect;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashSet;

/// One model as clients see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The model name clients send.
    pub id: String,
    /// Unix seconds (the upstream's own value where it gave one).
    pub created: u64,
    /// Who serves it.
    pub owned_by: String,
}

/// One item of an upstream's model list, only the fields the merged list reads (the others are
/// skipped while parsing: 150,000 items held as whole JSON values took about 100 MB).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Listed {
    /// The model's id (a string, when the item is usable).
    pub id: Value,
    /// Unix seconds.
    pub created: Value,
    /// Who serves it.
    pub owned_by: Value,
}

/// An upstream's `GET /models` answer.
#[derive(Debug, Deserialize)]
pub struct Listing {
    /// The models.
    pub data: Vec<Listed>,
}

/// The most ids taken from one upstream's list: far more than any provider lists, few enough
/// that the merged list stays cheap to build, hold and send.
pub const MAX_LISTED: usize = 10_000;

/// Merges the configured names with the fetched upstream lists (`fetched[i]` belongs to the
/// deployment with `index == i`; missing or failed fetches are simply absent). Linear in the
/// lists' lengths; each upstream contributes at most [`MAX_LISTED`] ids (with a warning).
pub fn merge(deployments: &[Deployment], fetched: &[(usize, Vec<Listed>)], now: u64) -> Vec<Entry> {
    let mut out: Vec<Entry> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    for d in deployments {
        if !d.is_glob() {
            if seen.insert(d.model_name.clone()) {
                out.push(Entry { id: d.model_name.clone(), created: now, owned_by: d.family.name.to_string() });
            }
            continue;
        }
        let items = fetched.iter().filter(|(i, _)| *i == d.index).flat_map(|(_, v)| v);
        let mut taken = 0;
        for item in items {
            let Some(id) = item.id.as_str().filter(|id| glob_match(&d.model_name, id)) else { continue };
            if taken == MAX_LISTED {
                log::warn!(
                    "{}: its model list has more than {MAX_LISTED} matching ids; the rest are left out",
                    d.label()
                );
                break;
            }
            taken += 1;
            if seen.insert(id.to_string()) {
                let created = item.created.as_u64().unwrap_or(now);
                let owned_by = item.owned_by.as_str().unwrap_or(d.family.name).to_string();
                out.push(Entry { id: id.to_string(), created, owned_by });
            }
        }
    }
    out
}

/// The `model_group_alias` names that are not hidden and whose group is listed: LiteLLM lists
/// them as models of their own.
pub fn aliases(list: &[Entry], router: &Router) -> Vec<Entry> {
    let listed = |id: &str| list.iter().find(|e| e.id == id);
    (router.aliases.iter())
        .filter(|(alias, (_, hidden))| !hidden && listed(alias).is_none())
        .filter_map(|(alias, (group, _))| Some(Entry { id: alias.clone(), ..listed(group)?.clone() }))
        .collect()
}

/// One model in the dialect's shape. Anthropic's carries what the anthropic SDK 2.x validates
/// strictly, `lifecycle` included.
pub fn one(e: &Entry, d: Dialect) -> Value {
    match d {
        Dialect::OpenAi | Dialect::Responses => {
            json!({"id": e.id, "object": "model", "created": e.created, "owned_by": e.owned_by})
        }
        Dialect::Anthropic => json!({"type": "model", "id": e.id, "display_name": e.id,
                                     "created_at": crate::clock::rfc3339(e.created), "lifecycle": "active"}),
        // What `/api/tags` lists; Copilot takes `model` as the id.
        Dialect::Ollama => {
            json!({"name": e.id, "model": e.id, "modified_at": crate::clock::rfc3339(e.created), "size": 0,
            "digest": digest(&e.id), "details": super::ollama::details()})
        }
    }
}

/// A stable 64-hex-digit stand-in for Ollama's sha256 digest (FNV-1a, four seeds).
fn digest(id: &str) -> String {
    (0u64..4)
        .map(|seed| {
            let h =
                id.bytes().fold(0xcbf2_9ce4_8422_2325 ^ seed, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
            format!("{h:016x}")
        })
        .collect()
}

/// The list in the dialect's shape; Anthropic's says there are no more pages (without
/// `has_more: false` the SDK keeps asking for the next page forever).
pub fn list(entries: &[Entry], d: Dialect) -> Value {
    let data: Vec<Value> = entries.iter().map(|e| one(e, d)).collect();
    match d {
        Dialect::OpenAi | Dialect::Responses => json!({"object": "list", "data": data}),
        Dialect::Anthropic => json!({"data": data, "has_more": false,
                                     "first_id": entries.first().map(|e| &e.id), "last_id": entries.last().map(|e| &e.id)}),
        Dialect::Ollama => json!({"models": data}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, Env, Overrides};

    fn listed(v: Value) -> Listed {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn a_huge_upstream_list_is_merged_in_linear_time_and_capped() {
        let y = "model_list:\n  - {model_name: \"*\", litellm_params: {model: openai/*, api_base: \"http://a/v1\"}}\n";
        let c = Config::from_parts(y, "t", &Env::default(), &Overrides::default()).unwrap();
        let items: Vec<Listed> = (0..150_000).map(|i| listed(json!({"id": format!("model-{i}")}))).collect();
        let t = std::time::Instant::now();
        let got = merge(&c.deployments, &[(0, items)], 7);
        assert_eq!(got.len(), MAX_LISTED);
        assert_eq!((got[0].id.as_str(), got[MAX_LISTED - 1].id.as_str()), ("model-0", "model-9999"));
        // Quadratic, this took minutes; linear, milliseconds (seconds in the slowest debug build).
        assert!(t.elapsed() < std::time::Duration::from_secs(5), "{:?}", t.elapsed());
    }

    #[test]
    fn explicit_names_are_kept_and_globs_filter_and_dedupe() {
        let y = r#"model_list:
  - {model_name: claude-sonnet-4, litellm_params: {model: anthropic/claude-sonnet-4}}
  - {model_name: "gpt-*", litellm_params: {model: openai/*, api_base: "http://a/v1"}}
  - {model_name: "*", litellm_params: {model: openai/*, api_base: "http://b/v1"}}
"#;
        let c = Config::from_parts(y, "t", &Env::default(), &Overrides::default()).unwrap();
        let a = [json!({"id": "gpt-4o", "created": 5, "owned_by": "openai"}), json!({"id": "o3"}), json!({"no": "id"})];
        let b = [json!({"id": "gpt-4o"}), json!({"id": "llama"}), json!({"id": "claude-sonnet-4"})];
        let fetched = vec![(1, a.map(listed).into()), (2, b.map(listed).into())];
        let got = merge(&c.deployments, &fetched, 7);
        let ids: Vec<_> = got.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["claude-sonnet-4", "gpt-4o", "llama"]);
        assert_eq!(got[1], Entry { id: "gpt-4o".into(), created: 5, owned_by: "openai".into() });
        assert_eq!(got[2].owned_by, "openai");
        let list = list(&got, Dialect::OpenAi);
        assert_eq!(list["object"], "list");
        assert_eq!(list["data"][0]["object"], "model");
        let a = super::list(&got, Dialect::Anthropic);
        assert_eq!(
            (a["has_more"].as_bool(), a["first_id"].as_str(), a["last_id"].as_str()),
            (Some(false), Some("claude-sonnet-4"), Some("llama"))
        );
        assert_eq!(a["data"][1]["created_at"], "1970-01-01T00:00:05Z");
        assert_eq!(a["data"][1]["lifecycle"], "active");
        let o = super::list(&got, Dialect::Ollama);
        assert_eq!(
            (o["models"][0]["name"].as_str(), o["models"][0]["model"].as_str()),
            (Some("claude-sonnet-4"), Some("claude-sonnet-4"))
        );
        assert_eq!(o["models"][0]["digest"].as_str().unwrap().len(), 64);
        assert_ne!(o["models"][0]["digest"], o["models"][1]["digest"]);
    }
}
