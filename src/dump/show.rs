//! `gpt-reverse-proxy dump FILE`: a dump as a readable conversation. Per leg (the client's, then
//! each upstream attempt): the request line and headers, the request as pretty JSON, then the
//! status with its timings and the reply assembled from the stream or the JSON answer — text,
//! reasoning, tool calls with parsed arguments, finish reason, tokens — in any of the three
//! dialects. Reads the original project's dumps too (`leg: "user"`, `body` events).

use crate::sse;
use serde_json::Value;
use std::fmt::Write;

/// Renders the JSONL text of a dump.
pub fn render(text: &str) -> Result<String, String> {
    let lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    let entries = lines
        .map(|(i, line)| serde_json::from_str(line).map_err(|e| format!("line {}: not JSON: {e}", i + 1)))
        .collect::<Result<Vec<Value>, _>>()?;
    let t0 = entries.first().and_then(|e| micros(e.get("timestamp")?.as_str()?));
    // Legs in order of appearance, the client's first.
    let mut legs: Vec<(String, Vec<&Value>)> = vec![("client ⇄ proxy".into(), Vec::new())];
    for e in &entries {
        let name = match e.get("leg").and_then(Value::as_str) {
            Some("client" | "user") => "client ⇄ proxy".to_string(),
            Some(_) => format!("proxy ⇄ upstream, attempt {}", e.get("attempt").and_then(Value::as_u64).unwrap_or(1)),
            None => continue,
        };
        match legs.iter_mut().find(|(n, _)| *n == name) {
            Some((_, list)) => list.push(e),
            None => legs.push((name, vec![e])),
        }
    }
    let mut out = String::new();
    for (name, list) in legs.iter().filter(|(_, l)| !l.is_empty()) {
        let _ = writeln!(out, "━━ {name}");
        leg(&mut out, list, t0);
    }
    if let Some(lost) = entries.iter().find(|e| e.get("event").and_then(Value::as_str) == Some("lost")) {
        let _ = writeln!(out, "!! incomplete dump: {} entries were not written", lost["payload"]["entries"]);
    }
    Ok(out)
}

/// One leg: the request, then the response.
fn leg(out: &mut String, list: &[&Value], t0: Option<i64>) {
    for dir in ["request", "response"] {
        let part: Vec<&Value> = list.iter().copied().filter(|e| e["direction"] == dir).collect();
        let info = part.iter().find(|e| e["event"] == "info").map(|e| &e["payload"]);
        let headers = info.map(|i| header_pairs(&i["headers"])).unwrap_or_default();
        let content_type = headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("content-type")).map(|(_, v)| v.clone());
        let at = |e: &Value| Some(micros(e.get("timestamp")?.as_str()?)? - t0?);
        let ms = |us: i64| format!("{:.1} ms", us as f64 / 1000.0);
        let body_parts: Vec<&&Value> = part.iter().filter(|e| e["event"] == "chunk" || e["event"] == "body").collect();
        match (dir, info) {
            ("request", Some(i)) => {
                let _ = writeln!(out, "→ {} {}", str_of(&i["method"]), str_of(&i["url"]));
            }
            ("response", Some(i)) => {
                let mut line = format!("← {}", i["status"]);
                if let Some(t) = part.first().and_then(|e| at(e)) {
                    let _ = write!(line, " at +{}", ms(t));
                }
                if let (Some(first), Some(last)) =
                    (body_parts.first().and_then(|e| at(e)), part.last().and_then(|e| at(e)))
                {
                    let _ = write!(line, " (first byte +{}, last +{})", ms(first), ms(last));
                }
                let _ = writeln!(out, "{line}");
            }
            _ if part.is_empty() => continue,
            _ => {}
        }
        for (k, v) in &headers {
            let _ = writeln!(out, "  {k}: {v}");
        }
        let body = join_body(&body_parts);
        if !body.is_empty() {
            out.push('\n');
            body_text(out, dir, &body, content_type.as_deref().unwrap_or(""), info.map(|i| &i["status"]));
        }
        for e in part.iter().filter(|e| e["event"] == "error") {
            let _ = writeln!(out, "  !! {}", str_of(&e["payload"]["message"]));
        }
        out.push('\n');
    }
}

