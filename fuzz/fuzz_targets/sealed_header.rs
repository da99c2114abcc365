//! Fuzz target `sealed_header`: see `fuzz_targets::sealed_header` (crates/fuzz-targets), which `cargo test`
//! also runs on every saved input of `fuzz/corpus/sealed_header/` and `fuzz/regressions/sealed_header/`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_targets::sealed_header(data));
