//! Fuzz target `native_file`: see `fuzz_targets::native_file` (crates/fuzz-targets), which `cargo test`
//! also runs on every saved input of `fuzz/corpus/native_file/` and `fuzz/regressions/native_file/`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_targets::native_file(data));
