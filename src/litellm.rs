//! What LiteLLM's loader does to a config file before anything reads it, done the same way: a
//! key written twice keeps its last value (as PyYAML), anchors and `<<` merge keys are applied,
//! and `os.environ/NAME` in any string value becomes the variable's value. Also lenient numbers
//! (`"600"` as well as `600`), which LiteLLM's Python accepts everywhere.

use crate::env::Env;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_yaml::{Mapping, Value};
use std::fmt;

/// The prefix LiteLLM reads as "the environment variable named after it".
const ENV_PREFIX: &str = "os.environ/";

/// Parses `text` as LiteLLM would, with every `os.environ/NAME` whose variable is set replaced
/// by its value (unset ones stay as written, for whoever needs the value to say so).
pub fn load(text: &str, env: &Env) -> Result<Value, String> {
    let Lenient(mut v) = serde_yaml::from_str(text).map_err(|e| e.to_string())?;
    merge(&mut v)?;
    let set = match v.get("environment_variables") {
        Some(Value::Mapping(m)) => m.iter().filter_map(|(k, v)| Some((k.as_str()?.to_string(), scalar(v)?))).collect(),
        _ => Vec::new(),
    };
    resolve_all(&mut v, &env.with(set));
    Ok(v)
}

/// Applies `<<` merge keys, innermost first, so an anchor that itself merges another arrives
/// complete; keys written in the mapping win over merged ones (YAML 1.1, as PyYAML).
fn merge(v: &mut Value) -> Result<(), String> {
    match v {
        Value::Mapping(m) => {
            for (_, child) in m.iter_mut() {
                merge(child)?;
            }
            let sources = match m.remove("<<") {
                None => return Ok(()),
                Some(Value::Sequence(items)) => items,
                Some(one) => vec![one],
            };
            for source in sources {
                let Value::Mapping(source) = source else {
                    return Err(format!("merge key (<<): {} is not a mapping", show(&source)));
                };
                for (k, v) in source {
                    m.entry(k).or_insert(v);
                }
            }
            Ok(())
        }
        Value::Sequence(items) => items.iter_mut().try_for_each(merge),
        _ => Ok(()),
    }
}

/// A scalar's text, as Python's `str()` gives it for the environment.
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "True" } else { "False" }.to_string()),
        _ => None,
    }
}

/// Replaces `os.environ/NAME` strings in the whole tree.
fn resolve_all(v: &mut Value, env: &Env) {
    match v {
        Value::String(s) => {
            if let Some(val) = s.strip_prefix(ENV_PREFIX).and_then(|name| env.get(name.trim())) {
                *s = val.to_string();
            }
        }
        Value::Sequence(items) => items.iter_mut().for_each(|i| resolve_all(i, env)),
        Value::Mapping(m) => m.iter_mut().for_each(|(_, i)| resolve_all(i, env)),
        Value::Tagged(t) => resolve_all(&mut t.value, env),
        _ => {}
    }
}

/// A value that was meant to come from the environment but whose variable is not set.
pub fn unresolved(v: &str) -> Option<&str> {
    v.strip_prefix(ENV_PREFIX).map(str::trim)
}

/// A YAML value read with PyYAML's rule for duplicate keys: the last one wins.
struct Lenient(Value);

impl<'de> Deserialize<'de> for Lenient {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(LenientVisitor).map(Lenient)
    }
}

struct LenientVisitor;

impl<'de> Visitor<'de> for LenientVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Lenient::deserialize(d).map(|l| l.0)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Lenient(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(Value::Sequence(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut m = Mapping::new();
        while let Some((Lenient(k), Lenient(v))) = map.next_entry()? {
            m.insert(k, v);
        }
        Ok(Value::Mapping(m))
    }
    fn visit_enum<A: de::EnumAccess<'de>>(self, _: A) -> Result<Value, A::Error> {
        Err(de::Error::custom("YAML tags (!name) are not supported"))
    }
}

