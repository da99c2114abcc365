//! An export sealed to recipients' public keys (`jimsctl export --to`, issue 17), to 1 and to
//! 10 recipients, beside the plain sealed export: the realistic full configuration opened,
//! sealed under a fresh data key, the data key wrapped per recipient with HPKE, and written.

// criterion's macros generate items without doc comments.
#![allow(missing_docs)]

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// The allocator the jimsctl binary ships with, so that the numbers are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn fixtures() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/exports"))
}

/// A new managed folder and its public-key file.
fn recipient(work: &Path, i: usize) -> PathBuf {
    let dir = work.join(format!("r{i}"));
    store::init(&dir, Some(&format!("recipient-{i}"))).expect("init");
    let target = store::Target::open_state(&dir).expect("open");
    let (key, _) = target.transport_keys().expect("transport keys");
    let file = crypto::PublicKeyFile {
        server_id: target.server_id().to_owned(),
        public: key.expect("a transport key").public().clone(),
    };
    let path = work.join(format!("r{i}.pub"));
    std::fs::write(&path, file.to_text()).expect("write");
    path
}

fn export_to(c: &mut Criterion) {
    let work = tempfile::tempdir().expect("a temporary folder");
    let source = work.path().join("hq");
    let secrets = format!("file:{}", fixtures().join("full.secrets.toml").display());
    let chain = secrets::Chain::new(vec![
        secrets::builtin_source(&secrets, &secrets::SourceOptions::default())
            .expect("the fixture's secrets file")
            .expect("a built-in source"),
    ]);
    pipeline::import(
        &fixtures().join("full.xml"),
        &source,
        &pipeline::ImportOptions::default(),
        &chain,
        None,
        &pipeline::NonInteractive,
    )
    .expect("the import succeeds");
    let pubs: Vec<PathBuf> = (0..10).map(|i| recipient(work.path(), i)).collect();
    let bytes = std::fs::metadata(fixtures().join("full.xml")).expect("fixture").len();
    let out = work.path().join("out.xml");
    let mut group = c.benchmark_group("export_to");
    group.throughput(Throughput::Bytes(bytes));
    group.sample_size(20);
    for (name, to) in [
        ("sealed_no_recipients", &pubs[..0]),
        ("1_recipient", &pubs[..1]),
        ("10_recipients", &pubs[..]),
    ] {
        let options = pipeline::ExportOptions { to: to.to_vec(), ..Default::default() };
        group.bench_function(name, |b| {
            b.iter(|| black_box(pipeline::export(&source, &out, &options).expect("export")))
        });
    }
    group.finish();
}

criterion_group!(benches, export_to);
criterion_main!(benches);
