//! Fuzz target `txn_journal`: see `fuzz_targets::txn_journal` (crates/fuzz-targets), which `cargo test`
//! also runs on every saved input of `fuzz/corpus/txn_journal/` and `fuzz/regressions/txn_journal/`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_targets::txn_journal(data));
