//! Plugins through the real binary: `jimsctl plugins list`, `--secrets plugin:keepass:PATH` on
//! the database made by keepassxc-cli, and every broken library on use (exit 2, naming the file
//! and the reason). The libraries come from the workspace's build; every test shares one plugin
//! folder (each run of the binary loads it afresh).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::support::{Run, assert_no_secret, cmd, filters, fixture, tmp};

const MASTER: &str = "jimsctl fixture master password";

/// Every password of the KeePass fixtures: none may ever be printed.
const KEEPASS_PASSWORDS: [&str; 12] = [
    "Kp-dc1-3f9a61c2",
    "Kp-ad4-8b27e0d5",
    "Kp-dcreaders-51c4a9e7",
    "Kp-corp-adremote-0e6d2b94",
    "Kp-corp-eventlog-c7a1f350",
    "Kp-corp-pcprobe-9d02e6b8",
    "Kp-forest8-24f8c1a3",
    "Kp-forest12-6b3e9d07",
    "Kp-srx1-oauth-a8d4f215",
    "Kp-twin-one",
    "Kp-twin-two",
    "Kp-keyfile-dc1-e5b7c930",
];

/// The purpose-built broken libraries, and `panics` (which loads, then panics when called).
const BROKEN: [&str; 6] =
    ["no_symbol", "wrong_magic", "wrong_major", "null_manifest", "null_instance", "panics"];

fn lib_name(name: &str) -> String {
    format!("{}{name}{}", std::env::consts::DLL_PREFIX, std::env::consts::DLL_SUFFIX)
}

/// `target/<profile>`: the test binary lives in its `deps/`.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    exe.parent().and_then(Path::parent).expect("target/<profile>").to_owned()
}

/// One plugin folder for this test process: the example and KeePass plugins, the broken test
/// plugins, and a text file named like a library. `cargo test --workspace` built the libraries;
/// `cargo build` runs once here anyway (a no-op then), so that testing this crate alone never
/// uses a stale or missing library.
pub(crate) fn plugin_folder() -> &'static Path {
    static FOLDER: OnceLock<tempfile::TempDir> = OnceLock::new();
    FOLDER
        .get_or_init(|| {
            let dir = profile_dir();
            let profile = match dir.file_name().and_then(|n| n.to_str()) {
                Some("debug") | None => "dev".to_owned(),
                Some(other) => other.to_owned(),
            };
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
            let status = Command::new(cargo)
                .args(["build", "--quiet", "--profile", &profile, "--lib", "--examples"])
                .args(["-p", "example-plugin", "-p", "keepass-plugin", "-p", "test-plugins"])
                .status()
                .expect("cargo runs");
            assert!(status.success(), "building the plugin libraries failed");
            let folder = tmp();
            let mut libraries =
                vec![dir.join(lib_name("example_plugin")), dir.join(lib_name("keepass_plugin"))];
            libraries.extend(BROKEN.iter().map(|n| dir.join("examples").join(lib_name(n))));
            for lib in libraries {
                let copy = folder.path().join(lib.file_name().unwrap());
                std::fs::copy(&lib, &copy).unwrap_or_else(|e| panic!("{}: {e}", lib.display()));
                // Writable by its owner only, whatever the umask: jimsctl loads no other.
                std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).unwrap();
            }
            std::fs::write(folder.path().join(lib_name("not_a_library")), "not ELF\n").unwrap();
            folder
        })
        .path()
}

/// `jimsctl ARGS` with the plugin folder on `JIMSCTL_PLUGIN_PATH` and `env` set.
fn run_with(env: &[(&str, &Path)], args: &[&str]) -> Run {
    let mut c = cmd();
    c.current_dir(fixture("")).env("JIMSCTL_PLUGIN_PATH", plugin_folder());
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.args(args).output().expect("the binary runs");
    let run = Run::of(out);
    for text in [&run.stdout, &run.stderr] {
        assert_no_secret(text);
        for pw in KEEPASS_PASSWORDS {
            assert!(!text.contains(pw), "a KeePass password was printed:\n{text}");
        }
        assert!(!text.contains(MASTER), "the master password was printed:\n{text}");
    }
    run
}

