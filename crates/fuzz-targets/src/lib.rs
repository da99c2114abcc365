//! The bodies of jimsctl's fuzz targets: one function per untrusted-input parser, each taking
//! arbitrary bytes. `fuzz/` (cargo-fuzz, libFuzzer) calls them from its `fuzz_target!`s, and
//! this crate's integration test replays every saved input of `fuzz/corpus/<target>/` and
//! `fuzz/regressions/<target>/` through the very same functions, so `cargo test` runs them on
//! stable Rust.
//!
//! Each function panics only when an invariant breaks; a parser refusing the input is fine:
//! - the parsers never panic, and their errors render (`Display`) without panicking; a
//!   reader's error that has a position is on a line of the input, at a column (in characters)
//!   within that line;
//! - what a reader accepts, its writer writes and the reader reads back to the same value
//!   (the formats are lossless), and so does the other format's writer and reader: in
//!   particular whatever the JSON reader accepts, the XML writer's output reads back equal, so
//!   no name the JSON reader lets in can inject markup into XML (issue 12);
//! - what a reader accepts holds only valid XML names and no password outside its field;
//! - a sealed value opens only under its key and binding, and sealing then opening gives the
//!   plaintext back;
//! - the journal of an interrupted change of a managed folder's state files (`txn.json`), as a
//!   crash or a hand left it, never makes a reader write, never moves anything outside the
//!   state folder, and is either finished (leaving no journal) or refused.

use std::path::Path;

use model::{Export, SecretState, SectionId};

/// The body of a fuzz target.
pub type Target = fn(&[u8]);

/// Every fuzz target: its name (the folder under `fuzz/corpus/`) and its body.
pub const TARGETS: &[(&str, Target)] = &[
    ("xml_bundle", xml_bundle),
    ("json_bundle", json_bundle),
    ("native_file", native_file),
    ("sealed_value", sealed_value),
    ("secrets_file", secrets_file),
    ("public_key_file", public_key_file),
    ("sealed_header", sealed_header),
    ("txn_journal", txn_journal),
];

/// The XML bundle reader (`format_xml::read_bundle`), and the round trips of what it accepts.
pub fn xml_bundle(data: &[u8]) {
    match format_xml::read_bundle(data) {
        Ok(export) => {
            let written = xml_round_trip(&export, "XML");
            let back = format_xml::read_bundle(&written).expect("read back once already");
            let again = format_xml::write_bundle(&back).expect("written once already");
            assert!(again == written, "writing the XML read back gives other bytes");
            json_round_trip(&export, "XML");
        }
        Err(e) => render_placed(&e, data),
    }
}

/// The JSON bundle reader (`format_json::read_bundle`), and the round trips of what it accepts.
pub fn json_bundle(data: &[u8]) {
    match format_json::read_bundle(data) {
        Ok(export) => {
            let written = json_round_trip(&export, "JSON");
            let back = format_json::read_bundle(&written).expect("read back once already");
            let again = format_json::write_bundle(&back).expect("written once already");
            assert!(again == written, "writing the JSON read back gives other bytes");
            xml_round_trip(&export, "JSON");
        }
        Err(e) => render_placed(&e, data),
    }
}

/// What a reader (`read`, for messages) accepted: only valid names and no misplaced password;
/// written as XML, it reads back the same. Returns the XML.
fn xml_round_trip(export: &Export, read: &str) -> Vec<u8> {
    assert_accepted(export, read);
    let written = format_xml::write_bundle(export)
        .unwrap_or_else(|e| panic!("the XML writer refuses what the {read} reader accepted: {e}"));
    let back = format_xml::read_bundle(&written).unwrap_or_else(|e| {
        panic!("the XML writer's output of what the {read} reader accepted does not read back: {e}")
    });
    assert_same(export, &back, &format!("{read} → XML"));
    written
}

/// As [`xml_round_trip`], through JSON. Returns the JSON.
fn json_round_trip(export: &Export, read: &str) -> Vec<u8> {
    let written = format_json::write_bundle(export)
        .unwrap_or_else(|e| panic!("the JSON writer refuses what the {read} reader accepted: {e}"));
    let back = format_json::read_bundle(&written).unwrap_or_else(|e| {
        panic!(
            "the JSON writer's output of what the {read} reader accepted does not read back: {e}"
        )
    });
    assert_same(export, &back, &format!("{read} → JSON"));
    written
}

