//! Fuzz target `sealed_value`: see `fuzz_targets::sealed_value` (crates/fuzz-targets), which `cargo test`
//! also runs on every saved input of `fuzz/corpus/sealed_value/` and `fuzz/regressions/sealed_value/`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_targets::sealed_value(data));
