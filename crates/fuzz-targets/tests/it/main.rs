//! Replays every saved fuzz input through the function its fuzz target calls: the seed corpus
//! (`fuzz/corpus/<target>/`) and every input that once crashed a target
//! (`fuzz/regressions/<target>/`). A panic here is a fuzzing finding come back.

use std::path::{Path, PathBuf};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

/// The files of `dir`, sorted; none when it does not exist.
fn inputs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut files: Vec<PathBuf> =
        entries.flatten().map(|e| e.path()).filter(|p| p.is_file()).collect();
    files.sort();
    files
}

/// Runs `target` on every input of `dir`, naming the input that fails.
fn replay(name: &str, target: fn(&[u8]), dir: &Path) -> usize {
    let files = inputs(dir);
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        if std::panic::catch_unwind(|| target(&bytes)).is_err() {
            panic!("fuzz target {name} fails on {}", file.display());
        }
    }
    files.len()
}

#[test]
fn every_target_has_a_seed_corpus_and_passes_it() {
    for (name, target) in fuzz_targets::TARGETS {
        let n = replay(name, *target, &fuzz_dir().join("corpus").join(name));
        assert!(n >= 3, "fuzz/corpus/{name}/ holds {n} inputs; seed it (cargo xtask fuzz)");
    }
}

#[test]
fn every_saved_crash_stays_fixed() {
    let mut total = 0;
    for (name, target) in fuzz_targets::TARGETS {
        total += replay(name, *target, &fuzz_dir().join("regressions").join(name));
    }
    let dir = fuzz_dir().join("regressions");
    let known: Vec<&str> = fuzz_targets::TARGETS.iter().map(|(n, _)| *n).collect();
    for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        assert!(
            known.contains(&name.as_str()) || name == "README.md",
            "fuzz/regressions/{name} is not a fuzz target's folder"
        );
    }
    eprintln!("{total} regression inputs replayed");
}

#[test]
fn the_corpora_stay_small() {
    let mut total = 0u64;
    for sub in ["corpus", "regressions"] {
        for (name, _) in fuzz_targets::TARGETS {
            for file in inputs(&fuzz_dir().join(sub).join(name)) {
                total += std::fs::metadata(file).unwrap().len();
            }
        }
    }
    assert!(total < 1024 * 1024, "the saved fuzz inputs take {total} bytes; minimise them");
}

#[test]
fn every_target_is_built_run_and_listed_in_each_place() {
    let mut names: Vec<&str> = fuzz_targets::TARGETS.iter().map(|(n, _)| *n).collect();
    names.sort_unstable();
    // `fuzz/Cargo.toml`: one `[[bin]]` per target, at `fuzz_targets/<name>.rs`.
    let manifest = std::fs::read_to_string(fuzz_dir().join("Cargo.toml")).unwrap();
    let mut bins: Vec<&str> = manifest
        .lines()
        .filter_map(|l| l.strip_prefix("name = \"")?.strip_suffix('"'))
        .filter(|n| *n != "jimsctl-fuzz")
        .collect();
    bins.sort_unstable();
    assert_eq!(bins, names, "fuzz/Cargo.toml's [[bin]]s");
    for name in &names {
        let path = format!("path = \"fuzz_targets/{name}.rs\"");
        assert!(manifest.contains(&path), "fuzz/Cargo.toml: {path}");
        let body = std::fs::read_to_string(fuzz_dir().join(format!("fuzz_targets/{name}.rs")))
            .unwrap_or_else(|e| panic!("fuzz/fuzz_targets/{name}.rs: {e}"));
        assert!(body.contains(&format!("fuzz_targets::{name}(data)")), "{name}.rs calls {name}");
    }
    let mut files: Vec<String> = inputs(&fuzz_dir().join("fuzz_targets"))
        .iter()
        .filter_map(|p| Some(p.file_stem()?.to_string_lossy().into_owned()))
        .collect();
    files.sort_unstable();
    assert_eq!(files, names, "fuzz/fuzz_targets/");
    // `cargo xtask fuzz` runs them all.
    let xtask = std::fs::read_to_string(fuzz_dir().join("../xtask/src/fuzz.rs")).unwrap();
    let list = xtask.split("pub(crate) const TARGETS").nth(1).unwrap();
    let list = &list[list.find('[').unwrap()..];
    let list = &list[list[1..].find('[').unwrap() + 1..list.find("];").unwrap()];
    let mut listed: Vec<&str> = list.split('"').skip(1).step_by(2).collect();
    listed.sort_unstable();
    assert_eq!(listed, names, "xtask/src/fuzz.rs's TARGETS");
}
