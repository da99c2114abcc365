//! Throughput of the JSON bundle reader and writer on a realistic ~100 KB bundle (100 event
//! sources, 100 user directories, templates, 30 SRX clients with oAuth and webapi passwords,
//! transports in both files, …).

use std::hint::black_box;

use criterion::{Criterion, Throughput};

/// The allocator the jimsctl binary ships with, so that the numbers are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[allow(dead_code)]
fn json_read(c: &mut Criterion) {
    let bytes = format_json::write_bundle(&samples::realistic_export(1));
    let mut group = c.benchmark_group("json_read");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function("realistic_100k", |b| {
        b.iter(|| format_json::read_bundle(black_box(&bytes)).expect("the sample reads"))
    });
    // Reference points on the same bytes: serde_json's parser alone, and a full Value tree.
    group.bench_function("baseline_serde_ignored_any", |b| {
        b.iter(|| serde_json::from_slice::<serde::de::IgnoredAny>(black_box(&bytes)).unwrap())
    });
    group.bench_function("baseline_serde_value", |b| {
        b.iter(|| serde_json::from_slice::<serde_json::Value>(black_box(&bytes)).unwrap())
    });
    group.finish();
}

fn json_write(c: &mut Criterion) {
    let export = samples::realistic_export(1);
    let len = format_json::write_bundle(&export).len();
    let mut group = c.benchmark_group("json_write");
    group.throughput(Throughput::Bytes(len as u64));
    group.bench_function("realistic_100k", |b| {
        b.iter(|| format_json::write_bundle(black_box(&export)))
    });
    group.finish();
}

// What `criterion_group!`/`criterion_main!` expand to, written out: the macros generate an
// undocumented public function that the workspace lints refuse.
fn main() {
    let mut c = Criterion::default().configure_from_args();
    json_read(&mut c);
    json_write(&mut c);
    c.final_summary();
}
