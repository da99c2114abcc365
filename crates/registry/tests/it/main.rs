//! The registry with real shared libraries: the example plugin, and one purpose-built library
//! per way a plugin can be broken. Each test loads copies in a folder of its own, so a plugin
//! poisoned by one test is never the one another test loads.

mod libs;

use std::path::Path;

use model::SecretKey;
use registry::{LoadErrorKind, PluginInfo, Registry};
use secrets::{Answer, ErrorKind, Request, SecretSource, SourceOptions};

fn registry(folder: &Path) -> Registry {
    Registry::builtin_with_plugin_dirs(vec![folder.to_owned()])
}

fn source(r: &Registry, spec: &str) -> Result<Box<dyn SecretSource>, secrets::Error> {
    r.source(spec, &SourceOptions::default()).map(|s| s.expect("a source"))
}

fn keys() -> Vec<SecretKey> {
    ["event_sources/DC1", "account/CORP\\svc"].map(SecretKey::from_text).to_vec()
}

fn request(keys: &[SecretKey]) -> Request<'_> {
    Request {
        keys,
        index: 1,
        type_label: "Event Source",
        data_type: "domain_controller",
        data: "10.0.0.5",
        username: Some("CORP\\svc"),
        template: None,
    }
}

fn lookup(s: &dyn SecretSource) -> Result<Option<String>, secrets::SourceError> {
    lookup_key(s, 0)
}

/// Asks `s` for the `n`-th key, with a request holding every key of the row.
fn lookup_key(s: &dyn SecretSource, n: usize) -> Result<Option<String>, secrets::SourceError> {
    let keys = keys();
    s.lookup(&keys[n], &request(&keys)).map(|a| match a {
        Answer::Found(secret) => Some(secret.expose_str().unwrap().to_owned()),
        Answer::NotFound => None,
    })
}

fn info<'a>(list: &'a [PluginInfo], file: &str) -> &'a PluginInfo {
    list.iter()
        .find(|i| i.path.file_name().is_some_and(|n| n == libs::lib_name(file).as_str()))
        .unwrap_or_else(|| panic!("{file} is not listed: {list:?}"))
}

#[test]
fn usable_plugins_are_listed_with_their_manifest() {
    let folder = libs::folder_with(&[
        &libs::plugin("example_plugin"),
        &libs::plugin("keepass_plugin"),
        &libs::test_plugin("scripted"),
    ]);
    let list = registry(folder.path()).plugins();
    assert_eq!(list.len(), 3);
    let example = info(&list, "example_plugin");
    assert!(example.usable(), "{example:?}");
    assert_eq!(example.name.as_deref(), Some("example"));
    assert_eq!(example.version.as_deref(), Some(env!("CARGO_PKG_VERSION")));
    assert_eq!((example.abi, example.thread_safe), (Some(registry::host_abi()), Some(true)));
    assert_eq!(info(&list, "keepass_plugin").name.as_deref(), Some("keepass"));
    assert_eq!(info(&list, "scripted").thread_safe, Some(false));
}

#[test]
fn a_plugin_is_an_ordinary_source_asked_for_one_key() {
    let folder =
        libs::folder_with(&[&libs::plugin("example_plugin"), &libs::test_plugin("scripted")]);
    let r = registry(folder.path());
    let s = source(&r, "plugin:scripted").unwrap();
    assert_eq!(s.kind(), "plugin:scripted");
    // `scripted` answers with the first key it is given: it is given the key asked alone.
    assert_eq!(lookup(&*s).unwrap().as_deref(), Some("scripted:event_sources/DC1"));
    assert_eq!(lookup_key(&*s, 1).unwrap().as_deref(), Some("scripted:account/CORP\\svc"));
    assert_eq!(lookup(&*source(&r, "plugin:scripted:not-found").unwrap()).unwrap(), None);
    // The example reads variables nobody sets: not found, through the whole boundary.
    let example = source(&r, "plugin:example:JIMSCTL_TEST_UNSET_").unwrap();
    assert_eq!(lookup(&*example).unwrap(), None);
}

