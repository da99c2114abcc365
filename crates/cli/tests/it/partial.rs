//! Partial import, the brief's rules to the letter: the matrix of file scope × chooser ×
//! target, each asserting what was replaced and that every other native file kept its bytes;
//! and the plan, in text and JSON.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::support::{filters, fixture, run, tmp, tree};

/// The native files of `target`'s `cwd/`, each with its bytes and inode.
fn natives(target: &Path) -> BTreeMap<String, (Vec<u8>, u64)> {
    tree(&target.join("cwd"))
        .into_iter()
        .map(|(rel, bytes)| {
            let ino = std::fs::metadata(target.join("cwd").join(&rel)).unwrap().ino();
            (rel, (bytes, ino))
        })
        .collect()
}

/// The files of each section, as stored under `cwd/`.
fn files_of(section: &str) -> Vec<&'static str> {
    match section {
        "event_sources" => vec!["config/event_log_reader.xml"],
        "user_directories" => vec!["config/user_directory.xml"],
        "templates" => vec!["config/templates.xml"],
        "srx_clients" => vec!["config/srx_interface.xml"],
        "cso_clients" => vec!["config/cso_interface.xml"],
        other => panic!("no files listed for {other}"),
    }
}

/// A target holding a configuration that differs from the fixtures' (older descriptions, one
/// CSO client fewer).
fn holding_target(dir: &Path) -> String {
    let old = std::fs::read_to_string(fixture("exports/full.xml"))
        .unwrap()
        .replace("description=\"Forest ", "description=\"Old forest ")
        .replace("description=\"Directory readers\"", "description=\"Old directory readers\"");
    let cut = old.find("      <CSO id=\"CSO3\"").unwrap();
    let end = cut + old[cut..].find("</CSO>").unwrap() + "</CSO>\n".len();
    let old = format!("{}{}", &old[..cut], &old[end..]);
    let path = dir.join("old.xml");
    std::fs::write(&path, old).unwrap();
    let target = dir.join("t").display().to_string();
    let secrets = format!("file:{}", fixture("exports/full.secrets.toml").display());
    let r = run(&["import", path.to_str().unwrap(), "--target", &target, "--secrets", &secrets]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    target
}

#[derive(Clone, Copy, Debug)]
enum Chooser {
    None,
    Subset,
    MissingSection,
    UnknownId,
}

#[test]
fn scope_chooser_and_target_matrix() {
    let secrets = format!("file:{}", fixture("exports/full.secrets.toml").display());
    for (export, file_sections) in [
        (
            "exports/full.xml",
            vec!["event_sources", "user_directories", "templates", "srx_clients", "cso_clients"],
        ),
        ("exports/partial.xml", vec!["user_directories", "templates"]),
    ] {
        let full = export.ends_with("full.xml");
        for chooser in [Chooser::None, Chooser::Subset, Chooser::MissingSection, Chooser::UnknownId]
        {
            if full && matches!(chooser, Chooser::MissingSection) {
                continue; // a full file holds every section
            }
            for holding in [false, true] {
                let dir = tmp();
                let target = if holding {
                    holding_target(dir.path())
                } else {
                    dir.path().join("new").display().to_string()
                };
                let before = natives(Path::new(&target));
                let mut args = vec![
                    "import",
                    export,
                    "--target",
                    &target,
                    "--secrets",
                    &secrets,
                    "--accept-warning",
                    "--format",
                    "json",
                ];
                let chosen: Vec<&str> = match chooser {
                    Chooser::None => file_sections.clone(),
                    Chooser::Subset => vec!["templates"],
                    Chooser::MissingSection => vec!["cso_clients"],
                    Chooser::UnknownId => vec!["bogus"],
                };
                let list = chosen.join(",");
                if !matches!(chooser, Chooser::None) {
                    args.extend(["--sections", &list]);
                }
                let case =
                    format!("{export} × {chooser:?} × {}", if holding { "holding" } else { "new" });
                let r = run(&args);
                match chooser {
                    Chooser::MissingSection | Chooser::UnknownId => {
                        assert_eq!(r.code, 2, "{case}: {}", r.stdout);
                        let error = r.json()["error"].as_str().unwrap().to_owned();
                        assert!(error.contains(chosen[0]), "{case}: {error}");
                        if matches!(chooser, Chooser::MissingSection) {
                            assert!(
                                error.contains("templates"),
                                "{case}: lists what the file holds: {error}"
                            );
                        } else {
                            assert!(
                                error.contains("event_sources"),
                                "{case}: lists the valid ids: {error}"
                            );
                        }
                        assert_eq!(natives(Path::new(&target)), before, "{case}: nothing written");
                    }
                    Chooser::None | Chooser::Subset => {
                        assert_eq!(r.code, 0, "{case}: {}", r.stdout);
                        let v = r.json();
                        let imported: Vec<&str> = v["sections"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|s| s.as_str().unwrap())
                            .collect();
                        if full && matches!(chooser, Chooser::None) {
                            assert_eq!(imported.len(), 10, "{case}");
                            assert_eq!(v["partial"], false, "{case}");
                        } else {
                            assert_eq!(v["partial"], true, "{case}");
                            assert!(
                                chosen.iter().all(|c| imported.contains(c)),
                                "{case}: {imported:?}"
                            );
                        }
                        for s in v["plan"]["sections"].as_array().unwrap() {
                            let id = s["section"].as_str().unwrap();
                            let expected =
                                if imported.contains(&id) { "replaced" } else { "untouched" };
                            assert_eq!(s["action"], expected, "{case}: {id}");
                        }
                        if holding {
                            let after = natives(Path::new(&target));
                            let replaced: Vec<&str> = imported
                                .iter()
                                .flat_map(|s| {
                                    if [
                                        "event_sources",
                                        "user_directories",
                                        "templates",
                                        "srx_clients",
                                        "cso_clients",
                                    ]
                                    .contains(s)
                                    {
                                        files_of(s)
                                    } else {
                                        vec![]
                                    }
                                })
                                .collect();
                            for (file, (bytes, ino)) in &before {
                                let sections_file = replaced.contains(&file.as_str());
                                let (new_bytes, new_ino) = &after[file];
                                if !(sections_file || full && matches!(chooser, Chooser::None)) {
                                    assert_eq!(bytes, new_bytes, "{case}: {file} kept its bytes");
                                    assert_eq!(
                                        ino, new_ino,
                                        "{case}: {file} was not even rewritten"
                                    );
                                }
                            }
                            // The chosen sections now hold the file's content.
                            if imported.contains(&"user_directories") {
                                let dirs =
                                    String::from_utf8(after["config/user_directory.xml"].0.clone())
                                        .unwrap();
                                assert!(
                                    !dirs.contains("Old forest"),
                                    "{case}: user directories replaced"
                                );
                            } else {
                                let dirs =
                                    String::from_utf8(after["config/user_directory.xml"].0.clone())
                                        .unwrap();
                                assert!(
                                    dirs.contains("Old forest"),
                                    "{case}: user directories untouched"
                                );
                            }
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn the_plan_in_text_and_json() {
    let dir = tmp();
    let target = holding_target(dir.path());
    let secrets = format!("file:{}", fixture("exports/full.secrets.toml").display());
    let r = run(&[
        "import",
        "exports/full.xml",
        "--target",
        &target,
        "--secrets",
        &secrets,
        "--sections",
        "user_directories,templates,cso_clients",
        "--dry-run",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("Partial import of: user_directories, templates, cso_clients."),
        "{}",
        r.stdout
    );
    insta::with_settings!({filters => filters()}, {
        insta::assert_snapshot!("plan_text", r.stdout);
    });
    let r = run(&[
        "import",
        "exports/full.xml",
        "--target",
        &target,
        "--secrets",
        &secrets,
        "--sections",
        "user_directories,templates,cso_clients",
        "--dry-run",
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = r.json();
    assert_eq!(v["status"], "dry-run");
    insta::with_settings!({filters => filters()}, {
        insta::assert_json_snapshot!("plan_json", v["plan"]);
    });
}

#[test]
fn a_dry_run_shows_its_plan_and_the_warning_even_with_passwords_missing() {
    let dir = tmp();
    let target = dir.path().join("t").display().to_string();
    let r = run(&["import", "exports/partial.xml", "--target", &target, "--dry-run"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stdout.starts_with("Dry run: importing exports/partial.xml"), "{}", r.stdout);
    assert!(r.stdout.contains(&format!("Warning: {}", pipeline::PARTIAL_WARNING)), "{}", r.stdout);
    assert!(r.stdout.contains("user_directories  replaced"), "{}", r.stdout);
    assert!(r.stdout.contains("Add Missing Passwords"), "{}", r.stdout);
    assert!(!Path::new(&target).exists());

    let r = run(&[
        "import",
        "exports/partial.xml",
        "--target",
        &target,
        "--dry-run",
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    let v = r.json();
    assert_eq!(v["status"], "missing-passwords");
    assert_eq!(v["warning"], pipeline::PARTIAL_WARNING);
    assert!(v["plan"].is_object() || v["plan"].is_array(), "{v}");
    // An import that is not a dry run shows the warning only when it was not accepted.
    let r = run(&["import", "exports/partial.xml", "--target", &target, "--format", "json"]);
    assert_eq!(r.code, 4, "{}", r.stderr);
    let v = r.json();
    assert_eq!(v["warning"], pipeline::PARTIAL_WARNING);
    // It still says what the import needs, and asked no source for it.
    assert_eq!(v["passwords"], serde_json::json!({"total": 7, "fixed": 0, "remaining": 7}));
    assert!(!Path::new(&target).exists());
}
