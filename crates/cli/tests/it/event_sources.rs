//! Partial imports merge event sources, as JIMS does ("JIMS do not overwrite your event
//! sources"): the target's are kept, new ids are added, an existing id is not overwritten and
//! the plan says so; `--replace-event-sources` clears and replaces them. In XML and JSON, with
//! `--sections` and with a partial file, in `import`, `--dry-run` and `batch`.

use std::path::Path;

use crate::support::{fixture, run, tmp};

fn secrets() -> String {
    format!("file:{}", fixture("exports/full.secrets.toml").display())
}

/// A managed folder holding the full fixture (event sources DC1…DC40).
fn full_target(dir: &Path) -> String {
    std::fs::create_dir_all(dir).unwrap();
    let target = dir.join("t").display().to_string();
    let r = run(&["import", "exports/full.xml", "--target", &target, "--secrets", &secrets()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    target
}

/// The full fixture with DC1's description changed, DC2 left out and a new DC900 (plaintext
/// password) added, so that every rule shows: kept, not removed, added.
fn changed_xml() -> String {
    let full = std::fs::read_to_string(fixture("exports/full.xml")).unwrap();
    let full = full.replace(
        "description=\"Domain controller 1 (branch-east)\"",
        "description=\"CHANGED BY THE EXPORT\"",
    );
    let start = full.find("      <event_source id=\"DC2\"").unwrap();
    let end = start + full[start..].find("</event_source>\n").unwrap() + "</event_source>\n".len();
    let new = "      <event_source id=\"DC900\" description=\"new one\" site=\"hq\">\n        \
               <domain_controller server=\"10.9.9.9\" initial_timespan=\"24\" \
               username=\"CORP\\svc\" password=\"Plain-new-one\"/>\n      </event_source>\n";
    format!("{}{new}{}", &full[..start], &full[end..])
}

/// `changed_xml` as a partial file holding only its event sources.
fn partial_xml() -> String {
    let full = changed_xml().replace("scope=\"full\"", "scope=\"partial\"");
    let es_end = full.find("  </section>\n").unwrap() + "  </section>\n".len();
    let tail = full.find("</jims_export>").unwrap();
    format!("{}{}", &full[..es_end], &full[tail..])
}

/// Writes `xml` to `dir/NAME.xml`, and when `json` converts it to `dir/NAME.json` with
/// jimsctl itself; returns the path of the one asked for.
fn write_export(dir: &Path, name: &str, xml: &str, json: bool) -> String {
    let path = dir.join(format!("{name}.xml"));
    std::fs::write(&path, xml).unwrap();
    if !json {
        return path.display().to_string();
    }
    let out = dir.join(format!("{name}.json"));
    let r = run(&["convert", path.to_str().unwrap(), out.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    out.display().to_string()
}

fn live(target: &str) -> String {
    std::fs::read_to_string(Path::new(target).join("cwd/config/event_log_reader.xml")).unwrap()
}

/// The line of the live event source `id`, opening tag only.
fn item_line(text: &str, id: &str) -> Option<String> {
    let at = text.find(&format!("<event_source id=\"{id}\""))?;
    let end = at + text[at..].find("</event_source>").unwrap();
    Some(text[at..end].to_owned())
}

#[test]
fn a_partial_import_merges_event_sources_in_xml_and_json_by_file_and_by_chooser() {
    for json in [false, true] {
        for by_chooser in [false, true] {
            let dir = tmp();
            let target = full_target(dir.path());
            let before = live(&target);
            let export = if by_chooser {
                write_export(dir.path(), "changed", &changed_xml(), json)
            } else {
                write_export(dir.path(), "partial", &partial_xml(), json)
            };
            let secrets = secrets();
            let mut args = vec!["import", &export, "--target", &target, "--accept-warning"];
            args.extend(["--secrets", &secrets]);
            if by_chooser {
                args.extend(["--sections", "event_sources,templates"]);
            }
            args.extend(["--format", "json"]);
            let case = format!("json={json} chooser={by_chooser}");
            let r = run(&args);
            assert_eq!(r.code, 0, "{case}: {}{}", r.stdout, r.stderr);
            let v = r.json();
            let es = v["plan"]["sections"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["section"] == "event_sources")
                .unwrap()
                .clone();
            assert_eq!(es["action"], "merged", "{case}: {es}");
            assert_eq!(es["added"], serde_json::json!(["DC900"]), "{case}");
            assert_eq!(es["removed"], serde_json::json!([]), "{case}: DC2 stays");
            assert_eq!(es["changed"], serde_json::json!([]), "{case}: DC1 is not overwritten");
            let kept = es["kept"].as_array().unwrap();
            assert_eq!(kept.len(), 45, "{case}: every one but DC2 is already on the target");
            assert_eq!(kept[0], "DC1", "{case}");
            assert_eq!(
                (es["items_before"].as_u64(), es["items_after"].as_u64()),
                (Some(46), Some(47))
            );

            let after = live(&target);
            for id in ["DC1", "DC2", "DC3", "DC40"] {
                assert_eq!(item_line(&after, id), item_line(&before, id), "{case}: {id} kept");
            }
            assert!(!after.contains("CHANGED BY THE EXPORT"), "{case}");
            let new = item_line(&after, "DC900").expect("DC900 added");
            assert!(new.contains("{aesgcm} 1,"), "{case}: its plaintext password is sealed");
            assert!(after.find("id=\"DC40\"") < after.find("id=\"DC900\""), "added after");
        }
    }
}

#[test]
fn replace_event_sources_clears_and_replaces_them() {
    for json in [false, true] {
        let dir = tmp();
        let target = full_target(dir.path());
        let export = write_export(dir.path(), "partial", &partial_xml(), json);
        let r = run(&[
            "import",
            &export,
            "--target",
            &target,
            "--accept-warning",
            "--replace-event-sources",
            "--secrets",
            &secrets(),
            "--format",
            "json",
        ]);
        assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
        let v = r.json();
        let es = v["plan"]["sections"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["section"] == "event_sources")
            .unwrap()
            .clone();
        assert_eq!(es["action"], "replaced");
        assert_eq!(es["removed"], serde_json::json!(["DC2"]));
        assert_eq!(es["added"], serde_json::json!(["DC900"]));
        assert_eq!(es["changed"][0]["id"], "DC1");
        assert!(es.get("kept").is_none(), "{es}");
        let after = live(&target);
        assert!(after.contains("CHANGED BY THE EXPORT"));
        assert!(item_line(&after, "DC2").is_none());
    }
}

#[test]
fn a_full_import_without_chooser_still_replaces_event_sources() {
    let dir = tmp();
    let target = full_target(dir.path());
    let export = write_export(dir.path(), "changed", &changed_xml(), false);
    let r = run(&["import", &export, "--target", &target, "--secrets", &secrets()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let after = live(&target);
    assert!(after.contains("CHANGED BY THE EXPORT"));
    assert!(item_line(&after, "DC2").is_none());
}

#[test]
fn the_dry_run_plan_names_every_item_kept() {
    let dir = tmp();
    let target = full_target(dir.path());
    let export = write_export(dir.path(), "partial", &partial_xml(), false);
    let before = crate::support::tree(Path::new(&target));
    let r = run(&["import", &export, "--target", &target, "--dry-run"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    // The action's column is as wide as its longest word (`untouched`).
    assert_eq!(section_row(&r.stdout), "event_sources merged 46 → 47 items (1 added, 45 kept)");
    assert!(r.stdout.contains("      + DC900\n"), "{}", r.stdout);
    assert!(
        r.stdout.contains("      = DC1, DC3, DC4, DC5, DC6, DC7, DC8, DC9, … and 37 more (kept: already on the target)"),
        "{}",
        r.stdout
    );
    assert_eq!(crate::support::tree(Path::new(&target)), before, "a dry run writes nothing");
    let r = run(&[
        "import",
        &export,
        "--target",
        &target,
        "--dry-run",
        "--replace-event-sources",
        "--secrets",
        &secrets(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        section_row(&r.stdout),
        "event_sources replaced 46 → 46 items (1 added, 1 removed, 1 changed)"
    );
    assert!(r.stdout.contains("      ~ DC1: description\n"), "{}", r.stdout);
    assert!(!r.stdout.contains("kept"), "{}", r.stdout);
}

#[test]
fn a_batch_merges_unless_told_to_replace() {
    let dir = tmp();
    let merged = full_target(&dir.path().join("a"));
    let replaced = full_target(&dir.path().join("b"));
    let by_flag = full_target(&dir.path().join("c"));
    let export = write_export(dir.path(), "partial", &partial_xml(), true);
    let manifest = dir.path().join("m.toml");
    std::fs::write(
        &manifest,
        format!(
            "[[import]]\nexport = {export:?}\ntarget = {merged:?}\n\n\
             [[import]]\nexport = {export:?}\ntarget = {replaced:?}\nreplace_event_sources = true\n"
        ),
    )
    .unwrap();
    let secrets = secrets();
    let r = run(&[
        "batch",
        "--manifest",
        manifest.to_str().unwrap(),
        "--accept-warning",
        "--secrets",
        &secrets,
    ]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(item_line(&live(&merged), "DC2").is_some(), "merged: DC2 kept");
    assert!(!live(&merged).contains("CHANGED BY THE EXPORT"));
    assert!(item_line(&live(&merged), "DC900").is_some());
    assert!(item_line(&live(&replaced), "DC2").is_none(), "replaced: DC2 gone");
    assert!(live(&replaced).contains("CHANGED BY THE EXPORT"));

    let manifest = dir.path().join("n.toml");
    std::fs::write(&manifest, format!("[[import]]\nexport = {export:?}\ntarget = {by_flag:?}\n"))
        .unwrap();
    let r = run(&[
        "batch",
        "--manifest",
        manifest.to_str().unwrap(),
        "--accept-warning",
        "--replace-event-sources",
        "--secrets",
        &secrets,
    ]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(item_line(&live(&by_flag), "DC2").is_none(), "the batch's flag applies");
}

/// The plan's row for event_sources, its columns joined by one space (the action's column is as
/// wide as its longest word, `untouched`).
fn section_row(stdout: &str) -> String {
    let row = stdout.lines().find(|l| l.trim_start().starts_with("event_sources"));
    row.unwrap_or_else(|| panic!("{stdout}")).split_whitespace().collect::<Vec<_>>().join(" ")
}
