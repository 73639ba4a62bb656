//! Structured output across dialects: OpenAI's `response_format` (`json_object`, `json_schema`)
//! on Anthropic deployments, and Anthropic's `output_config.format` (or the beta `output_format`)
//! on OpenAI deployments.
//!
//! To Anthropic, a `json_schema` goes as `output_config.format` — Anthropic's structured outputs,
//! generally available without a beta header — when the model has them (Claude Opus, Sonnet and
//! Haiku 4.5 and later, or any model whose `model_info` says `supports_response_schema: true`) and
//! the schema can be said in Anthropic's subset (every object closed; the constraints Anthropic
//! does not enforce move into descriptions, as Anthropic's SDKs do). Otherwise, and for
//! `json_object` (which has no schema), the answer is asked for as the input of a forced tool,
//! [`TOOL`]; on the way back that input becomes the message content, streamed or whole, and the
//! finish reason `stop`. Anthropic refuses a forced tool with extended thinking, so thinking is
//! left off then.

use super::Target;
use serde_json::{json, Map, Value};

/// The name of the forced tool that carries a structured answer (another when a client tool
/// already has it).
pub const TOOL: &str = "json_response";

/// Schema keywords Anthropic's structured outputs do not enforce: moved into the description.
const UNENFORCED: &[&str] = &[
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minLength",
    "maxLength",
    "maxItems",
    "uniqueItems",
    "minProperties",
    "maxProperties",
    "patternProperties",
];

/// The forced tool's name for a Chat Completions request that asks for JSON (`json_object` or
/// `json_schema`); `None` when it does not. The same on the request's way out and its answer's
/// way back, so both agree on which tool call is the answer.
pub fn tool_name(body: &Value) -> Option<String> {
    let kind = body.pointer("/response_format/type").and_then(Value::as_str)?;
    if kind != "json_object" && kind != "json_schema" {
        return None;
    }
    let tools = body.get("tools").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let taken = |n: &str| tools.iter().any(|t| t.pointer("/function/name").or(t.get("name")) == Some(&json!(n)));
    let mut name = TOOL.to_string();
    while taken(&name) {
        name.push('_');
    }
    Some(name)
}

/// Claude Opus, Sonnet or Haiku 4.5 or later, under any provider's naming
/// (`claude-sonnet-4-5-20250929`, `anthropic.claude-haiku-4-5-20251001-v1:0`, `claude-opus-4-6`).
fn claude_with_json_outputs(model: &str) -> bool {
    let m = model.to_ascii_lowercase();
    let Some(at) = m.find("claude-") else { return false };
    let mut parts = m[at + "claude-".len()..].split(['-', '@', ':', '.']);
    if !matches!(parts.next(), Some("opus" | "sonnet" | "haiku")) {
        return false;
    }
    // Version numbers are short; a date (20250514) is not one.
    let num = |p: Option<&str>| p.filter(|s| (1..=2).contains(&s.len())).and_then(|s| s.parse::<u32>().ok());
    let Some(major) = num(parts.next()) else { return false };
    (major, num(parts.next()).unwrap_or(0)) >= (4, 5)
}

/// Adds what an OpenAI request's `response_format` asks for to the Messages request `out`
/// (built from `body` for `t`): `output_config.format`, or the forced tool.
pub fn to_anthropic(body: &Value, t: &Target, out: &mut Map<String, Value>) {
    let Some(name) = tool_name(body) else { return };
    let given = body.pointer("/response_format/json_schema");
    let schema = given.and_then(|s| s.get("schema")).filter(|s| s.is_object());
    // Whether the model takes `output_config.format`: as `model_info` says, or by its name.
    let native = t.info.supports_response_schema.unwrap_or_else(|| claude_with_json_outputs(t.model));
    if let Some(schema) = schema.filter(|_| native).and_then(anthropic_schema) {
        let config = out.entry("output_config").or_insert_with(|| json!({}));
        if let Some(c) = config.as_object_mut() {
            c.insert("format".into(), json!({"type": "json_schema", "schema": schema}));
        }
        return;
    }
    // A tool's input is an object; any other schema (or none, for json_object) takes any object.
    let input_schema = match schema {
        Some(s) if s.get("type").is_none_or(|ty| ty == "object") => without_meta(s),
        _ => json!({"type": "object"}),
    };
    let mut description = "Give your final answer by calling this tool: its input is the answer, as JSON.".to_string();
    for (key, lead) in [("name", " The answer is a "), ("description", " ")] {
        if let Some(text) = given.and_then(|s| s.get(key)).and_then(Value::as_str) {
            description = format!("{description}{lead}{text}{}", if key == "name" { "." } else { "" });
        }
    }
    let tool = json!({"name": name, "input_schema": input_schema, "description": description});
    let client_tools = out.get("tools").and_then(Value::as_array).is_some_and(|a| !a.is_empty());
    let forced = json!({"type": "tool", "name": name});
    // With the client's own tools, the model may still call one of them instead.
    let choice = match out.get("tool_choice").and_then(|c| c.get("type")).and_then(Value::as_str) {
        Some("any" | "tool") => out["tool_choice"].clone(),
        Some("auto") if client_tools => json!({"type": "any"}),
        _ => forced,
    };
    if let Some(tools) = out.entry("tools").or_insert_with(|| json!([])).as_array_mut() {
        tools.push(tool);
    }
    out.insert("tool_choice".into(), choice);
    out.remove("thinking");
}

