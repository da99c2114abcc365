//! Export/Import settings: the default folder and the last folder used.

use crate::support::{cmd, fixture, tmp};

#[test]
fn relative_export_paths_are_found_in_the_last_then_the_default_folder() {
    let dir = tmp();
    let home = dir.path().join("home");
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let run = |args: &[&str]| {
        let out = cmd()
            .current_dir(&work)
            .env("XDG_STATE_HOME", home.join("state"))
            .env("JIMSCTL_CONFIG", home.join("jimsctl.toml"))
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code().unwrap(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // Not found anywhere yet.
    let (code, _, err) = run(&["passwords", "full.xml", "--target", "t"]);
    assert_eq!(code, 2, "{err}");

    // A default folder makes a bare name resolve there, and the output says so.
    let exports = fixture("exports");
    let (code, out, _) =
        run(&["settings", "--default-folder", exports.to_str().unwrap(), "--format", "json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(v["default_folder"].as_str().unwrap().ends_with("exports"));
    assert!(v["last_folder"].is_null());
    let (code, _, err) = run(&["passwords", "full.xml", "--target", "t"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("in the default export folder"), "{err}");
    // So does a relative path with folders in it; one anchored at `.` names the current folder.
    let (code, _, err) = run(&["passwords", "../exports/full.xml", "--target", "t"]);
    assert_eq!(code, 2, "{err}");
    let nested = dir.path().join("nested");
    std::fs::create_dir_all(nested.join("sub")).unwrap();
    std::fs::copy(exports.join("full.xml"), nested.join("sub/full.xml")).unwrap();
    let (code, _, _) =
        run(&["settings", "--default-folder", nested.to_str().unwrap(), "--format", "json"]);
    assert_eq!(code, 0);
    let (code, _, err) = run(&["passwords", "sub/full.xml", "--target", "t"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("in the default export folder"), "{err}");
    let (code, _, err) = run(&["passwords", "./sub/full.xml", "--target", "t"]);
    assert_eq!(code, 2, "{err}");

    // A successful import remembers its folder as the last folder, which is tried first.
    let other = dir.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::copy(exports.join("partial.xml"), other.join("partial.xml")).unwrap();
    std::fs::copy(exports.join("partial.xml"), other.join("full.xml")).unwrap();
    let secrets = format!("file:{}", exports.join("full.secrets.toml").display());
    let (code, _, err) = run(&[
        "import",
        other.join("partial.xml").to_str().unwrap(),
        "--target",
        "t",
        "--secrets",
        &secrets,
        "--accept-warning",
    ]);
    assert_eq!(code, 0, "{err}");
    let (_, out, _) = run(&["settings"]);
    assert!(out.contains(&format!("last folder used: {}", other.display())), "{out}");
    let (code, _, err) = run(&[
        "import",
        "full.xml",
        "--target",
        "t",
        "--secrets",
        &secrets,
        "--accept-warning",
        "--dry-run",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("in the last folder used"), "{err}");

    let (code, _, _) = run(&["settings", "--unset-default-folder"]);
    assert_eq!(code, 0);
    let (_, out, _) = run(&["settings"]);
    assert!(out.contains("default export folder: (not set)"), "{out}");
}