/// What every reader guarantees of what it accepts: every element and attribute name is a
/// valid XML name, and every password-like attribute or element is a secret field.
fn assert_accepted(export: &Export, read: &str) {
    for a in &export.header.attributes {
        assert!(
            model::is_xml_name(&a.name),
            "the {read} reader accepted a header name that is no XML name"
        );
        assert!(
            !model::element::is_secret_attribute(&a.name),
            "the {read} reader accepted a password in the header"
        );
    }
    for section in export.configuration.sections() {
        for file in &section.files {
            let mut stack = vec![&file.root];
            while let Some(e) = stack.pop() {
                assert!(
                    model::is_xml_name(&e.name),
                    "the {read} reader accepted an element name that is no XML name"
                );
                for a in &e.attributes {
                    assert!(
                        model::is_xml_name(&a.name),
                        "the {read} reader accepted an attribute name that is no XML name"
                    );
                }
                stack.extend(e.children.iter());
            }
        }
        assert!(
            model::misplaced_secrets(section).is_empty(),
            "the {read} reader accepted a password outside its field in {}",
            section.id
        );
    }
}

/// The native folder reader, a file at a time (`format_xml::read_native_file`): the first byte
/// chooses which of the eleven native files the rest is read as.
pub fn native_file(data: &[u8]) {
    let Some((&choice, bytes)) = data.split_first() else { return };
    let files: Vec<(SectionId, &'static str)> = SectionId::ALL
        .into_iter()
        .flat_map(|s| s.native_files().iter().map(move |p| (s, *p)))
        .collect();
    let (section, path) = files[usize::from(choice) % files.len()];
    match format_xml::read_native_file(section, path, bytes) {
        Ok(file) => {
            let section_of = model::Section { id: section, files: vec![file.clone()] };
            assert!(
                model::misplaced_secrets(&section_of).is_empty(),
                "a password outside its field in {path}"
            );
            let written = format_xml::write_native_file(&file).unwrap_or_else(|e| {
                panic!("the native writer refuses what its reader accepted: {e}")
            });
            let back = format_xml::read_native_file(section, path, &written).unwrap_or_else(|e| {
                panic!("the native writer's output does not read back for {path}: {e}")
            });
            assert!(back == file, "{path} changed in a write and read");
        }
        Err(e) => render_placed(&e, bytes),
    }
}

/// The sealed-value parser and opener (`crypto::SealedValue::parse`, `ServerKey::open`), the
/// key-file parser, and the secret-state classifier of the model.
pub fn sealed_value(data: &[u8]) {
    let _ = crypto::ServerKey::from_key_file(data).map(|k| k.id().as_str().len());
    let key = crypto::ServerKey::from_bytes(zeroize::Zeroizing::new([7u8; 32]));
    let binding = b"event_sources\0DC1\0password";
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = SecretState::classify(text).label();
    let _ = crypto::SealedValue::parse(text);
    if let Err(e) = key.open(text, binding) {
        render(&e);
    }
    // The same text as the payload of a value under this key, so that decoding and
    // authentication are reached: arbitrary payloads must never open.
    let under_key = format!("{}{},{text}", crypto::SEALED_PREFIX, key.id());
    if let Ok(secret) = key.open(&under_key, binding) {
        panic!("an arbitrary payload opened ({} bytes)", secret.expose().len());
    }
    // Sealing then opening gives the plaintext back, only under the same binding.
    let sealed = key.seal(data, binding).expect("sealing never fails");
    let opened = key.open(&sealed, binding).expect("a sealed value opens");
    assert!(opened.expose() == data, "sealing then opening changed the value");
    assert!(key.open(&sealed, b"event_sources\0DC2\0password").is_err(), "a moved value opened");
}

/// The secrets-file parsers (`secrets::FileSource::parse`): the first byte's lowest bit
/// chooses JSON or TOML for the rest.
pub fn secrets_file(data: &[u8]) {
    let Some((&choice, bytes)) = data.split_first() else { return };
    let (format, name) = if choice & 1 == 0 {
        (secrets::FileFormat::Json, "fuzz.secrets.json")
    } else {
        (secrets::FileFormat::Toml, "fuzz.secrets.toml")
    };
    match secrets::FileSource::parse(bytes, format, Path::new(name)) {
        // Its `Debug` names the file and counts the keys, never a value.
        Ok(source) => assert!(format!("{source:?}").starts_with("FileSource")),
        Err(e) => render(&e),
    }
}

/// The public-key file reader (`crypto::PublicKeyFile::parse`) and the transport key file
/// reader (`crypto::TransportKey::from_key_file`): what the reader accepts writes back to the
/// same key, and a transport key file that reads gives a key whose id is its public half's.
pub fn public_key_file(data: &[u8]) {
    match crypto::PublicKeyFile::parse(data) {
        Ok(file) => {
            let text = file.to_text();
            let back = crypto::PublicKeyFile::parse(text.as_bytes())
                .unwrap_or_else(|e| panic!("a written public-key file does not read back: {e}"));
            assert!(back == file, "a public-key file changed in a write and read");
        }
        Err(e) => render(&e),
    }
    match crypto::TransportKey::from_key_file(data) {
        Ok(key) => {
            let again = crypto::TransportKey::from_key_file(key.to_key_file().as_bytes())
                .expect("a written transport key file reads back");
            assert!(again.id() == key.id(), "a transport key changed in a write and read");
            let public = crypto::TransportPublic::from_bytes(key.public().as_bytes())
                .expect("32 bytes are a public key");
            assert!(public.id() == key.id(), "a key's id is not its public half's");
        }
        Err(e) => render(&e),
    }
}

/// The header of a bundle sealed to recipients (`model::Header::sealed_to`) and the unwrap of
/// its data key: the input is header attributes, one `name=value` a line. What parses writes
/// back the same; arbitrary wraps never open under a transport key, whatever the header.
pub fn sealed_header(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut header = model::Header::default();
    for line in text.split('\n') {
        let (name, value) = line.split_once('=').unwrap_or((line, ""));
        header.attributes.push(model::Attribute::new(name, value));
    }
    let aad = header.authenticated_bytes();
    match header.sealed_to() {
        Ok(Some(sealed)) => {
            let mut again = header.clone();
            again.set_sealed_to(&sealed);
            assert!(again.sealed_to() == Ok(Some(sealed.clone())), "sealing fields changed");
            let key = transport_key();
            for (i, r) in sealed.recipients.iter().enumerate() {
                let enc = hex_bytes(&r.enc);
                let wrapped = hex_bytes(&r.wrapped);
                assert!(key.unwrap(&enc, &wrapped, &aad).is_err(), "an arbitrary wrap opened");
                let as_was = header.authenticated_bytes_as(Some((i, key.id().as_str())));
                assert!(key.unwrap(&enc, &wrapped, &as_was).is_err(), "an arbitrary wrap opened");
            }
        }
        Ok(None) => {}
        Err(e) => render(&e),
    }
}

/// The journal of an interrupted standalone change of a managed folder's state files
/// (`.jims-import/txn.json`, read by the store's recovery and by its lock-free readers): the
/// input is the journal's bytes, written into a managed folder (made once, copied afresh for
/// each input) beside a staging folder `txn/` holding copies of some of its state files.
///
/// - A reader that finds the folder locked (a change under way) reads around the journal: it
///   never panics and changes no file.
/// - The recovery, once the lock is free, finishes or refuses the change: it never panics,
///   changes nothing outside the state folder (the live `cwd/` and the folder's siblings
///   included), leaves neither journal nor staging folder when it succeeds, and changes nothing
///   at all when it refuses a name that is no state file.
pub fn txn_journal(data: &[u8]) {
    let _ = txn_journal_recovery(data);
}

/// [`txn_journal`], returning what the recovery said: `Ok` when it finished the change, else
/// its error's text.
fn txn_journal_recovery(data: &[u8]) -> Result<(), String> {
    let place = txn::Place::get();
    // One input at a time in the process's folder (the tests run on several threads).
    let _turn = place.turn.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let dir = place.fresh();
    let state = dir.join(".jims-import");
    let held = store::Target::open(&dir).expect("the copied folder opens");
    txn::stage(&state, data);
    let before = txn::tree(&place.root);
    match store::Target::open_read(&dir) {
        Ok(view) => assert!(view.version() == 0, "a reader read a version that is not there"),
        Err(e) => render(&e),
    }
    let read = txn::tree(&place.root);
    assert!(read == before, "a reader changed a file: {:?}", txn::changed(&before, &read));
    drop(held);
    let recovered = store::Target::open(&dir);
    let after = txn::tree(&place.root);
    let outside = |t: &[(String, Vec<u8>)]| -> Vec<(String, Vec<u8>)> {
        t.iter().filter(|(p, _)| !p.starts_with("folder/.jims-import/")).cloned().collect()
    };
    assert!(
        outside(&after) == outside(&before),
        "the recovery changed a file outside the state: {:?}",
        txn::changed(&before, &after)
    );
    match recovered {
        Ok(target) => {
            for left in ["txn.json", "txn.json.tmp", "txn"] {
                assert!(!state.join(left).exists(), "a finished change left {left} behind");
            }
            drop(target);
            Ok(())
        }
        Err(e) => {
            let text = e.to_string();
            if text.contains("which is no state file") {
                let unlocked = |t: Vec<(String, Vec<u8>)>| -> Vec<(String, Vec<u8>)> {
                    t.into_iter().filter(|(p, _)| !p.ends_with("/lock")).collect()
                };
                assert!(
                    unlocked(after) == unlocked(before),
                    "a journal refused for a name changed something: {text}"
                );
            }
            Err(text)
        }
    }
}

/// The managed folder [`txn_journal`] works in.
mod txn {
    use std::path::{Path, PathBuf};

    /// A folder of this process: `template/` (a managed folder, made once), `folder/` (its copy
    /// for the current input) and `sibling.txt` beside it.
    pub(super) struct Place {
        pub(super) root: PathBuf,
        /// Held while an input is tried.
        pub(super) turn: std::sync::Mutex<()>,
    }

    impl Place {
        /// This process's place, made on first use under `/dev/shm` (no disk syncs) when there
        /// is one; the places of processes that are gone are removed.
        pub(super) fn get() -> &'static Place {
            static PLACE: std::sync::OnceLock<Place> = std::sync::OnceLock::new();
            PLACE.get_or_init(|| {
                let shm = Path::new("/dev/shm");
                let base = if shm.is_dir() { shm.to_path_buf() } else { std::env::temp_dir() };
                let prefix = "jimsctl-fuzz-txn-";
                for entry in std::fs::read_dir(&base).into_iter().flatten().flatten() {
                    let name = entry.file_name().to_string_lossy().into_owned();
                    let gone = name
                        .strip_prefix(prefix)
                        .is_some_and(|pid| !Path::new("/proc").join(pid).exists());
                    if gone {
                        let _ = std::fs::remove_dir_all(entry.path());
                    }
                }
                let root = base.join(format!("{prefix}{}", std::process::id()));
                let _ = std::fs::remove_dir_all(&root);
                std::fs::create_dir_all(&root).expect("a folder for the fuzz target");
                store::init(&root.join("template"), Some("fuzz")).expect("a managed folder");
                std::fs::write(root.join("sibling.txt"), b"beside the folder").expect("written");
                Place { root, turn: std::sync::Mutex::new(()) }
            })
        }

        /// A fresh copy of the template as `folder/`.
        pub(super) fn fresh(&self) -> PathBuf {
            let dir = self.root.join("folder");
            if dir.exists() {
                std::fs::remove_dir_all(&dir).expect("the last input's folder goes");
            }
            copy(&self.root.join("template"), &dir);
            dir
        }
    }

    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir(to).expect("a folder is made");
        let mode = std::fs::metadata(from).expect("a folder").permissions();
        std::fs::set_permissions(to, mode).expect("its mode is set");
        for entry in std::fs::read_dir(from).expect("a folder").flatten() {
            let path = entry.path();
            if path.is_dir() {
                copy(&path, &to.join(entry.file_name()));
            } else {
                std::fs::copy(&path, to.join(entry.file_name())).expect("a file is copied");
            }
        }
    }

    /// Writes `journal` as `state/txn.json`, beside a staging folder that holds copies of
    /// state files under their staged names (`history/0.json` is `history~0.json`).
    pub(super) fn stage(state: &Path, journal: &[u8]) {
        let staging = state.join("txn");
        std::fs::create_dir(&staging).expect("the staging folder is made");
        for name in ["server.toml", "transport.key", "history/0.json", "audit.log"] {
            let from = state.join(name);
            std::fs::copy(&from, staging.join(name.replace('/', "~"))).expect("staged");
        }
        std::fs::write(state.join("txn.json"), journal).expect("the journal is written");
    }

    /// The paths that differ between two [`tree`]s.
    pub(super) fn changed(a: &[(String, Vec<u8>)], b: &[(String, Vec<u8>)]) -> Vec<String> {
        let mut paths: Vec<String> = a
            .iter()
            .filter(|x| !b.contains(x))
            .chain(b.iter().filter(|x| !a.contains(x)))
            .map(|(p, _)| p.clone())
            .collect();
        paths.dedup();
        paths
    }

    /// Every file under `root`, by path relative to it, with its bytes, sorted.
    pub(super) fn tree(root: &Path) -> Vec<(String, Vec<u8>)> {
        fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
            let Ok(entries) = std::fs::read_dir(dir) else { return };
            for entry in entries.flatten() {
                let path = entry.path();
                let rel = path.strip_prefix(root).unwrap_or(&path).to_string_lossy().into_owned();
                if rel.starts_with("template") {
                    continue;
                }
                if path.is_dir() {
                    out.push((format!("{rel}/"), Vec::new()));
                    walk(root, &path, out);
                } else {
                    out.push((rel, std::fs::read(&path).unwrap_or_default()));
                }
            }
        }
        let mut out = Vec::new();
        walk(root, root, &mut out);
        out.sort();
        out
    }
}

