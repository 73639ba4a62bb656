//! The integration tests: one binary, the proxy in-process on port 0, fake upstreams on
//! 127.0.0.1:0, nothing on the network.

mod strict; // the oracle: what the real Anthropic and OpenAI APIs refuse, applied to every upstream body
mod support;

mod anthropic; // /v1/messages passthrough, count_tokens, Anthropic model lists and errors
mod attacks; // issue 13 against the bare binary: pipelining, unsent bodies, idle connections, framing, Expect, cross-site
mod auth; // every way to present a token, wrong and missing ones, loopback-only mode
mod confusion; // upstream answers and events, and client requests, with a node of a wrong JSON type: nothing panics
mod cli; // the binary: --check on the original example config, --version, bad configs
mod cursor; // Cursor streams (fixtures/cursor/, plus the real recordings when present) through the stream repair; request normalisation
mod deploy; // the shipped Caddyfile for real with Caddy's internal CA, the compose file, the systemd unit verified
mod dumps; // DUMP_HTTP_CONTENT: both legs byte for byte, redaction, rotation, the subcommand, the viewer
mod errors; // each error status, failover, timeouts, the concurrency cap, mid-stream failures
mod fanout; // one client request never fans out without bound: the model list's single refresh, the cap on upstream attempts
mod faults; // upstream faults: streams cut short, non-JSON answers, very large answers
mod front_proxy; // the shipped nginx site in front, for real: TLS, port 80, huge bodies, slowloris, big heads
mod headers; // which client headers reach each upstream, per pair of client and upstream dialect
mod hostile; // path tricks, odd bodies, header injection, smuggling shapes
mod litellm; // the real LiteLLM configs, every provider family on the wire, fallbacks, aliases, drop_params
mod lifecycle; // SIGTERM: running streams finish, new requests get 503, exit 0
mod local; // the demo model, /health, CORS preflight, the merged model list
mod ollama; // Copilot's discovery and chat sequence, /api/chat, both auth modes
mod ollama_api; // /api/generate, /api/embed(dings), /api/ps, /api/show for every model, GET|HEAD /, Ollama-shaped errors
mod passthrough; // byte-identical bodies, promptness, disconnects, framing, key injection
mod repair; // golden files for the stream repair, default and with the Cursor opt-ins
mod responses; // the Responses API through chat, Anthropic and Responses upstreams, previous_response_id
mod routing; // exact / glob / alias / wildcard models, prefixes, /v1/* passthrough
mod tls; // upstreams over TLS: a private CA via SSL_CERT_FILE, the built-in roots refusing it
mod translate; // golden files for OpenAI ⇄ Anthropic in both directions
mod untrusted_upstream; // issue 13: huge lines and events, huge stream indexes, odd statuses, echoed keys, forged names, SIGTERM
mod web_search; // web search on Claude: Anthropic's searches and citations for Responses and chat clients, over event lists
