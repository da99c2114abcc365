//! Resolving and sealing 10,000 missing passwords from a `file:` source, against sealing them
//! alone (`ServerKey::seal`: a fresh nonce, AES-256-GCM, the `{aesgcm} 1,<key id>,<hex>` text)
//! and against the raw AES-256-GCM encryption of the same passwords with one keyed cipher and a
//! counter nonce (the floor of that work: issue 4 asks that sealing cost no more than twice it).
//!
//! Run: `cargo bench -p secrets -- --warm-up-time 1 --measurement-time 3`.

use std::hint::black_box;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use criterion::{BatchSize, Criterion, Throughput, criterion_main};
use crypto::ServerKey;
use model::{Configuration, Element, Section, SectionId};
use secrets::{Chain, FileSource, SecretSource, Table, prepare, resolve, seal_resolved};
use zeroize::Zeroizing;

/// The allocator the jimsctl binary ships with, so that the numbers are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const ROWS: usize = 10_000;

/// 10,000 event sources without passwords, and the JSON secrets file that answers them all.
fn fixture() -> (Configuration, Vec<u8>) {
    let mut root = Element::new("event_sources");
    let mut file = serde_json::Map::new();
    for i in 0..ROWS {
        let id = format!("ES{i:05}");
        root.children.push(
            Element::new("event_source").with_attr("id", id.as_str()).with_child(
                Element::new("domain_controller")
                    .with_attr("server", format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255))
                    .with_attr("username", format!("CORP\\svc{}", i % 3)),
            ),
        );
        file.insert(id, format!("pw-{i:05}-correct-horse-battery").into());
    }
    let mut config = Configuration::new();
    config.insert(Section::single(SectionId::EventSources, root));
    let json = serde_json::to_vec(&serde_json::json!({ "event_sources": file })).unwrap();
    (config, json)
}

fn bench(c: &mut Criterion) {
    let key = ServerKey::from_bytes(Zeroizing::new([7u8; 32]));
    let (mut config, json) = fixture();
    let prepared = prepare(&mut config, &[SectionId::EventSources], None, &key, None).unwrap();
    let table: Table = prepared.table;
    assert_eq!(table.total(), ROWS);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secrets.json");
    std::fs::write(&path, &json).unwrap();
    let source: Box<dyn SecretSource> = Box::new(FileSource::open(&path).unwrap());
    let chain = Chain::new(vec![source]);

    let inputs: Vec<(Vec<u8>, Vec<u8>)> = table
        .rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            (
                format!("pw-{i:05}-correct-horse-battery").into_bytes(),
                r.binding.clone().into_bytes(),
            )
        })
        .collect();

    let mut group = c.benchmark_group("resolve_10k");
    group.throughput(Throughput::Elements(ROWS as u64));
    group.bench_function("resolve_and_seal", |b| {
        b.iter_batched(
            || (config.clone(), table.clone()),
            |(mut config, mut table)| {
                let resolved = resolve(&mut table, &chain, None).unwrap();
                seal_resolved(&mut config, &table, resolved, &key).unwrap();
                (config, table)
            },
            BatchSize::LargeInput,
        );
    });
    group.bench_function("resolve_only", |b| {
        b.iter_batched(
            || table.clone(),
            |mut table| {
                let resolved = resolve(&mut table, &chain, None).unwrap();
                (resolved, table)
            },
            BatchSize::LargeInput,
        );
    });
    let raw = Aes256Gcm::new_from_slice(&[7u8; 32]).unwrap();
    group.bench_function("raw_aes_gcm", |b| {
        b.iter_with_large_drop(|| {
            inputs
                .iter()
                .enumerate()
                .map(|(i, (pw, binding))| {
                    let mut nonce = [0u8; 12];
                    nonce[..8].copy_from_slice(&(i as u64).to_le_bytes());
                    let payload = Payload { msg: black_box(pw), aad: black_box(binding) };
                    raw.encrypt(Nonce::from_slice(&nonce), payload).unwrap()
                })
                .collect::<Vec<Vec<u8>>>()
        });
    });
    group.bench_function("seal", |b| {
        b.iter_with_large_drop(|| {
            inputs
                .iter()
                .map(|(pw, binding)| key.seal(black_box(pw), black_box(binding)).unwrap())
                .collect::<Vec<String>>()
        });
    });
    group.finish();
}

/// The criterion group of this file (the macro's functions carry no docs of their own).
#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::bench);
}

criterion_main!(group::benches);
