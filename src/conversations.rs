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

/// One kept conversation.
struct Entry {
    id: String,
    at: Instant,
    /// The items as a JSON array.
    json: Arc<str>,
}

/// The store; shared by every worker.
#[derive(Default)]
pub struct Conversations {
    entries: Mutex<VecDeque<Entry>>,
}

impl Conversations {
    /// Keeps the conversation that led to response `id`: its input and output items in order.
    pub fn keep(&self, id: &str, items: Vec<Value>) {
        let json: Arc<str> = Value::Array(items).to_string().into();
        if json.len() > MAX_BYTES {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.push_back(Entry { id: id.into(), at: Instant::now(), json });
        let mut total: usize = entries.iter().map(|e| e.json.len()).sum();
        while entries.len() > MAX_CONVERSATIONS || total > MAX_BYTES || entries.front().is_some_and(expired) {
            let Some(old) = entries.pop_front() else { break };
            total -= old.json.len();
        }
    }

    /// The items of the conversation that led to response `id`, if it is still kept.
    pub fn get(&self, id: &str) -> Option<Vec<Value>> {
        let json = {
            let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
            entries.iter().rev().find(|e| e.id == id && !expired(e)).map(|e| e.json.clone())?
        };
        serde_json::from_str(&json).ok()
    }
}

/// Older than [`MAX_AGE`].
fn expired(e: &Entry) -> bool {
    e.at.elapsed() > MAX_AGE
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keeps_the_newest_within_the_count() {
        let c = Conversations::default();
        for i in 0..MAX_CONVERSATIONS + 5 {
            c.keep(&format!("resp_{i}"), vec![json!({"n": i})]);
        }
        assert!(c.get("resp_0").is_none() && c.get("resp_4").is_none());
        assert_eq!(c.get("resp_5").unwrap()[0]["n"], 5);
        assert_eq!(c.get(&format!("resp_{}", MAX_CONVERSATIONS + 4)).unwrap().len(), 1);
        assert!(c.get("resp_unknown").is_none());
    }

    #[test]
    fn a_conversation_is_held_as_its_json_text_which_is_what_the_cap_counts() {
        // 16 MiB of `0,` parsed is ~16 values of 32 bytes per 2 bytes of text: held parsed, the
        // 256 MiB cap let 4 GB stay for six hours.
        let c = Conversations::default();
        let zeros = vec![json!(0); 100_000];
        c.keep("resp_big", vec![json!({"type": "message", "junk": zeros})]);
        let held = c.entries.lock().unwrap()[0].json.len();
        assert_eq!(held, r#"[{"junk":[],"type":"message"}]"#.len() + 2 * 100_000 - 1);
        assert_eq!(c.get("resp_big").unwrap()[0]["junk"].as_array().unwrap().len(), 100_000);
    }
}
