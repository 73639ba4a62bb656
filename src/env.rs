//! The environment layer of the configuration: `.env`, then `.env.local`, then the process
//! environment, later wins; lookups accept the upper- or lower-case spelling.

use std::collections::HashMap;
use std::path::Path;

/// The environment: `.env`, then `.env.local`, then the real environment, later wins.
#[derive(Debug, Clone, Default)]
pub struct Env(HashMap<String, String>);

impl Env {
    /// Reads `.env` and `.env.local` in `dir`, then overlays the process environment.
    pub fn load(dir: &Path) -> Env {
        let mut env = Env::default();
        for name in [".env", ".env.local"] {
            if let Ok(text) = std::fs::read_to_string(dir.join(name)) {
                env.0.extend(parse_dotenv(&text));
            }
        }
        env.0.extend(std::env::vars());
        env
    }

    /// An environment made of exactly these pairs (for tests and embedding).
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Env {
        Env(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }

    /// This environment with `vars` added, replacing variables of the same name (LiteLLM's
    /// `environment_variables` section sets them in the process environment).
    pub fn with(&self, vars: impl IntoIterator<Item = (String, String)>) -> Env {
        Env(self.0.clone().into_iter().chain(vars).collect())
    }

    /// The value of `name` or its lower-case spelling; empty values count as unset.
    pub fn get(&self, name: &str) -> Option<&str> {
        let v = self.0.get(name).or_else(|| self.0.get(&name.to_ascii_lowercase()));
        v.map(String::as_str).filter(|v| !v.trim().is_empty())
    }
}

/// Parses `KEY=value` lines (`export`, comments and quotes allowed).
fn parse_dotenv(text: &str) -> Vec<(String, String)> {
    let lines = text.lines().map(|line| line.trim()).map(|line| line.strip_prefix("export ").unwrap_or(line));
    let pairs = lines.filter(|line| !line.starts_with('#')).filter_map(|line| line.split_once('='));
    (pairs.map(|(k, v)| {
        let v = v.trim();
        let v = match v.as_bytes().first() {
            Some(q @ (b'"' | b'\'')) if v.len() >= 2 && v.as_bytes()[v.len() - 1] == *q => &v[1..v.len() - 1],
            // An unquoted value may carry a trailing comment.
            _ => v.split(" #").next().unwrap_or(v).trim(),
        };
        (k.trim().to_string(), v.to_string())
    }))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotenv_lines_are_parsed_like_shells_do() {
        let got = parse_dotenv("# c\nA=1\nexport B = two \nC=\"q # not comment\"\nD=x # comment\n\nbad line\n");
        let want = [("A", "1"), ("B", "two"), ("C", "q # not comment"), ("D", "x")];
        assert_eq!(got, want.map(|(k, v)| (k.to_string(), v.to_string())));
    }
}