/// A JSON schema without `$schema` (tools and formats refuse it).
pub(super) fn without_meta(schema: &Value) -> Value {
    let mut s = schema.clone();
    if let Some(o) = s.as_object_mut() {
        o.remove("$schema");
    }
    s
}

/// An OpenAI schema in Anthropic's subset: objects closed (`additionalProperties: false`), the
/// constraints it does not enforce appended to descriptions, `oneOf` as `anyOf`. `None` when it
/// cannot be said there (an object open to more properties, a recursive `$ref: "#"`).
fn anthropic_schema(schema: &Value) -> Option<Value> {
    let mut s = without_meta(schema);
    close(&mut s).then_some(s)
}

/// Rewrites one subschema and those inside it; `false` when it cannot be expressed.
fn close(s: &mut Value) -> bool {
    let Some(o) = s.as_object_mut() else { return true };
    if o.get("$ref").and_then(Value::as_str) == Some("#") {
        return false;
    }
    if o.get("type").is_some_and(|t| t == "object") || o.contains_key("properties") {
        match o.get("additionalProperties") {
            None => {
                o.insert("additionalProperties".into(), false.into());
            }
            Some(Value::Bool(false)) => {}
            Some(_) => return false,
        }
    }
    let mut notes = Vec::new();
    for k in UNENFORCED {
        if let Some(v) = o.remove(*k) {
            notes.push(format!("{k}: {v}"));
        }
    }
    if o.get("minItems").and_then(Value::as_u64).is_some_and(|n| n > 1) {
        notes.push(format!("minItems: {}", o.remove("minItems").unwrap_or_default()));
    }
    if !notes.is_empty() {
        let before = o.get("description").and_then(Value::as_str).map(|d| format!("{d}\n\n")).unwrap_or_default();
        o.insert("description".into(), format!("{before}{{{}}}", notes.join(", ")).into());
    }
    if let Some(one) = o.remove("oneOf") {
        o.insert("anyOf".into(), one);
    }
    let mut ok = true;
    for (k, v) in o.iter_mut() {
        let inner: Vec<&mut Value> = match (k.as_str(), v) {
            ("properties" | "$defs" | "definitions", Value::Object(m)) => m.values_mut().collect(),
            ("anyOf" | "allOf" | "prefixItems", Value::Array(a)) => a.iter_mut().collect(),
            ("items", v) => vec![v],
            _ => continue,
        };
        inner.into_iter().for_each(|s| ok &= close(s));
    }
    ok
}

/// A Messages answer with the forced tool's call made into text (its input, as JSON): the
/// content the client asked for. The stop reason is `end_turn` unless another tool was called.
pub fn tool_as_text(msg: &mut Value, name: &str) {
    let Some(blocks) = msg.get_mut("content").and_then(Value::as_array_mut) else { return };
    let mut found = false;
    for b in blocks.iter_mut() {
        if b["type"] == "tool_use" && b["name"] == name {
            let text = b.get("input").map_or("{}".into(), Value::to_string);
            *b = json!({"type": "text", "text": text});
            found = true;
        }
    }
    let other_calls = blocks.iter().any(|b| b["type"] == "tool_use");
    if found && !other_calls && msg["stop_reason"] == "tool_use" {
        msg["stop_reason"] = "end_turn".into();
    }
}

/// Adds what an Anthropic request's `output_config.format` (or the beta's `output_format`) asks
/// for to the Chat Completions request `out`: a `json_schema` response format, strict when the
/// schema meets OpenAI's strict rules (every object closed, every property required).
pub fn to_openai(body: &Value, out: &mut Map<String, Value>) {
    let format = body.pointer("/output_config/format").or(body.get("output_format"));
    let Some(format) = format.filter(|f| f["type"] == "json_schema") else { return };
    let Some(schema) = format.get("schema").filter(|s| s.is_object()) else { return };
    let schema = without_meta(schema);
    let strict = openai_strict(&schema);
    out.insert(
        "response_format".into(),
        json!({"type": "json_schema", "json_schema": {"name": "response", "schema": schema, "strict": strict}}),
    );
}

