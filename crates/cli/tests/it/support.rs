//! Running the binary, fixture paths, and snapshot filters.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The workspace's `fixtures/` folder.
pub(crate) fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

/// A fixture file by its path under `fixtures/`.
pub(crate) fn fixture(rel: &str) -> PathBuf {
    fixtures().join(rel)
}

/// The result of one run.
pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    /// The result of a finished process.
    pub(crate) fn of(out: Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Parses standard output as one JSON value.
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!("stdout is not JSON ({e}):\n{}\nstderr:\n{}", self.stdout, self.stderr)
        })
    }
}

/// A `jimsctl` command with a clean environment: no colour, no inherited secrets.
pub(crate) fn cmd() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_jimsctl"));
    isolate(&mut c);
    c
}

/// Gives `c` (jimsctl, or a shell that runs it) the clean environment of [`cmd`].
pub(crate) fn isolate(c: &mut Command) {
    c.env_remove("NO_COLOR").env_remove("CLICOLOR").env_remove("CLICOLOR_FORCE");
    c.stdin(Stdio::null());
    for (k, _) in std::env::vars() {
        if k.starts_with("JIMS_SECRET_") || k.starts_with("JIMSCTL_") {
            c.env_remove(k);
        }
    }
    // Settings and state go to a folder of this test process, never the user's.
    let home = isolated_home();
    c.env("XDG_CONFIG_HOME", home.join("config")).env("XDG_STATE_HOME", home.join("state"));
}

/// A folder standing in for the user's configuration and state folders in this process.
pub(crate) fn isolated_home() -> &'static Path {
    static HOME: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    HOME.get_or_init(|| tempfile::tempdir().expect("a temporary folder")).path()
}

/// Runs `jimsctl ARGS` in `cwd`.
pub(crate) fn run_in(cwd: &Path, args: &[&str]) -> Run {
    Run::of(cmd().current_dir(cwd).args(args).output().expect("the binary runs"))
}

/// Runs `jimsctl ARGS` in the fixtures folder.
pub(crate) fn run(args: &[&str]) -> Run {
    run_in(&fixtures(), args)
}

/// A path as the `&str` an argument list takes.
pub(crate) fn s(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

/// `--secrets` for the fixture's secrets file (`file:…/exports/full.secrets.toml`).
pub(crate) fn full_secrets() -> String {
    format!("file:{}", fixture("exports/full.secrets.toml").display())
}

/// Runs `jimsctl import EXPORT --target TARGET EXTRA…` in the fixtures folder.
pub(crate) fn import_into(export: &str, target: &Path, extra: &[&str]) -> Run {
    run(&[&["import", export, "--target", s(target)], extra].concat())
}

/// The arguments of `jimsctl remote set --target TARGET --url URL --user USER REST…` (`REST`:
/// the trust, `--pin-sha256 HEX` or `--ca-file FILE`, and any other flag).
pub(crate) fn remote_set_args<'a>(
    target: &'a str,
    url: &'a str,
    user: &'a str,
    rest: &[&'a str],
) -> Vec<&'a str> {
    [&["remote", "set", "--target", target, "--url", url, "--user", user], rest].concat()
}

/// Runs `jimsctl remote set …` (see [`remote_set_args`]) in the fixtures folder.
pub(crate) fn remote_set(target: &str, url: &str, user: &str, rest: &[&str]) -> Run {
    run(&remote_set_args(target, url, user, rest))
}

/// A temporary folder for targets and outputs.
pub(crate) fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("a temporary folder")
}

/// The native files of version `n` of the managed folder `target` as history keeps them (its
/// folder `.jims-import/history/N/cwd/`, or the members of `history/N.tar` under `cwd/` in a
/// folder of layout 2), by path relative to `cwd/`, sorted: comparable with [`tree`] of the
/// live `cwd/`.
pub(crate) fn archived_cwd(target: &Path, n: u64) -> Vec<(String, Vec<u8>)> {
    use std::io::Read;
    let folder = target.join(format!(".jims-import/history/{n}"));
    if folder.is_dir() {
        return tree(&folder.join("cwd"));
    }
    let path = target.join(format!(".jims-import/history/{n}.tar"));
    let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = Vec::new();
    for entry in tar::Archive::new(file).entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().to_str().unwrap().to_owned();
        if let Some(rel) = name.strip_prefix("cwd/") {
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).unwrap();
            out.push((rel.to_owned(), bytes));
        }
    }
    out.sort();
    out
}