/// A request as pretty JSON; a response assembled into a reply when it is one (streamed or
/// whole), otherwise as pretty JSON or text.
fn body_text(out: &mut String, dir: &str, body: &[u8], content_type: &str, status: Option<&Value>) {
    let ok = status.and_then(Value::as_u64).is_none_or(|s| (200..300).contains(&s));
    let events: Vec<Value> = if sse::is_media_type(content_type, "text/event-stream") {
        let mut p = sse::Parser::default();
        let mut evs = p.push(body);
        evs.extend(p.finish());
        evs.retain(|e| !e.is_comment());
        let n = evs.len();
        let mut vs: Vec<Value> = evs.iter().filter_map(|e| serde_json::from_str(&e.data).ok()).collect();
        if vs.len() < n && !evs.iter().any(|e| e.data.trim() == "[DONE]") {
            let _ = writeln!(out, "  (stream without [DONE])");
        }
        vs.retain(Value::is_object);
        vs
    } else if ["application/x-ndjson", "application/ndjson"].iter().any(|t| sse::is_media_type(content_type, t)) {
        body.split(|b| *b == b'\n').filter_map(|l| serde_json::from_slice(l).ok()).collect()
    } else {
        let parsed = serde_json::from_slice::<Value>(body);
        match parsed {
            Ok(v) if dir == "response" && ok => vec![v],
            _ => {
                let pretty = |v: Value| serde_json::to_string_pretty(&v).unwrap_or_default();
                let shown = parsed.map_or_else(|_| String::from_utf8_lossy(body).into_owned(), pretty);
                let _ = writeln!(out, "{}", indent(&shown));
                return;
            }
        }
    };
    let mut reply = Reply::default();
    for v in &events {
        reply.absorb(v);
    }
    if reply.is_empty() {
        let shown: Vec<String> = events.iter().map(|v| serde_json::to_string_pretty(v).unwrap_or_default()).collect();
        let _ = writeln!(out, "{}", indent(&shown.join("\n")));
        return;
    }
    reply.write(out);
    if events.len() > 1 {
        let _ = writeln!(out, "  ({} events)", events.len());
    }
}

/// A reply put back together from the events (or the one JSON answer) of any dialect.
#[derive(Default)]
struct Reply {
    text: String,
    reasoning: String,
    /// `(key, id, name, arguments)`, keyed by index (OpenAI) or block (Anthropic).
    tools: Vec<(u64, String, String, String)>,
    finish: Option<String>,
    tokens: Option<(u64, u64)>,
    errors: Vec<String>,
}

impl Reply {
    fn is_empty(&self) -> bool {
        self.text.is_empty() && self.reasoning.is_empty() && self.tools.is_empty() && self.errors.is_empty()
    }

    fn tool(&mut self, key: u64) -> &mut (u64, String, String, String) {
        let i = self.tools.iter().position(|t| t.0 == key).unwrap_or_else(|| {
            self.tools.push((key, String::new(), String::new(), String::new()));
            self.tools.len() - 1
        });
        &mut self.tools[i]
    }

