//! A batch end to end: eight copies of the realistic full export imported into fresh targets
//! with a `file:` source and full durability, the commits grouped (as `jimsctl batch` does) and
//! each commit alone (as eight `jimsctl import` runs would), at 1 thread and at 2.

// criterion's macros generate items without doc comments.
#![allow(missing_docs)]

use std::hint::black_box;
use std::path::Path;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use pipeline::Status;
use pipeline::batch::{Config, Defaults, Entry, EntryStatus, Options, Overrides};

/// The allocator the jimsctl binary ships with, so that the numbers are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const EXPORTS: usize = 8;

fn fixtures() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/exports"))
}

fn batch(c: &mut Criterion) {
    let export = fixtures().join("full.xml");
    let bytes = std::fs::metadata(&export).expect("fixture").len() * EXPORTS as u64;
    let defaults = Defaults {
        secrets: vec![format!("file:{}", fixtures().join("full.secrets.toml").display())],
        ..Defaults::default()
    };
    let source_options = secrets::SourceOptions::default();
    let open = |spec: &str| -> Result<Box<dyn secrets::SecretSource>, pipeline::Error> {
        Ok(secrets::builtin_source(spec, &source_options)?.expect("a built-in source"))
    };
    let work = tempfile::tempdir().expect("a temporary folder");
    let mut n = 0u64;
    let mut group = c.benchmark_group("batch");
    group.throughput(Throughput::Bytes(bytes));
    group.sample_size(10);
    for (name, grouped) in [("grouped", true), ("each_commit_alone", false)] {
        for jobs in [1, 2] {
            let options = Options { jobs, group_commits: grouped, ..Options::default() };
            group.bench_function(BenchmarkId::new(format!("8_full_xml_{name}"), jobs), |b| {
                b.iter(|| {
                    n += 1;
                    let entries: Vec<Entry> = (0..EXPORTS)
                        .map(|i| Entry {
                            export: export.clone(),
                            target: work.path().join(format!("run{n}-t{i}")),
                            overrides: Overrides::default(),
                            problem: None,
                        })
                        .collect();
                    let report = pipeline::batch::run(&Config {
                        defaults: defaults.clone(),
                        options: options.clone(),
                        ..Config::new(&entries, &open)
                    })
                    .expect("the batch runs");
                    let imported = EntryStatus::Ended(Status::Imported);
                    assert!(report.imports.iter().all(|r| r.status == imported));
                    black_box(report.totals.imported)
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, batch);
criterion_main!(benches);
