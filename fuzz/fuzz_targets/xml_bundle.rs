//! Fuzz target `xml_bundle`: see `fuzz_targets::xml_bundle` (crates/fuzz-targets), which `cargo test`
//! also runs on every saved input of `fuzz/corpus/xml_bundle/` and `fuzz/regressions/xml_bundle/`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_targets::xml_bundle(data));
