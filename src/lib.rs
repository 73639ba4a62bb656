//! gpt-reverse-proxy: one small synchronous binary between LLM clients and LLM providers.
//!
//! A request travels `server` (a worker takes it from tiny_http's queue) → `handle` (the whole
//! path in one function) → `auth` → `route` → `emulate` (answered locally) or `translate` (the
//! body for each deployment's dialect) → `upstream` (a streaming ureq call with failover) →
//! `respond` (our own framing; streams parsed by `sse`, translated and `repair`ed event by event,
//! one flush per upstream read) → one access log line and `metrics`. `config` and `env` are read
//! once at startup; `error` is the one error type of that path.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod config; // LiteLLM model list + environment → validated Config
pub mod settings; // the process-wide settings, each with its default
pub mod litellm; // LiteLLM's loading rules: duplicate keys, merge keys, os.environ/, lenient numbers
pub mod providers; // provider prefixes: wire format, default base, auth, URL layout
pub mod env; // .env, .env.local and the process environment
pub mod server; // listener, worker pool, watchdog, graceful shutdown, panic isolation
pub mod lanes; // one worker per connection: pipelined requests parked, closed connections dropped
pub mod handle; // the request path, top to bottom
pub mod admit; // what a request head must be: size, framing, same-site
pub mod conversations; // the Responses API's previous_response_id: recent conversations in memory
pub mod auth; // client tokens, constant-time compare
pub mod dialect; // the API dialects: OpenAI, Anthropic, Ollama, Responses
pub mod clock; // Unix seconds and RFC 3339 timestamps
pub mod route; // path → surface, model → deployments, deployment → URL
pub mod emulate; // endpoints answered locally (demo model, model lists, Ollama discovery)
pub mod translate; // OpenAI ⇄ Anthropic ⇄ Ollama ⇄ Responses: requests, answers, streams, errors; normalisation
pub mod upstream; // ureq agent, outgoing requests, failover
pub mod balance; // which deployment first: order tiers, routing strategy, cooldowns
pub mod fallback; // which failures call for another model group or a dropped parameter
pub mod connect; // connectors one frame each, upstream waits, DNS cache
pub mod scrub; // upstream error bodies without the deployment's key
pub mod sse; // server-sent events: incremental parser and writers
pub mod repair; // Chat Completions stream repair and opt-in rewrites
pub mod respond; // bytes to the client: framing, flushing, error bodies
pub mod error; // the Error enum: fault, status, dialect body
pub mod metrics; // counters and histograms for /metrics
pub mod usage; // token usage from answers and streams of any dialect
pub mod dump; // DUMP_HTTP_CONTENT: per-request JSONL files, the `dump` subcommand, the viewer
pub mod base64; // for dump payloads that are not UTF-8 and Basic credentials