/// Whether OpenAI's strict mode takes this schema: every object closed with all its properties
/// required, all the way down.
fn openai_strict(s: &Value) -> bool {
    let Some(o) = s.as_object() else { return true };
    if let Some(props) = o.get("properties").and_then(Value::as_object) {
        let required: Vec<&str> =
            o.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
        if o.get("additionalProperties") != Some(&Value::Bool(false))
            || !props.keys().all(|k| required.contains(&k.as_str()))
        {
            return false;
        }
    }
    let maps = ["properties", "$defs", "definitions"].into_iter().filter_map(|k| o.get(k).and_then(Value::as_object));
    let lists = ["anyOf", "allOf"].into_iter().filter_map(|k| o.get(k).and_then(Value::as_array));
    maps.flat_map(|m| m.values()).chain(lists.flatten()).chain(o.get("items")).all(openai_strict)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::translate::request::tests::to_anthropic_for;

    fn schema_format(schema: Value) -> Value {
        json!({"type": "json_schema", "json_schema": {"name": "Person", "strict": true, "schema": schema}})
    }

    #[test]
    fn claude_models_with_json_outputs_are_told_by_name() {
        for yes in [
            "claude-sonnet-4-5-20250929",
            "claude-haiku-4-5",
            "anthropic.claude-opus-4-5-20251101-v1:0",
            "claude-opus-4-6",
            "claude-sonnet-4-6@20260101",
            "claude-opus-5",
            "Claude-Sonnet-4.5",
        ] {
            assert!(claude_with_json_outputs(yes), "{yes}");
        }
        for no in [
            "claude-sonnet-4-20250514",
            "claude-opus-4-1-20250805",
            "claude-3-5-sonnet-20241022",
            "gpt-4o",
            "claude-opus-4",
            "kimi-k2",
        ] {
            assert!(!claude_with_json_outputs(no), "{no}");
        }
    }

    #[test]
    fn a_json_schema_goes_as_output_config_format_where_the_model_has_it() {
        let schema = json!({"$schema": "x", "type": "object", "properties": {"age": {"type": "integer", "minimum": 0},
            "tags": {"type": "array", "items": {"type": "object", "properties": {"t": {"type": "string"}}}, "minItems": 2}},
            "required": ["age"]});
        let body = json!({"messages": [{"role": "user", "content": "x"}], "response_format": schema_format(schema),
                          "reasoning_effort": "low"});
        let v = to_anthropic_for("claude-sonnet-4-5", body);
        let f = &v["output_config"]["format"];
        assert_eq!(f["type"], "json_schema");
        assert_eq!((f["schema"].get("$schema"), &f["schema"]["additionalProperties"]), (None, &json!(false)));
        assert_eq!(f["schema"]["properties"]["age"], json!({"type": "integer", "description": "{minimum: 0}"}));
        let tags = &f["schema"]["properties"]["tags"];
        assert_eq!(
            (&tags["description"], &tags["items"]["additionalProperties"]),
            (&json!("{minItems: 2}"), &json!(false))
        );
        assert!(v.get("tools").is_none() && v["thinking"]["type"] == "enabled", "{v}");
    }

    #[test]
    fn older_models_open_schemas_and_json_object_get_a_forced_tool_without_thinking() {
        let person = json!({"type": "object", "properties": {"name": {"type": "string"}}});
        for (model, format) in [
            ("claude-sonnet-4-20250514", schema_format(person.clone())),
            ("claude-sonnet-4-5", schema_format(json!({"type": "object", "additionalProperties": true}))),
            ("claude-sonnet-4-5", json!({"type": "json_object"})),
        ] {
            let body = json!({"messages": [{"role": "user", "content": "x"}], "response_format": format, "reasoning_effort": "high"});
            let v = to_anthropic_for(model, body);
            assert_eq!(v["tool_choice"], json!({"type": "tool", "name": TOOL}), "{model} {v}");
            assert_eq!(v["tools"][0]["name"], TOOL);
            assert!(v.get("thinking").is_none() && v.get("output_config").is_none(), "{v}");
        }
        // Beside the client's tools (one already named json_response), any tool may be called.
        let tools = json!([{"type": "function", "function": {"name": TOOL, "parameters": {"type": "object"}}}]);
        let body = json!({"messages": [], "tools": tools, "response_format": {"type": "json_object"}});
        let v = to_anthropic_for("claude-3-5-haiku", body);
        assert_eq!((&v["tools"][1]["name"], &v["tool_choice"]), (&json!("json_response_"), &json!({"type": "any"})));
    }

    #[test]
    fn the_forced_tools_call_becomes_text_and_the_turn_ends() {
        let mut msg = json!({"stop_reason": "tool_use", "content": [{"type": "tool_use", "id": "t", "name": TOOL, "input": {"a": 1}}]});
        tool_as_text(&mut msg, TOOL);
        assert_eq!(msg, json!({"stop_reason": "end_turn", "content": [{"type": "text", "text": "{\"a\":1}"}]}));
    }

    #[test]
    fn anthropic_output_formats_become_response_formats_strict_when_openai_allows() {
        let closed = json!({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"], "additionalProperties": false});
        let optional =
            json!({"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": false});
        for (body, strict) in [
            (json!({"output_config": {"format": {"type": "json_schema", "schema": closed}}}), true),
            (json!({"output_format": {"type": "json_schema", "schema": optional}}), false),
        ] {
            let mut out = Map::new();
            to_openai(&body, &mut out);
            assert_eq!(out["response_format"]["type"], "json_schema");
            assert_eq!(out["response_format"]["json_schema"]["strict"], strict, "{body}");
        }
        let mut out = Map::new();
        to_openai(&json!({"output_config": {"effort": "low"}}), &mut out);
        assert!(out.is_empty());
    }
}
