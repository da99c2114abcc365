//! The `cmd:` recipes of docs/recipes/ tell "not in the store" (exit 1: the row stays missing,
//! exit 3) from "the store's tool failed" (exit 2 with its message: jimsctl stops with exit 1
//! and shows it): with a real `pass` store and a wrong GNUPGHOME, and with stand-ins for
//! secret-tool, op, bw and vault that answer as the real ones do.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{cmd, tmp};

fn recipe(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/recipes").join(name)
}

/// Runs a setup command, failing with what it printed.
fn setup(program: &str, args: &[&str], env: &[(&str, &Path)], stdin: Option<&str>) {
    use std::io::Write;
    let mut c = Command::new(program);
    c.args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    for (k, v) in env {
        c.env(k, v);
    }
    let mut child = c.spawn().unwrap_or_else(|e| {
        panic!(
            "`{program}` is needed for this test (.ci/run installs Debian's pass and gnupg): {e}"
        )
    });
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// `jimsctl passwords exports/partial.xml --secrets cmd:RECIPE` with `env`.
fn passwords(recipe: &Path, env: &[(&str, &str)]) -> (i32, String, String) {
    let mut c = cmd();
    c.current_dir(crate::support::fixtures());
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c
        // --verbose: a failing program's error output is shown (it may hold a secret).
        .args(["passwords", "exports/partial.xml", "--format", "json", "--verbose", "--secrets"])
        .arg(format!("cmd:{}", recipe.display()))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn pass_tells_not_in_the_store_from_gpg_failing() {
    let dir = tmp();
    let gnupg = dir.path().join("g");
    std::fs::create_dir(&gnupg).unwrap();
    std::fs::set_permissions(&gnupg, std::fs::Permissions::from_mode(0o700)).unwrap();
    let store = dir.path().join("store");
    let env: [(&str, &Path); 2] = [("GNUPGHOME", &gnupg), ("PASSWORD_STORE_DIR", &store)];
    setup(
        "gpg",
        &[
            "--batch",
            "--passphrase",
            "",
            "--quick-gen-key",
            "r <r@jimsctl.invalid>",
            "default",
            "default",
            "never",
        ],
        &env,
        None,
    );
    setup("pass", &["init", "r@jimsctl.invalid"], &env, None);
    // Two of the seven rows are in the store.
    setup("pass", &["insert", "-m", "jims/templates/dc-readers"], &env, Some("Pw-pass-1\n"));
    setup("pass", &["insert", "-m", "jims/user_directories/AD4"], &env, Some("Pw-pass-2\n"));
    let (g, s) = (gnupg.to_str().unwrap(), store.to_str().unwrap());

    let (code, stdout, stderr) =
        passwords(&recipe("pass.sh"), &[("GNUPGHOME", g), ("PASSWORD_STORE_DIR", s)]);
    assert_eq!(code, 3, "the others are not in the store: {stdout}{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["fixed"], 2, "{v}");
    assert!(!stdout.contains("Pw-pass") && !stderr.contains("Pw-pass"));

    // A wrong GNUPGHOME: gpg cannot decrypt. That is a failure with gpg's words, not "missing".
    let wrong = dir.path().join("wrong");
    std::fs::create_dir(&wrong).unwrap();
    std::fs::set_permissions(&wrong, std::fs::Permissions::from_mode(0o700)).unwrap();
    let (code, stdout, stderr) = passwords(
        &recipe("pass.sh"),
        &[("GNUPGHOME", wrong.to_str().unwrap()), ("PASSWORD_STORE_DIR", s)],
    );
    let _ = Command::new("gpgconf").args(["--kill", "gpg-agent"]).env("GNUPGHOME", &gnupg).status();
    let _ = Command::new("gpgconf").args(["--kill", "gpg-agent"]).env("GNUPGHOME", &wrong).status();
    assert_eq!(code, 1, "{stdout}{stderr}");
    // With --format json the error is in the JSON on stdout.
    let stderr = format!("{stdout}{stderr}");
    assert!(stderr.contains("pass show jims/"), "{stderr}");
    assert!(
        stderr.to_lowercase().contains("decrypt") || stderr.contains("secret key"),
        "gpg's own message: {stderr}"
    );
}

/// A stand-in for a store's tool: `found` prints a password, `missing` answers as the real tool
/// does for a name it does not know, `broken` fails as when its backend is down.
fn stand_in(bin: &Path, name: &str, not_found: &str, not_found_code: i32) {
    let say = if not_found.is_empty() {
        String::new()
    } else {
        format!("printf '%s\\n' \"{not_found}\" >&2; ")
    };
    let script = format!(
        "#!/bin/sh\ncase \"$RECIPE_MODE\" in\n  found) echo Pw-stand-in ;;\n  \
         missing) {say}exit {not_found_code} ;;\n  \
         *) echo 'backend down: connection refused' >&2; exit 1 ;;\nesac\n"
    );
    let path = bin.join(name);
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn every_recipe_tells_not_found_from_a_failure() {
    let dir = tmp();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    stand_in(&bin, "secret-tool", "", 1);
    stand_in(
        &bin,
        "op",
        "[ERROR] 2026/12/06 \\\"x\\\" isn't an item in the \\\"JIMS\\\" vault.",
        1,
    );
    stand_in(&bin, "bw", "Not found.", 1);
    stand_in(&bin, "vault", "No value found at secret/data/jims/x", 2);
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    for name in ["secret-tool.sh", "1password.sh", "bitwarden.sh", "vault.sh"] {
        let r = recipe(name);
        let (code, stdout, stderr) = passwords(&r, &[("PATH", &path), ("RECIPE_MODE", "found")]);
        assert_eq!(code, 0, "{name}: {stdout}{stderr}");
        let (code, stdout, stderr) = passwords(&r, &[("PATH", &path), ("RECIPE_MODE", "missing")]);
        assert_eq!(code, 3, "{name}: not found is a missing row: {stdout}{stderr}");
        let (code, stdout, stderr) = passwords(&r, &[("PATH", &path), ("RECIPE_MODE", "broken")]);
        assert_eq!(code, 1, "{name}: a failure stops with its message: {stdout}{stderr}");
        assert!(stdout.contains("backend down: connection refused"), "{name}: {stdout}");
        assert!(stdout.contains("exited with status 2"), "{name}: {stdout}");
    }
}
