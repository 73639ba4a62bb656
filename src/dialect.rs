//! The API dialects clients and upstreams speak: which one a request is in decides the shape of
//! every answer and error it gets.

use crate::providers::Provider;
use crate::sse::Framing;

/// The API dialect a client speaks (and answers and errors must be in).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// OpenAI Chat Completions.
    OpenAi,
    /// Anthropic Messages.
    Anthropic,
    /// Ollama's native API (`/api/chat` and friends); never a provider's wire format.
    Ollama,
    /// OpenAI's Responses API (`/v1/responses`); a wire format only of deployments that serve it.
    Responses,
}

impl Dialect {
    /// The name used in metrics and logs.
    pub fn name(self) -> &'static str {
        match self {
            Dialect::OpenAi => "openai",
            Dialect::Anthropic => "anthropic",
            Dialect::Ollama => "ollama",
            Dialect::Responses => "responses",
        }
    }

    /// The wire dialect of a provider.
    pub fn of(p: Provider) -> Dialect {
        match p {
            Provider::OpenAi => Dialect::OpenAi,
            Provider::Anthropic | Provider::OpenAi2ClaudeCode => Dialect::Anthropic,
        }
    }

    /// How this dialect's streams are written.
    pub fn framing(self) -> Framing {
        match self {
            Dialect::Ollama => Framing::Ndjson,
            Dialect::OpenAi | Dialect::Anthropic | Dialect::Responses => Framing::Sse,
        }
    }
}
