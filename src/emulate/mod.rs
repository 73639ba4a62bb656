//! Endpoints answered by the proxy itself, with no upstream call: the `mock_response` demo model
//! and the merged model list. Pure functions from config (and already-fetched data) to bodies.

pub mod mock;
pub mod models;

/// Seconds since the Unix epoch, for `created` fields.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
