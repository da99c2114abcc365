//! The tidy test, run by `cargo test` (rust-analyzer's `xtask/src/tidy.rs` in spirit): house
//! rules that a reviewer would otherwise have to remember.

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for e in entries.flatten() {
            let p = e.path();
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if p.is_dir() {
                if !["target", "snapshots", "fixtures", ".git"].contains(&name) {
                    rust_files(&p, out);
                }
            } else if name.ends_with(".rs") {
                out.push(p);
            }
        }
    }

    fn sources() -> Vec<PathBuf> {
        let root = crate::root();
        let mut files = Vec::new();
        for dir in ["crates", "plugins", "xtask", "benches"] {
            rust_files(&root.join(dir), &mut files);
        }
        assert!(files.len() > 20, "tidy found too few files to be looking in the right place");
        files
    }

    #[test]
    fn every_module_starts_with_a_doc_comment() {
        let mut missing = Vec::new();
        for f in sources() {
            let text = std::fs::read_to_string(&f).unwrap();
            let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
            if !first.starts_with("//!") {
                missing.push(f.display().to_string());
            }
        }
        assert!(
            missing.is_empty(),
            "these files lack a leading `//!` doc comment:\n{}",
            missing.join("\n")
        );
    }

    #[test]
    fn no_ignored_tests_and_no_unfinished_code() {
        // Spelled in pieces so that this file does not trip itself.
        let banned =
            [concat!("#[", "ignore"), concat!("todo", "!("), concat!("unimplemented", "!(")];
        let mut found = Vec::new();
        for f in sources() {
            let text = std::fs::read_to_string(&f).unwrap();
            for (n, line) in text.lines().enumerate() {
                for b in banned {
                    if line.contains(b) {
                        found.push(format!("{}:{}: {}", f.display(), n + 1, line.trim()));
                    }
                }
            }
        }
        assert!(found.is_empty(), "banned in shipped code:\n{}", found.join("\n"));
    }

    #[test]
    fn every_crate_inherits_the_workspace_lints() {
        let root = crate::root();
        let mut missing = Vec::new();
        for dir in ["crates", "plugins"] {
            let Ok(entries) = std::fs::read_dir(root.join(dir)) else { continue };
            for e in entries.flatten() {
                let manifest = e.path().join("Cargo.toml");
                if let Ok(text) = std::fs::read_to_string(&manifest)
                    && (!text.contains("[lints]") || !text.contains("workspace = true"))
                {
                    missing.push(manifest.display().to_string());
                }
            }
        }
        assert!(
            missing.is_empty(),
            "crates without `[lints] workspace = true`:\n{}",
            missing.join("\n")
        );
    }

    /// The stand-in JIMS is for tests and demos: no crate depends on it but as a
    /// dev-dependency, and it depends on no jimsctl crate but model and format-xml; the live
    /// JIMS stage (remote) depends on no other jimsctl crate (architecture.md).
    #[test]
    fn fake_jims_and_remote_keep_to_their_dependencies() {
        let root = crate::root();
        let internal = |text: &str, section: &str| -> Vec<String> {
            let Some(start) = text.find(&format!("[{section}]")) else { return Vec::new() };
            let body = &text[start + section.len() + 2..];
            let body = &body[..body.find("\n[").unwrap_or(body.len())];
            body.lines()
                .filter_map(|l| l.split(['.', ' ', '=']).next())
                .filter(|name| {
                    !name.is_empty()
                        && (root.join("crates").join(name).is_dir()
                            || root.join("plugins").join(name).is_dir())
                })
                .map(str::to_owned)
                .collect()
        };
        let mut wrong = Vec::new();
        for dir in ["crates", "plugins"] {
            let Ok(entries) = std::fs::read_dir(root.join(dir)) else { continue };
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                let Ok(text) = std::fs::read_to_string(e.path().join("Cargo.toml")) else {
                    continue;
                };
                let deps = internal(&text, "dependencies");
                if deps.iter().any(|d| d == "fake-jims") {
                    wrong.push(format!("{name} depends on fake-jims"));
                }
                let allowed: &[&str] = match name.as_str() {
                    "fake-jims" => &["model", "format-xml"],
                    "remote" => &[],
                    _ => continue,
                };
                for d in deps.iter().filter(|d| !allowed.contains(&d.as_str())) {
                    wrong.push(format!("{name} depends on {d}"));
                }
            }
        }
        assert!(wrong.is_empty(), "dependency rules broken:\n{}", wrong.join("\n"));
    }

    /// Like `cargo insta test --unreferenced=reject`: every snapshot file must still be asserted
    /// by a test of its crate (named in a `.rs` file there), so stale snapshots fail the build.
    #[test]
    fn no_snapshot_is_unreferenced() {
        let root = crate::root();
        let mut snapshots = Vec::new();
        let mut all = Vec::new();
        for dir in ["crates", "plugins"] {
            rust_files(&root.join(dir), &mut all);
            let Ok(entries) = std::fs::read_dir(root.join(dir)) else { continue };
            for krate in entries.flatten() {
                let mut found = Vec::new();
                snap_files(&krate.path(), &mut found);
                snapshots.extend(found.into_iter().map(|s| (krate.path(), s)));
            }
        }
        assert!(snapshots.len() >= 10, "tidy found the snapshots ({})", snapshots.len());
        let mut stale = Vec::new();
        for (krate, snap) in snapshots {
            // insta names a snapshot `<binary>__<module>[__<module>…]__<name>.snap`, in
            // `snapshots/` beside the module's file: the module must still exist and still name
            // the snapshot, as `cargo insta test --unreferenced=reject` would check.
            let file = snap.file_name().unwrap().to_string_lossy().into_owned();
            let parts: Vec<&str> = file.trim_end_matches(".snap").split("__").collect();
            // Named in the assertion (`"name"`), or, unnamed, after its test function.
            let last = parts[parts.len() - 1];
            let (named, function) = (format!("\"{last}\""), format!("fn {last}("));
            let names = |t: &str| t.contains(&named) || t.contains(&function);
            let used = match parts.as_slice() {
                [_, modules @ .., _] if !modules.is_empty() => {
                    let dir = snap.parent().and_then(Path::parent).unwrap();
                    let module = dir.join(format!("{}.rs", modules.join("/")));
                    std::fs::read_to_string(&module).is_ok_and(|t| names(&t))
                }
                _ => all
                    .iter()
                    .filter(|f| f.starts_with(&krate))
                    .any(|f| std::fs::read_to_string(f).is_ok_and(|t| names(&t))),
            };
            if !used {
                stale.push(snap.display().to_string());
            }
        }
        assert!(stale.is_empty(), "snapshots no test asserts any more:\n{}", stale.join("\n"));
    }

    fn snap_files(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                if p.file_name().is_some_and(|n| n != "target") {
                    snap_files(&p, out);
                }
            } else if p.extension().is_some_and(|x| x == "snap") {
                out.push(p);
            }
        }
    }
}
