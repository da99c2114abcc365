//! Fuzz target `secrets_file`: see `fuzz_targets::secrets_file` (crates/fuzz-targets), which `cargo test`
//! also runs on every saved input of `fuzz/corpus/secrets_file/` and `fuzz/regressions/secrets_file/`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_targets::secrets_file(data));
