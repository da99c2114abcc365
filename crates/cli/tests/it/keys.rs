//! Issue 17: exports sealed to servers' public keys, and key rotation, through the real binary.
//! Two fresh servers exchange a bundle with no `--source-key` and no secret key crosses; every
//! header field and wrap edited is exit 2 with nothing written; a server that is no recipient
//! gets exit 3 naming the ids; a rotation keeps every password, history and rollback, and is
//! refused while busy; retiring a key is refused while a version needs it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::support::{Run, fixture, full_secrets, import_into, run_in, s, tmp, tree};

fn ok(r: &Run, what: &str) {
    assert_eq!(r.code, 0, "{what}: {}{}", r.stdout, r.stderr);
    assert!(!r.stderr.contains("panicked"), "{what}: {}", r.stderr);
}

/// A managed folder `name` under `base` with this server id.
fn init(base: &Path, name: &str, id: &str) -> PathBuf {
    let t = base.join(name);
    ok(&run_in(base, &["server", "init", s(&t), "--server-id", id]), "server init");
    t
}

/// `key public --target t --out base/<name>.pub`.
fn public(base: &Path, t: &Path) -> PathBuf {
    let out = base.join(format!("{}.pub", t.file_name().unwrap().to_str().unwrap()));
    ok(&run_in(base, &["key", "public", "--target", s(t), "--out", s(&out)]), "key public");
    out
}

/// The fixture imported into a new folder `name` (server id `hq`).
fn hq(base: &Path) -> PathBuf {
    let t = init(base, "hq", "hq");
    let r = import_into("exports/full.xml", &t, &["--secrets", &full_secrets()]);
    ok(&r, "import into hq");
    t
}

/// The fixture imported into `hq` (see [`hq`]), a new folder `branch` (server id `branch-01`)
/// and branch's public-key file: a sender and a receiver.
fn hq_and_branch(base: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let a = hq(base);
    let b = init(base, "branch", "branch-01");
    let b_pub = public(base, &b);
    (a, b, b_pub)
}

/// `export --target from --to P… --out out`, in `base`.
fn export_to(base: &Path, from: &Path, to: &[&Path], out: &Path) -> Run {
    let mut args = vec!["export", "--target", s(from)];
    for p in to {
        args.extend(["--to", s(p)]);
    }
    args.extend(["--out", s(out)]);
    run_in(base, &args)
}

/// The passwords of `t`, opened: a plaintext export's body (header left out: it names the key
/// and the time).
fn opened(base: &Path, t: &Path) -> String {
    let out = base.join("opened.xml");
    let _ = std::fs::remove_file(&out);
    let r = run_in(base, &["export", "--target", s(t), "--out", s(&out), "--passwords", "plain"]);
    ok(&r, "plain export");
    let text = std::fs::read_to_string(&out).unwrap();
    std::fs::remove_file(&out).unwrap();
    let body = &text[text.find("<section").unwrap()..];
    assert!(body.contains("password=\""), "the export holds passwords");
    body.to_owned()
}

fn key_id(base: &Path, t: &Path) -> String {
    let r = run_in(base, &["key", "id", "--target", s(t)]);
    ok(&r, "key id");
    r.stdout.trim().to_owned()
}

fn transport_id(pubfile: &Path) -> String {
    let text = std::fs::read_to_string(pubfile).unwrap();
    text.lines().find_map(|l| l.strip_prefix("key-id: ")).unwrap().to_owned()
}

/// The secret key material of a folder: its server key and transport key, as the hex text of
/// their files and as raw bytes.
fn secret_keys(t: &Path) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for f in ["server.key", "transport.key"] {
        let text = std::fs::read_to_string(t.join(".jims-import").join(f)).unwrap();
        let hex = text.trim().to_owned();
        assert_eq!(hex.len(), 64, "{f}");
        let raw: Vec<u8> =
            (0..32).map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap()).collect();
        out.push(hex.clone().into_bytes());
        out.push(hex.to_uppercase().into_bytes());
        out.push(raw);
    }
    out
}