/// A number written as a number or as a numeric string; `None` when absent or null.
pub fn number(v: Option<&Value>) -> Result<Option<f64>, String> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n.as_f64().map(Some).ok_or_else(|| format!("{n} is not a number")),
        // PyYAML reads `20_000` as a number, and Python's float() accepts it as a string too.
        Some(Value::String(s)) => {
            s.trim().replace('_', "").parse().map(Some).map_err(|_| format!("{s:?} is not a number"))
        }
        Some(other) => Err(format!("{} is not a number", show(other))),
    }
}

/// A short rendering of a value for an error message.
pub fn show(v: &Value) -> String {
    serde_yaml::to_string(v).map(|s| s.trim().chars().take(60).collect()).unwrap_or_default()
}

/// Deserialises an optional number leniently (see [`number`]); for `#[serde(deserialize_with)]`.
pub fn de_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    let v = Option::<Lenient>::deserialize(d)?.map(|l| l.0);
    number(v.as_ref()).map_err(de::Error::custom)
}

/// Deserialises an optional whole number leniently (`3`, `"3"`, `3.0`).
pub fn de_count<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    match de_number(d)? {
        None => Ok(None),
        Some(n) if n >= 0.0 && n.fract() == 0.0 && n <= u32::MAX as f64 => Ok(Some(n as u32)),
        Some(n) => Err(de::Error::custom(format!("{n} is not a whole number"))),
    }
}

/// Deserialises an optional boolean leniently (`true`, `"true"`, `"False"`).
pub fn de_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    match Option::<Lenient>::deserialize(d)?.map(|l| l.0) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(b)),
        Some(Value::String(s)) if s.trim().eq_ignore_ascii_case("true") => Ok(Some(true)),
        Some(Value::String(s)) if s.trim().eq_ignore_ascii_case("false") => Ok(Some(false)),
        Some(other) => Err(de::Error::custom(format!("{} is not true or false", show(&other)))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_written_twice_keeps_the_last_value() {
        let v = load("a: 1\nb: {x: 1}\na: 2\nb: {y: 2}\n", &Env::default()).unwrap();
        assert_eq!(v["a"], Value::from(2));
        assert_eq!(v["b"]["y"], Value::from(2));
        assert!(v["b"].get("x").is_none());
    }

    #[test]
    fn merge_keys_and_anchors_apply_with_local_keys_winning() {
        let y = "base: &b {api_key: k, timeout: 5}\nmore: &m {rpm: 3, <<: *b}\none:\n  <<: *b\n  timeout: 9\ntwo:\n  <<: [*m]\n";
        let v = load(y, &Env::default()).unwrap();
        assert_eq!(v["one"]["api_key"], Value::from("k"));
        assert_eq!(v["one"]["timeout"], Value::from(9));
        assert_eq!(v["two"]["rpm"], Value::from(3));
        assert_eq!(v["two"]["api_key"], Value::from("k"), "an anchor that merges another arrives whole");
        assert!(v["two"].get("<<").is_none());
        assert!(v["one"].get("<<").is_none());
    }

    #[test]
    fn environment_references_resolve_anywhere_and_unset_ones_stay() {
        let y = "model: os.environ/MODEL\nlist: [os.environ/A, x]\nkeep: os.environ/UNSET\n";
        let v = load(y, &Env::from_pairs(&[("MODEL", "openai/gpt-4o"), ("A", "a")])).unwrap();
        assert_eq!(v["model"], Value::from("openai/gpt-4o"));
        assert_eq!(v["list"][0], Value::from("a"));
        assert_eq!(unresolved(v["keep"].as_str().unwrap()), Some("UNSET"));
    }

    #[test]
    fn environment_variables_section_sets_variables_for_the_file() {
        let y = "environment_variables: {KEY: from-file}\nkey: os.environ/KEY\n";
        assert_eq!(load(y, &Env::from_pairs(&[("KEY", "from-env")])).unwrap()["key"], Value::from("from-file"));
    }

    #[test]
    fn numbers_may_be_strings() {
        assert_eq!(number(Some(&Value::from("600"))).unwrap(), Some(600.0));
        assert_eq!(number(Some(&Value::from(0.5))).unwrap(), Some(0.5));
        assert!(number(Some(&Value::from("ten"))).is_err());
        assert_eq!(number(Some(&Value::from("20_000"))).unwrap(), Some(20000.0));
        assert_eq!(number(None).unwrap(), None);
    }
}
