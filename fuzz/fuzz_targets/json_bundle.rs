//! Fuzz target `json_bundle`: see `fuzz_targets::json_bundle` (crates/fuzz-targets), which `cargo test`
//! also runs on every saved input of `fuzz/corpus/json_bundle/` and `fuzz/regressions/json_bundle/`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_targets::json_bundle(data));
