//! Known passwords go through every stage and never show in an error, a `Debug` output or the
//! JSON table.

use std::ffi::OsString;
use std::sync::Arc;

use model::SectionId;
use secrets::{
    Cache, Chain, EnvSource, FileSource, SecretSource, builtin_source, check_source_key, prepare,
    resolve, seal_resolved,
};

use crate::{Scripted, Shared, config_of, es_binding, event_source, key, template};

const PASSWORDS: [&str; 6] = [
    "Plain-Hunter2!",
    "Sealed-Tr0ub4dor",
    "Env-C0rrect",
    "File-H0rse",
    "Dir-Batt3ry",
    "Cmd-St4ple",
];

fn assert_clean(what: &str, text: &str) {
    for pw in PASSWORDS {
        assert!(!text.contains(pw), "{what} shows a password: {text}");
    }
}

#[test]
fn no_password_leaks_anywhere() {
    let target = key(1);
    let exporter = key(2);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut shown = Vec::<(String, String)>::new();

    // The rules: plaintext, re-sealed, and tampered values.
    let sealed = exporter.seal(PASSWORDS[1].as_bytes(), &es_binding("DC2")).unwrap();
    let mut c = config_of(
        vec![
            event_source("DC1", "10.0.0.1", Some("CORP\\a"), None, Some(PASSWORDS[0])),
            event_source("DC2", "10.0.0.2", Some("CORP\\b"), None, Some(&sealed)),
            event_source("DC3", "10.0.0.3", Some("CORP\\c"), None, None),
            event_source("DC4", "10.0.0.4", Some("CORP\\d"), None, None),
            event_source("DC5", "10.0.0.5", Some("CORP\\e"), None, None),
            event_source("DC6", "10.0.0.6", Some("CORP\\f"), None, None),
        ],
        vec![template("t", "event_source", None, None)],
    );
    let sections = [SectionId::EventSources, SectionId::Templates];
    let moved = target.seal(PASSWORDS[0].as_bytes(), &es_binding("DC9")).unwrap();
    let mut tampered =
        config_of(vec![event_source("DC1", "10.0.0.1", None, None, Some(&moved))], vec![]);
    let e = prepare(&mut tampered, &sections, None, &target, None).unwrap_err();
    shown.push(("tampered error".into(), format!("{e} {e:?}")));
    let e = check_source_key(&c, &key(3)).unwrap_err();
    shown.push(("wrong key error".into(), format!("{e} {e:?}")));
    shown.push(("configuration".into(), format!("{c:?}")));

    let prepared = prepare(&mut c, &sections, None, &target, Some(&exporter)).unwrap();
    assert_eq!((prepared.sealed_plaintext, prepared.resealed), (1, 1));
    shown.push(("prepared".into(), format!("{prepared:?}")));
    let mut table = prepared.table;

    // Every source with a known password.
    let env = EnvSource::with_lookup(|name| {
        (name == "JIMS_SECRET_EVENT_SOURCES_DC3").then(|| OsString::from(PASSWORDS[2]))
    });
    let file = d.join("s.json");
    std::fs::write(&file, format!(r#"{{"event_sources": {{"DC4": "{}"}}}}"#, PASSWORDS[3]))
        .unwrap();
    std::fs::create_dir_all(d.join("dir/event_sources")).unwrap();
    std::fs::write(d.join("dir/event_sources/DC5"), PASSWORDS[4]).unwrap();
    let script = d.join("cmd.sh");
    std::fs::write(
        &script,
        format!("#!/bin/sh\ngrep -q DC6 && {{ echo '{}'; exit 0; }}\nexit 1\n", PASSWORDS[5]),
    )
    .unwrap();
    let mut options = secrets::SourceOptions::default();
    options.verbose = true;
    let file_source = FileSource::open(&file).unwrap();
    shown.push(("file source".into(), format!("{file_source:?}")));
    let sources: Vec<Box<dyn SecretSource>> = vec![
        Box::new(env),
        Box::new(file_source),
        builtin_source(&format!("dir:{}", d.join("dir").display()), &options).unwrap().unwrap(),
        builtin_source(&format!("cmd:sh {}", script.display()), &options).unwrap().unwrap(),
        Box::new(Shared(Arc::new(Scripted::new("prompt", &[("templates/t", "T-pw")])))),
    ];
    let chain = Chain::new(sources);
    shown.push(("chain".into(), format!("{chain:?}")));
    let cache = Cache::new();
    let resolved = resolve(&mut table, &chain, Some(&cache)).unwrap();
    assert_eq!(table.remaining(), 0, "{table:?}");
    let kinds: Vec<_> = table.rows.iter().map(|r| r.source.clone().unwrap()).collect();
    assert_eq!(kinds, ["env", "file", "dir", "cmd", "prompt"]);
    shown.push(("resolved".into(), format!("{resolved:?}")));
    shown.push(("cache".into(), format!("{cache:?}")));
    shown.push(("table".into(), format!("{table:?}")));
    shown.push(("json".into(), serde_json::to_string(&table.to_json()).unwrap()));
    seal_resolved(&mut c, &table, resolved, &target).unwrap();
    shown.push(("sealed configuration".into(), format!("{c:?}")));

    // A failing command whose error output is shown, but not its password output.
    let failing = d.join("fail.sh");
    std::fs::write(
        &failing,
        format!("#!/bin/sh\necho '{}'\necho oops >&2\nexit 4\n", PASSWORDS[5]),
    )
    .unwrap();
    let failing =
        builtin_source(&format!("cmd:sh {}", failing.display()), &options).unwrap().unwrap();
    let mut again = table.clone();
    again.rows.iter_mut().for_each(|r| r.source = None);
    let e = resolve(&mut again, &Chain::new(vec![failing]), None).unwrap_err();
    assert!(e.to_string().contains("oops"), "{e}");
    shown.push(("cmd error".into(), format!("{e} {e:?}")));

    for (what, text) in &shown {
        assert_clean(what, text);
    }
    // And the sealed configuration still opens to the right passwords.
    let fields = c.secret_fields();
    let opened: Vec<_> = fields
        .iter()
        .map(|f| {
            let s = target.open(c.secret_value(&f.location), f.binding().as_bytes()).unwrap();
            s.expose_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(opened[..6], PASSWORDS);
    assert_eq!(opened[6], "T-pw");
}
