//! The Responses API's `previous_response_id`, for responses this proxy translated: a bounded
//! in-memory store of recent conversations (each response's input items and output items, by
//! its id). One store per process, kept across config reloads and lost on restart; the oldest
//! go first when it is full or they are too old. Responses passed through to an upstream that serves the Responses API are
//! that upstream's to keep.

use serde_json::Value;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How many conversations are kept at most.
pub const MAX_CONVERSATIONS: usize = 1024;

/// How much conversation text is kept at most, in bytes of JSON (long agent sessions are large).
/// Kept as that text, not as parsed values, which take up to 16 times as much (an array of
/// small numbers): what is counted is what is held.
pub const MAX_BYTES: usize = 256 << 20;

/// How long a conversation is kept after its response.
pub const MAX_AGE: Duration = Duration::from_secs(6 * 60 * 60);

/// The process's store.
pub fn shared() -> &'static Conversations {
    static STORE: OnceLock<Conversations> = OnceLock::new();
    STORE.get_or_init(Conversations::default)
}

/// How many JSON values (each number, string, array and object) a kept conversation may hold.
/// Each turn that continues it parses them all back, at ~100 bytes a value with the copies a turn
/// makes: a 109-byte request naming a conversation of 16M zeros cost 1.5 GB. Real conversations
/// hold a few thousand (a base64 image is one value).
pub const MAX_VALUES: usize = 200_000;

/// One kept conversation, or the note that it was too large to keep.
struct Entry {
    id: String,
    at: Instant,
    /// The items as a JSON array; `None` when they were too large to keep.
    kept: Option<Kept>,
}

/// A kept conversation's items.
#[derive(Clone)]
pub struct Kept {
    /// The items as a JSON array.
    pub json: Arc<str>,
    /// How many JSON values the items hold.
    pub values: usize,
    /// Where the response's output items begin in `json`.
    output_at: usize,
    /// The whole conversation, or only the output of a conversation too large to keep.
    whole: bool,
}

impl Kept {
    /// The response's output items as a JSON array, without the earlier turns.
    pub fn output(&self) -> String {
        format!("[{}", self.json[self.output_at..].trim_start_matches(','))
    }
}

/// What the store knows of a response id.
pub enum Found {
    /// Its conversation.
    Kept(Kept),
    /// It was answered, but its conversation was too large to keep.
    TooLarge,
    /// Never kept, or gone.
    Unknown,
}

/// The store; shared by every worker.
#[derive(Default)]
pub struct Conversations {
    entries: Mutex<VecDeque<Entry>>,
}

impl Conversations {
    /// Keeps the conversation that led to response `id`: the items of `before` (the kept
    /// conversation it continues), then this request's `input`, then the response's `output`. Refused with a warning past
    /// [`MAX_VALUES`] or [`MAX_BYTES`]; continuing it then says so.
    pub fn keep(&self, id: &str, before: Option<&Kept>, input: &[Value], output: &[Value]) {
        let items = || input.iter().chain(output);
        let values = before.map_or(0, |b| b.values) + items().map(count_values).sum::<usize>();
        let fits = |values: usize, (json, _): &(String, usize)| values <= MAX_VALUES && json.len() <= MAX_BYTES;
        let whole = (values <= MAX_VALUES).then(|| splice(before, input, output)).filter(|j| fits(values, j));
        let kept = match whole {
            Some((json, output_at)) => Some(Kept { json: json.into(), values, output_at, whole: true }),
            None => {
                log::warn!("conversation of response {id} not kept for previous_response_id: {values} JSON values (at most {MAX_VALUES}) or over {MAX_BYTES} bytes");
                // Its output alone still answers the item references a client sends instead.
                let values = output.iter().map(count_values).sum::<usize>();
                let json = (values <= MAX_VALUES).then(|| splice(None, &[], output)).filter(|j| fits(values, j));
                json.map(|(json, output_at)| Kept { json: json.into(), values, output_at, whole: false })
            }
        };
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.push_back(Entry { id: id.into(), at: Instant::now(), kept });
        let size = |e: &Entry| e.kept.as_ref().map_or(0, |k| k.json.len());
        let mut total: usize = entries.iter().map(size).sum();
        while entries.len() > MAX_CONVERSATIONS || total > MAX_BYTES || entries.front().is_some_and(expired) {
            let Some(old) = entries.pop_front() else { break };
            total -= size(&old);
        }
    }

