//! The targets of a batch: as the filesystem resolves them (links and `..`), refused when one
//! nests in another ([`check_targets`]), and split into waves so that two imports into one
//! target never run at once and run in list order.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

use super::Entry;
use crate::error::{Error, ErrorKind};

/// `path` as the filesystem resolves it: absolute, its longest existing ancestor with every
/// link resolved (`canonicalize`), the rest made lexically normal.
fn resolved(path: &Path) -> PathBuf {
    let abs = identity(path);
    let mut existing = abs.as_path();
    let mut rest = Vec::new();
    loop {
        if let Ok(real) = std::fs::canonicalize(existing) {
            let mut out = real;
            for part in rest.iter().rev() {
                out.push(part);
            }
            return identity(&out);
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_owned());
                existing = parent;
            }
            _ => return abs,
        }
    }
}

/// Refuses a list whose targets nest: one inside another (the same one twice is fine).
///
/// # Errors
/// [`ErrorKind::Usage`] (exit 2) naming each pair, as listed.
pub fn check_targets(entries: &[Entry]) -> Result<(), Error> {
    let mut all: Vec<(PathBuf, &Path)> =
        entries.iter().map(|e| (resolved(&e.target), e.target.as_path())).collect();
    all.sort();
    all.dedup_by(|a, b| a.0 == b.0);
    // In component order a folder's descendants follow it at once: if any target holds
    // another, some target holds the next one.
    let nested: Vec<String> = all
        .windows(2)
        .filter(|w| w[1].0.starts_with(&w[0].0))
        .map(|w| format!("{} is inside {}", w[1].1.display(), w[0].1.display()))
        .collect();
    if nested.is_empty() {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::Usage,
        format!(
            "the batch's targets nest: {}; an import into one would damage the other: give \
             each import a folder of its own; nothing was imported",
            nested.join("; ")
        ),
    ))
}

/// A path made absolute and lexically normal, to tell when two entries share a target.
fn identity(path: &Path) -> PathBuf {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut out = PathBuf::new();
    for c in abs.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// Splits the entries into waves: the k-th entry into a target goes into wave k, so that no
/// two imports into one target run at once and they run in list order.
pub(super) fn waves(entries: &[Entry]) -> Vec<Vec<usize>> {
    let mut seen: HashMap<PathBuf, usize> = HashMap::new();
    let mut waves: Vec<Vec<usize>> = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let n = seen.entry(resolved(&e.target)).or_insert(0);
        if waves.len() <= *n {
            waves.push(Vec::new());
        }
        waves[*n].push(i);
        *n += 1;
    }
    waves
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::entry;

    #[test]
    fn entries_into_one_target_go_into_successive_waves() {
        let e = [
            entry("a", "t1"),
            entry("b", "t2"),
            entry("c", "./t1"),
            entry("d", "x/../t1"),
            entry("e", "t3"),
        ];
        assert_eq!(waves(&e), vec![vec![0, 1, 4], vec![2], vec![3]]);
    }

    #[test]
    fn nested_targets_are_refused_naming_both() {
        let d = tempfile::tempdir().unwrap();
        let t = |rel: &str| d.path().join(rel).to_str().unwrap().to_owned();
        std::fs::create_dir_all(d.path().join("real/a")).unwrap();
        std::os::unix::fs::symlink(d.path().join("real"), d.path().join("link")).unwrap();
        let fine = [entry("x", &t("t/a")), entry("y", &t("t/ab")), entry("z", &t("t/./a"))];
        assert!(check_targets(&fine).is_ok());
        for (outer, inner) in [
            ("t/a", "t/a/cwd"),
            ("t/a/b/..", "t/a/.jims-import/x"),
            ("real", "link/a/new"),
            ("link/a", "real/a/cwd/config"),
        ] {
            let entries = [entry("x", &t("other")), entry("y", &t(outer)), entry("z", &t(inner))];
            let e = check_targets(&entries).unwrap_err();
            assert_eq!(e.kind(), &ErrorKind::Usage);
            let shown = e.to_string();
            assert!(shown.contains(&t(outer)) && shown.contains(&t(inner)), "{shown}");
            assert!(shown.contains("nothing was imported"), "{shown}");
        }
    }
}