fn keepass_fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plugins/keepass/fixtures").join(name)
}

fn password_env() -> Vec<(&'static str, &'static Path)> {
    vec![("JIMSCTL_KEEPASS_PASSWORD", Path::new(MASTER))]
}

fn secrets_arg(spec: String) -> String {
    format!("--secrets={spec}")
}

#[test]
fn list_shows_every_library_with_its_abi_and_status() {
    let r = run_with(&[], &["plugins", "list", "--format", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = r.json();
    assert_eq!(v["abi"], "1.0");
    assert_eq!(v["folders"][0]["path"], plugin_folder().display().to_string());
    assert_eq!(v["folders"][0]["from"], "JIMSCTL_PLUGIN_PATH");
    let plugins = v["plugins"].as_array().unwrap();
    assert_eq!(plugins.len(), 9);
    let by_file = |n: &str| {
        plugins
            .iter()
            .find(|p| p["file"].as_str().unwrap().ends_with(&lib_name(n)))
            .unwrap_or_else(|| panic!("{n} not listed"))
    };
    let kp = by_file("keepass_plugin");
    assert_eq!(
        (&kp["name"], &kp["abi"], &kp["usable"]),
        (&"keepass".into(), &"1.0".into(), &true.into())
    );
    assert_eq!(kp["version"], env!("CARGO_PKG_VERSION"));
    for usable in ["example_plugin", "null_instance", "panics"] {
        assert_eq!(by_file(usable)["usable"], true, "{usable}");
    }
    for (file, reason) in [
        ("not_a_library", "not a shared library"),
        ("no_symbol", "does not export `jimsctl_plugin_manifest`"),
        ("wrong_magic", "instead of the magic `JIMSPLUG`"),
        ("wrong_major", "built for plugin ABI 2.0, but this jimsctl speaks ABI 1"),
        ("null_manifest", "returned null instead of a manifest"),
    ] {
        let p = by_file(file);
        assert_eq!(p["usable"], false, "{file}");
        assert!(p["error"].as_str().unwrap().contains(reason), "{file}: {p}");
    }
    assert_eq!(by_file("wrong_major")["abi"], "2.0");
}

#[test]
fn list_as_text() {
    let r = run_with(&[], &["plugins", "list"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut f = filters();
    f.push((r"(?m)^  \S+/plugins \(beside jimsctl", "  [BINARY-DIR]/plugins (beside jimsctl"));
    insta::with_settings!({filters => f}, {
        insta::assert_snapshot!("plugins_list_text", r.stdout);
    });
}

#[test]
fn list_without_plugins_says_where_to_put_them() {
    let r = crate::support::run(&["plugins", "list"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("No plugin library found."), "{}", r.stdout);
    assert!(r.stdout.contains("(beside jimsctl"), "{}", r.stdout);
}

#[test]
fn keepass_answers_every_row_of_an_import() {
    let work = tmp();
    let target = work.path().join("srv");
    let db = keepass_fixture("jims.kdbx");
    let r = run_with(
        &password_env(),
        &[
            "import",
            "exports/partial.xml",
            "--target",
            target.to_str().unwrap(),
            "--accept-warning",
            "--format",
            "json",
            &secrets_arg(format!("plugin:keepass:{}", db.display())),
        ],
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let v = r.json();
    assert_eq!(v["status"], "imported");
    assert_eq!(v["passwords"]["remaining"], 0);

    // The passwords sealed are the database's: item, template and account entries, each row
    // answered by its most specific key.
    let plain = work.path().join("plain.json");
    let e = run_with(
        &[],
        &[
            "export",
            "--target",
            target.to_str().unwrap(),
            "--out",
            plain.to_str().unwrap(),
            "--passwords",
            "plain",
        ],
    );
    assert_eq!(e.code, 0, "{}", e.stderr);
    let text = std::fs::read_to_string(&plain).unwrap();
    for (item, password) in [
        ("AD4", "Kp-ad4-8b27e0d5"),                        // user_directories/AD4
        ("AD8", "Kp-forest8-24f8c1a3"),                    // account/FOREST8\JIMS-ADRemoteAccess
        ("AD12", "Kp-forest12-6b3e9d07"),                  // account/FOREST12\…
        ("dc-readers", "Kp-dcreaders-51c4a9e7"),           // templates/dc-readers
        ("exchange-readers", "Kp-corp-eventlog-c7a1f350"), // account/CORP\JIMS-EventLogReader
        ("ad-readers", "Kp-corp-adremote-0e6d2b94"),       // account/CORP\JIMS-ADRemoteAccess
        ("probe-admins", "Kp-corp-pcprobe-9d02e6b8"),      // account/CORP\JIMS-PCProbe
    ] {
        assert!(text.contains(password), "{item}: {password} not exported");
    }
}

#[test]
fn the_passwords_table_names_the_plugin_as_the_source() {
    let work = tmp();
    let db = keepass_fixture("jims.kdbx");
    let r = run_with(
        &password_env(),
        &[
            "passwords",
            "exports/partial.xml",
            "--target",
            work.path().join("srv").to_str().unwrap(),
            "--format",
            "json",
            &secrets_arg(format!("plugin:keepass:{}", db.display())),
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = r.json();
    assert_eq!((v["total"].as_u64(), v["remaining"].as_u64()), (Some(7), Some(0)));
    for item in v["items"].as_array().unwrap() {
        assert_eq!(item["source"], "plugin:keepass", "{item}");
    }
}

#[test]
fn a_key_file_opens_its_database_and_no_key_is_a_config_error() {
    let work = tmp();
    let target = work.path().join("srv");
    let spec =
        secrets_arg(format!("plugin:keepass:{}", keepass_fixture("jims-keyfile.kdbx").display()));
    let args = ["passwords", "exports/partial.xml", "--target", target.to_str().unwrap(), &spec];
    // Opened: the database answers none of these rows, so they stay missing (exit 3).
    let keyfile = keepass_fixture("jims.keyx");
    let r = run_with(&[("JIMSCTL_KEEPASS_KEYFILE", &keyfile)], &args);
    assert_eq!(r.code, 3, "{}", r.stderr);
    let r = run_with(&[], &args);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("set JIMSCTL_KEEPASS_PASSWORD"), "{}", r.stderr);
}

#[test]
fn a_wrong_master_password_or_an_unreadable_database_is_exit_2() {
    let work = tmp();
    let target = work.path().join("srv");
    let wrong = [("JIMSCTL_KEEPASS_PASSWORD", Path::new("not the master password"))];
    for (env, db, says) in [
        (&wrong[..], keepass_fixture("jims.kdbx"), "does not open the KeePass database"),
        (&password_env()[..], keepass_fixture("missing.kdbx"), "no such file"),
        (&password_env()[..], keepass_fixture("make-fixture.sh"), "is not a KeePass database"),
    ] {
        let r = run_with(
            env,
            &[
                "import",
                "exports/partial.xml",
                "--target",
                target.to_str().unwrap(),
                "--accept-warning",
                &secrets_arg(format!("plugin:keepass:{}", db.display())),
            ],
        );
        assert_eq!(r.code, 2, "{}", r.stderr);
        assert!(
            r.stderr.starts_with("error: secret source `plugin:keepass` is not usable"),
            "{}",
            r.stderr
        );
        assert!(r.stderr.contains(&lib_name("keepass_plugin")), "{}", r.stderr);
        assert!(
            r.stderr.contains(says) && r.stderr.contains(&db.display().to_string()),
            "{}",
            r.stderr
        );
        assert!(!target.exists(), "nothing is written");
    }
}

/// A broken plugin is a wrongly configured source (exit 2); one that panics while answering is
/// a source that failed (exit 1). Either way: the file and the reason, in one sentence.
#[test]
fn every_broken_plugin_is_named_with_the_reason_and_its_exit_code() {
    let work = tmp();
    let target = work.path().join("srv");
    for (spec, file, says, code) in [
        ("plugin:not_a_library", "not_a_library", "not a shared library", 2),
        ("plugin:no_symbol", "no_symbol", "does not export `jimsctl_plugin_manifest`", 2),
        ("plugin:wrong_magic", "wrong_magic", "instead of the magic `JIMSPLUG`", 2),
        ("plugin:wrong_major", "wrong_major", "built for plugin ABI 2.0", 2),
        ("plugin:null_manifest", "null_manifest", "returned null instead of a manifest", 2),
        ("plugin:null_instance", "null_instance", "returned no instance (null)", 2),
        (
            "plugin:panics:create",
            "panics",
            "it panicked in create (panicked: the plugin broke while starting)",
            2,
        ),
        (
            "plugin:panics",
            "panics",
            "it panicked in resolve (panicked: the plugin broke while looking up row 1)",
            1,
        ),
    ] {
        let r = run_with(
            &[],
            &[
                "passwords",
                "exports/partial.xml",
                "--target",
                target.to_str().unwrap(),
                &secrets_arg(spec.into()),
            ],
        );
        assert_eq!(r.code, code, "{spec}: {}", r.stderr);
        let file = plugin_folder().join(lib_name(file));
        assert!(r.stderr.contains(&file.display().to_string()), "{spec}: {}", r.stderr);
        assert!(r.stderr.contains(says), "{spec}: {}", r.stderr);
        // One sentence, no backtrace or panic noise from the plugin.
        assert_eq!(r.stderr.lines().count(), 1, "{spec}: {}", r.stderr);
        assert!(!target.exists(), "{spec}: nothing is written");
    }
}

#[test]
fn an_unknown_plugin_is_exit_2_in_json_too() {
    let work = tmp();
    let r = run_with(
        &[],
        &[
            "import",
            "exports/partial.xml",
            "--target",
            work.path().join("srv").to_str().unwrap(),
            "--format",
            "json",
            "--secrets",
            "plugin:vault:addr=https://vault:8200",
        ],
    );
    assert_eq!(r.code, 2);
    let v = r.json();
    assert_eq!((v["status"].as_str(), v["exit_code"].as_u64()), (Some("invalid"), Some(2)));
    let error = v["error"].as_str().unwrap();
    assert!(error.contains("no plugin named `vault`") && error.contains("plugins list"), "{error}");
}

#[test]
fn plugins_beside_the_binary_are_found_without_the_variable() {
    let bin = tmp();
    let jimsctl = bin.path().join("jimsctl");
    std::fs::copy(env!("CARGO_BIN_EXE_jimsctl"), &jimsctl).unwrap();
    std::fs::create_dir(bin.path().join("plugins")).unwrap();
    let example = lib_name("example_plugin");
    plugin_folder(); // built and copied
    std::fs::copy(plugin_folder().join(&example), bin.path().join("plugins").join(&example))
        .unwrap();
    // The copy, with the isolated settings folders `cmd()` gives the usual binary.
    let usual = cmd();
    let out = Command::new(&jimsctl)
        .envs(usual.get_envs().filter_map(|(k, v)| v.map(|v| (k, v))))
        .env_remove("JIMSCTL_PLUGIN_PATH")
        .args(["plugins", "list", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["folders"].as_array().unwrap().len(), 1);
    assert_eq!(v["folders"][0]["from"], "beside jimsctl");
    assert_eq!(v["plugins"][0]["name"], "example");
    assert_eq!(v["plugins"][0]["usable"], true);
}

/// `jimsctl ARGS` run in `dir` with `JIMSCTL_PLUGIN_PATH=path`.
fn run_in(dir: &Path, path: &str, args: &[&str]) -> Run {
    let out = cmd()
        .current_dir(dir)
        .env("JIMSCTL_PLUGIN_PATH", path)
        .args(args)
        .output()
        .expect("the binary runs");
    Run::of(out)
}

#[test]
fn plugin_folders_that_are_not_trusted_are_skipped_with_the_reason() {
    let work = tmp();
    let plugins = work.path().join("plugins");
    std::fs::create_dir(&plugins).unwrap();
    std::fs::set_permissions(&plugins, std::fs::Permissions::from_mode(0o755)).unwrap();
    let example = lib_name("example_plugin");
    std::fs::copy(plugin_folder().join(&example), plugins.join(&example)).unwrap();
    let target = work.path().join("srv");
    let passwords = |dir: &Path, path: &str| {
        run_in(
            dir,
            path,
            &[
                "passwords",
                fixture("exports/partial.xml").to_str().unwrap(),
                "--target",
                target.to_str().unwrap(),
                "--secrets",
                "plugin:example",
            ],
        )
    };
    // The same folder, trusted: found and used (no variable answers: exit 3, rows missing).
    let absolute = plugins.to_str().unwrap();
    assert_eq!(passwords(work.path(), absolute).code, 3);

    // Relative: not searched, though it is right there in the current folder.
    let r = run_in(work.path(), "plugins", &["plugins", "list", "--format", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = r.json();
    let entries = v["plugins"].as_array().unwrap();
    let refused = entries.iter().find(|p| p["file"] == "plugins").expect("the folder is listed");
    assert_eq!(refused["usable"], false);
    assert!(refused["error"].as_str().unwrap().contains("`plugins` is a relative path"), "{v}");
    assert!(!entries.iter().any(|p| p["name"] == "example"), "{v}");
    let r = run_in(work.path(), "plugins", &["plugins", "list"]);
    // In the list of folders, with why; not as a row of the table of libraries.
    assert!(
        r.stdout.contains(
            "  plugins (JIMSCTL_PLUGIN_PATH, not searched)\n    `plugins` is a relative path"
        ),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("No plugin library found."), "{}", r.stdout);
    let r = passwords(work.path(), "plugins");
    assert_eq!(r.code, 2, "{}", r.stderr);
    let says = format!("plugins/{example} was not loaded: plugins: not searched: `plugins` is a");
    assert!(r.stderr.contains(&says), "{}", r.stderr);
    assert!(r.stderr.contains("give plugin folders as absolute paths"), "{}", r.stderr);

    // Writable by others: not searched, and `plugin:example` says which library and why.
    std::fs::set_permissions(&plugins, std::fs::Permissions::from_mode(0o777)).unwrap();
    let r = run_in(work.path(), absolute, &["plugins", "list"]);
    assert!(
        r.stdout.contains(", not searched)\n    the folder is writable by its group and by others"),
        "{}",
        r.stdout
    );
    let r = passwords(work.path(), absolute);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let lib = plugins.join(&example);
    assert!(r.stderr.contains(&format!("{} was not loaded", lib.display())), "{}", r.stderr);
    assert!(r.stderr.contains("mode 0777"), "{}", r.stderr);
}

/// Without `JIMSCTL_KEEPASS_PASSWORD` and with a terminal, the KeePass plugin asks for the
/// master password there, without echo (on a pseudo-terminal from `script`, util-linux).
#[test]
fn keepass_asks_the_master_password_on_a_terminal_without_echo() {
    use std::io::Write;
    let db = keepass_fixture("jims-kdbx3.kdbx");
    let line = format!(
        "'{}' passwords exports/partial.xml --secrets 'plugin:keepass:{}'",
        env!("CARGO_BIN_EXE_jimsctl"),
        db.display()
    );
    let mut child = Command::new("script")
        .args(["-q", "-e", "-f", "-c", &line, "/dev/null"])
        .current_dir(fixture(""))
        .env("TERM", "xterm")
        .env("JIMSCTL_PLUGIN_PATH", plugin_folder())
        .env_remove("JIMSCTL_KEEPASS_PASSWORD")
        .env_remove("JIMSCTL_KEEPASS_KEYFILE")
        .env("XDG_CONFIG_HOME", crate::support::isolated_home().join("config"))
        .env("XDG_STATE_HOME", crate::support::isolated_home().join("state"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("`script` (util-linux) runs");
    let mut stdin = child.stdin.take().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    stdin.write_all(format!("{MASTER}\r").as_bytes()).unwrap();
    stdin.flush().unwrap();
    let out = child.wait_with_output().unwrap();
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(screen.contains("KeePass master password for "), "{screen}");
    assert!(!screen.contains(MASTER), "the master password was echoed:\n{screen}");
    assert!(screen.contains("Total: 7  Fixed: 7  Remaining: 0"), "{screen}");

    // Without a terminal it is not asked: the plugin says what to set.
    let r = run_with(
        &[],
        &[
            "passwords",
            "exports/partial.xml",
            &secrets_arg(format!("plugin:keepass:{}", db.display())),
        ],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("set JIMSCTL_KEEPASS_PASSWORD"), "{}", r.stderr);
}
