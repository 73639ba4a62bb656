//! LiteLLM's router settings: fallbacks (general, context window, content policy), model group
//! aliases, the routing strategy and `retry_after`, from `router_settings` and `litellm_settings`.

use super::raw::RawFile;
use super::{Router, Strategy};
use crate::litellm;
use std::collections::BTreeMap;
use std::time::Duration;

/// The router settings (from `router_settings` and `litellm_settings`, LiteLLM reads both).
pub(super) fn parse(raw: &RawFile, source: &str, notices: &mut Vec<String>) -> Result<Router, String> {
    let r = &raw.router_settings;
    let mut router = Router::default();
    for routing in [&raw.litellm_settings.router, &r.router] {
        let lists = [
            ("fallbacks", &routing.fallbacks, &mut router.fallbacks),
            ("context_window_fallbacks", &routing.context_window_fallbacks, &mut router.context_window_fallbacks),
            ("content_policy_fallbacks", &routing.content_policy_fallbacks, &mut router.content_policy_fallbacks),
        ];
        for (key, v, into) in lists {
            into.extend(fallbacks(v.as_ref()).map_err(|e| format!("{source}: {key}: {e}"))?);
        }
        if let Some(v) = &routing.default_fallbacks {
            let all = names(v).map_err(|e| format!("{source}: default_fallbacks: {e}"))?;
            router.fallbacks.entry("*".into()).or_insert(all);
        }
    }
    if let Some(serde_yaml::Value::Mapping(m)) = &r.model_group_alias {
        for (k, v) in m {
            let alias = k.as_str().ok_or_else(|| format!("{source}: model_group_alias: keys must be names"))?;
            let needs_model = || format!("{source}: model_group_alias.{alias}: needs a model name");
            let (target, hidden) = match v {
                serde_yaml::Value::String(s) => (s.clone(), false),
                // A list reads as "this group, then these": the rest become the alias's fallbacks.
                serde_yaml::Value::Sequence(_) => {
                    let mut all =
                        names(v).map_err(|e| format!("{source}: model_group_alias.{alias}: {e}"))?.into_iter();
                    let first = all.next().ok_or_else(needs_model)?;
                    router.fallbacks.entry(alias.to_string()).or_insert(all.collect());
                    (first, false)
                }
                v => {
                    let model = v.get("model").and_then(|m| m.as_str()).ok_or_else(needs_model)?;
                    (model.to_string(), v.get("hidden").and_then(|h| h.as_bool()).unwrap_or(false))
                }
            };
            router.aliases.insert(alias.to_string(), (target, hidden));
        }
    }
    router.strategy = match r.routing_strategy.as_deref().map(str::trim) {
        None | Some("simple-shuffle") => Strategy::SimpleShuffle,
        Some("least-busy") => Strategy::LeastBusy,
        Some("latency-based-routing" | "latency-based") => Strategy::LatencyBased,
        Some(other) => {
            notices.push(format!(
                "router_settings.routing_strategy: {other:?} is not available here; simple-shuffle is used"
            ));
            Strategy::SimpleShuffle
        }
    };
    if let Some(v) = r.retry_after {
        if !(v.is_finite() && (0.0..1e6).contains(&v)) {
            return Err(format!("{source}: router_settings.retry_after: must be a number of seconds, got {v}"));
        }
        router.retry_after = Duration::from_secs_f64(v);
    }
    Ok(router)
}

/// LiteLLM's fallback lists: `[{group: [fallback, …]}, …]` (or one mapping of them).
fn fallbacks(v: Option<&serde_yaml::Value>) -> Result<BTreeMap<String, Vec<String>>, String> {
    let mut out = BTreeMap::new();
    let maps: Vec<&serde_yaml::Value> = match v {
        None | Some(serde_yaml::Value::Null) => return Ok(out),
        Some(serde_yaml::Value::Sequence(items)) => items.iter().collect(),
        Some(m @ serde_yaml::Value::Mapping(_)) => vec![m],
        Some(other) => return Err(format!("expected a list of {{model: [fallbacks]}}, got {}", litellm::show(other))),
    };
    for m in maps {
        let serde_yaml::Value::Mapping(m) = m else {
            return Err(format!("expected {{model: [fallbacks]}}, got {}", litellm::show(m)));
        };
        for (k, v) in m {
            let group = k.as_str().ok_or("model group names must be strings")?;
            out.insert(group.to_string(), names(v)?);
        }
    }
    Ok(out)
}

/// A list of model names, or one name.
fn names(v: &serde_yaml::Value) -> Result<Vec<String>, String> {
    match v {
        serde_yaml::Value::String(s) => Ok(vec![s.clone()]),
        serde_yaml::Value::Sequence(items) => items
            .iter()
            .map(|i| i.as_str().map(String::from).ok_or_else(|| format!("{} is not a model name", litellm::show(i))))
            .collect(),
        other => Err(format!("{} is not a list of model names", litellm::show(other))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::cfg;

    #[test]
    fn router_settings_fallbacks_aliases_and_strategy() {
        let y = r#"model_list:
  - {model_name: a, litellm_params: {model: openai/a}}
router_settings:
  fallbacks: [{a: [b, c]}]
  context_window_fallbacks: [{a: big}]
  model_group_alias: {gpt-4: a, hidden-one: {model: a, hidden: true}}
  routing_strategy: usage-based-routing-v2
  retry_after: 1
litellm_settings:
  content_policy_fallbacks: [{a: [safe]}]
  default_fallbacks: [z]
"#;
        let c = cfg(y, &[]).unwrap();
        let r = &c.router;
        assert_eq!(r.fallbacks["a"], ["b", "c"]);
        assert_eq!(r.fallbacks["*"], ["z"]);
        assert_eq!(r.context_window_fallbacks["a"], ["big"]);
        assert_eq!(r.content_policy_fallbacks["a"], ["safe"]);
        assert_eq!(r.aliases["gpt-4"], ("a".to_string(), false));
        assert_eq!(r.aliases["hidden-one"], ("a".to_string(), true));
        assert_eq!((r.strategy, r.retry_after), (Strategy::SimpleShuffle, Duration::from_secs(1)));
        assert!(c.warnings().iter().any(|w| w.contains("usage-based-routing-v2")));
    }
}