/// A fixed transport key for the fuzz targets.
fn transport_key() -> &'static crypto::TransportKey {
    static KEY: std::sync::OnceLock<crypto::TransportKey> = std::sync::OnceLock::new();
    KEY.get_or_init(|| {
        crypto::TransportKey::from_key_file(&[b'7'; 64]).expect("64 hex digits are a key")
    })
}

/// Lowercase hex digits (as the header checked them) to bytes.
fn hex_bytes(hex: &str) -> Vec<u8> {
    let digit = |c: u8| if c.is_ascii_digit() { c - b'0' } else { c - b'a' + 10 };
    hex.as_bytes().chunks_exact(2).map(|p| digit(p[0]) << 4 | digit(p[1])).collect()
}

/// Renders an error, as the CLI would.
/// A reader's error renders, and its position, when it has one, lies in `input`: a line the
/// input has, and a column (counted in characters, as both readers count it) at most one past
/// the end of that line.
fn render_placed(e: &model::read::Error, input: &[u8]) {
    render(e);
    let Some(line) = e.line() else { return };
    let Some(text) =
        usize::try_from(line - 1).ok().and_then(|i| input.split(|&b| b == b'\n').nth(i))
    else {
        panic!("an error on line {line}, past the input's last line: {e}");
    };
    let text =
        if line == 1 { text.strip_prefix(model::read::UTF8_BOM).unwrap_or(text) } else { text };
    let chars = text.iter().filter(|&&b| b & 0xC0 != 0x80).count() as u64;
    if let Some(column) = e.column() {
        assert!(
            (1..=chars + 1).contains(&column),
            "an error at column {column} of a line of {chars} characters: {e}"
        );
    }
}

