//! The providers a `litellm_params.model` may name, by LiteLLM's prefix: which wire format each
//! speaks, its default base URL (LiteLLM's), how the key is sent and how URLs are laid out.
//! Adding an OpenAI-compatible provider is one line of [`FAMILIES`]. Also the prefixes this proxy
//! knows it cannot call, with the reason, and LiteLLM's rule for names without a prefix.

/// The wire format an upstream speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    /// Any OpenAI-compatible API (Chat Completions).
    OpenAi,
    /// Anthropic's Messages API.
    Anthropic,
    /// Anthropic wire format plus the Claude Code client identity (a Claude Code relay).
    OpenAi2ClaudeCode,
}

/// How the deployment's key reaches the upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// `Authorization: Bearer <key>`.
    Bearer,
    /// `api-key: <key>` (Azure).
    ApiKey,
    /// `x-api-key: <key>` (Anthropic).
    XApiKey,
    /// Both `Authorization: Bearer` and `x-api-key` (Claude Code relays differ in which they read).
    BearerAndXApiKey,
}

/// How an upstream URL is made from `api_base` and an OpenAI-style path such as `/chat/completions`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `api_base` already holds the version (`…/v1`): `{api_base}{path}`.
    Plain,
    /// `api_base` is a server root to which `/v1` is appended unless present (Ollama).
    Root,
    /// Anthropic: `{api_base}/v1{path}`, `api_base` being the origin.
    Anthropic,
    /// Azure OpenAI: `{api_base}/openai/deployments/{model}{path}?api-version=…`, or with an
    /// `api_version` of `v1`, `latest` or `preview`, the v1 API at `{api_base}/openai/v1{path}`.
    Azure,
}

/// One provider prefix.
#[derive(Debug, PartialEq, Eq)]
pub struct Family {
    /// The prefix in `litellm_params.model` (`gemini` in `gemini/gemini-2.5-flash`).
    pub name: &'static str,
    /// The wire format.
    pub wire: Provider,
    /// LiteLLM's default `api_base`; `None` when the entry must give one.
    pub base: Option<&'static str>,
    /// How the key is sent.
    pub auth: Auth,
    /// How URLs are joined.
    pub layout: Layout,
    /// Environment variables LiteLLM reads the key from when an entry gives none (first set wins).
    pub key_env: &'static [&'static str],
}

const fn openai(name: &'static str, base: Option<&'static str>, key_env: &'static [&'static str]) -> Family {
    Family { name, wire: Provider::OpenAi, base, auth: Auth::Bearer, layout: Layout::Plain, key_env }
}

