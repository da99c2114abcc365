//! The cost of the plugin boundary: one lookup through `plugin:example` (loaded from its shared
//! library, the request serialised to JSON and parsed again, the password copied through the
//! sink) against the same lookup in the built-in `env` source. Both read one environment
//! variable; the difference is what the C ABI adds.
//!
//! Run: `cargo bench -p registry --bench plugin_lookup -- --warm-up-time 1 --measurement-time 3`.

// criterion's macros generate items without doc comments.
#![allow(missing_docs)]

// The bench uses only the example plugin of these helpers.
#[allow(dead_code)]
#[path = "../tests/it/libs.rs"]
mod libs;

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use model::SecretKey;
use secrets::{Answer, Request, SourceOptions};

/// The allocator the jimsctl binary ships with, so that the numbers are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn bench(c: &mut Criterion) {
    // SAFETY: set before any other thread of this process runs.
    unsafe {
        std::env::set_var("JIMS_SECRET_EVENT_SOURCES_DC1", "bench-password-0123456789");
        std::env::set_var("JIMS_EXAMPLE_EVENT_SOURCES_DC1", "bench-password-0123456789");
    }
    let folder = libs::folder_with(&[&libs::plugin("example_plugin")]);
    let registry = registry::Registry::builtin_with_plugin_dirs(vec![folder.path().to_owned()]);
    let options = SourceOptions::default();
    let env = registry.source("env", &options).unwrap().unwrap();
    let plugin = registry.source("plugin:example", &options).unwrap().unwrap();

    let keys = [
        SecretKey::from_text("event_sources/DC1"),
        SecretKey::from_text("templates/dc-readers"),
        SecretKey::from_text("account/CORP\\JIMS-EventLogReader"),
    ];
    let request = Request {
        keys: &keys,
        index: 1,
        type_label: "Event Source",
        data_type: "domain_controller",
        data: "10.0.0.5",
        username: Some("CORP\\JIMS-EventLogReader"),
        template: Some("dc-readers"),
    };
    for source in [&env, &plugin] {
        assert!(matches!(source.lookup(&keys[0], &request), Ok(Answer::Found(_))));
    }

    let mut group = c.benchmark_group("lookup_found");
    group.bench_function("builtin_env", |b| {
        b.iter(|| black_box(env.lookup(black_box(&keys[0]), black_box(&request))))
    });
    group.bench_function("plugin_example", |b| {
        b.iter(|| black_box(plugin.lookup(black_box(&keys[0]), black_box(&request))))
    });
    group.finish();

    // A row no source knows: `env` is asked once per key (three variables), the plugin once
    // per row (it reads the three variables itself).
    let unknown = [
        SecretKey::from_text("event_sources/DC9"),
        SecretKey::from_text("templates/none"),
        SecretKey::from_text("account/CORP\\nobody"),
    ];
    let request = Request { keys: &unknown, ..request };
    let mut group = c.benchmark_group("lookup_not_found_row");
    group.bench_function("builtin_env_3_keys", |b| {
        b.iter(|| {
            for key in &unknown {
                black_box(env.lookup(black_box(key), black_box(&request)).ok());
            }
        })
    });
    group.bench_function("plugin_example", |b| {
        b.iter(|| black_box(plugin.lookup(black_box(&unknown[0]), black_box(&request))))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