    fn absorb(&mut self, v: &Value) {
        // The latest report wins (a translated stream starts with an estimate); Anthropic's
        // closing report may carry only the output.
        if let Some(u) = v.get("usage").or(v.pointer("/message/usage")) {
            let prompt = self.tokens.unwrap_or_default().0;
            let output_only = || Some((prompt, u["output_tokens"].as_u64()?));
            self.tokens = crate::usage::tokens_in(u).or_else(output_only).or(self.tokens);
        }
        if let (Some(p), Some(c)) = (v["prompt_eval_count"].as_u64(), v["eval_count"].as_u64()) {
            self.tokens = Some((p, c));
        }
        match &v["error"] {
            Value::String(s) => self.errors.push(s.clone()),
            Value::Object(e) => self.errors.push(e.get("message").and_then(Value::as_str).unwrap_or("?").to_string()),
            _ => {}
        }
        if let Some(c) = v.pointer("/choices/0") {
            let d = c.get("delta").or(c.get("message")).unwrap_or(&Value::Null);
            self.text += d["content"].as_str().unwrap_or("");
            self.reasoning += d["reasoning_content"].as_str().or(d["reasoning"].as_str()).unwrap_or("");
            for (n, t) in d["tool_calls"].as_array().into_iter().flatten().enumerate() {
                let tool = self.tool(t["index"].as_u64().unwrap_or(n as u64));
                tool.1 += t["id"].as_str().unwrap_or("");
                tool.2 += t["function"]["name"].as_str().unwrap_or("");
                tool.3 += t["function"]["arguments"].as_str().unwrap_or("");
            }
            if let Some(f) = c["finish_reason"].as_str() {
                self.finish = Some(f.to_string());
            }
            return;
        }
        match v["type"].as_str() {
            Some("content_block_start") => self.block(v["index"].as_u64().unwrap_or(0), &v["content_block"]),
            Some("content_block_delta") => {
                let d = &v["delta"];
                self.text += d["text"].as_str().unwrap_or("");
                self.reasoning += d["thinking"].as_str().unwrap_or("");
                if let Some(j) = d["partial_json"].as_str() {
                    self.tool(v["index"].as_u64().unwrap_or(0)).3 += j;
                }
            }
            Some("message_delta") => self.finish = v["delta"]["stop_reason"].as_str().map(String::from),
            Some("message") => {
                for (i, b) in v["content"].as_array().into_iter().flatten().enumerate() {
                    self.block(i as u64, b);
                }
                self.finish = v["stop_reason"].as_str().map(String::from);
            }
            _ => {}
        }
        if let Some(m) = v.get("message").filter(|m| m.get("role").is_some()) {
            // Ollama: whole tool calls with object arguments.
            self.text += m["content"].as_str().unwrap_or("");
            self.reasoning += m["thinking"].as_str().unwrap_or("");
            for t in m["tool_calls"].as_array().into_iter().flatten() {
                let key = self.tools.len() as u64;
                let tool = self.tool(key);
                tool.2 = t["function"]["name"].as_str().unwrap_or("").to_string();
                tool.3 = t["function"]["arguments"].to_string();
            }
            if let Some(r) = v["done_reason"].as_str() {
                self.finish = Some(r.to_string());
            }
        }
    }

    /// An Anthropic content block, at its start or whole.
    fn block(&mut self, key: u64, b: &Value) {
        match b["type"].as_str() {
            Some("text") => self.text += b["text"].as_str().unwrap_or(""),
            Some("thinking") => self.reasoning += b["thinking"].as_str().unwrap_or(""),
            Some("tool_use") => {
                let tool = self.tool(key);
                tool.1 = b["id"].as_str().unwrap_or("").to_string();
                tool.2 = b["name"].as_str().unwrap_or("").to_string();
                // A whole message carries the input; a stream's start carries `{}` and deltas follow.
                if b["input"].as_object().is_some_and(|o| !o.is_empty()) {
                    tool.3 = b["input"].to_string();
                }
            }
            _ => {}
        }
    }

    fn write(&self, out: &mut String) {
        if !self.reasoning.is_empty() {
            let _ = writeln!(out, "  reasoning:\n{}", indent(&indent(&self.reasoning)));
        }
        if !self.text.is_empty() {
            let _ = writeln!(out, "  text:\n{}", indent(&indent(&self.text)));
        }
        for (_, id, name, args) in &self.tools {
            let args = serde_json::from_str::<Value>(args)
                .map_or_else(|_| args.clone(), |v| serde_json::to_string_pretty(&v).unwrap_or_default());
            let id = if id.is_empty() { String::new() } else { format!(" [{id}]") };
            let _ = writeln!(out, "  tool call {name}{id}:\n{}", indent(&indent(&args)));
        }
        for e in &self.errors {
            let _ = writeln!(out, "  error: {e}");
        }
        let finish = self.finish.as_ref().map(|f| format!("finish: {f}"));
        let tokens = self.tokens.map(|(p, c)| format!("tokens: {p} in, {c} out"));
        let tail: Vec<String> = [finish, tokens].into_iter().flatten().collect();
        if !tail.is_empty() {
            let _ = writeln!(out, "  {}", tail.join(" · "));
        }
    }
}

