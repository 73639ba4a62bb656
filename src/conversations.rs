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
    bytes: usize,
    items: Arc<Vec<Value>>,
}

/// The store; shared by every worker.
#[derive(Default)]
pub struct Conversations {
    entries: Mutex<VecDeque<Entry>>,
}

impl Conversations {
    /// Keeps the conversation that led to response `id`: its input and output items in order.
    pub fn keep(&self, id: &str, items: Vec<Value>) {
        let bytes = items.iter().map(|i| i.to_string().len()).sum();
        if bytes > MAX_BYTES {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.push_back(Entry { id: id.into(), at: Instant::now(), bytes, items: Arc::new(items) });
        let mut total: usize = entries.iter().map(|e| e.bytes).sum();
        while entries.len() > MAX_CONVERSATIONS || total > MAX_BYTES || entries.front().is_some_and(expired) {
            let Some(old) = entries.pop_front() else { break };
            total -= old.bytes;
        }
    }

    /// The items of the conversation that led to response `id`, if it is still kept.
    pub fn get(&self, id: &str) -> Option<Arc<Vec<Value>>> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.iter().rev().find(|e| e.id == id && !expired(e)).map(|e| e.items.clone())
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
}
