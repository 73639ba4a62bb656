//! Config loading on arbitrary YAML: an error message or a config, never a panic.
#![no_main]
use gpt_reverse_proxy::config::{Config, Env, Overrides};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let env = Env::from_pairs(&[("KEY", "sk-1"), ("LOCAL_AUTH_TOKEN", "t")]);
    let _ = Config::from_parts(text, "fuzz.yaml", &env, &Overrides::default());
});
