//! The README's Quickstart, run as a new user runs it on a fresh clone: every command of its
//! `sh` blocks, in order, in a copy of the shipped fixtures whose files have the mode git
//! checks them out with (0644), `cargo run --` being the binary under test. Each must do what
//! the README says and print no warning.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use crate::support::{fixtures, isolate, tmp};

/// The command lines of the `sh` blocks of the README's "Quickstart" section, comments cut.
fn quickstart_commands() -> Vec<String> {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"))
            .expect("the README");
    let start = readme.find("\n## Quickstart\n").expect("a Quickstart section");
    let section = &readme[start + 1..];
    let section = &section[..section[3..].find("\n## ").map_or(section.len(), |e| e + 3)];
    let mut commands = Vec::new();
    let mut in_sh = false;
    for line in section.lines() {
        match line.trim_end() {
            "```sh" => in_sh = true,
            "```" => in_sh = false,
            l if in_sh => {
                let l = l.split(" #").next().unwrap().trim();
                if !l.is_empty() {
                    commands.push(l.to_owned());
                }
            }
            _ => {}
        }
    }
    commands
}

/// Copies `from` into `to`, folders 0755 and files 0644, as a fresh clone has them.
fn copy_as_checked_out(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o755)).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_as_checked_out(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), &dest).unwrap();
            std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
    }
}

#[test]
fn the_readme_quickstart_runs_clean_on_a_fresh_clone() {
    let commands = quickstart_commands();
    let imports: Vec<_> = commands.iter().filter(|c| c.contains(" import ")).collect();
    assert!(
        imports.len() == 1 && imports[0].contains("--secrets file:"),
        "the Quickstart imports once, with a secrets file: {commands:#?}"
    );
    let clone = tmp();
    copy_as_checked_out(&fixtures().join("exports"), &clone.path().join("fixtures/exports"));
    let bin = format!("'{}'", env!("CARGO_BIN_EXE_jimsctl"));
    for line in &commands {
        let shell_line = match line.strip_prefix("cargo run -- ") {
            Some(rest) => format!("{bin} {rest}"),
            None => line.clone(),
        };
        let mut c = Command::new("sh");
        isolate(&mut c);
        let out = c.args(["-c", &shell_line]).current_dir(clone.path()).output().unwrap();
        let (stdout, stderr) =
            (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        // `passwords` without the secrets file: the passwords the import needs are missing (3).
        let expected = if line.contains(" passwords ") { 3 } else { 0 };
        assert_eq!(out.status.code(), Some(expected), "`{line}`:\n{stdout}\n{stderr}");
        assert!(
            !stderr.to_lowercase().contains("warning"),
            "`{line}` warns on a fresh clone:\n{stderr}"
        );
        if line.contains(" import ") {
            assert!(stdout.starts_with("Imported "), "`{line}`:\n{stdout}\n{stderr}");
            assert!(stdout.contains(" fixed (file: "), "the secrets file answered:\n{stdout}");
        }
    }
    assert!(clone.path().join("demo-server/.jims-import").is_dir(), "the import made demo-server");
    // The shipped fixture is left as git checked it out.
    let mode = std::fs::metadata(clone.path().join("fixtures/exports/full.secrets.toml"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o644);
}