const fn anthropic(name: &'static str, wire: Provider, auth: Auth, key_env: &'static [&'static str]) -> Family {
    Family { name, wire, base: Some("https://api.anthropic.com"), auth, layout: Layout::Anthropic, key_env }
}

/// Every provider this proxy calls. Defaults are LiteLLM's (its provider documentation).
pub static FAMILIES: &[Family] = &[
    openai("openai", Some("https://api.openai.com/v1"), &["OPENAI_API_KEY"]),
    anthropic("anthropic", Provider::Anthropic, Auth::XApiKey, &["ANTHROPIC_API_KEY"]),
    anthropic("openai2claudecode", Provider::OpenAi2ClaudeCode, Auth::BearerAndXApiKey, &[]),
    Family {
        auth: Auth::ApiKey,
        layout: Layout::Azure,
        ..openai("azure", None, &["AZURE_API_KEY", "AZURE_OPENAI_API_KEY"])
    },
    Family { auth: Auth::ApiKey, ..openai("azure_ai", None, &["AZURE_AI_API_KEY"]) },
    Family { layout: Layout::Root, ..openai("ollama", Some("http://localhost:11434"), &["OLLAMA_API_KEY"]) },
    Family { layout: Layout::Root, ..openai("ollama_chat", Some("http://localhost:11434"), &["OLLAMA_API_KEY"]) },
    openai("gemini", Some("https://generativelanguage.googleapis.com/v1beta/openai"), &["GEMINI_API_KEY"]),
    openai("openrouter", Some("https://openrouter.ai/api/v1"), &["OPENROUTER_API_KEY", "OR_API_KEY"]),
    openai("groq", Some("https://api.groq.com/openai/v1"), &["GROQ_API_KEY"]),
    openai("deepseek", Some("https://api.deepseek.com/beta"), &["DEEPSEEK_API_KEY"]),
    openai("mistral", Some("https://api.mistral.ai/v1"), &["MISTRAL_API_KEY"]),
    openai("dashscope", Some("https://dashscope-intl.aliyuncs.com/compatible-mode/v1"), &["DASHSCOPE_API_KEY"]),
    openai(
        "together_ai",
        Some("https://api.together.xyz/v1"),
        &["TOGETHER_API_KEY", "TOGETHER_AI_API_KEY", "TOGETHERAI_API_KEY", "TOGETHER_AI_TOKEN"],
    ),
    openai(
        "fireworks_ai",
        Some("https://api.fireworks.ai/inference/v1"),
        &["FIREWORKS_API_KEY", "FIREWORKS_AI_API_KEY", "FIREWORKSAI_API_KEY", "FIREWORKS_AI_TOKEN"],
    ),
    openai("xai", Some("https://api.x.ai/v1"), &["XAI_API_KEY"]),
    openai("cerebras", Some("https://api.cerebras.ai/v1"), &["CEREBRAS_API_KEY"]),
    openai("nvidia_nim", Some("https://integrate.api.nvidia.com/v1"), &["NVIDIA_NIM_API_KEY"]),
    openai("moonshot", Some("https://api.moonshot.ai/v1"), &["MOONSHOT_API_KEY"]),
    openai("minimax", Some("https://api.minimax.io/v1"), &["MINIMAX_API_KEY"]),
    openai("perplexity", Some("https://api.perplexity.ai"), &["PERPLEXITYAI_API_KEY", "PERPLEXITY_API_KEY"]),
    openai("github", Some("https://models.inference.ai.azure.com"), &["GITHUB_API_KEY"]),
    openai("volcengine", Some("https://ark.cn-beijing.volces.com/api/v3"), &["VOLCENGINE_API_KEY"]),
    openai("sambanova", Some("https://api.sambanova.ai/v1"), &["SAMBANOVA_API_KEY"]),
    openai("lm_studio", Some("http://localhost:1234/v1"), &["LM_STUDIO_API_KEY"]),
    openai("lemonade", Some("http://localhost:8000/api/v1"), &["LEMONADE_API_KEY"]),
    openai("hosted_vllm", None, &["HOSTED_VLLM_API_KEY"]),
    openai("vllm", None, &[]),
    openai("openai_like", None, &[]),
    openai("custom_openai", None, &[]),
];

/// Prefixes LiteLLM knows that this proxy cannot call, and why.
const UNSUPPORTED: &[(&str, &str)] = &[
    ("bedrock", "AWS Bedrock needs SigV4 request signing"),
    ("sagemaker", "AWS SageMaker needs SigV4 request signing"),
    ("sagemaker_chat", "AWS SageMaker needs SigV4 request signing"),
    ("vertex_ai", "Vertex AI needs Google Cloud service-account credentials"),
    ("vertex_ai_beta", "Vertex AI needs Google Cloud service-account credentials"),
    ("github_copilot", "GitHub Copilot needs GitHub's device login"),
    ("text-completion-openai", "the legacy Completions API is not served"),
    ("cohere", "Cohere's native API is not OpenAI-compatible"),
    ("cohere_chat", "Cohere's native API is not OpenAI-compatible"),
    ("huggingface", "Hugging Face's inference API is not OpenAI-compatible"),
    ("replicate", "Replicate's API is not OpenAI-compatible"),
    ("watsonx", "watsonx needs IBM Cloud IAM tokens"),
];

/// The family named `name`.
pub fn family(name: &str) -> Option<&'static Family> {
    FAMILIES.iter().find(|f| f.name == name)
}