/// The body bytes of a direction, in order: our `chunk`s (text or base64), or the original's
/// `body` (a JSON value or `{"text"}`).
fn join_body(parts: &[&&Value]) -> Vec<u8> {
    let bytes = |p: &Value| match (p["text"].as_str(), p["base64"].as_str()) {
        (Some(t), _) => t.as_bytes().to_vec(),
        (_, Some(b)) => crate::base64::decode(b).unwrap_or_default(),
        _ => p.to_string().into_bytes(),
    };
    parts.iter().flat_map(|e| bytes(&e["payload"])).collect()
}

/// Headers as pairs, from our `[[k, v]]` or the original's `{k: v}`.
fn header_pairs(h: &Value) -> Vec<(String, String)> {
    match h {
        Value::Array(items) => {
            items.iter().filter_map(|p| Some((p[0].as_str()?.to_string(), p[1].as_str()?.to_string()))).collect()
        }
        Value::Object(m) => m.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string())).collect(),
        _ => Vec::new(),
    }
}

fn str_of(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), String::from)
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  {l}")).collect::<Vec<_>>().join("\n")
}

/// Microseconds since the epoch from our timestamps (`…T07:45:46.123456Z`) or the original's
/// (`2025-08-29 09:21:07.883`, local time: only differences matter here).
fn micros(ts: &str) -> Option<i64> {
    let (date, time) = ts.split_once(['T', ' '])?;
    let mut d = date.split('-').map(|x| x.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let time = time.trim_end_matches('Z');
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let mut t = hms.split(':').map(|x| x.parse::<i64>().ok());
    let (h, min, s) = (t.next()??, t.next()??, t.next()??);
    let frac_us = format!("{frac:0<6}").chars().take(6).collect::<String>().parse::<i64>().ok()?;
    // Days from civil (Howard Hinnant), the inverse of `clock::rfc3339`.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day - 1;
    let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468;
    Some(((days * 86_400 + h * 3600 + min * 60 + s) * 1_000_000) + frac_us)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_of_both_formats_parse_to_the_same_clock() {
        assert_eq!(micros("1970-01-01T00:00:01.000002Z"), Some(1_000_002));
        assert_eq!(micros("2000-03-01T00:00:00.000000Z"), Some(951_868_800_000_000));
        assert_eq!(micros("2025-08-29 09:21:07.883").unwrap() - micros("2025-08-29 09:21:07.000").unwrap(), 883_000);
        assert_eq!(micros("2025-08-29 09:21:07.ééé"), None);
    }

    #[test]
    fn anthropic_stream_assembles_thinking_text_and_tool_input() {
        let mut r = Reply::default();
        for line in [
            r#"{"type":"message_start","message":{"usage":{"input_tokens":7,"output_tokens":1}}}"#,
            r#"{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":""}}"#,
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"hm"}}"#,
            r#"{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"t1","name":"ls","input":{}}}"#,
            r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"p\":"}}"#,
            r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"1}"}}"#,
            r#"{"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"input_tokens":7,"output_tokens":9}}"#,
        ] {
            r.absorb(&serde_json::from_str(line).unwrap());
        }
        assert_eq!((r.reasoning.as_str(), r.tools[0].2.as_str(), r.tools[0].3.as_str()), ("hm", "ls", "{\"p\":1}"));
        assert_eq!((r.finish.as_deref(), r.tokens), (Some("tool_use"), Some((7, 9))));
    }
}
