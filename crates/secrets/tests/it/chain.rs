//! The chain: key order (every source, `cmd:` included, key by key), errors, the cache,
//! sealing, and the skeleton.

use std::sync::Arc;

use model::SectionId;
use secrets::{
    Cache, Chain, ErrorKind, FileSource, SecretSource, SkeletonFormat, SourceError, SourceOptions,
    Table, builtin_source, prepare, resolve, seal_resolved, skeleton,
};

use crate::{Scripted, Shared, config_of, es_binding, es_password, event_source, key, template};

/// One row for `event_sources/DC1` (template `t1`, account `CORP\svc`) and one for the
/// template itself.
fn table() -> (model::Configuration, Table) {
    let mut c = config_of(
        vec![event_source("DC1", "10.0.0.5", None, Some("t1"), Some("{capi} 1,00"))],
        vec![template("t1", "event_source", Some("CORP\\svc"), None)],
    );
    let p = prepare(&mut c, &[SectionId::EventSources, SectionId::Templates], None, &key(1), None)
        .unwrap();
    assert_eq!(p.table.total(), 2);
    (c, p.table)
}

fn shared(s: &Arc<Scripted>) -> Box<dyn SecretSource> {
    Box::new(Shared(Arc::clone(s)))
}

#[test]
fn an_item_answer_in_a_later_source_beats_an_account_answer_in_an_earlier_one() {
    let (mut c, mut t) = table();
    let first = Arc::new(Scripted::new("env", &[("account/CORP\\svc", "account-pw")]));
    let second = Arc::new(Scripted::new(
        "file",
        &[("event_sources/DC1", "item-pw"), ("templates/t1", "template-pw")],
    ));
    let chain = Chain::new(vec![shared(&first), shared(&second)]);
    let resolved = resolve(&mut t, &chain, None).unwrap();
    assert_eq!(t.rows[0].source.as_deref(), Some("file"));
    assert_eq!(t.rows[1].source.as_deref(), Some("file"));
    assert_eq!(t.remaining(), 0);
    assert_eq!(first.asked(), ["event_sources/DC1", "templates/t1"]);
    assert_eq!(second.asked(), ["event_sources/DC1", "templates/t1"]);

    let target = key(1);
    seal_resolved(&mut c, &t, resolved, &target).unwrap();
    let sealed = es_password(&c, 0);
    assert_eq!(target.open(&sealed, &es_binding("DC1")).unwrap().expose(), b"item-pw");
    let template_field = c.secret_fields().into_iter().nth(1).unwrap();
    let sealed = c.secret_value(&template_field.location);
    assert_eq!(
        target.open(sealed, b"templates\0t1\0password").unwrap().expose(),
        b"template-pw",
        "sealed at the template's own location and binding"
    );
}

#[test]
fn keys_are_asked_most_specific_first_across_sources() {
    let (_, mut t) = table();
    let first = Arc::new(Scripted::new("a", &[("account/CORP\\svc", "account-pw")]));
    let second = Arc::new(Scripted::new("b", &[("templates/t1", "template-pw")]));
    let chain = Chain::new(vec![shared(&first), shared(&second)]);
    t.rows.truncate(1);
    let resolved = resolve(&mut t, &chain, None).unwrap();
    assert_eq!(t.rows[0].source.as_deref(), Some("b"), "the template key comes before the account");
    assert_eq!(resolved.secrets.len(), 1);
    assert_eq!(resolved.secrets[0].1.expose(), b"template-pw");
    assert_eq!(first.asked(), ["event_sources/DC1", "templates/t1"]);
}

#[test]
fn every_source_is_asked_key_by_key_with_that_key_alone() {
    let (_, mut t) = table();
    t.rows.truncate(1);
    let cmd = Arc::new(Scripted::new("cmd", &[]));
    let file = Arc::new(Scripted::new("file", &[("account/CORP\\svc", "acct")]));
    let chain = Chain::new(vec![shared(&cmd), shared(&file)]);
    resolve(&mut t, &chain, None).unwrap();
    let every_key = ["event_sources/DC1", "templates/t1", "account/CORP\\svc"];
    assert_eq!(cmd.asked(), every_key, "a command is asked for each key in its turn");
    assert_eq!(file.asked(), every_key);
    for (key, request) in cmd.calls.lock().unwrap().iter() {
        let request: serde_json::Value = serde_json::from_str(request).unwrap();
        assert_eq!(request["keys"], serde_json::json!([key]), "only the key asked: {request}");
        // The row's other fields are all there.
        let row = serde_json::json!({
            "keys": [key], "index": t.rows[0].index, "type": "Event Source",
            "data_type": t.rows[0].data_type, "data": "10.0.0.5", "username": "CORP\\svc",
            "template": "t1",
        });
        assert_eq!(request, row);
    }
    assert_eq!(t.rows[0].source.as_deref(), Some("file"));
}