/// Why an entry naming `prefix` cannot be served: the known reason, or that it is unknown.
pub fn unsupported(prefix: &str) -> String {
    match UNSUPPORTED.iter().find(|(p, _)| *p == prefix) {
        Some((_, why)) => format!("provider {prefix:?} is not supported: {why}"),
        None => {
            format!("provider {prefix:?} is not supported (OpenAI-compatible providers: use openai/ with its api_base)")
        }
    }
}

/// The provider LiteLLM infers for a model name without a prefix: OpenAI's model families, and
/// `claude-*` for Anthropic.
pub fn infer(model: &str) -> Option<&'static Family> {
    const OPENAI: &[&str] = &[
        "gpt-",
        "chatgpt-",
        "o1",
        "o3",
        "o4",
        "codex-",
        "text-embedding-",
        "dall-e-",
        "gpt-image-",
        "whisper-",
        "tts-",
        "omni-moderation",
        "text-moderation",
        "computer-use-",
    ];
    if OPENAI.iter().any(|p| model.starts_with(p)) {
        family("openai")
    } else if model.starts_with("claude-") {
        family("anthropic")
    } else {
        None
    }
}

impl Family {
    /// The environment variable LiteLLM reads this provider's base URL from (`GROQ_API_BASE`).
    pub fn base_env(&self) -> String {
        format!("{}_API_BASE", self.name.to_ascii_uppercase())
    }

    /// A configured `api_base` (or the default) made ready to join paths to: no trailing `/`,
    /// and without a full endpoint path that some configs give (`…/chat/completions`,
    /// `…/v1/messages`).
    pub fn base(&self, configured: Option<&str>) -> Option<String> {
        let base = configured.or(self.base)?.trim().trim_end_matches('/');
        let base = match self.layout {
            Layout::Anthropic => base.trim_end_matches("/v1/messages").trim_end_matches("/v1"),
            Layout::Root => base.trim_end_matches("/v1"),
            _ => base.trim_end_matches("/chat/completions"),
        };
        Some(base.trim_end_matches('/').to_string())
    }

    /// The model name sent upstream: Fireworks' short names get its account path, as LiteLLM does.
    pub fn upstream_model(&self, model: &str) -> String {
        match self.name {
            "fireworks_ai" if !model.starts_with("accounts/") => format!("accounts/fireworks/models/{model}"),
            _ => model.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_is_listed_once_and_has_a_usable_default() {
        for (i, f) in FAMILIES.iter().enumerate() {
            assert!(FAMILIES[..i].iter().all(|g| g.name != f.name), "{} twice", f.name);
            if let Some(b) = f.base {
                assert!(b.starts_with("http") && !b.ends_with('/'), "{}: {b}", f.name);
            }
        }
    }

    #[test]
    fn bare_names_follow_litellm() {
        assert_eq!(infer("gpt-4o").unwrap().name, "openai");
        assert_eq!(infer("o3-mini").unwrap().name, "openai");
        assert_eq!(infer("claude-sonnet-4-20250514").unwrap().name, "anthropic");
        assert!(infer("llama3").is_none() && infer("gemini-2.5-flash").is_none());
    }

    #[test]
    fn bases_lose_endpoint_paths_they_should_not_have() {
        let f = |n: &str| family(n).unwrap();
        assert_eq!(f("ollama").base(Some("http://ollama:11434/")).unwrap(), "http://ollama:11434");
        assert_eq!(f("ollama").base(Some("http://ollama:11434/v1")).unwrap(), "http://ollama:11434");
        assert_eq!(f("anthropic").base(Some("https://relay/v1")).unwrap(), "https://relay");
        let or = f("openrouter").base(Some("https://openrouter.ai/api/v1/chat/completions")).unwrap();
        assert_eq!(or, "https://openrouter.ai/api/v1");
        assert_eq!(f("azure").base(None), None);
        assert_eq!(f("fireworks_ai").upstream_model("llama-v3"), "accounts/fireworks/models/llama-v3");
    }
}