#[test]
fn plugin_errors_keep_their_kind_and_name_the_file() {
    let folder =
        libs::folder_with(&[&libs::test_plugin("scripted"), &libs::plugin("example_plugin")]);
    let r = registry(folder.path());
    let file = folder.path().join(libs::lib_name("scripted")).display().to_string();
    for (config, kind, says) in [
        (
            "unavailable",
            secrets::SourceErrorKind::Failed,
            "its backend is unavailable: the scripted backend is down",
        ),
        ("config", secrets::SourceErrorKind::Config, "the scripted backend rejects this CONFIG"),
        (
            "internal",
            secrets::SourceErrorKind::Failed,
            "it failed: the scripted backend is confused",
        ),
    ] {
        let e = lookup(&*source(&r, &format!("plugin:scripted:{config}")).unwrap()).unwrap_err();
        assert_eq!(e.kind(), kind, "{e}");
        assert!(e.message().starts_with(&file) && e.message().contains(says), "{e}");
        assert_eq!(e.source_kind(), "plugin:scripted");
    }
    // A CONFIG the plugin rejects at creation: exit 2, with the plugin's own words.
    let e = source(&r, "plugin:scripted:bogus").err().unwrap();
    assert_eq!(e.kind(), ErrorKind::SourceConfig);
    assert!(e.to_string().contains("unknown mode `bogus`"), "{e}");
    let e = source(&r, "plugin:example:lower-case").err().unwrap();
    assert_eq!(e.kind(), ErrorKind::SourceConfig);
    assert!(e.to_string().contains("is not a variable-name prefix"), "{e}");
}

#[test]
fn a_plugin_that_is_not_thread_safe_is_called_one_at_a_time() {
    let folder = libs::folder_with(&[&libs::test_plugin("scripted")]);
    let r = registry(folder.path());
    // `slow` sleeps 20 ms inside each call and fails if another call is inside at that time.
    let s = source(&r, "plugin:scripted:slow").unwrap();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|_| scope.spawn(|| (0..3).map(|_| lookup(&*s)).collect::<Vec<_>>()))
            .collect();
        for h in handles {
            for answer in h.join().unwrap() {
                assert_eq!(answer.unwrap().as_deref(), Some("scripted:event_sources/DC1"));
            }
        }
    });
}