#[test]
fn an_account_answer_in_an_earlier_command_loses_to_an_item_answer_in_a_later_source() {
    let (_, mut t) = table();
    t.rows.truncate(1);
    let cmd = Arc::new(Scripted::new("cmd", &[("account/CORP\\svc", "account-pw")]));
    let file = Arc::new(Scripted::new("file", &[("event_sources/DC1", "item-pw")]));
    let chain = Chain::new(vec![shared(&cmd), shared(&file)]);
    let resolved = resolve(&mut t, &chain, None).unwrap();
    assert_eq!(t.rows[0].source.as_deref(), Some("file"));
    assert_eq!(resolved.secrets[0].1.expose(), b"item-pw");
    assert_eq!(cmd.asked(), ["event_sources/DC1"], "asked for the item key only, then stopped");
    assert_eq!(file.asked(), ["event_sources/DC1"]);
}

/// A `cmd:` SPEC running `body` through `sh`, and the file where it logs each request (one
/// line each).
#[cfg(unix)]
fn logging_cmd(dir: &std::path::Path, body: &str) -> (String, std::path::PathBuf) {
    let log = dir.join("requests.log");
    let path = dir.join("answer.sh");
    std::fs::write(
        &path,
        format!("#!/bin/sh\ncat >> '{}'\necho >> '{}'\n{body}\n", log.display(), log.display()),
    )
    .unwrap();
    (format!("cmd:sh {}", path.display()), log)
}

/// The audit's case with the real sources: `--secrets cmd:X --secrets file:F`, where X knows
/// only the account and F the item. The item's answer wins, whatever source holds it.
#[cfg(unix)]
#[test]
fn a_real_command_answering_the_account_loses_to_a_later_file_holding_the_item() {
    let dir = tempfile::tempdir().unwrap();
    // Like the recipes: try each key given, answer the first known one.
    let (cmd, log) = logging_cmd(
        dir.path(),
        "printf '%s\\n' \"$JIMS_SECRET_KEYS\" | while read -r k; do\n\
         case \"$k\" in account/*) echo account-pw; exit 0;; esac\n\
         done | grep . || exit 1",
    );
    let file = dir.path().join("secrets.json");
    std::fs::write(&file, r#"{"event_sources/DC1": "item-pw"}"#).unwrap();
    let options = SourceOptions::default();
    let sources = [cmd, format!("file:{}", file.display())]
        .iter()
        .map(|spec| builtin_source(spec, &options).unwrap().unwrap())
        .collect();
    let chain = Chain::new(sources);

    let (mut c, mut t) = table();
    let resolved = resolve(&mut t, &chain, None).unwrap();
    assert_eq!(t.rows[0].key().as_str(), "event_sources/DC1");
    assert_eq!(t.rows[0].source.as_deref(), Some("file"), "the item's own answer wins");
    // The template's row has no item answer anywhere: the command's account answer is its.
    assert_eq!(t.rows[1].source.as_deref(), Some("cmd"));

    let target = key(1);
    seal_resolved(&mut c, &t, resolved, &target).unwrap();
    let sealed = es_password(&c, 0);
    assert_eq!(target.open(&sealed, &es_binding("DC1")).unwrap().expose(), b"item-pw");

    // One run per key asked, each asked for that key alone: the item's row stopped at its
    // first key (the file answered it); the template's row reached its account key.
    let keys: Vec<serde_json::Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["keys"].clone())
        .collect();
    assert_eq!(
        keys,
        [
            serde_json::json!(["event_sources/DC1"]),
            serde_json::json!(["templates/t1"]),
            serde_json::json!(["account/CORP\\svc"]),
        ]
    );
}