/// An error renders without panicking.
fn render(e: &dyn std::fmt::Display) {
    let _ = e.to_string();
}

/// `b` is `a` written and read back: the same configuration, and the same header except that
/// the writers add `format_version` and `scope` when they are absent (so that the bundle always
/// reads back). Writing `b` again must then give `b` exactly.
fn assert_same(a: &Export, b: &Export, what: &str) {
    assert!(a.configuration == b.configuration, "the configuration changed in a {what} round trip");
    let added: Vec<&str> = b
        .header
        .attributes
        .iter()
        .filter(|x| !a.header.attributes.contains(x))
        .map(|x| x.name.as_str())
        .collect();
    let kept = a.header.attributes.iter().all(|x| b.header.attributes.contains(x));
    let only_defaults = added.iter().all(|n| ["format_version", "scope"].contains(n))
        && added.iter().all(|n| a.header.get(n).is_none());
    assert!(kept && only_defaults, "the header changed in a {what} round trip: added {added:?}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_target_takes_empty_and_tiny_inputs() {
        for (name, target) in TARGETS {
            for input in [&b""[..], b"\0", b"<", b"{", b"\xff\xfe"] {
                target(input);
            }
            assert!(!name.is_empty());
        }
    }

    #[test]
    fn a_txn_journal_is_finished_or_refused_by_what_it_names() {
        let ok = |j: &str| txn_journal_recovery(j.as_bytes());
        assert_eq!(ok(r#"{"entries":[{"name":"server.toml"},{"name":"history/0.json"}]}"#), Ok(()));
        assert_eq!(ok(r#"{"entries":[]}"#), Ok(()));
        let refused = ok(r#"{"entries":[{"name":"server.toml"},{"name":"../sibling.txt"}]}"#);
        assert!(
            refused.as_ref().is_err_and(|e| e.contains("which is no state file")),
            "{refused:?}"
        );
        let unreadable = ok(r#"{"entries":[{"name":"ser"#);
        assert!(unreadable.as_ref().is_err_and(|e| e.contains("txn.json")), "{unreadable:?}");
        // A removal of the key the folder needs: refused when the folder is read, no panic.
        let removed = ok(r#"{"entries":[{"name":"server.key","remove":true}]}"#);
        assert!(removed.is_err(), "{removed:?}");
    }

    #[test]
    fn an_error_placed_outside_its_input_is_caught() {
        use model::read::{Error, ErrorKind};
        let at = |line, column| Error::new(ErrorKind::Syntax, "x").at(line, column);
        let placed = |e: Error, input: &'static [u8]| {
            let check = std::panic::AssertUnwindSafe(move || render_placed(&e, input));
            std::panic::catch_unwind(check).is_ok()
        };
        assert!(placed(at(1, 6), b"short"));
        assert!(!placed(at(1, 7), b"short"));
        assert!(placed(at(2, 1), b"a\n"));
        assert!(!placed(at(3, 1), b"a\n"));
        // Columns count characters, and a byte order mark is none.
        assert!(placed(at(1, 3), "\u{feff}é€".as_bytes()));
        assert!(!placed(at(1, 4), "\u{feff}é€".as_bytes()));
        assert!(placed(Error::new(ErrorKind::TooLarge, "x"), b""));
    }

    #[test]
    fn a_broken_round_trip_is_caught() {
        let result = std::panic::catch_unwind(|| {
            assert_same(&Export::default(), &Export { ..Export::default() }, "XML");
        });
        assert!(result.is_ok());
        // A header that gains `scope` is fine; one that loses or changes an attribute is not.
        let full = Export {
            header: model::Header::new(
                model::Scope::Partial,
                model::PasswordsMode::Included,
                Some("srv"),
                None,
                None,
            ),
            ..Export::default()
        };
        let mut bare = full.clone();
        bare.header.attributes.retain(|a| a.name != "scope");
        assert!(std::panic::catch_unwind(|| assert_same(&bare, &full, "X")).is_ok());
        assert!(std::panic::catch_unwind(|| assert_same(&full, &bare, "X")).is_err());
        let mut other = full.clone();
        other.header.attributes.retain(|a| a.name != "server_id");
        other.header.attributes.push(model::Attribute::new("server_id", "else"));
        assert!(std::panic::catch_unwind(|| assert_same(&full, &other, "X")).is_err());
        let mut other = Export::default();
        other.configuration.insert(model::Section::empty(SectionId::Session));
        let result = std::panic::catch_unwind(|| assert_same(&Export::default(), &other, "XML"));
        assert!(result.is_err(), "different exports must fail the check");
    }
}
