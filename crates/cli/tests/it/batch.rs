//! `jimsctl batch`: many imports at once, each isolated, with shared lookups and a report.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::{assert_no_secret, filters, fixture, run, run_in, s, tmp, tree};

fn secrets_arg() -> String {
    format!("file:{}", fixture("exports/full.secrets.toml").display())
}

/// A folder of exports: `(name, fixture)` pairs copied as `name`.
fn exports(dir: &Path, files: &[(&str, &str)]) -> PathBuf {
    let exports = dir.join("exports");
    std::fs::create_dir_all(&exports).unwrap();
    for (name, from) in files {
        std::fs::copy(fixture(from), exports.join(name)).unwrap();
    }
    exports
}

fn read_report(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The report's entry for the export named `name`.
fn entry<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["imports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["export"].as_str().unwrap().ends_with(name))
        .unwrap_or_else(|| panic!("no entry for {name} in {report:#}"))
}

#[test]
fn a_broken_export_fails_alone_and_the_others_are_imported() {
    let dir = tmp();
    let ex = exports(
        dir.path(),
        &[
            ("a.xml", "exports/full.xml"),
            ("b.json", "exports/full.json"),
            ("broken.xml", "bad/truncated.xml"),
            ("full.secrets.json", "exports/full.secrets.json"),
            ("notes.txt", "exports/full.secrets.toml"),
        ],
    );
    let targets = dir.path().join("targets");
    let report = dir.path().join("report.json");
    let r = run(&[
        "batch",
        "--exports",
        s(&ex),
        "--targets",
        s(&targets),
        "--secrets",
        &secrets_arg(),
        "--report",
        s(&report),
    ]);
    assert_eq!(r.code, 6, "{}{}", r.stdout, r.stderr);
    assert_no_secret(&r.stdout);
    assert_no_secret(&r.stderr);
    let rep = read_report(&report);
    assert_no_secret(&rep.to_string());
    assert_eq!(rep["imports"].as_array().unwrap().len(), 3, "secrets files and others skipped");
    for name in ["a.xml", "b.json"] {
        let e = entry(&rep, name);
        assert_eq!(e["status"], "imported", "{e}");
        assert_eq!(e["exit_code"], 0);
        assert_eq!(e["version"], 1);
    }
    let broken = entry(&rep, "broken.xml");
    assert_eq!(broken["status"], "invalid");
    assert_eq!(broken["exit_code"], 2);
    assert!(broken["error"].as_str().unwrap().contains("broken.xml:"), "{broken}");
    assert_eq!(rep["totals"]["imported"], 2);
    assert_eq!(rep["totals"]["failed"], 1);
    assert!(targets.join("a/cwd/config/event_log_reader.xml").is_file());
    assert!(targets.join("b/cwd/config/event_log_reader.xml").is_file());
    assert!(!targets.join("broken").exists(), "nothing written for the broken export");
    assert!(r.stdout.contains("2 imported, 1 failed"), "{}", r.stdout);
    assert!(r.stdout.contains("broken.xml"), "{}", r.stdout);
}

#[test]
fn missing_passwords_and_a_busy_target_spoil_nothing_else() {
    let dir = tmp();
    let base = dir.path();
    // A managed target that this test holds locked, as another import would.
    let busy = base.join("busy");
    let r = run(&["import", "exports/full.xml", "--target", s(&busy), "--secrets", &secrets_arg()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let busy_before = tree(&busy);
    let manifest = base.join("batch.toml");
    std::fs::write(
        &manifest,
        format!(
            "[[import]]\nexport = {full:?}\ntarget = \"ok\"\n\n\
             [[import]]\nexport = {full:?}\ntarget = \"no-passwords\"\nsecrets = []\n\n\
             [[import]]\nexport = {full:?}\ntarget = \"busy\"\n",
            full = fixture("exports/full.xml").display().to_string()
        ),
    )
    .unwrap();
    let held = store::Target::open(&busy).unwrap();
    let report = base.join("report.json");
    let r = run(&[
        "batch",
        "--manifest",
        s(&manifest),
        "--secrets",
        &secrets_arg(),
        "--report",
        s(&report),
    ]);
    drop(held);
    assert_eq!(r.code, 6, "{}{}", r.stdout, r.stderr);
    let rep = read_report(&report);
    let entries = rep["imports"].as_array().unwrap();
    assert_eq!(entries[0]["status"], "imported");
    assert_eq!(entries[1]["status"], "missing-passwords");
    assert_eq!(entries[1]["exit_code"], 3);
    assert!(entries[1]["passwords"]["remaining"].as_u64().unwrap() > 0);
    assert!(entries[1]["missing"].as_array().unwrap().iter().any(|k| k == "templates/dc-readers"));
    assert_eq!(entries[2]["status"], "busy");
    assert_eq!(entries[2]["exit_code"], 5);
    assert!(base.join("ok/cwd").is_dir());
    assert!(!base.join("no-passwords").exists());
    assert_eq!(tree(&busy), busy_before, "the busy target is untouched");
    assert_eq!(rep["totals"]["statuses"]["busy"], 1);
    assert_no_secret(&r.stdout);
    assert_no_secret(&rep.to_string());
}

/// A `cmd:` source that appends one line per run to `log` and answers every row.
fn counting_source(dir: &Path, log: &Path) -> String {
    let script = dir.join("answer.sh");
    std::fs::write(
        &script,
        format!("#!/bin/sh\ncat > /dev/null\necho run >> '{}'\necho Pw-from-cmd\n", log.display()),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    format!("cmd:{}", script.display())
}

fn runs(log: &Path) -> usize {
    std::fs::read_to_string(log).map(|t| t.lines().count()).unwrap_or(0)
}

#[test]
fn a_secret_is_looked_up_once_for_the_whole_batch() {
    let dir = tmp();
    let base = dir.path();
    // One import alone: how many rows the source is asked for.
    let log = base.join("alone.log");
    let spec = counting_source(base, &log);
    let r = run(&[
        "import",
        "exports/full.xml",
        "--target",
        s(&base.join("alone")),
        "--secrets",
        &spec,
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let per_import = runs(&log);
    assert!(per_import > 5, "{per_import}");

    let ex = exports(
        base,
        &[
            ("a.xml", "exports/full.xml"),
            ("b.xml", "exports/full.xml"),
            ("c.json", "exports/full.json"),
        ],
    );
    for (shared, targets) in [(true, "shared"), (false, "not-shared")] {
        let log = base.join(format!("{targets}.log"));
        let spec = counting_source(base, &log);
        let report = base.join(format!("{targets}.json"));
        let mut args = vec![
            "batch",
            "--exports",
            s(&ex),
            "--targets",
            targets,
            "--secrets",
            &spec,
            "--report",
            s(&report),
            "-j",
            "2",
        ];
        if !shared {
            args.push("--no-shared-lookups");
        }
        let r = run_in(base, &args);
        assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
        let rep = read_report(&report);
        let lookups = &rep["totals"]["lookups"];
        if shared {
            assert!(runs(&log) <= per_import, "{} runs for 3 imports", runs(&log));
            assert_eq!(lookups["misses"], runs(&log));
            let rows: u64 = rep["imports"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["passwords"]["total"].as_u64().unwrap())
                .sum();
            assert_eq!(
                lookups["hits"].as_u64().unwrap() + lookups["misses"].as_u64().unwrap(),
                rows
            );
            assert!(r.stdout.contains("answered from the batch's cache"), "{}", r.stdout);
        } else {
            assert_eq!(runs(&log), 3 * per_import);
            assert_eq!(lookups["hits"], 0);
        }
    }
}

/// The report with what varies from run to run made stable.
fn stable(report: &Value, base: &Path) -> Value {
    let text = report.to_string().replace(&base.display().to_string(), "[BASE]");
    let mut v: Value = serde_json::from_str(&text).unwrap();
    for e in v["imports"].as_array_mut().unwrap() {
        e["seconds"] = "[SECONDS]".into();
    }
    v["totals"]["seconds"] = "[SECONDS]".into();
    v
}

#[test]
fn the_report_has_the_shape_of_cli_md() {
    let dir = tmp();
    let ex = exports(
        dir.path(),
        &[
            ("a.xml", "exports/full.xml"),
            ("b.json", "exports/full.json"),
            ("partial.xml", "exports/partial.xml"),
            ("zz-bad.json", "bad/malformed.json"),
        ],
    );
    let report = dir.path().join("report.json");
    let r = run_in(
        dir.path(),
        &[
            "batch",
            "--exports",
            "exports",
            "--targets",
            "targets",
            "--secrets",
            &secrets_arg(),
            "--report",
            "report.json",
            "-j",
            "1",
        ],
    );
    assert_eq!(r.code, 6, "{}{}", r.stdout, r.stderr);
    let _ = ex;
    let rep = stable(&read_report(&report), dir.path());
    let mut settings = insta::Settings::clone_current();
    for (from, to) in filters() {
        settings.add_filter(from, to);
    }
    settings.bind(|| insta::assert_json_snapshot!("batch_report", rep));
}

#[test]
fn one_thread_or_two_give_the_same_results() {
    let dir = tmp();
    let base = dir.path();
    let ex = exports(
        base,
        &[
            ("a.xml", "exports/full.xml"),
            ("b.json", "exports/full.json"),
            ("c.xml", "exports/partial.xml"),
            ("d.xml", "bad/duplicate-ids.xml"),
            ("e.json", "exports/full.json"),
        ],
    );
    let mut reports = Vec::new();
    for jobs in ["1", "2"] {
        let targets = base.join(format!("j{jobs}"));
        let report = base.join(format!("j{jobs}.json"));
        let r = run(&[
            "batch",
            "--exports",
            s(&ex),
            "--targets",
            s(&targets),
            "--secrets",
            &secrets_arg(),
            "--accept-warning",
            "--report",
            s(&report),
            "-j",
            jobs,
        ]);
        assert_eq!(r.code, 6, "{}{}", r.stdout, r.stderr);
        let rep = stable(&read_report(&report), base);
        reports.push(rep.to_string().replace(&format!("/j{jobs}/"), "/jN/"));
    }
    assert_eq!(reports[0], reports[1]);
    // The same native files, but for the sealed values (fresh keys and nonces).
    let cwd = |t: Vec<(String, Vec<u8>)>| -> Vec<String> {
        t.into_iter().filter(|(p, _)| p.contains("/cwd/")).map(|(p, _)| p).collect()
    };
    assert_eq!(cwd(tree(&base.join("j1"))), cwd(tree(&base.join("j2"))));
}

#[test]
fn a_json_manifest_with_per_entry_flags_overrides_the_batch_flags() {
    let dir = tmp();
    let base = dir.path();
    let full = fixture("exports/full.xml").display().to_string();
    let manifest = base.join("batch.json");
    let entries = serde_json::json!({"import": [
        // The batch's flags: a dry run of the templates only, with the fixture's secrets.
        {"export": full, "target": "dry"},
        // Its own: written, two sections.
        {"export": full, "target": "written", "dry_run": false, "sections": ["event_sources", "templates"], "accept_warning": true},
        // Its own secrets: none, so passwords are missing.
        {"export": full, "target": "nothing", "dry_run": false, "secrets": []},
        // Its own sections, without accepting the warning: not accepted (exit 4).
        {"export": full, "target": "refused", "dry_run": false, "accept_warning": false},
    ]});
    std::fs::write(&manifest, entries.to_string()).unwrap();
    let report = base.join("report.json");
    let r = run(&[
        "batch",
        "--manifest",
        s(&manifest),
        "--secrets",
        &secrets_arg(),
        "--dry-run",
        "--sections",
        "templates",
        "--accept-warning",
        "--report",
        s(&report),
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 6, "{}{}", r.stdout, r.stderr);
    let rep = read_report(&report);
    assert_eq!(r.json(), rep, "--format json prints the report");
    let e = rep["imports"].as_array().unwrap();
    assert_eq!(e[0]["status"], "dry-run");
    assert_eq!(e[0]["sections"], serde_json::json!(["templates"]));
    assert_eq!(e[1]["status"], "imported");
    assert_eq!(e[1]["sections"], serde_json::json!(["event_sources", "templates"]));
    assert_eq!(e[2]["status"], "missing-passwords");
    assert_eq!(e[3]["status"], "warning-not-accepted");
    assert_eq!(e[3]["exit_code"], 4);
    assert!(!base.join("dry").exists(), "a dry run writes nothing");
    assert!(base.join("written/cwd").is_dir(), "relative targets are beside the manifest");
    assert!(!base.join("nothing").exists() && !base.join("refused").exists());
}

#[test]
fn a_toml_manifest_in_one_order_into_one_target_and_per_export_secrets() {
    let dir = tmp();
    let base = dir.path();
    let ex = exports(
        base,
        &[
            ("full.xml", "exports/full.xml"),
            ("full.secrets.toml", "exports/full.secrets.toml"),
            ("partial.json", "exports/partial.json"),
            ("partial.secrets.toml", "exports/full.secrets.toml"),
        ],
    );
    // An older state first, so that the partial import changes something and makes a version.
    std::fs::copy(crate::support::old_full(base), ex.join("full.xml")).unwrap();
    let manifest = base.join("batch.toml");
    std::fs::write(
        &manifest,
        "# Two imports into one target run one after the other, in this order.\n\
         [[import]]\nexport = \"exports/full.xml\"\ntarget = \"srv\"\n\n\
         [[import]]\nexport = \"exports/partial.json\"\ntarget = \"srv\"\naccept_warning = true\n",
    )
    .unwrap();
    let _ = ex;
    let r = run_in(
        base,
        &["batch", "--manifest", "batch.toml", "--secrets", "file:{dir}/{name}.secrets.toml"],
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let h = run(&["history", "--target", s(&base.join("srv")), "--format", "json"]);
    let versions = h.json()["versions"].as_array().unwrap().clone();
    assert_eq!(versions.len(), 2, "{versions:?}");
    assert!(versions[0]["export"].as_str().unwrap().ends_with("full.xml"));
    assert!(versions[1]["export"].as_str().unwrap().ends_with("partial.json"));
}

#[test]
fn a_manifest_s_paths_and_secrets_files_are_beside_it_wherever_the_batch_runs() {
    // The README's example: targets in a folder that must exist, an entry's own
    // `file:` secrets given relative to the manifest, and the batch run from elsewhere.
    let dir = tmp();
    let base = dir.path().join("ops");
    let ex =
        exports(&base, &[("hq.xml", "exports/full.xml"), ("branch.json", "exports/partial.json")]);
    std::fs::create_dir_all(base.join("secrets")).unwrap();
    std::fs::copy(fixture("exports/full.secrets.toml"), base.join("secrets/branch.toml")).unwrap();
    std::fs::write(
        base.join("batch.toml"),
        "[[import]]\nexport = \"exports/hq.xml\"\ntarget = \"servers/hq\"\n\
         secrets = [\"file:secrets/branch.toml\"]\n\n\
         [[import]]\nexport = \"exports/branch.json\"\ntarget = \"servers/branch\"\n\
         sections = [\"user_directories\", \"templates\"]\naccept_warning = true\n\
         secrets = [\"file:secrets/branch.toml\", \"env\"]\n",
    )
    .unwrap();
    let _ = ex;
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    // As with `import`, a target's parent folder must exist: the entry fails, nothing is made.
    let r = run_in(&elsewhere, &["batch", "--manifest", "../ops/batch.toml", "--format", "json"]);
    assert_eq!(r.code, 6, "{}{}", r.stdout, r.stderr);
    for entry in r.json()["imports"].as_array().unwrap() {
        assert_eq!(entry["exit_code"], 2, "{entry}");
        assert!(entry["error"].as_str().unwrap().contains("parent folder"), "{entry}");
    }
    assert!(!base.join("servers").exists(), "a batch makes no folder");
    std::fs::create_dir(base.join("servers")).unwrap();
    let r = run_in(&elsewhere, &["batch", "--manifest", "../ops/batch.toml", "--format", "json"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    for name in ["hq", "branch"] {
        assert!(base.join("servers").join(name).join("cwd/config/templates.xml").is_file());
    }
    assert!(!elsewhere.join("servers").exists() && !elsewhere.join("secrets").exists());
}

#[test]
fn a_name_with_both_an_xml_and_a_json_export_is_ambiguous() {
    let dir = tmp();
    let ex = exports(
        dir.path(),
        &[
            ("srv.xml", "exports/full.xml"),
            ("srv.json", "exports/full.json"),
            ("ok.xml", "exports/full.xml"),
        ],
    );
    let targets = dir.path().join("targets");
    let r = run(&[
        "batch",
        "--exports",
        s(&ex),
        "--targets",
        s(&targets),
        "--secrets",
        &secrets_arg(),
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 6, "{}", r.stderr);
    let rep = r.json();
    let srv = entry(&rep, "srv.json");
    assert_eq!(srv["exit_code"], 2);
    assert!(srv["error"].as_str().unwrap().contains("ambiguous"), "{srv}");
    assert!(!targets.join("srv").exists());
    assert_eq!(entry(&rep, "ok.xml")["status"], "imported");
}

#[test]
fn bad_usage_and_bad_manifests_exit_2_before_importing_anything() {
    let dir = tmp();
    let base = dir.path();
    let bad = base.join("bad.toml");
    std::fs::write(&bad, "[[import]]\nexport = \"a.xml\"\ntarget = \"t\"\nsection = [\"x\"]\n")
        .unwrap();
    let r = run(&["batch", "--manifest", s(&bad)]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("bad.toml:1:1: not a valid batch manifest"), "{}", r.stderr);
    assert!(r.stderr.contains("unknown field `section`"), "{}", r.stderr);
    let r = run(&["batch", "--exports", "exports"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let ex = exports(base, &[("a.xml", "exports/full.xml")]);
    let r = run(&[
        "batch",
        "--exports",
        s(&ex),
        "--targets",
        s(&base.join("t")),
        "--secrets",
        "file:/no/such/secrets.toml",
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("/no/such/secrets.toml"), "{}", r.stderr);
    assert!(!base.join("t/a").exists());
}

#[test]
fn ctrl_c_stops_starting_imports_and_leaves_every_target_whole() {
    let dir = tmp();
    let base = dir.path();
    let names: Vec<String> = (1..=6).map(|n| format!("p{n}.xml")).collect();
    let files: Vec<(&str, &str)> =
        names.iter().map(|n| (n.as_str(), "exports/partial.xml")).collect();
    let ex = exports(base, &files);
    // A slow source: each import takes a while, so that Ctrl-C comes during the first.
    let log = base.join("runs.log");
    let script = base.join("slow.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\ncat > /dev/null\necho run >> '{}'\nsleep 0.1\necho Pw-slow\n",
            log.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let targets = base.join("targets");
    let report = base.join("report.json");
    let child = crate::support::cmd()
        .args(["batch", "--exports", s(&ex), "--targets", s(&targets), "-j", "1"])
        .args(["--accept-warning", "--no-shared-lookups", "--report", s(&report)])
        .arg("--secrets")
        .arg(format!("cmd:{}", script.display()))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while runs(&log) == 0 {
        assert!(started.elapsed().as_secs() < 30, "the batch never asked the source");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let kill = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(6), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    let rep = read_report(&report);
    assert_eq!(rep["cancelled"], true);
    let skipped = rep["totals"]["skipped"].as_u64().unwrap();
    assert!(skipped >= 1, "{rep:#}");
    assert_eq!(rep["totals"]["imported"].as_u64().unwrap() + skipped, 6, "{rep:#}");
    assert!(stdout.contains("skipped (interrupted)"), "{stdout}");
    // The rate counts the imports that ran, not those skipped after Ctrl-C.
    let seconds = rep["totals"]["seconds"].as_f64().unwrap();
    let ran = 6 - skipped;
    let summary = stdout.lines().next().unwrap();
    let rate: f64 = summary
        .split(" s (")
        .nth(1)
        .and_then(|r| r.split("/s)").next())
        .and_then(|r| r.parse().ok())
        .unwrap_or_else(|| panic!("no rate in {summary:?}"));
    let expected = ran as f64 / seconds;
    assert!(
        (rate - expected).abs() <= expected * 0.05 + 0.01,
        "{ran} imports ran in {seconds} s: {expected}/s, not {rate} ({summary})"
    );
    for e in rep["imports"].as_array().unwrap() {
        let target = Path::new(e["target"].as_str().unwrap());
        match e["status"].as_str().unwrap() {
            "imported" => {
                let t = store::Target::open(target).unwrap();
                assert_eq!(t.version(), 1);
                assert!(!target.join(".jims-import/journal.json").exists());
                assert!(!target.join(".jims-import/staging").exists());
            }
            "skipped" => assert!(!target.exists(), "{} was written", target.display()),
            other => panic!("unexpected status {other}: {e}"),
        }
    }
    let leftovers: Vec<_> = std::fs::read_dir(&targets)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn prompt_without_a_terminal_is_refused_before_any_import() {
    let dir = tmp();
    let exports = exports(dir.path(), &[("a.xml", "exports/full.xml")]);
    let targets = dir.path().join("targets");
    let r =
        run(&["batch", "--exports", s(&exports), "--targets", s(&targets), "--secrets", "prompt"]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("needs a terminal"), "{}", r.stderr);
    assert!(r.stderr.contains("file:{dir}/{name}.secrets.json"), "a batch's hint: {}", r.stderr);
    assert!(!targets.join("a").exists(), "nothing imported");
}

/// A batch does not read what it replaces: a target whose replaced file is damaged is repaired
/// by a full import, while `import` (which shows what changes) names the damaged file.
#[test]
fn a_batch_replaces_a_damaged_file_that_import_stops_at() {
    let dir = tmp();
    let base = dir.path();
    let t = base.join("t");
    let full = fixture("exports/full.xml");
    let r = run(&["import", s(&full), "--target", s(&t), "--secrets", &secrets_arg()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let damaged = t.join("cwd/config/templates.xml");
    std::fs::write(&damaged, "<templates><template id=").unwrap();

    let r = run(&["import", s(&full), "--target", s(&t), "--secrets", &secrets_arg()]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("templates.xml"), "{}", r.stderr);

    let manifest = base.join("batch.toml");
    let entry = format!("[[import]]\nexport = {:?}\ntarget = {:?}\n", s(&full), s(&t));
    std::fs::write(&manifest, entry).unwrap();
    let r = run(&["batch", "--manifest", s(&manifest), "--secrets", &secrets_arg()]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let repaired = std::fs::read_to_string(&damaged).unwrap();
    assert!(repaired.contains("</templates>"), "{repaired}");
    // The damaged file is kept in the history, as the batch found it.
    let archived = crate::support::archived_cwd(&t, 1);
    let (_, old) = archived.iter().find(|(p, _)| p == "config/templates.xml").unwrap();
    assert_eq!(old, b"<templates><template id=");
}

/// The folder of targets that `--targets` makes is an output like any other: never inside a
/// managed folder, where the batch would nest targets in another's tree.
#[test]
fn a_targets_folder_inside_a_managed_folder_is_refused_before_anything_is_made() {
    let dir = tmp();
    let exports = exports(dir.path(), &[("a.xml", "exports/full.xml")]);
    let srv = dir.path().join("srv");
    assert_eq!(run(&["server", "init", s(&srv)]).code, 0);
    let targets = srv.join("cwd/targets");
    let secrets = secrets_arg();
    let r =
        run(&["batch", "--exports", s(&exports), "--targets", s(&targets), "--secrets", &secrets]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("inside the managed server folder"), "{}", r.stderr);
    assert!(!targets.exists(), "the targets folder was made");
}

#[test]
fn the_progress_bar_moves_import_by_import_on_a_terminal() {
    // Eight slow imports in one group of commits (up to 64), one at a time, on a
    // pseudo-terminal: the bar shows each import as it ends (1/8, 2/8, …), not all eight at
    // once when the group is made durable at the end.
    let dir = tmp();
    let base = dir.path();
    let names: Vec<String> = (1..=8).map(|n| format!("p{n}.xml")).collect();
    let files: Vec<(&str, &str)> =
        names.iter().map(|n| (n.as_str(), "exports/partial.xml")).collect();
    let ex = exports(base, &files);
    let script = base.join("slow.sh");
    std::fs::write(&script, "#!/bin/sh\ncat > /dev/null\nsleep 0.3\necho Pw-slow\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let line = format!(
        "'{}' batch --exports '{}' --targets '{}' -j 1 --accept-warning --no-shared-lookups \
         --secrets 'cmd:{}'",
        env!("CARGO_BIN_EXE_jimsctl"),
        ex.display(),
        base.join("targets").display(),
        script.display()
    );
    let out = std::process::Command::new("script")
        .args(["-q", "-e", "-c", &line, "/dev/null"])
        .env("TERM", "xterm-256color")
        .env("COLUMNS", "160")
        .env("XDG_CONFIG_HOME", crate::support::isolated_home().join("config"))
        .env("XDG_STATE_HOME", crate::support::isolated_home().join("state"))
        .stdin(std::process::Stdio::null())
        .output()
        .expect("`script` (util-linux) runs");
    let screen = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{screen}");
    let shown: std::collections::BTreeSet<u32> =
        (1..8).filter(|k| screen.contains(&format!(" {k}/8 imports"))).collect();
    assert!(
        shown.len() >= 5,
        "the bar showed only {shown:?} of the positions 1..7 between its start and its end:\n{screen}"
    );
    assert!(screen.contains("Batch of 8 imports in "), "{screen}");
}
