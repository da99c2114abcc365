//! The architecture's rules (ARCHITECTURE.md, "Dependency rules"), checked by `cargo test`
//! against the code: which crate may depend on which, read from the `Cargo.toml` files; who
//! may print; who may write files. A change that breaks one fails here, naming the line.

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    use crate::tidy::tests::rust_files;

    /// The library crates in layers, lowest first: a crate's `[dependencies]` name crates of
    /// lower layers only, so no dependency runs upward (nor sideways within a layer).
    const LAYERS: &[&[&str]] = &[
        &["model", "plugin-api", "remote"],
        &["format-xml", "format-json", "crypto", "select"],
        &["secrets"],
        &["registry", "store"],
        &["pipeline"],
        &["cli"],
    ];

    /// Narrower than the layers: these crates depend on exactly these jimsctl crates at most.
    const ONLY: &[(&str, &[&str], &str)] = &[
        ("cli", &["pipeline"], "the pipeline is the command line's only door"),
        ("remote", &[], "the live JIMS stage sends bytes it is given and knows no other crate"),
        ("fake-jims", &["model", "format-xml"], "the stand-in JIMS reads what a JIMS reads"),
        ("samples", &["model"], "the sample generator builds models and writes no file"),
        ("powercut-fs", &[], "the test filesystem knows nothing of jimsctl"),
        ("example-plugin", &["plugin-api"], "a plugin sees the C ABI only"),
        ("keepass-plugin", &["plugin-api"], "a plugin sees the C ABI only"),
        ("test-plugins", &["plugin-api"], "a plugin sees the C ABI only"),
    ];

    /// For tests, benches and tools only: no crate has them in `[dependencies]` but `TOOLS`.
    const TEST_ONLY: &[&str] = &["fake-jims", "powercut-fs", "samples"];

    /// Tools: they may depend on any crate but the cli (whose binary the tests run).
    const TOOLS: &[&str] = &["xtask", "benches", "fuzz-targets"];

    /// Every workspace member's package name and manifest.
    fn manifests() -> Vec<(String, PathBuf, String)> {
        let root = crate::root();
        let mut out = Vec::new();
        let mut dirs = vec![root.join("xtask"), root.join("benches")];
        for group in ["crates", "plugins"] {
            let Ok(entries) = std::fs::read_dir(root.join(group)) else { continue };
            dirs.extend(entries.flatten().map(|e| e.path()).filter(|p| p.is_dir()));
        }
        for dir in dirs {
            let path = dir.join("Cargo.toml");
            let Ok(text) = std::fs::read_to_string(&path) else { continue };
            let name = table(&text, "package")
                .lines()
                .find_map(|l| {
                    l.trim().strip_prefix("name = \"")?.strip_suffix('"').map(str::to_owned)
                })
                .expect("a package name");
            out.push((name, path, text));
        }
        assert!(out.len() >= 20, "found the workspace's crates ({})", out.len());
        out
    }

    /// The body of `[name]` in a manifest (empty when absent).
    fn table<'t>(text: &'t str, name: &str) -> &'t str {
        let head = format!("[{name}]\n");
        let Some(start) = text.find(&head).filter(|&i| i == 0 || text[..i].ends_with('\n')) else {
            return "";
        };
        let body = &text[start + head.len()..];
        &body[..body.find("\n[").map_or(body.len(), |i| i + 1)]
    }

    /// The jimsctl crates a manifest's `[section]` names: those the workspace declares with a
    /// `path`, or that it names with a `path` itself (an external crate of the same name as a
    /// folder, `keepass`, is not one).
    fn internal(text: &str, section: &str, workspace: &[String]) -> Vec<String> {
        table(text, section)
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .filter_map(|l| {
                let name = l.split(['.', ' ', '=']).next()?;
                let ours = l.contains("path =")
                    || (l.contains("workspace = true") && workspace.iter().any(|w| w == name));
                ours.then(|| name.to_owned())
            })
            .collect()
    }

    /// The crates the root manifest declares with a `path`.
    fn workspace_crates() -> Vec<String> {
        let text = std::fs::read_to_string(crate::root().join("Cargo.toml")).unwrap();
        table(&text, "workspace.dependencies")
            .lines()
            .filter(|l| l.contains("path ="))
            .filter_map(|l| l.split([' ', '=']).next().map(str::to_owned))
            .collect()
    }

    fn layer(name: &str) -> Option<usize> {
        LAYERS.iter().position(|l| l.contains(&name))
    }

    #[test]
    fn the_dependency_rules_hold() {
        let workspace = workspace_crates();
        assert!(workspace.iter().any(|w| w == "pipeline"), "read the workspace: {workspace:?}");
        let mut wrong = Vec::new();
        for (name, path, text) in manifests() {
            let known = layer(&name).is_some()
                || ONLY.iter().any(|(n, ..)| *n == name)
                || TOOLS.contains(&name.as_str());
            if !known {
                wrong.push(format!(
                    "{name} ({}) has no place in the rules: add it to LAYERS, ONLY or TOOLS in \
                     xtask/src/rules.rs and to ARCHITECTURE.md's dependency rules",
                    path.display()
                ));
            }
            for dep in internal(&text, "dependencies", &workspace) {
                let why = if let Some((_, allowed, reason)) = ONLY.iter().find(|(n, ..)| *n == name)
                {
                    (!allowed.contains(&dep.as_str())).then(|| (*reason).to_owned())
                } else if TOOLS.contains(&name.as_str()) {
                    (dep == "cli").then(|| "no crate depends on the command line".to_owned())
                } else if TEST_ONLY.contains(&dep.as_str()) {
                    Some(format!("{dep} is for tests and tools only: a dev-dependency"))
                } else {
                    match (layer(&name), layer(&dep)) {
                        (Some(a), Some(b)) if b >= a => Some(format!(
                            "{dep} is not below {name}: dependencies run down the layers"
                        )),
                        (_, None) => Some(format!("{dep} is no library a crate may build on")),
                        _ => None,
                    }
                };
                if let Some(why) = why {
                    wrong.push(format!("{name} depends on {dep}: {why}"));
                }
            }
            // Nothing, not even a test, depends on the command line's crate: tests run its
            // binary.
            if internal(&text, "dev-dependencies", &workspace).iter().any(|d| d == "cli") {
                wrong.push(format!("{name} has cli as a dev-dependency: tests run the binary"));
            }
        }
        assert!(wrong.is_empty(), "dependency rules broken:\n{}", wrong.join("\n"));
    }

    /// The shipped code of the crates and plugins: each file with its lines up to its first
    /// `#[cfg(test)]` (unit tests come last), comments left out; integration tests, benches and
    /// examples are not shipped.
    fn shipped_lines() -> BTreeMap<String, Vec<(usize, String)>> {
        let root = crate::root();
        let mut files = Vec::new();
        for dir in ["crates", "plugins"] {
            rust_files(&root.join(dir), &mut files);
        }
        let mut out = BTreeMap::new();
        for f in files {
            let rel = f.strip_prefix(&root).unwrap().to_string_lossy().replace('\\', "/");
            if ["/tests/", "/benches/", "/examples/"].iter().any(|d| rel.contains(d)) {
                continue;
            }
            let text = std::fs::read_to_string(&f).unwrap();
            let lines = text
                .lines()
                .enumerate()
                .take_while(|(_, l)| {
                    let l = l.trim();
                    !(l.starts_with("#[cfg(test)]") || l.starts_with("#[cfg(all(test"))
                })
                .filter(|(_, l)| !l.trim_start().starts_with("//"))
                .map(|(n, l)| (n + 1, l.to_owned()))
                .collect();
            out.insert(rel, lines);
        }
        assert!(out.len() > 50, "found the shipped code ({} files)", out.len());
        out
    }

    /// The lines of shipped code that match any of `patterns` and are not allowed: not under
    /// an `allowed` prefix, nor an exception (a file prefix and a text its line holds).
    fn offences(
        patterns: &[&str],
        allowed: &[&str],
        exceptions: &[(&str, &str, &str)],
    ) -> Vec<String> {
        let mut found = Vec::new();
        for (file, lines) in shipped_lines() {
            if allowed.iter().any(|a| file.starts_with(a)) {
                continue;
            }
            for (n, line) in lines {
                if !patterns.iter().any(|p| line.contains(p)) {
                    continue;
                }
                let excepted = exceptions
                    .iter()
                    .any(|(prefix, holds, _)| file.starts_with(prefix) && line.contains(holds));
                if !excepted {
                    found.push(format!("{file}:{n}: {}", line.trim()));
                }
            }
        }
        found
    }

    /// Whether a line of code prints: a print macro, or a standard stream taken to be written
    /// (locked, or written to), std's or anstream's. Asking a stream whether it is a terminal
    /// prints nothing.
    fn prints(line: &str) -> bool {
        // Spelled in pieces so that this file does not trip itself.
        let macros = [
            concat!("print", "!("),
            concat!("println", "!("),
            concat!("eprint", "!("),
            concat!("eprintln", "!("),
        ];
        let streams = [concat!("::std", "out()"), concat!("::std", "err()")];
        let writes = [".lock()", "write!(", "writeln!(", ".write_all(", ".write("];
        macros.iter().any(|m| line.contains(m))
            || (streams.iter().any(|s| line.contains(s)) && writes.iter().any(|w| line.contains(w)))
    }

    /// Only the command line prints, and within it only `stdio.rs` (where every byte is made
    /// safe for a terminal): everything else returns data.
    #[test]
    fn only_the_cli_prints() {
        let exceptions: &[(&str, &str, &str)] = &[
            // (file, a text its line holds, why)
            (
                "crates/fake-jims/",
                "",
                "the stand-in JIMS for tests and demos: its binary prints its address, its \
                 server logs each request",
            ),
            (
                "crates/store/src/fsops.rs",
                "fault-injection",
                "the fault-injection hook (test builds only) says where it stopped a command",
            ),
        ];
        let mut found = Vec::new();
        for (file, lines) in shipped_lines() {
            if file.ends_with("crates/cli/src/stdio.rs") {
                continue;
            }
            for (n, line) in lines {
                let excepted = exceptions
                    .iter()
                    .any(|(prefix, holds, _)| file.starts_with(prefix) && line.contains(holds));
                // The cli's own printing macros (`out!`, `outln!`, `errln!`) call stdio.rs.
                if prints(&line) && !excepted && !line.contains("$crate::stdio") {
                    found.push(format!("{file}:{n}: {}", line.trim()));
                }
            }
        }
        assert!(found.is_empty(), "printing outside the cli's stdio.rs:\n{}", found.join("\n"));
    }

    /// The check knows printing when it sees it, and a question to a stream when it sees one.
    #[test]
    fn printing_is_told_from_asking() {
        assert!(prints(concat!("    eprint", "ln!(\"x\");")));
        assert!(prints(concat!("let mut out = anstream::std", "out().lock();")));
        assert!(prints(concat!("writeln!(std::io::std", "err(), \"x\")")));
        assert!(!prints(concat!("if std::io::std", "err().is_terminal() {")));
        assert!(!prints(concat!("color_for(&std::io::std", "out())")));
    }

    /// Only the store writes files (its `fsops`, `output` and the target): every other crate
    /// asks it to.
    #[test]
    fn only_the_store_writes_files() {
        let writes = [
            "File::create",
            "fs::write(",
            ".write(true)",
            ".append(true)",
            ".create(true)",
            ".create_new(true)",
            "fs::rename",
            "fs::remove_file",
            "fs::remove_dir",
            "fs::create_dir",
            "fs::copy",
            "fs::hard_link",
            "fs::symlink(",
            "fs::set_permissions",
            "libc::rename",
            "libc::unlink",
            "libc::mkdir",
            "libc::linkat",
        ];
        let exceptions: &[(&str, &str, &str)] = &[
            // (file, a text its line holds, why)
            (
                "crates/fake-jims/",
                "",
                "the stand-in JIMS for tests and demos keeps what it is sent in a folder of its own",
            ),
            (
                "crates/powercut-fs/",
                "",
                "the power-loss tests' filesystem writes its durable state out for a test to read",
            ),
            (
                "crates/fuzz-targets/",
                "",
                "the txn_journal fuzz target makes, copies and edits a managed folder of its own in \
                 a temporary folder, as a test does, to feed the store's recovery",
            ),
            (
                "plugins/keepass/src/lib.rs",
                "/dev/tty",
                "asks the database's password on the terminal, writes no file",
            ),
        ];
        let found = offences(&writes, &["crates/store/"], exceptions);
        assert!(found.is_empty(), "files written outside the store:\n{}", found.join("\n"));
    }
}
