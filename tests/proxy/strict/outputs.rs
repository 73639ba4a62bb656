//! The oracle's rules for structured output (Anthropic's structured-outputs documentation,
//! OpenAI's Structured Outputs guide): what each API refuses in a JSON schema for the answer,
//! and Anthropic's refusal of a forced tool while thinking.

use super::Problems;
use serde_json::{Map, Value};

/// Schema keywords Anthropic's structured outputs refuse (its SDKs move them into descriptions).
const ANTHROPIC_UNSUPPORTED: &[&str] = &[
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
    "oneOf",
];

/// Anthropic: `output_config.format` (and the beta's `output_format`) is a `json_schema` whose
/// objects are all closed, without the keywords it cannot enforce; tool_choice `any` or `tool`
/// may not be combined with thinking.
pub fn anthropic(o: &Map<String, Value>, p: &mut Problems) {
    let format = o.get("output_config").and_then(|c| c.get("format")).or(o.get("output_format"));
    if let Some(f) = format {
        match f.get("schema").filter(|_| f["type"] == "json_schema") {
            Some(schema @ Value::Object(_)) => schema_walk(schema, "format.schema", &mut |s, at| {
                if is_object(s) && s.get("additionalProperties") != Some(&Value::Bool(false)) {
                    p.add("anthropic/output-format", format!("{at}: additionalProperties must be false for objects"));
                }
                for k in ANTHROPIC_UNSUPPORTED {
                    if s.get(*k).is_some() {
                        p.add("anthropic/output-format", format!("{at}.{k}: not supported in output formats"));
                    }
                }
                if s.get("minItems").and_then(Value::as_u64).is_some_and(|n| n > 1) {
                    p.add("anthropic/output-format", format!("{at}.minItems: only 0 or 1 is supported"));
                }
            }),
            _ => p.add("anthropic/output-format", format!("format: a json_schema with an object schema, got {f}")),
        }
    }
    let thinking = o.get("thinking").and_then(|t| t["type"].as_str()).is_some_and(|t| t != "disabled");
    let forced = o.get("tool_choice").and_then(|c| c["type"].as_str()).is_some_and(|t| t == "any" || t == "tool");
    if thinking && forced {
        p.add("anthropic/thinking-tool-choice", "Thinking may not be enabled when tool_choice forces tool use.");
    }
}

/// OpenAI: a strict `json_schema` response format closes every object and requires every property.
pub fn openai(o: &Map<String, Value>, p: &mut Problems) {
    let Some(f) = o.get("response_format") else { return };
    match f["type"].as_str() {
        Some("text" | "json_object") => {}
        Some("json_schema") => {
            let js = &f["json_schema"];
            if js["name"].as_str().is_none_or(|n| n.is_empty()) || !js["schema"].is_object() {
                p.add("openai/response-format", format!("response_format.json_schema: a name and a schema, got {js}"));
            }
            if js["strict"] == true {
                schema_walk(&js["schema"], "json_schema.schema", &mut |s, at| {
                    if !is_object(s) {
                        return;
                    }
                    let required: Vec<&str> =
                        s["required"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
                    let props = s.get("properties").and_then(Value::as_object).into_iter().flat_map(|m| m.keys());
                    if s.get("additionalProperties") != Some(&Value::Bool(false))
                        || props.into_iter().any(|k| !required.contains(&k.as_str()))
                    {
                        p.add(
                            "openai/strict-schema",
                            format!("{at}: in strict mode every object needs additionalProperties false and all properties required"),
                        );
                    }
                });
            }
        }
        _ => p.add("openai/response-format", format!("response_format: text|json_object|json_schema, got {f}")),
    }
}

fn is_object(s: &Value) -> bool {
    s["type"] == "object" || s.get("properties").is_some()
}

/// Calls `f` on a schema and every subschema inside it, with where it is.
fn schema_walk(s: &Value, at: &str, f: &mut dyn FnMut(&Value, &str)) {
    let Some(o) = s.as_object() else { return };
    f(s, at);
    for key in ["properties", "$defs", "definitions"] {
        for (k, v) in o.get(key).and_then(Value::as_object).into_iter().flatten() {
            schema_walk(v, &format!("{at}.{key}.{k}"), f);
        }
    }
    for key in ["anyOf", "allOf", "oneOf", "prefixItems"] {
        for (i, v) in o.get(key).and_then(Value::as_array).into_iter().flatten().enumerate() {
            schema_walk(v, &format!("{at}.{key}.{i}"), f);
        }
    }
    if let Some(items) = o.get("items") {
        schema_walk(items, &format!("{at}.items"), f);
    }
}

/// Structured-output requests as LangChain and the SDKs send them, across dialects: what each
/// upstream receives passes the rules above (the strict upstream fails the test otherwise).
#[test]
fn structured_output_requests_reach_each_upstream_as_bodies_it_accepts() {
    use serde_json::json;
    let user = json!([{"role": "user", "content": "Alice is 30."}]);
    // LangChain's with_structured_output(method="json_schema"): not strict, open, with bounds.
    let schema = json!({"title": "Person", "type": "object", "properties": {"name": {"type": "string", "maxLength": 40},
        "age": {"type": "integer", "minimum": 0}, "pets": {"type": "array", "items": {"type": "string"}, "minItems": 2}},
        "required": ["name"]});
    let format = json!({"type": "json_schema", "json_schema": {"name": "Person", "schema": schema, "strict": false}});
    for model in ["claude-sonnet-4-5", "claude-sonnet-4-20250514", "claude-opus-4-6"] {
        let body = json!({"model": model, "messages": user, "response_format": format, "reasoning_effort": "medium"});
        super::through("anthropic", "/v1/chat/completions", body);
    }
    let body = json!({"model": "claude-sonnet-4-5", "messages": user, "response_format": {"type": "json_object"},
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}], "reasoning_effort": "low"});
    super::through("anthropic", "/v1/chat/completions", body);
    // An Anthropic client's output formats, GA and beta, optional properties included.
    let closed = json!({"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
        "required": ["a"], "additionalProperties": false});
    for key in ["output_config", "output_format"] {
        let format = json!({"type": "json_schema", "schema": closed});
        let value = if key == "output_config" { json!({"format": format}) } else { format };
        let mut body = json!({"model": "gpt-4o", "max_tokens": 50, "messages": user});
        body[key] = value;
        super::through("openai", "/v1/messages", body);
    }
}