    /// What is known of the conversation that led to response `id`.
    pub fn get(&self, id: &str) -> Found {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        match entries.iter().rev().find(|e| e.id == id && !expired(e)) {
            Some(Entry { kept: Some(k), .. }) if k.whole => Found::Kept(k.clone()),
            Some(_) => Found::TooLarge,
            None => Found::Unknown,
        }
    }

    /// The output items of response `id` as a JSON array, kept even when its whole conversation
    /// was too large to keep.
    pub fn output(&self, id: &str) -> Option<String> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let entry = entries.iter().rev().find(|e| e.id == id && !expired(e))?;
        entry.kept.as_ref().map(Kept::output)
    }
}

/// The JSON array of `before`'s items (spliced as text, not parsed again), then `input`'s, then
/// `output`'s; and where `output`'s begin.
fn splice(before: Option<&Kept>, input: &[Value], output: &[Value]) -> (String, usize) {
    let mut json = String::from("[");
    if let Some(b) = before {
        // The outer brackets only: an item may itself begin or end with one.
        let inner = b.json.trim().strip_prefix('[').and_then(|j| j.strip_suffix(']'));
        json.push_str(inner.unwrap_or_default());
    }
    let push = |json: &mut String, items: &[Value]| {
        for v in items {
            if json.len() > 1 {
                json.push(',');
            }
            json.push_str(&v.to_string());
        }
    };
    push(&mut json, input);
    let output_at = json.len();
    push(&mut json, output);
    json.push(']');
    (json, output_at)
}

/// How many JSON values `v` holds, itself included (without recursion: depth is the caller's).
fn count_values(v: &Value) -> usize {
    let (mut n, mut stack) = (0, vec![v]);
    while let Some(v) = stack.pop() {
        n += 1;
        match v {
            Value::Array(a) => stack.extend(a),
            Value::Object(o) => stack.extend(o.values()),
            _ => {}
        }
    }
    n
}

