//! One import end to end: read the realistic full export, resolve every password from a
//! `file:` source, seal, and write a new managed folder durably.

// criterion's macros generate items without doc comments.
#![allow(missing_docs)]

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// The allocator the jimsctl binary ships with, so that the numbers are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn fixtures() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/exports"))
}

fn import_end_to_end(c: &mut Criterion) {
    let export = fixtures().join("full.xml");
    let bytes = std::fs::metadata(&export).expect("fixture").len();
    let secrets = format!("file:{}", fixtures().join("full.secrets.toml").display());
    let chain = secrets::Chain::new(vec![
        secrets::builtin_source(&secrets, &secrets::SourceOptions::default())
            .expect("the fixture's secrets file")
            .expect("a built-in source"),
    ]);
    let work = tempfile::tempdir().expect("a temporary folder");
    let mut n = 0u64;
    let mut group = c.benchmark_group("import");
    group.throughput(Throughput::Bytes(bytes));
    group.sample_size(20);
    group.bench_function("full_xml_new_target", |b| {
        b.iter(|| {
            n += 1;
            let target = work.path().join(format!("t{n}"));
            let outcome = pipeline::import(
                &export,
                &target,
                &pipeline::ImportOptions::default(),
                &chain,
                None,
                &pipeline::NonInteractive,
            )
            .expect("the import succeeds");
            black_box(outcome.version)
        })
    });
    group.finish();
}

criterion_group!(benches, import_end_to_end);
criterion_main!(benches);
