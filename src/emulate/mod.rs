//! Endpoints answered by the proxy itself, with no upstream call: the `mock_response` demo model
//! and the merged model list. Pure functions from config (and already-fetched data) to bodies.

pub mod mock;
pub mod models;
pub mod ollama;