/// Older than [`MAX_AGE`].
fn expired(e: &Entry) -> bool {
    e.at.elapsed() > MAX_AGE
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The items kept for `id`, parsed.
    fn items(c: &Conversations, id: &str) -> Option<Vec<Value>> {
        match c.get(id) {
            Found::Kept(k) => Some(serde_json::from_str(&k.json).unwrap()),
            _ => None,
        }
    }

    #[test]
    fn keeps_the_newest_within_the_count() {
        let c = Conversations::default();
        for i in 0..MAX_CONVERSATIONS + 5 {
            c.keep(&format!("resp_{i}"), None, &[], &[json!({"n": i})]);
        }
        assert!(items(&c, "resp_0").is_none() && items(&c, "resp_4").is_none());
        assert_eq!(items(&c, "resp_5").unwrap()[0]["n"], 5);
        assert_eq!(items(&c, &format!("resp_{}", MAX_CONVERSATIONS + 4)).unwrap().len(), 1);
        assert!(matches!(c.get("resp_unknown"), Found::Unknown));
    }

    #[test]
    fn a_conversation_is_held_as_its_json_text_which_is_what_the_cap_counts() {
        // 16 MiB of `0,` parsed is ~16 values of 32 bytes per 2 bytes of text: held parsed, the
        // 256 MiB cap let 4 GB stay for six hours.
        let c = Conversations::default();
        let zeros = vec![json!(0); 100_000];
        c.keep("resp_big", None, &[], &[json!({"type": "message", "junk": zeros})]);
        let Found::Kept(k) = c.get("resp_big") else { panic!("kept") };
        assert_eq!(k.json.len(), r#"[{"junk":[],"type":"message"}]"#.len() + 2 * 100_000 - 1);
        assert_eq!(items(&c, "resp_big").unwrap()[0]["junk"].as_array().unwrap().len(), 100_000);
    }

    #[test]
    fn a_conversation_of_too_many_small_values_is_not_kept_and_says_so() {
        // A 32 MiB array of zeros, kept, cost ~1.5 GB for every 109-byte request continuing it.
        let c = Conversations::default();
        let zeros = vec![json!(0); MAX_VALUES];
        c.keep("resp_zeros", None, &[], &[json!({"type": "message", "junk": zeros})]);
        assert!(matches!(c.get("resp_zeros"), Found::TooLarge));
        // Continuing a kept one counts its values too.
        c.keep("resp_a", None, &[], &[json!(vec![json!(0); MAX_VALUES / 2])]);
        let Found::Kept(a) = c.get("resp_a") else { panic!("kept") };
        c.keep("resp_b", Some(&a), &[], &[json!(vec![json!(0); MAX_VALUES / 2])]);
        assert!(matches!(c.get("resp_b"), Found::TooLarge));
        assert_eq!(c.output("resp_zeros"), None, "an output too large is not kept either");
        // The output of one too large to keep still answers item references (a Vercel AI SDK
        // session past the limit could not go on: every earlier answer is sent as a reference).
        c.keep("resp_c", Some(&a), &[json!(vec![json!(0); MAX_VALUES / 2])], &[json!({"id": "msg_c"})]);
        assert!(matches!(c.get("resp_c"), Found::TooLarge));
        assert_eq!(c.output("resp_c").as_deref(), Some(r#"[{"id":"msg_c"}]"#));
    }

    #[test]
    fn a_kept_conversations_output_is_read_without_its_earlier_turns() {
        // item_reference parsed each named response's whole conversation: 640 references to
        // responses of 200,000 values each took 1.9 s of CPU per 43 KB request.
        let c = Conversations::default();
        c.keep("resp_1", None, &[json!({"n": 1})], &[json!({"n": 2})]);
        let Found::Kept(first) = c.get("resp_1") else { panic!("kept") };
        c.keep("resp_2", Some(&first), &[json!([3])], &[json!({"n": 4}), json!([5])]);
        let Found::Kept(second) = c.get("resp_2") else { panic!("kept") };
        let output = |k: &Kept| serde_json::from_str::<Value>(&k.output()).unwrap();
        assert_eq!((output(&first), output(&second)), (json!([{"n": 2}]), json!([{"n": 4}, [5]])));
        c.keep("resp_3", Some(&second), &[json!(6)], &[]);
        let Found::Kept(third) = c.get("resp_3") else { panic!("kept") };
        c.keep("resp_4", None, &[], &[json!(7)]);
        let Found::Kept(fourth) = c.get("resp_4") else { panic!("kept") };
        assert_eq!((output(&third), output(&fourth)), (json!([]), json!([7])));
    }

    #[test]
    fn a_continued_conversation_is_the_kept_text_then_the_new_items() {
        let c = Conversations::default();
        c.keep("resp_1", None, &[], &[json!({"n": 1})]);
        let Found::Kept(first) = c.get("resp_1") else { panic!("kept") };
        c.keep("resp_2", Some(&first), &[json!({"n": 2})], &[json!({"n": 3})]);
        assert_eq!(items(&c, "resp_2").unwrap(), [json!({"n": 1}), json!({"n": 2}), json!({"n": 3})]);
        c.keep("resp_0", None, &[], &[]);
        let Found::Kept(empty) = c.get("resp_0") else { panic!("kept") };
        c.keep("resp_3", Some(&empty), &[], &[json!(4)]);
        assert_eq!(items(&c, "resp_3").unwrap(), [json!(4)]);
        // Items that begin or end with a bracket of their own keep it (only the outer pair goes).
        c.keep("resp_a", None, &[], &[json!([1]), json!({"a": [2]})]);
        let Found::Kept(a) = c.get("resp_a") else { panic!("kept") };
        c.keep("resp_b", Some(&a), &[], &[json!([3])]);
        assert_eq!(items(&c, "resp_b").unwrap(), [json!([1]), json!({"a": [2]}), json!([3])]);
    }
}
