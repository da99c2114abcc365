//! Criterion benchmarks live in `benches/`: one import end to end on the realistic fixture.
//! Per-stage benches sit in their crates (`format-xml`, `format-json`, `secrets`).
