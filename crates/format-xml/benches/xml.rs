//! Throughput of the XML bundle reader and writer over a realistic full configuration of about
//! 100 KB (100 event sources, 100 user directories, 30 SRX clients, …).
#![allow(missing_docs)] // criterion's macros generate undocumented functions

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// The allocator the jimsctl binary ships with, so that the numbers are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn xml(c: &mut Criterion) {
    let export = samples::realistic_export(1);
    let bytes = format_xml::write_bundle(&export);
    assert_eq!(format_xml::read_bundle(&bytes).expect("the sample reads"), export);

    let mut read = c.benchmark_group("xml_read");
    read.throughput(Throughput::Bytes(bytes.len() as u64));
    read.bench_function(format!("bundle_{}KB", bytes.len() / 1000), |b| {
        b.iter(|| format_xml::read_bundle(black_box(&bytes)).expect("reads"))
    });
    read.finish();

    let mut write = c.benchmark_group("xml_write");
    write.throughput(Throughput::Bytes(bytes.len() as u64));
    write.bench_function(format!("bundle_{}KB", bytes.len() / 1000), |b| {
        b.iter(|| format_xml::write_bundle(black_box(&export)))
    });
    write.finish();
}

criterion_group!(benches, xml);
criterion_main!(benches);