#[test]
fn instances_of_a_library_that_is_not_thread_safe_share_one_lock() {
    // `global_state` keeps its state in the library, not the instance, and fails every later
    // call once two calls (create, resolve or destroy, of any instances) overlapped inside it.
    let folder = libs::folder_with(&[&libs::test_plugin("global_state")]);
    let r = registry(folder.path());
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..6)
            .map(|_| {
                scope.spawn(|| {
                    // One instance per thread, as two `--secrets plugin:…` or a batch whose
                    // SPEC has placeholders make: created, asked and destroyed in parallel.
                    (0..3)
                        .map(|_| {
                            let s = source(&r, "plugin:global_state").map_err(|e| e.to_string())?;
                            let answers = (0..2).map(|_| lookup(&*s)).collect::<Vec<_>>();
                            drop(s);
                            answers
                                .into_iter()
                                .collect::<Result<Vec<_>, _>>()
                                .map_err(|e| e.to_string())
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for h in handles {
            for answers in h.join().unwrap() {
                for answer in answers.unwrap() {
                    assert_eq!(answer.as_deref(), Some("global_state:event_sources/DC1"));
                }
            }
        }
    });
    // The destructors ran inside the library too: a last instance says whether they overlapped.
    let s = source(&r, "plugin:global_state").unwrap();
    assert_eq!(lookup(&*s).unwrap().as_deref(), Some("global_state:event_sources/DC1"));
}

#[test]
fn every_broken_library_is_listed_with_its_reason() {
    let folder = libs::folder_with(&[
        &libs::test_plugin("no_symbol"),
        &libs::test_plugin("wrong_magic"),
        &libs::test_plugin("wrong_major"),
        &libs::test_plugin("null_manifest"),
        &libs::test_plugin("null_instance"),
        &libs::plugin("example_plugin"),
    ]);
    std::fs::write(folder.path().join(libs::lib_name("not_a_library")), "#!/bin/sh\necho hi\n")
        .unwrap();
    let list = registry(folder.path()).plugins();
    assert_eq!(list.len(), 7);
    for (file, kind, says) in [
        ("not_a_library", LoadErrorKind::NotALibrary, "not a shared library"),
        ("no_symbol", LoadErrorKind::MissingSymbol, "does not export `jimsctl_plugin_manifest`"),
        ("wrong_magic", LoadErrorKind::BadMagic, "starts with `NOTJIMS!` instead of the magic"),
        (
            "wrong_major",
            LoadErrorKind::AbiMajor,
            "built for plugin ABI 2.0, but this jimsctl speaks ABI 1",
        ),
        ("null_manifest", LoadErrorKind::NullManifest, "returned null instead of a manifest"),
    ] {
        let i = info(&list, file);
        let e = i.error.as_ref().unwrap_or_else(|| panic!("{file} is listed usable"));
        assert_eq!(e.kind(), kind, "{e}");
        assert!(e.reason().contains(says), "{e}");
        assert_eq!(e.path(), i.path);
        assert!(e.to_string().starts_with(&i.path.display().to_string()), "{e}");
        assert!(!i.usable());
    }
    assert_eq!(info(&list, "wrong_major").abi, Some((2, 0)));
    assert!(info(&list, "null_instance").usable() && info(&list, "example_plugin").usable());
}

#[test]
fn using_a_broken_library_names_the_file_and_the_reason() {
    let folder = libs::folder_with(&[
        &libs::test_plugin("no_symbol"),
        &libs::test_plugin("wrong_magic"),
        &libs::test_plugin("wrong_major"),
        &libs::test_plugin("null_manifest"),
        &libs::test_plugin("null_instance"),
    ]);
    std::fs::write(folder.path().join(libs::lib_name("not_a_library")), "text").unwrap();
    let r = registry(folder.path());
    for (name, says) in [
        ("not_a_library", "not a shared library"),
        ("no_symbol", "does not export"),
        ("wrong_magic", "instead of the magic `JIMSPLUG`"),
        ("wrong-major", "built for plugin ABI 2.0"),
        ("null_manifest", "returned null instead of a manifest"),
        ("null_instance", "said OK but returned no instance (null)"),
    ] {
        let e = source(&r, &format!("plugin:{name}")).err().unwrap_or_else(|| panic!("{name}"));
        assert_eq!(e.kind(), ErrorKind::SourceConfig, "{name}: {e}");
        let file = folder.path().join(libs::lib_name(&name.replace('-', "_")));
        assert!(e.to_string().contains(&file.display().to_string()), "{name}: {e}");
        assert!(e.to_string().contains(says), "{name}: {e}");
        assert!(e.to_string().starts_with(&format!("secret source `plugin:{name}` is not usable")));
    }
}

#[test]
fn a_panic_in_create_is_reported_and_poisons_the_plugin() {
    let folder = libs::folder_with(&[&libs::test_plugin("panics")]);
    let r = registry(folder.path());
    let e = source(&r, "plugin:panics:create").err().unwrap();
    assert_eq!(e.kind(), ErrorKind::SourceConfig);
    assert!(
        e.to_string().contains("it panicked in create (panicked: the plugin broke while starting)"),
        "{e}"
    );
    // Poisoned: not even a fresh instance is made.
    let e = source(&r, "plugin:panics").err().unwrap();
    assert!(e.to_string().contains("it is not called again"), "{e}");
}

#[test]
fn a_panic_in_resolve_is_reported_and_the_plugin_is_not_called_again() {
    let folder = libs::folder_with(&[&libs::test_plugin("panics")]);
    let r = registry(folder.path());
    let s = source(&r, "plugin:panics").unwrap();
    let e = lookup(&*s).unwrap_err();
    assert_eq!(e.kind(), secrets::SourceErrorKind::Failed);
    assert!(
        e.message()
            .contains("it panicked in resolve (panicked: the plugin broke while looking up row 1)"),
        "{e}"
    );
    let e = lookup(&*s).unwrap_err();
    assert!(e.message().contains("it is not called again"), "{e}");
    // The host is still here, and so is every other source.
    assert_eq!(source(&r, "env").unwrap().kind(), "env");
}

#[test]
fn the_first_usable_plugin_of_a_name_wins_and_unknown_names_say_where_they_looked() {
    let first = libs::folder_with(&[&libs::test_plugin("scripted")]);
    let second =
        libs::folder_with(&[&libs::test_plugin("scripted"), &libs::plugin("example_plugin")]);
    let r =
        Registry::builtin_with_plugin_dirs(vec![first.path().to_owned(), second.path().to_owned()]);
    assert_eq!(r.plugins().len(), 2 + 1);
    let s = source(&r, "plugin:scripted").unwrap();
    assert_eq!(lookup(&*s).unwrap().as_deref(), Some("scripted:event_sources/DC1"));
    let e = source(&r, "plugin:vault").err().unwrap();
    let text = e.to_string();
    assert!(text.contains("no plugin named `vault`"), "{text}");
    assert!(text.contains(&first.path().display().to_string()), "{text}");
    assert!(text.contains("the plugins found are scripted, example"), "{text}");
}

/// The error of the one entry listed for `path` (a library file, or a folder not searched).
#[cfg(unix)]
fn untrusted_reason(r: &Registry, path: &Path) -> String {
    let list = r.plugins();
    let entry = list
        .iter()
        .find(|i| i.path == path)
        .unwrap_or_else(|| panic!("{} is not listed: {list:?}", path.display()));
    let e = entry.error.as_ref().unwrap_or_else(|| panic!("{} is listed usable", path.display()));
    assert_eq!((e.kind(), e.path()), (LoadErrorKind::Untrusted, path), "{e}");
    assert!(entry.name.is_none() && entry.abi.is_none(), "{entry:?}: it was loaded");
    e.reason().to_owned()
}

#[cfg(unix)]
#[test]
fn a_relative_plugin_folder_is_not_searched_and_says_so() {
    let r = Registry::builtin_with_plugin_dirs(vec!["plugins".into()]);
    let why = untrusted_reason(&r, Path::new("plugins"));
    assert!(why.starts_with("not searched: `plugins` is a relative path"), "{why}");
    let e = source(&r, "plugin:scripted").err().unwrap();
    assert_eq!(e.kind(), ErrorKind::SourceConfig);
    assert!(e.to_string().contains("no plugin named `scripted`"), "{e}");
    assert!(e.to_string().contains("plugins: not searched: `plugins` is a relative path"), "{e}");
}

#[cfg(unix)]
#[test]
fn a_plugin_folder_writable_by_group_or_others_is_not_searched() {
    use std::os::unix::fs::PermissionsExt;
    for (mode, says) in [
        (0o770, "writable by its group (mode 0770)"),
        (0o703, "writable by others (mode 0703)"),
        (0o1777, "writable by its group and by others (mode 1777)"),
    ] {
        let untrusted = libs::folder_with(&[&libs::test_plugin("scripted")]);
        let trusted = libs::folder_with(&[&libs::plugin("example_plugin")]);
        std::fs::set_permissions(untrusted.path(), std::fs::Permissions::from_mode(mode)).unwrap();
        let r = Registry::builtin_with_plugin_dirs(vec![
            untrusted.path().to_owned(),
            trusted.path().to_owned(),
        ]);
        let why = untrusted_reason(&r, untrusted.path());
        assert!(why.starts_with("not searched: the folder is ") && why.contains(says), "{why}");
        assert!(why.contains("chmod go-w"), "{why}");
        // Listed in its place, before the trusted folder's plugin, which is still usable.
        let list = r.plugins();
        assert_eq!(list.len(), 2, "{list:?}");
        assert_eq!(list[0].path, untrusted.path());
        assert!(list[1].usable(), "{list:?}");
        assert!(source(&r, "plugin:example").is_ok());
        // Asking for the plugin in it names the library and why it was not loaded.
        let e = source(&r, "plugin:scripted").err().unwrap();
        assert_eq!(e.kind(), ErrorKind::SourceConfig);
        let lib = untrusted.path().join(libs::lib_name("scripted"));
        assert!(e.to_string().contains(&format!("{} was not loaded", lib.display())), "{e}");
        assert!(e.to_string().contains(says), "{e}");
    }
}

#[cfg(unix)]
#[test]
fn a_library_writable_by_group_or_others_is_not_loaded() {
    use std::os::unix::fs::PermissionsExt;
    for (mode, says) in
        [(0o775, "writable by its group (mode 0775)"), (0o757, "writable by others (mode 0757)")]
    {
        let folder =
            libs::folder_with(&[&libs::test_plugin("scripted"), &libs::plugin("example_plugin")]);
        let lib = folder.path().join(libs::lib_name("scripted"));
        std::fs::set_permissions(&lib, std::fs::Permissions::from_mode(mode)).unwrap();
        let r = registry(folder.path());
        let why = untrusted_reason(&r, &lib);
        assert!(why.starts_with("not loaded: the file is ") && why.contains(says), "{why}");
        assert!(info(&r.plugins(), "example_plugin").usable());
        let e = source(&r, "plugin:scripted").err().unwrap();
        assert_eq!(e.kind(), ErrorKind::SourceConfig);
        assert!(e.to_string().contains(&lib.display().to_string()) && e.to_string().contains(says));
    }
}

#[cfg(unix)]
#[test]
fn a_folder_or_library_owned_by_another_user_is_refused() {
    use std::os::unix::fs::MetadataExt;
    let folder =
        libs::folder_with(&[&libs::test_plugin("scripted"), &libs::plugin("example_plugin")]);
    // The folder is ours: its owner is who we are.
    if std::fs::metadata(folder.path()).unwrap().uid() != 0 {
        // Only root can give a file away; the rule itself is unit-tested in `trust`.
        eprintln!("not root: cannot make a folder owned by another user; skipped");
        return;
    }
    let nobody = 65534;
    let lib = folder.path().join(libs::lib_name("scripted"));
    std::os::unix::fs::chown(&lib, Some(nobody), None).unwrap();
    let r = registry(folder.path());
    let why = untrusted_reason(&r, &lib);
    assert!(why.contains("owned by user 65534, who is neither you (user 0) nor root"), "{why}");
    assert!(info(&r.plugins(), "example_plugin").usable());
    let e = source(&r, "plugin:scripted").err().unwrap();
    assert!(e.to_string().contains("owned by user 65534"), "{e}");

    std::os::unix::fs::chown(folder.path(), Some(nobody), None).unwrap();
    let r = registry(folder.path());
    let why = untrusted_reason(&r, folder.path());
    assert!(why.starts_with("not searched: the folder is owned by user 65534"), "{why}");
    assert_eq!(r.plugins().len(), 1);
}

fn with_timeout(
    r: &Registry,
    spec: &str,
    ms: u64,
) -> Result<Box<dyn SecretSource>, secrets::Error> {
    let mut options = SourceOptions::default();
    options.timeout = std::time::Duration::from_millis(ms);
    r.source(spec, &options).map(|s| s.expect("a source"))
}

#[test]
fn a_plugin_that_does_not_answer_in_time_fails_and_is_not_called_again() {
    use std::time::{Duration, Instant};
    let folder = libs::folder_with(&[&libs::test_plugin("sleepy")]);
    let log = folder.path().join("calls.log");
    let r = registry(folder.path());
    let spec = format!("plugin:sleepy:resolve:20000:{}", log.display());
    let first = with_timeout(&r, &spec, 300).unwrap();
    let second = with_timeout(&r, &spec, 300).unwrap();
    let started = Instant::now();
    let e = lookup(&*first).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    assert_eq!(e.kind(), secrets::SourceErrorKind::Failed, "exit 1");
    let shown = e.to_string();
    assert!(shown.starts_with("secret source `plugin:sleepy` failed"), "{shown}");
    assert!(shown.contains("no answer within 300 ms") && shown.contains("--secrets-timeout"));
    assert!(shown.contains("not called again"), "{shown}");
    // Neither this instance nor another of the library is called again: no wait, no call.
    let started = Instant::now();
    for s in [&first, &second] {
        let e = lookup(&**s).unwrap_err();
        assert!(e.to_string().contains("not called again"), "{e}");
    }
    let e = with_timeout(&r, &spec, 300).err().unwrap();
    assert!(e.to_string().contains("not called again"), "{e}");
    assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
    let calls = std::fs::read_to_string(&log).unwrap();
    assert_eq!(calls.lines().filter(|l| l.starts_with("resolve")).count(), 1, "{calls}");
}

#[test]
fn a_plugin_whose_create_does_not_return_in_time_fails() {
    let folder = libs::folder_with(&[&libs::test_plugin("sleepy")]);
    let r = registry(folder.path());
    let started = std::time::Instant::now();
    let e = with_timeout(&r, "plugin:sleepy:create:20000", 200).err().unwrap();
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert_eq!(e.kind(), ErrorKind::SourceFailed);
    assert!(e.to_string().contains("create function gave no answer within 200 ms"), "{e}");
}

#[test]
fn a_slow_plugin_within_its_time_limit_answers_and_calls_waiting_for_its_lock_do_not_count() {
    let folder = libs::folder_with(&[&libs::test_plugin("sleepy")]);
    let r = registry(folder.path());
    // Four threads into a serialised plugin taking 150 ms each: the last one waits 450 ms for
    // the lock, more than the limit, yet its own call takes less.
    let s = with_timeout(&r, "plugin:sleepy:resolve:150", 400).unwrap();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4).map(|_| scope.spawn(|| lookup(&*s))).collect();
        for h in handles {
            assert_eq!(h.join().unwrap().unwrap().as_deref(), Some("sleepy:event_sources/DC1"));
        }
    });
}