/// Every file under `dir` with its bytes, sorted by path (the folder's exact state).
pub(crate) fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    fn walk(base: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                let rel = p.strip_prefix(base).unwrap().display().to_string();
                out.push((rel, std::fs::read(&p).unwrap_or_default()));
            }
        }
    }
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Snapshot filters: temporary paths, key ids, times and sealed values.
pub(crate) fn filters() -> Vec<(&'static str, &'static str)> {
    vec![
        (r"/tmp/\.tmp[A-Za-z0-9]+", "[TMP]"),
        (r"\b[0-9a-f]{16}\b", "[KEY-ID]"),
        (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "[TIME]"),
        (r"\{aesgcm\} 1,[^\x22<\s]+", "[SEALED]"),
    ]
}

/// The fixture's passwords: those of its secrets file, and the plaintext ones the full export
/// itself carries (`password="…"` or `fswSpi1="…"` values that are not `{scheme}` blobs). None
/// may ever be printed.
pub(crate) fn fixture_passwords() -> Vec<String> {
    let text = std::fs::read_to_string(fixture("exports/full.secrets.toml")).unwrap();
    let mut passwords: Vec<String> = text
        .lines()
        .filter_map(|l| l.split_once(" = \"").map(|(_, v)| v.trim_end_matches('"').to_owned()))
        .collect();
    let export = std::fs::read_to_string(fixture("exports/full.xml")).unwrap();
    for marker in [" password=\"", " fswSpi1=\""] {
        for (_, rest) in export.match_indices(marker).map(|(i, m)| ("", &export[i + m.len()..])) {
            let value = &rest[..rest.find('"').unwrap()];
            if !value.is_empty() && !value.starts_with('{') {
                passwords.push(value.to_owned());
            }
        }
    }
    assert!(passwords.iter().any(|p| p.starts_with("Plain-")), "the export's plaintext ones too");
    passwords
}

/// Asserts that no fixture password appears in `text`.
pub(crate) fn assert_no_secret(text: &str) {
    for pw in fixture_passwords() {
        assert!(!text.contains(&pw), "a password was printed:\n{text}");
    }
}

/// An older state of the fixture's server: `full.xml` with the user directories' and one
/// template's descriptions as they were before, written as `dir/old/full.xml` beside copies of
/// its secrets files. Importing it and then `partial.*` changes something, so that the second
/// import makes a version (an import that changes nothing makes none).
pub(crate) fn old_full(dir: &Path) -> PathBuf {
    let old = dir.join("old");
    std::fs::create_dir_all(&old).unwrap();
    let text = std::fs::read_to_string(fixture("exports/full.xml"))
        .unwrap()
        .replace("description=\"Forest ", "description=\"Old forest ")
        .replace("description=\"Directory readers\"", "description=\"Old directory readers\"");
    assert!(text.contains("Old forest") && text.contains("Old directory readers"));
    for name in ["full.secrets.toml", "full.secrets.json"] {
        std::fs::copy(fixture(&format!("exports/{name}")), old.join(name)).unwrap();
    }
    let path = old.join("full.xml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Makes a FIFO at `path` (mode 0644).
pub(crate) fn mkfifo(path: &Path) {
    use rustix::fs::{CWD, FileType, Mode, mknodat};
    mknodat(CWD, path, FileType::Fifo, Mode::from_raw_mode(0o644), 0).expect("mkfifo");
}

/// Asserts that the labelled `lines` (`Label: value`) of a block have their values in one
/// column, one space after the longest label.
pub(crate) fn assert_aligned(lines: &[&str]) {
    let label_end = |l: &str| l.find(": ").unwrap_or_else(|| panic!("a label: {l:?}")) + 1;
    let widest = lines.iter().map(|l| label_end(l)).max().expect("lines") + 1;
    for l in lines {
        let rest = &l[label_end(l)..];
        let value = l.len() - rest.trim_start().len();
        assert_eq!(value, widest, "not aligned: {l:?} in\n{}", lines.join("\n"));
    }
}
