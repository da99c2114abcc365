//! Which plugin folders and library files are trusted: loading a library runs its code, so it
//! is loaded only from a folder given as an absolute path, that nobody but its owner can
//! write, and whose owner is the user running jimsctl or root; the library file itself must
//! pass the same owner and permission checks.

use std::path::Path;

/// Why the plugin folder `dir` is not trusted, as a sentence without the folder's path; `None`
/// when it is trusted, or when it does not exist (a missing folder holds no library).
pub(crate) fn folder_problem(dir: &Path) -> Option<String> {
    if dir.is_relative() {
        return Some(format!(
            "not searched: `{}` is a relative path, which would be looked up from whatever \
             folder jimsctl runs in; give plugin folders as absolute paths",
            dir.display()
        ));
    }
    let meta = std::fs::metadata(dir).ok()?;
    owner_problem(&meta, "folder").map(|why| format!("not searched: the folder {why}"))
}

/// Why the library file `file`, found in the trusted folder `dir`, is not trusted, as a
/// sentence without the file's path; `None` when it is trusted (or cannot be read at all, which
/// loading then reports).
pub(crate) fn library_problem(file: &Path, dir: &Path) -> Option<String> {
    let meta = std::fs::metadata(file).ok()?;
    if let Some(why) = owner_problem(&meta, "library") {
        return Some(format!("not loaded: the file {why}"));
    }
    // A link to a library elsewhere: the folder it really is in must be trusted too.
    let real = std::fs::canonicalize(file).ok()?;
    let real_dir = real.parent()?;
    if std::fs::canonicalize(dir).is_ok_and(|d| d == real_dir) {
        return None;
    }
    let meta = std::fs::metadata(real_dir).ok()?;
    owner_problem(&meta, "folder")
        .map(|why| format!("not loaded: it is a link to {}, whose folder {why}", real.display()))
}

/// Why a file or folder with metadata `meta` may not be trusted: writable by its group or by
/// others, or owned by neither the current user nor root; `what` is `folder` or `library`.
#[cfg(unix)]
fn owner_problem(meta: &std::fs::Metadata, what: &str) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    mode_and_owner_problem(meta.mode(), meta.uid(), current_uid(), what)
}

#[cfg(not(unix))]
fn owner_problem(_meta: &std::fs::Metadata, _what: &str) -> Option<String> {
    None
}

/// [`owner_problem`] on the raw numbers: `mode` (permission bits), the owner's `uid`, and the
/// current user's `me`.
#[cfg(unix)]
fn mode_and_owner_problem(mode: u32, uid: u32, me: u32, what: &str) -> Option<String> {
    let writable = match (mode & 0o020 != 0, mode & 0o002 != 0) {
        (true, true) => Some("its group and by others"),
        (true, false) => Some("its group"),
        (false, true) => Some("others"),
        (false, false) => None,
    };
    if let Some(by) = writable {
        return Some(format!(
            "is writable by {by} (mode {:04o}), who could make jimsctl run their code: make it \
             writable by its owner only (`chmod go-w`)",
            mode & 0o7777
        ));
    }
    if uid != me && uid != 0 {
        return Some(format!(
            "is owned by user {uid}, who is neither you (user {me}) nor root and could make \
             jimsctl run their code: a plugin {what} must belong to you or to root"
        ));
    }
    None
}

/// The effective user id of this process.
#[cfg(unix)]
fn current_uid() -> u32 {
    rustix::process::geteuid().as_raw()
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn only_the_owner_may_write_and_the_owner_is_me_or_root() {
        let ok = |mode, uid, me| mode_and_owner_problem(mode, uid, me, "folder").is_none();
        assert!(ok(0o700, 1000, 1000) && ok(0o755, 1000, 1000) && ok(0o755, 0, 1000));
        assert!(ok(0o1755, 0, 0) && ok(0o555, 1000, 1000));
        let why = |mode, uid, me| mode_and_owner_problem(mode, uid, me, "folder").unwrap();
        assert!(why(0o775, 1000, 1000).contains("writable by its group (mode 0775)"));
        assert!(why(0o757, 1000, 1000).contains("writable by others (mode 0757)"));
        assert!(why(0o1777, 0, 1000).contains("its group and by others (mode 1777)"));
        assert!(
            why(0o755, 1001, 1000)
                .contains("owned by user 1001, who is neither you (user 1000) nor root")
        );
        assert!(!ok(0o700, 1000, 0));
    }

    #[test]
    fn relative_folders_are_refused_and_missing_ones_are_not() {
        let why = folder_problem(Path::new("plugins")).unwrap();
        assert!(why.contains("`plugins` is a relative path"), "{why}");
        assert!(folder_problem(Path::new("./x/../plugins")).is_some());
        assert!(folder_problem(Path::new("/nonexistent/jimsctl/plugins")).is_none());
    }

    #[test]
    fn folders_and_files_writable_by_others_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(folder_problem(dir.path()), None);
        let lib = dir.path().join("libx.so");
        std::fs::write(&lib, b"").unwrap();
        std::fs::set_permissions(&lib, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(library_problem(&lib, dir.path()), None);
        std::fs::set_permissions(&lib, std::fs::Permissions::from_mode(0o664)).unwrap();
        assert!(library_problem(&lib, dir.path()).unwrap().contains("writable by its group"));
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o707)).unwrap();
        assert!(folder_problem(dir.path()).unwrap().contains("writable by others"));
    }

    #[test]
    fn a_link_to_a_library_in_an_untrusted_folder_is_refused() {
        let trusted = tempfile::tempdir().unwrap();
        let open = tempfile::tempdir().unwrap();
        let real = open.path().join("libx.so");
        std::fs::write(&real, b"").unwrap();
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o755)).unwrap();
        let link = trusted.path().join("libx.so");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        assert_eq!(library_problem(&link, trusted.path()), None);
        std::fs::set_permissions(open.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let why = library_problem(&link, trusted.path()).unwrap();
        assert!(why.contains("it is a link to") && why.contains("writable by"), "{why}");
    }
}
