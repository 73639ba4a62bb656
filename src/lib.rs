//! gpt-reverse-proxy: one small synchronous binary between LLM clients and LLM providers.
//!
//! A request travels `server` (accept, hand to a worker) → `handle` (the whole path in one
//! function) → `auth` → `route` → `emulate` (answered locally) or `upstream` (a streaming ureq
//! call with failover) → `respond` (our own framing, one flush per upstream read) → one access
//! log line. `config` is read once at startup; `error` is the one error type of that path.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod auth; // client tokens, constant-time compare
pub mod config; // LiteLLM model list + environment → validated Config
pub mod emulate; // endpoints answered locally (demo model, model list)
pub mod env; // .env, .env.local and the process environment
pub mod error;
pub mod handle; // the request path, top to bottom
pub mod repair; // Chat Completions stream repair and opt-in rewrites
pub mod respond; // bytes to the client: framing, flushing, error bodies
pub mod route; // path → surface, model → deployments, deployment → URL
pub mod server; // listener, dispatcher, worker pool, panic isolation
pub mod sse; // server-sent events: incremental parser and writers
pub mod translate; // OpenAI ⇄ Anthropic: requests, answers, streams, errors
pub mod upstream; // ureq agent, outgoing requests, failover // the Error enum: fault, status, dialect body