#[test]
fn nothing_found_leaves_rows_missing() {
    let (mut c, mut t) = table();
    let before = c.clone();
    let chain = Chain::new(vec![Box::new(Scripted::new("env", &[("templates/zz", "x")]))]);
    let resolved = resolve(&mut t, &chain, None).unwrap();
    assert!(resolved.secrets.is_empty());
    assert_eq!((t.fixed(), t.remaining()), (0, 2));
    seal_resolved(&mut c, &t, resolved, &key(1)).unwrap();
    assert!(c == before);
}

struct Broken(SourceError);

impl SecretSource for Broken {
    fn kind(&self) -> String {
        self.0.source_kind().to_owned()
    }
    fn lookup(
        &self,
        _: &model::SecretKey,
        _: &secrets::Request<'_>,
    ) -> Result<secrets::Answer, SourceError> {
        Err(self.0.clone())
    }
}

#[test]
fn source_errors_stop_resolution_naming_source_and_key() {
    for (error, kind) in [
        (
            SourceError::failed("plugin:vault", "the backend is unavailable."),
            ErrorKind::SourceFailed,
        ),
        (SourceError::config("plugin:vault", "no such plugin."), ErrorKind::SourceConfig),
    ] {
        let (_, mut t) = table();
        let chain = Chain::new(vec![Box::new(Broken(error))]);
        let e = resolve(&mut t, &chain, None).unwrap_err();
        assert_eq!(e.kind(), kind);
        let shown = e.to_string();
        assert!(
            shown.contains("`plugin:vault`") && shown.contains("`event_sources/DC1`"),
            "{shown}"
        );
    }
}

#[test]
fn the_cache_looks_up_equal_rows_once() {
    let events = vec![
        event_source("A", "10.0.0.5", Some("CORP\\svc"), None, None),
        event_source("B", "10.0.0.5", Some("CORP\\svc"), None, None),
    ];
    let source = Arc::new(Scripted::new("cmd", &[]));
    let account = Arc::new(Scripted::new("file", &[("account/CORP\\svc", "pw")]));
    let chain = Chain::new(vec![shared(&source), shared(&account)]);
    let cache = Cache::new();

    // Two imports of the same export share the cache: equal keys, Data and Username.
    for _ in 0..2 {
        let mut c = config_of(events.clone(), vec![]);
        let mut t = prepare(&mut c, &[SectionId::EventSources], None, &key(1), None).unwrap().table;
        let resolved = resolve(&mut t, &chain, Some(&cache)).unwrap();
        assert_eq!(resolved.secrets.len(), 2);
        assert!(t.rows.iter().all(|r| r.source.as_deref() == Some("file")));
    }
    // Each row's two keys, asked once for both imports: the second is answered by the cache.
    let asked = ["event_sources/A", "account/CORP\\svc", "event_sources/B", "account/CORP\\svc"];
    assert_eq!(source.asked(), asked);
    assert_eq!(account.asked(), asked);
    assert_eq!((cache.hits(), cache.misses(), cache.len()), (2, 2, 2));

    // Same keys, other Data: another lookup.
    let mut c =
        config_of(vec![event_source("A", "10.9.9.9", Some("CORP\\svc"), None, None)], vec![]);
    let mut t = prepare(&mut c, &[SectionId::EventSources], None, &key(1), None).unwrap().table;
    resolve(&mut t, &chain, Some(&cache)).unwrap();
    assert_eq!((cache.hits(), cache.misses()), (2, 3));
    cache.clear();
    assert!(cache.is_empty());
}

#[test]
fn the_cache_is_shared_across_threads() {
    let source = Arc::new(Scripted::new("file", &[("event_sources/A", "pw")]));
    let chain = Chain::new(vec![shared(&source)]);
    let cache = Cache::new();
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                let mut c = config_of(vec![event_source("A", "h", None, None, None)], vec![]);
                let mut t =
                    prepare(&mut c, &[SectionId::EventSources], None, &key(1), None).unwrap().table;
                assert_eq!(resolve(&mut t, &chain, Some(&cache)).unwrap().secrets.len(), 1);
            });
        }
    });
    assert_eq!(source.asked().len(), 1, "one lookup for the whole batch");
    assert_eq!((cache.hits(), cache.misses()), (7, 1));
}