fn holds(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Asserts that none of `keys` is anywhere in the files under `dir` (or in the file `dir`).
fn assert_absent(keys: &[Vec<u8>], dir: &Path, what: &str) {
    let files: Vec<(String, Vec<u8>)> = if dir.is_file() {
        vec![(dir.display().to_string(), std::fs::read(dir).unwrap())]
    } else {
        tree(dir)
    };
    assert!(!files.is_empty(), "{what}: nothing to scan");
    for (rel, bytes) in files {
        for k in keys {
            assert!(!holds(&bytes, k), "{what}: a secret key of another server is in {rel}");
        }
    }
}

#[test]
fn two_servers_exchange_a_bundle_with_no_source_key_and_no_secret_key_crosses() {
    let dir = tmp();
    let base = dir.path();
    let (a, b, b_pub) = hq_and_branch(base);
    let c = init(base, "west", "west, second site");
    let c_pub = public(base, &c);
    let want = opened(base, &a);
    for (bundle, format) in [("to-both.xml", "xml"), ("to-both.json", "json")] {
        let bundle = base.join(bundle);
        let r = export_to(base, &a, &[&b_pub, &c_pub], &bundle);
        ok(&r, "export --to");
        assert!(r.stdout.contains(&transport_id(&b_pub)), "{}", r.stdout);
        let text = std::fs::read_to_string(&bundle).unwrap();
        assert!(text.contains("recipient_2"), "{format}: two recipients");
        // The passwords are sealed, under neither server's own key.
        assert!(!text.contains(&format!("{{aesgcm}} 1,{},", key_id(base, &a))));
        for t in [&b, &c] {
            let r = run_in(base, &["import", s(&bundle), "--target", s(t)]);
            ok(&r, &format!("{format}: import into {}", t.display()));
            assert!(!r.stdout.contains("missing"), "{}", r.stdout);
            assert_eq!(opened(base, t), want, "{format}: the passwords arrived unchanged");
        }
        // A converted bundle (XML ⇄ JSON) keeps its recipients and still imports.
        let other =
            base.join(format!("converted.{}", if format == "xml" { "json" } else { "xml" }));
        let _ = std::fs::remove_file(&other);
        ok(&run_in(base, &["convert", s(&bundle), s(&other)]), "convert");
        ok(&run_in(base, &["import", s(&other), "--target", s(&b)]), "import the converted one");
    }
    // No server's secret key is in another's files, or in the bundles.
    let (ka, kb, kc) = (secret_keys(&a), secret_keys(&b), secret_keys(&c));
    for (keys, others) in [(&ka, [&b, &c]), (&kb, [&a, &c]), (&kc, [&a, &b])] {
        for other in others {
            assert_absent(keys, other, "a server folder");
        }
        for bundle in ["to-both.xml", "to-both.json", "b.pub", "west.pub", "branch.pub"] {
            if base.join(bundle).exists() {
                assert_absent(keys, &base.join(bundle), bundle);
            }
        }
    }
    // And the transport key file is private.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(b.join(".jims-import/transport.key")).unwrap().permissions();
    assert_eq!(mode.mode() & 0o777, 0o600);
}

#[test]
fn a_server_that_is_not_a_recipient_gets_exit_3_naming_every_id() {
    let dir = tmp();
    let base = dir.path();
    let (a, b, b_pub) = hq_and_branch(base);
    let d = init(base, "other", "other-site");
    let d_pub = public(base, &d);
    let bundle = base.join("to-b.xml");
    ok(&export_to(base, &a, &[&b_pub], &bundle), "export");
    let before = tree(&d);
    let r = run_in(base, &["import", s(&bundle), "--target", s(&d)]);
    assert_eq!(r.code, 3, "{}{}", r.stdout, r.stderr);
    for id in [transport_id(&b_pub), transport_id(&d_pub), "branch-01".into(), "other-site".into()]
    {
        assert!(r.stderr.contains(&id), "the message names {id}: {}", r.stderr);
    }
    assert_eq!(tree(&d), before, "nothing written");
    let r = run_in(base, &["import", s(&bundle), "--target", s(&d), "--format", "json"]);
    assert_eq!(r.code, 3);
    let v = r.json();
    assert_eq!(v["status"], "missing-passwords");
    assert_eq!(v["sealed_to"]["recipients"][0]["key_id"], transport_id(&b_pub).as_str());
    assert_eq!(v["sealed_to"]["this_key"], transport_id(&d_pub).as_str());
    // `passwords` says the same; a --source-key is refused for a sealed bundle.
    let r = run_in(base, &["passwords", s(&bundle), "--target", s(&d)]);
    assert_eq!(r.code, 3);
    assert!(r.stderr.contains(&transport_id(&b_pub)), "{}", r.stderr);
    let key = a.join(".jims-import/server.key");
    let r = run_in(base, &["import", s(&bundle), "--target", s(&b), "--source-key", s(&key)]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--source-key"), "{}", r.stderr);
}

/// Every way of editing a sealed bundle's header or wrap: (from, to), each a whole
/// `name="value"` (XML) or `"name": "value"` (JSON).
fn mutations(text: &str, b_id: &str) -> Vec<(String, String)> {
    let header = match text.find("<jims_export") {
        Some(at) => &text[at..at + text[at..].find('>').unwrap()],
        None => &text[..text.find("\"sections\"").unwrap()],
    };
    // The field's prefix as written (`name="` or `"name": "`) and its value.
    let field = |name: &str| -> (String, String) {
        for prefix in [format!(" {name}=\""), format!("\"{name}\": \"")] {
            if let Some(at) = header.find(&prefix) {
                let rest = &header[at + prefix.len()..];
                return (prefix, rest[..rest.find('"').unwrap()].to_owned());
            }
        }
        panic!("{name} is in the header: {header}");
    };
    let flip = |v: &str, at: usize| -> String {
        let mut b = v.as_bytes().to_vec();
        b[at] = match b[at] {
            b'0' => b'1',
            c if c.is_ascii_hexdigit() => b'0',
            _ => b'x',
        };
        String::from_utf8(b).unwrap()
    };
    let mut out = Vec::new();
    let mut edit = |name: &str, to: &dyn Fn(&str) -> String| {
        let (prefix, v) = field(name);
        out.push((format!("{prefix}{v}\""), format!("{prefix}{}\"", to(&v))));
    };
    edit("scope", &|_| "partial".into());
    edit("passwords", &|_| "omitted".into());
    edit("server_id", &|v| format!("{v}x"));
    edit("server_key_id", &|v| flip(v, 15));
    edit("exported_at", &|v| flip(v, 3));
    edit("key_wrap", &|_| "hpke-base-x25519-sha256-chacha20poly1305".into());
    edit("data_key_id", &|v| flip(v, 0));
    let other = if b_id.starts_with('0') { "1" } else { "0" };
    // The recipient's key id; its encapsulated (ephemeral) key, first, middle and last
    // bytes, and all zeros (a point of small order); its wrap and tag; its server id.
    edit("recipient_1", &|v| format!("{other}{}", &v[1..]));
    for at in [17, 48, 80] {
        edit("recipient_1", &|v| flip(v, at));
    }
    edit("recipient_1", &|v| format!("{}{}{}", &v[..17], "0".repeat(64), &v[81..]));
    for at in [82, 120, 145, 146, 176] {
        edit("recipient_1", &|v| flip(v, at));
    }
    edit("recipient_1", &|v| format!("{v}x"));
    if header.contains(" format_version=\"1\"") {
        out.push((" format_version=\"1\"".into(), " format_version=\"2\"".into()));
    } else {
        out.push(("\"format_version\": 1".into(), "\"format_version\": 2".into()));
    }
    out
}

#[test]
fn every_header_field_and_the_wrap_edited_is_exit_2_and_nothing_is_written() {
    let dir = tmp();
    let base = dir.path();
    let (a, b, b_pub) = hq_and_branch(base);
    let b_id = transport_id(&b_pub);
    for name in ["sealed.xml", "sealed.json"] {
        let bundle = base.join(name);
        ok(&export_to(base, &a, &[&b_pub], &bundle), "export");
        let text = std::fs::read_to_string(&bundle).unwrap();
        let before = tree(&b);
        let cases = mutations(&text, &b_id);
        assert!(cases.len() >= 17, "{name}: {} mutations", cases.len());
        for (from, to) in cases {
            assert_ne!(from, to);
            let edited = text.replacen(&from, &to, 1);
            assert_ne!(edited, text, "{name}: {from} → {to}");
            let path = base.join(format!("edited-{name}"));
            std::fs::write(&path, &edited).unwrap();
            let r = run_in(base, &["import", s(&path), "--target", s(&b)]);
            assert_eq!(r.code, 2, "{name}: {from:.40} → {to:.40}: {}{}", r.stdout, r.stderr);
            assert!(!r.stderr.contains("panicked"));
            assert_eq!(tree(&b), before, "{name}: nothing written");
        }
        // A header field added is an edit too.
        let added = if name.ends_with(".xml") {
            text.replacen(" key_wrap=", " note=\"x\" key_wrap=", 1)
        } else {
            text.replacen("\"key_wrap\"", "\"note\": \"x\",\n    \"key_wrap\"", 1)
        };
        assert_ne!(added, text);
        let path = base.join(format!("added-{name}"));
        std::fs::write(&path, added).unwrap();
        let r = run_in(base, &["import", s(&path), "--target", s(&b)]);
        assert_eq!(r.code, 2, "{name}: a field added: {}", r.stderr);
        assert_eq!(tree(&b), before);
        // The untouched bundle still imports.
        ok(&run_in(base, &["import", s(&bundle), "--target", s(&b)]), "the bundle as sealed");
    }
}

#[test]
fn export_to_refuses_bad_public_key_files_with_exit_2() {
    let dir = tmp();
    let base = dir.path();
    let (a, b, b_pub) = hq_and_branch(base);
    let good = std::fs::read_to_string(&b_pub).unwrap();
    let out = base.join("x.xml");
    let cases: Vec<(&str, String)> = vec![
        ("empty", String::new()),
        ("another format", "ssh-ed25519 AAAA\n".into()),
        ("a newer version", good.replacen(" v1", " v2", 1)),
        ("a changed key", good.replacen("public-key: ", "public-key: 0", 1)),
        ("a changed id", {
            let id = transport_id(&b_pub);
            good.replacen(
                &id,
                &format!("{}{}", if id.starts_with('0') { "1" } else { "0" }, &id[1..]),
                1,
            )
        }),
        ("a control character", good.replacen("branch-01", "bra\u{1b}[31mnch", 1)),
        ("a fifth line", format!("{good}comment: hi\n")),
    ];
    for (what, text) in cases {
        let p = base.join("bad.pub");
        std::fs::write(&p, &text).unwrap();
        let r = export_to(base, &a, &[&p], &out);
        assert_eq!(r.code, 2, "{what}: {}", r.stderr);
        assert!(r.stderr.contains("bad.pub"), "{what}: names the file: {}", r.stderr);
        assert!(!r.stderr.contains('\u{1b}'), "{what}: no raw control character");
        assert!(!out.exists(), "{what}: nothing written");
    }
    let missing = base.join("missing.pub");
    let r = export_to(base, &a, &[&missing], &out);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let r = export_to(base, &a, &[&b_pub, &b_pub], &out);
    assert_eq!(r.code, 2, "a recipient twice: {}", r.stderr);
    let r = run_in(
        base,
        &["export", "--target", s(&a), "--to", s(&b_pub), "--passwords", "plain", "--out", s(&out)],
    );
    assert_eq!(r.code, 2, "--to with plain: {}", r.stderr);
    assert!(!out.exists());
    // `key public` prints the same file it writes.
    let r = run_in(base, &["key", "public", "--target", s(&b)]);
    ok(&r, "key public");
    assert_eq!(r.stdout, good);
    let r = run_in(base, &["key", "public", "--target", s(&base.join("nowhere"))]);
    assert_eq!(r.code, 2, "{}", r.stderr);
}

#[test]
fn an_older_folder_gets_its_transport_key_from_the_first_command_that_needs_it() {
    let dir = tmp();
    let base = dir.path();
    let b = init(base, "branch", "branch-01");
    std::fs::remove_file(b.join(".jims-import/transport.key")).unwrap();
    let r = run_in(base, &["key", "list", "--target", s(&b), "--format", "json"]);
    ok(&r, "key list");
    assert_eq!(r.json()["keys"].as_array().unwrap().len(), 1, "no transport key yet");
    let r = run_in(base, &["key", "public", "--target", s(&b), "--format", "json"]);
    ok(&r, "key public");
    assert_eq!(r.json()["created"], true);
    let r2 = run_in(base, &["key", "public", "--target", s(&b), "--format", "json"]);
    assert_eq!(r2.json()["created"], false);
    assert_eq!(r.json()["key_id"], r2.json()["key_id"]);
}

/// Every `{aesgcm}` key id in the files under `dir`.
fn sealed_ids(dir: &Path) -> BTreeMap<String, usize> {
    let mut ids = BTreeMap::new();
    for (_, bytes) in tree(dir) {
        let text = String::from_utf8_lossy(&bytes);
        for part in text.split("{aesgcm} 1,").skip(1) {
            *ids.entry(part[..16].to_owned()).or_insert(0) += 1;
        }
    }
    ids
}

#[test]
fn a_rotation_keeps_every_password_history_rollback_and_imports_of_older_exports() {
    let dir = tmp();
    let base = dir.path();
    let a = hq(base);
    let old = key_id(base, &a);
    let before = opened(base, &a);
    // A sealed export made before the rotation, under the old key.
    let old_export = base.join("before.xml");
    ok(&run_in(base, &["export", "--target", s(&a), "--out", s(&old_export)]), "export");
    // A dry run writes nothing.
    let snapshot = tree(&a);
    let r = run_in(base, &["key", "rotate", "--target", s(&a), "--dry-run"]);
    ok(&r, "dry run");
    assert_eq!(tree(&a), snapshot, "a dry run writes nothing");
    let r = run_in(base, &["key", "rotate", "--target", s(&a)]);
    ok(&r, "key rotate");
    assert!(
        r.stdout.contains("AD, SRX and CSO passwords"),
        "says what it does not do: {}",
        r.stdout
    );
    let new = key_id(base, &a);
    assert_ne!(new, old);
    let live = sealed_ids(&a.join("cwd"));
    assert_eq!(live.keys().collect::<Vec<_>>(), [&new], "every live value under the new key");
    assert_eq!(opened(base, &a), before, "the same passwords open");
    let r = run_in(base, &["history", "--target", s(&a), "--format", "json"]);
    assert_eq!(r.json()["versions"][2]["action"], "key-rotate");
    let r = run_in(base, &["key", "list", "--target", s(&a), "--format", "json"]);
    let keys = r.json()["keys"].clone();
    assert_eq!(keys[0]["id"], new.as_str());
    assert_eq!(keys[0]["versions"], serde_json::json!([2]));
    assert_eq!(keys[1]["id"], old.as_str());
    assert_eq!(keys[1]["state"], "retired");
    assert_eq!(keys[1]["versions"], serde_json::json!([1]));
    use std::os::unix::fs::PermissionsExt;
    let ring = std::fs::metadata(a.join(".jims-import/keyring")).unwrap().permissions();
    assert_eq!(ring.mode() & 0o777, 0o600);
    // The export made under the old key imports with no source key: the ring's keys are this
    // server's own.
    ok(&run_in(base, &["import", s(&old_export), "--target", s(&a)]), "import of the old export");
    assert_eq!(sealed_ids(&a.join("cwd")).keys().collect::<Vec<_>>(), [&new]);
    // Rollback across the rotation, then an import, then the passwords.
    ok(&run_in(base, &["rollback", "--target", s(&a), "--to", "1"]), "rollback");
    assert_eq!(sealed_ids(&a.join("cwd")).keys().collect::<Vec<_>>(), [&old]);
    assert_eq!(opened(base, &a), before);
    let r = run_in(
        base,
        &[
            "import",
            s(&fixture("exports/partial.xml")),
            "--target",
            s(&a),
            "--secrets",
            &full_secrets(),
            "--accept-warning",
        ],
    );
    ok(&r, "import after the rollback");
    ok(&run_in(base, &["import", s(&old_export), "--target", s(&a)]), "and the old export");
    assert_eq!(opened(base, &a), before);
    // Retiring the old key is refused while versions need it, then done with --reseal-history.
    let r = run_in(base, &["key", "retire", "--target", s(&a), "--id", &old]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--reseal-history") && r.stderr.contains('1'), "{}", r.stderr);
    let r = run_in(base, &["key", "retire", "--target", s(&a), "--id", &new]);
    assert_eq!(r.code, 2, "the current key: {}", r.stderr);
    let r = run_in(base, &["key", "retire", "--target", s(&a), "--id", "0123456789abcdef"]);
    assert_eq!(r.code, 2, "an unknown key: {}", r.stderr);
    let r = run_in(base, &["key", "retire", "--target", s(&a), "--id", &old, "--reseal-history"]);
    ok(&r, "retire --reseal-history");
    let state = a.join(".jims-import");
    let ring = std::fs::read_to_string(state.join("keyring")).unwrap();
    assert!(!ring.contains(&old), "the old key left the ring");
    assert_eq!(sealed_ids(&a).keys().collect::<Vec<_>>(), [&new], "no value under the old key");
    for n in [1, 3] {
        ok(&run_in(base, &["rollback", "--target", s(&a), "--to", &n.to_string()]), "rollback");
        assert_eq!(opened(base, &a), before, "version {n} opens");
    }
}

#[test]
fn a_rotation_leaves_capi_and_fsw_values_as_they_are_and_refuses_a_value_that_does_not_open() {
    let dir = tmp();
    let base = dir.path();
    let a = base.join("adopted");
    let st = std::process::Command::new("cp")
        .arg("-r")
        .arg(fixture("server-folder"))
        .arg(&a)
        .status()
        .unwrap();
    assert!(st.success());
    ok(&run_in(base, &["server", "init", "--adopt", s(&a)]), "adopt");
    let blobs = |t: &Path| -> Vec<String> {
        let mut out = Vec::new();
        for (_, bytes) in tree(&t.join("cwd")) {
            let text = String::from_utf8_lossy(&bytes);
            for scheme in ["{capi} ", "{fsw} "] {
                for part in text.split(scheme).skip(1) {
                    let end = part.find(['"', '<']).unwrap();
                    out.push(part[..end].to_owned());
                }
            }
        }
        out.sort();
        out
    };
    let before = blobs(&a);
    assert!(!before.is_empty(), "the fixture holds {{capi}}/{{fsw}} values");
    let r = run_in(base, &["key", "rotate", "--target", s(&a), "--format", "json"]);
    ok(&r, "rotate");
    assert!(r.json()["untouched"].as_u64().unwrap() >= before.len() as u64);
    assert_eq!(blobs(&a), before, "{{capi}}/{{fsw}} untouched");
    // A sealed value edited by hand: nothing changes, exit 2, naming the item.
    let (rel, _) = tree(&a.join("cwd"))
        .into_iter()
        .find(|(_, b)| String::from_utf8_lossy(b).contains("{aesgcm} 1,"))
        .expect("a sealed value after the adoption");
    let file = a.join("cwd").join(&rel);
    let text = std::fs::read_to_string(&file).unwrap();
    let at = text.find("{aesgcm} 1,").unwrap() + 40;
    let mut bytes = text.into_bytes();
    bytes[at] = if bytes[at] == b'0' { b'1' } else { b'0' };
    std::fs::write(&file, bytes).unwrap();
    let snapshot = tree(&a);
    let r = run_in(base, &["key", "rotate", "--target", s(&a)]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("does not open"), "{}", r.stderr);
    assert_eq!(tree(&a), snapshot, "nothing changed");
}

#[test]
fn a_transport_rotation_keeps_bundles_sealed_to_the_old_key_importable_until_retired() {
    let dir = tmp();
    let base = dir.path();
    let (a, b, b_pub) = hq_and_branch(base);
    let old_id = transport_id(&b_pub);
    let bundle = base.join("to-b.xml");
    ok(&export_to(base, &a, &[&b_pub], &bundle), "export");
    let r = run_in(base, &["key", "rotate", "--target", s(&b), "--transport"]);
    ok(&r, "rotate --transport");
    let new_pub = public(base, &b);
    assert_ne!(transport_id(&new_pub), old_id);
    ok(&run_in(base, &["import", s(&bundle), "--target", s(&b)]), "a bundle sealed to the old key");
    ok(&run_in(base, &["key", "retire", "--target", s(&b), "--id", &old_id]), "retire");
    let r = run_in(base, &["import", s(&bundle), "--target", s(&b)]);
    assert_eq!(r.code, 3, "no longer a recipient: {}", r.stderr);
}

#[test]
fn a_rotation_and_an_import_at_the_same_time_find_the_folder_busy() {
    use std::io::{BufRead, BufReader};
    let dir = tmp();
    let base = dir.path();
    let a = hq(base);
    // An export that changes something (the same export again changes nothing and commits
    // nothing, so it would take no lock).
    let full = std::fs::read_to_string(fixture("exports/full.xml")).unwrap();
    let edited = full.replacen("description=\"Forest 1\"", "description=\"Forest 1, moved\"", 1);
    assert_ne!(edited, full);
    let changed = base.join("changed.xml");
    std::fs::write(&changed, edited).unwrap();
    for (first, second) in [("rotate", "import"), ("import", "rotate")] {
        let args = |op: &str| -> Vec<String> {
            match op {
                "rotate" => vec!["key".into(), "rotate".into(), "--target".into(), s(&a).into()],
                _ => vec![
                    "import".into(),
                    s(&changed).into(),
                    "--target".into(),
                    s(&a).into(),
                    "--secrets".into(),
                    full_secrets(),
                ],
            }
        };
        let mut child = crate::support::cmd()
            .current_dir(base)
            .args(args(first))
            .env("JIMSCTL_FAULT_PAUSE", "3")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut err = BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        while !line.contains("paused at step") {
            line.clear();
            assert!(err.read_line(&mut line).unwrap() > 0, "{first} never paused");
        }
        let owned = args(second);
        let refs: Vec<&str> = owned.iter().map(String::as_str).collect();
        let r = run_in(base, &refs);
        assert_eq!(r.code, 5, "{second} during {first}: {}", r.stderr);
        child.kill().unwrap();
        child.wait().unwrap();
    }
}

#[test]
fn a_malformed_sealing_field_is_refused_by_both_readers_with_its_place() {
    let dir = tmp();
    let base = dir.path();
    let (a, b, b_pub) = hq_and_branch(base);
    for name in ["sealed.xml", "sealed.json"] {
        let bundle = base.join(name);
        ok(&export_to(base, &a, &[&b_pub], &bundle), "export");
        let text = std::fs::read_to_string(&bundle).unwrap();
        let broken = [
            text.replacen("recipient_1", "recipient_2", 1),
            text.replacen(&transport_id(&b_pub), "zz", 1),
            text.replacen("data_key_id", "data_key", 1),
        ];
        for (i, edited) in broken.iter().enumerate() {
            assert_ne!(edited, &text);
            let path = base.join(format!("broken-{i}-{name}"));
            std::fs::write(&path, edited).unwrap();
            for args in [
                vec!["import", s(&path), "--target", s(&b)],
                vec!["convert", s(&path), s(&base.join(format!("out-{i}-{name}")))],
            ] {
                let r = run_in(base, &args);
                assert_eq!(r.code, 2, "{name} #{i} {args:?}: {}", r.stderr);
                assert!(r.stderr.contains("sealed bundle"), "{name} #{i}: {}", r.stderr);
                // The file, with a line and column.
                let place = r.stderr.split(&format!("{name}:")).nth(1).unwrap_or_default();
                let mut parts = place.splitn(3, ':');
                let (line, column) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
                assert!(
                    line.parse::<u32>().is_ok() && column.parse::<u32>().is_ok(),
                    "{name} #{i}: no line and column: {}",
                    r.stderr
                );
                if name.ends_with(".xml") {
                    assert_eq!(line, "2", "the header's line: {}", r.stderr);
                }
            }
        }
    }
}

#[test]
fn a_rotation_with_nothing_to_reseal_still_switches_the_key_without_a_version() {
    // A folder with no password (made by `server init`): the key switches all the same (it
    // used to stay, with the old key also listed as retired in the ring), and no version is
    // made since no file changes.
    let dir = tmp();
    let base = dir.path();
    let t = init(base, "empty", "empty");
    let old = key_id(base, &t);
    let r = run_in(base, &["key", "rotate", "--target", s(&t), "--format", "json"]);
    ok(&r, "rotate");
    let v = r.json();
    let new = key_id(base, &t);
    assert_ne!(new, old, "the key did not change");
    assert_eq!(v["new_key_id"], new.as_str());
    assert_eq!(v["old_key_id"], old.as_str());
    assert!(v["version"].is_null(), "no version for nothing re-sealed: {v}");
    let h = run_in(base, &["history", "--target", s(&t), "--format", "json"]).json();
    assert_eq!(h["current"], 0);
    let list = run_in(base, &["key", "list", "--target", s(&t), "--format", "json"]).json();
    let keys = list["keys"].as_array().unwrap();
    let state_of = |id: &str| {
        keys.iter()
            .filter(|k| k["id"] == id)
            .map(|k| k["state"].as_str().unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(state_of(&new), ["current"]);
    assert_eq!(state_of(&old), ["retired"]);
    let ring = std::fs::read_to_string(t.join(".jims-import/keyring")).unwrap();
    assert!(!ring.contains(&new), "the current key is in the ring");
    // No version uses the old key: it retires at once, and the folder still imports.
    ok(&run_in(base, &["key", "retire", "--target", s(&t), "--id", &old]), "retire");
    let r = import_into("exports/full.xml", &t, &["--secrets", &full_secrets()]);
    ok(&r, "import after");
    assert_eq!(sealed_ids(&t.join("cwd")).keys().collect::<Vec<_>>(), [&new]);
}

#[test]
fn across_a_rotation_history_show_and_diff_compare_passwords_by_value() {
    // The rotation re-sealed every password under another key, with the same values: version 2
    // changed no password, and the current folder equals version 1.
    let dir = tmp();
    let base = dir.path();
    let t = hq(base);
    ok(&run_in(base, &["key", "rotate", "--target", s(&t)]), "rotate");
    let r = run_in(base, &["history", "show", "2", "--target", s(&t), "--format", "json"]);
    ok(&r, "history show 2");
    let v = r.json();
    let changes = v["changes"].as_array().unwrap();
    assert!(
        changes.iter().all(|c| c["status"] == "same"),
        "a rotation shows as a change: {changes:?}"
    );
    let one = format!("{}@1", s(&t));
    let r = run_in(base, &["diff", &one, s(&t), "--exit-code"]);
    assert_eq!(r.code, 0, "diff across the rotation: {}{}", r.stdout, r.stderr);
    let r = run_in(
        base,
        &["rollback", "--target", s(&t), "--to", "1", "--dry-run", "--format", "json"],
    );
    ok(&r, "rollback --dry-run");
    let r = run_in(base, &["validate", &one]);
    ok(&r, "validate DIR@1 under the retired key");
}

#[test]
fn a_sealed_export_after_a_rollback_across_a_rotation_is_all_under_its_header_key() {
    // Rolled back to version 1: the live values are under the retired key. A sealed export
    // names the current key, and every value in it is sealed under that key, so another
    // server given that key file (`--source-key`) imports it.
    let dir = tmp();
    let base = dir.path();
    let t = hq(base);
    let old = key_id(base, &t);
    ok(&run_in(base, &["key", "rotate", "--target", s(&t)]), "rotate");
    ok(&run_in(base, &["rollback", "--target", s(&t), "--to", "1"]), "rollback");
    let new = key_id(base, &t);
    assert!(sealed_ids(&t.join("cwd")).contains_key(&old), "the rollback restores old values");
    let out = base.join("sealed.xml");
    ok(&run_in(base, &["export", "--target", s(&t), "--out", s(&out)]), "export");
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains(&format!("server_key_id=\"{new}\"")));
    assert!(!text.contains(&format!("1,{old},")), "a value under the retired key in the export");
    let other = base.join("other");
    let key_file = t.join(".jims-import/server.key");
    let r = run_in(base, &["import", s(&out), "--target", s(&other), "--source-key", s(&key_file)]);
    ok(&r, "import elsewhere with the current key");
    assert_eq!(opened(base, &other), opened(base, &t));
}
