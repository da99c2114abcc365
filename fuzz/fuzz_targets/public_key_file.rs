//! Fuzz target `public_key_file`: see `fuzz_targets::public_key_file` (crates/fuzz-targets), which `cargo test`
//! also runs on every saved input of `fuzz/corpus/public_key_file/` and `fuzz/regressions/public_key_file/`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_targets::public_key_file(data));