#[test]
fn skeletons_list_missing_rows_and_read_back() {
    let (_, mut t) = table();
    let mut srx = t.rows[0].clone();
    srx.index = 3;
    srx.keys = vec![model::SecretKey::from_text("srx_clients/SRX1/oauth")];
    t.rows.push(srx);
    let mut fixed = t.rows[0].clone();
    fixed.index = 4;
    fixed.keys = vec![model::SecretKey::from_text("cso_clients/CSO1")];
    fixed.source = Some("env".into());
    t.rows.push(fixed);

    let json = skeleton(&t, SkeletonFormat::Json);
    let toml = skeleton(&t, SkeletonFormat::Toml);
    insta::assert_snapshot!("skeleton_json", json);
    insta::assert_snapshot!("skeleton_toml", toml);

    // Filled in, each reads back as a `file:` source answering every row.
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in
        [("s.json", json.replace("\"\"", "\"pw\"")), ("s.toml", toml.replace("\"\"", "\"pw\""))]
    {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let source = FileSource::open(&path).unwrap();
        assert_eq!(source.len(), 3, "{name}");
        let mut t = t.clone();
        let chain = Chain::new(vec![Box::new(source)]);
        resolve(&mut t, &chain, None).unwrap();
        assert_eq!(t.remaining(), 0, "{name}");
    }
}

/// A source that answers every key with the same bytes.
struct Bytes(&'static [u8]);

impl SecretSource for Bytes {
    fn kind(&self) -> String {
        "cmd".into()
    }
    fn lookup(
        &self,
        _key: &model::SecretKey,
        _request: &secrets::Request<'_>,
    ) -> Result<secrets::Answer, SourceError> {
        Ok(secrets::Answer::Found(crypto::Secret::copy_from(self.0)))
    }
}

#[test]
fn a_password_that_is_no_utf8_or_holds_nul_is_refused_naming_key_and_source() {
    for (bytes, says) in [
        (&b"Pw-\xff\xfe-bad"[..], "is not UTF-8 text (byte 4 is not)"),
        (&b"Pw-\0-nul"[..], "holds a NUL character (character 4)"),
        (&b"\xc3"[..], "is not UTF-8 text"),
    ] {
        let (_, mut t) = table();
        let e = resolve(&mut t, &Chain::new(vec![Box::new(Bytes(bytes))]), None).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::SourceConfig, "exit 2");
        let shown = e.to_string();
        assert!(shown.contains("`cmd`") && shown.contains("`event_sources/DC1`"), "{shown}");
        assert!(shown.contains(says), "{shown}");
        assert!(!shown.contains("Pw-") && !shown.contains("bad") && !shown.contains("nul"));
        assert_eq!(t.fixed(), 0);
    }
    assert!(secrets::check_password("Pässwörd\t\n".as_bytes()).is_ok());
}

#[test]
fn a_deferred_source_is_opened_only_when_started_and_once() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let opened = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&opened);
    let deferred = secrets::Deferred::new(
        "file",
        Box::new(move || {
            count.fetch_add(1, Ordering::SeqCst);
            Ok(Box::new(Scripted::new("file", &[("event_sources/DC1", "pw")])))
        }),
    );
    let chain = Chain::new(vec![Box::new(deferred)]);
    assert_eq!(chain.kinds(), ["file"]);
    assert_eq!(opened.load(Ordering::SeqCst), 0, "made, not opened");
    assert!(chain.start().unwrap().is_empty());
    assert!(chain.start().unwrap().is_empty());
    let (_, mut t) = table();
    resolve(&mut t, &chain, None).unwrap();
    assert_eq!(t.fixed(), 1);
    assert_eq!(opened.load(Ordering::SeqCst), 1);

    let failing = secrets::Deferred::new(
        "file",
        Box::new(|| {
            Err(builtin_source("file:/no/such/secrets.json", &SourceOptions::default())
                .err()
                .unwrap())
        }),
    );
    let chain = Chain::new(vec![Box::new(failing)]);
    for _ in 0..2 {
        let e = chain.start().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::SourceConfig);
        assert!(e.to_string().contains("/no/such/secrets.json"), "{e}");
    }
}
