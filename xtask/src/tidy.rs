//! The tidy test, run by `cargo test` (rust-analyzer's `xtask/src/tidy.rs` in spirit): house
//! rules that a reviewer would otherwise have to remember.

#[cfg(test)]
pub(crate) mod tests {
    use std::path::{Path, PathBuf};

    /// Every `.rs` file below `dir`, but in `target/`, `snapshots/`, `fixtures/` and `.git/`.
    pub(crate) fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
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

    /// Every file git tracks (the text ones), or, outside a git checkout, every file of the
    /// tree but `target/` and `.git/`.
    fn tracked_text_files() -> Vec<(PathBuf, String)> {
        let root = crate::root();
        let listed = std::process::Command::new("git")
            .args(["ls-files", "-z"])
            .current_dir(&root)
            .output()
            .ok()
            .filter(|o| o.status.success() && !o.stdout.is_empty());
        let paths: Vec<PathBuf> = match listed {
            Some(o) => o
                .stdout
                .split(|&b| b == 0)
                .filter(|p| !p.is_empty())
                .map(|p| root.join(String::from_utf8_lossy(p).as_ref()))
                .collect(),
            None => {
                let mut all = Vec::new();
                all_files(&root, &mut all);
                all
            }
        };
        assert!(paths.len() > 50, "tidy found too few files ({})", paths.len());
        paths
            .into_iter()
            .filter_map(|p| std::fs::read_to_string(&p).ok().map(|text| (p, text)))
            .collect()
    }

    fn all_files(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                if !p.file_name().is_some_and(|n| n == "target" || n == ".git") {
                    all_files(&p, out);
                }
            } else {
                out.push(p);
            }
        }
    }

    /// The product's reference lives in `docs/`: no file may send a reader to a folder outside
    /// the repository (the design notes the project started from), which a clone does not
    /// have, nor name one of those notes' files as if it were here.
    #[test]
    fn no_file_points_outside_the_repository_for_the_reference() {
        // Spelled in pieces so that this file does not trip itself.
        let outside = concat!("shared", "/design");
        let notes = [
            concat!("jims-configuration", ".md"),
            concat!("export-formats", ".md"),
            concat!("conventions", ".md"),
            concat!("live-jims", ".md"),
        ];
        let mut found = Vec::new();
        for (path, text) in tracked_text_files() {
            let in_docs = path.starts_with(crate::root().join("docs"));
            for (n, line) in text.lines().enumerate() {
                let lower = line.to_ascii_lowercase();
                let mut bad: Vec<&str> = Vec::new();
                if lower.contains(outside) || lower.contains(concat!("..", "/", "shared", "/")) {
                    bad.push(outside);
                }
                // The notes' names, unless a page of that name exists in docs/.
                for note in notes {
                    if lower.contains(note) && !crate::root().join("docs").join(note).exists() {
                        bad.push(note);
                    }
                }
                // The command-line page and the notes' architecture page (lower case; the
                // upper-case one at the root is ours) named without `docs/` before them,
                // outside docs/, where they are siblings.
                for name in [concat!("cli", ".md"), concat!("architecture", ".md")] {
                    let bare = line.match_indices(name).any(|(i, _)| {
                        let before = &line[..i];
                        !before.ends_with("docs/")
                            && !before.ends_with(|c: char| c.is_alphanumeric() || c == '-')
                    });
                    if bare && !in_docs {
                        bad.push(name);
                    }
                }
                if !bad.is_empty() {
                    found.push(format!(
                        "{}:{}: {} ({})",
                        path.strip_prefix(crate::root()).unwrap_or(&path).display(),
                        n + 1,
                        line.trim(),
                        bad.join(", ")
                    ));
                }
            }
        }
        assert!(
            found.is_empty(),
            "these lines point to design notes that are not in the repository; point them to \
             docs/ (docs/cli.md, docs/configuration.md, docs/formats.md):\n{}",
            found.join("\n")
        );
    }

    /// The fenced code blocks of `lang` in `text`, in order.
    fn code_blocks<'t>(text: &'t str, lang: &str) -> Vec<&'t str> {
        let open = format!("```{lang}\n");
        let mut blocks = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find(&open) {
            let body = &rest[start + open.len()..];
            let end = body.find("```").unwrap_or(body.len());
            blocks.push(&body[..end]);
            rest = &body[end..];
        }
        blocks
    }

    /// docs/formats.md shows one bundle in XML and in JSON: both must read, to the same export,
    /// and the XML must be exactly what the writer writes, so the page cannot drift from the
    /// code.
    #[test]
    fn the_bundle_examples_of_the_formats_page_are_what_the_code_reads_and_writes() {
        let page = std::fs::read_to_string(crate::root().join("docs/formats.md")).unwrap();
        let xml = code_blocks(&page, "xml");
        let json = code_blocks(&page, "json");
        let bundle_xml = xml.first().expect("an XML bundle example");
        let bundle_json =
            json.iter().find(|b| b.contains("\"jims_export\"")).expect("a JSON bundle example");
        let from_xml = format_xml::read_bundle(bundle_xml.as_bytes())
            .unwrap_or_else(|e| panic!("the XML example does not read: {e}"));
        let from_json = format_json::read_bundle(bundle_json.as_bytes())
            .unwrap_or_else(|e| panic!("the JSON example does not read: {e}"));
        assert_eq!(from_xml, from_json, "the XML and JSON examples differ");
        assert_eq!(
            String::from_utf8(format_xml::write_bundle(&from_xml).unwrap()).unwrap(),
            *bundle_xml,
            "the XML example is not what the writer writes"
        );
    }

    /// docs/configuration.md's sections table lists every section, in the code's order, with
    /// the native files, root and item element names the model gives it.
    #[test]
    fn the_sections_table_of_the_configuration_page_is_the_models() {
        let page = std::fs::read_to_string(crate::root().join("docs/configuration.md")).unwrap();
        let rows: Vec<Vec<&str>> = page
            .lines()
            .skip_while(|l| !l.starts_with("| id | native file"))
            .skip(2)
            .take_while(|l| l.starts_with('|'))
            .map(|l| l.trim_matches('|').split('|').map(str::trim).collect())
            .collect();
        let ids: Vec<&str> = rows.iter().map(|r| r[0].trim_matches('`')).collect();
        let expected: Vec<&str> = model::SectionId::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(ids, expected, "the table's sections, in order");
        for (row, id) in rows.iter().zip(model::SectionId::ALL) {
            let files: Vec<String> = id.native_files().iter().map(|f| format!("`{f}`")).collect();
            assert_eq!(row[1], files.join(", "), "native files of {id}");
            assert!(row[2].starts_with(&format!("`{}`", id.root_name())), "root of {id}");
            assert_eq!(row[3], format!("`{}`", id.item_name()), "item of {id}");
        }
    }

    /// Every `KEY` → `JIMS_SECRET_…` example of the docs and the README is the name the `env`
    /// source reads.
    #[test]
    fn the_env_examples_are_the_names_the_env_source_reads() {
        let mut checked = 0;
        for page in ["docs/cli.md", "README.md"] {
            let text = std::fs::read_to_string(crate::root().join(page)).unwrap();
            for (i, _) in text.match_indices("` → `JIMS_SECRET_") {
                let key = text[..i].rsplit('`').next().unwrap();
                let rest = &text[i + "` → `".len()..];
                let name = &rest[..rest.find('`').unwrap()];
                let key = model::SecretKey::from_text(key);
                assert_eq!(secrets::EnvSource::variable_name(&key), name, "{page}: {key}");
                checked += 1;
            }
        }
        assert!(checked >= 3, "found only {checked} examples");
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
