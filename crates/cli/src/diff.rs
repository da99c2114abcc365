//! `jimsctl diff A B`, `jimsctl history show N` and `jimsctl rollback --dry-run`: what differs
//! between two configurations, shown as the plan shows an import (sections, items added,
//! removed and changed, field names; a password only ever "changed").

use std::fmt::Write as _;

use pipeline::diff::{RollbackPreview, Side, SideKind, VersionChanges};
use pipeline::{Configuration, Error, Plan, SectionPlan};
use serde_json::{Value, json};

use crate::args::{DiffArgs, OutputFormat, RollbackArgs, TargetArgs};
use crate::term::Style;

/// `jimsctl diff A B`: 0 (or, with `--exit-code`, 1 when they differ).
pub(crate) fn run(a: DiffArgs, style: Style) -> Result<u8, Error> {
    let keys =
        a.source_key.iter().map(|p| pipeline::diff::read_key(p)).collect::<Result<Vec<_>, _>>()?;
    let left = pipeline::diff::open_side(&a.a)?;
    let right = pipeline::diff::open_side(&a.b)?;
    let plan = pipeline::diff::diff(&left, &right, &keys);
    let differ =
        !plan.is_noop() || sections_only_in_one(&plan, &left.configuration, &right.configuration);
    if a.output.format == OutputFormat::Json {
        let v = json!({
            "a": side_json(&left),
            "b": side_json(&right),
            "differ": differ,
            "sections": sections_json(&plan, &left.configuration, &right.configuration),
        });
        out_json!(v);
    } else if crate::render::verbosity() != crate::render::Verbosity::Quiet {
        outln!("--- {} ({})", clean(&left.label), describe(&left));
        outln!("+++ {} ({})", clean(&right.label), describe(&right));
        for (name, side) in [("A", &left), ("B", &right)] {
            let files = side.edited_by_hand();
            if !files.is_empty() {
                let list: Vec<String> = files.iter().map(|f| format!("cwd/{}", clean(f))).collect();
                outln!(
                    "{}: {name} is read from the live files, changed by hand since version {} \
                     was written ({}): it shows them as they are now.",
                    style.yellow("Note"),
                    side.version.unwrap_or_default(),
                    list.join(", ")
                );
            }
        }
        out!("{}", changes_text(&plan, &left.configuration, &right.configuration, style));
    }
    Ok(if a.exit_code && differ { 1 } else { 0 })
}

/// Whether a section is held by one side only while empty (no item, no setting) on it: not a
/// change of items, but the two still differ.
fn sections_only_in_one(plan: &Plan, a: &Configuration, b: &Configuration) -> bool {
    plan.sections.iter().any(|s| a.contains(s.section) != b.contains(s.section))
}

pub(crate) fn describe(side: &Side) -> String {
    match (side.kind, side.version) {
        (SideKind::Xml, _) => "XML bundle".into(),
        (SideKind::Json, _) => "JSON bundle".into(),
        (SideKind::Folder, _) => "server folder".into(),
        (SideKind::Managed, Some(n)) => format!("managed folder, version {n}"),
        (SideKind::Managed, None) => "managed folder".into(),
        (SideKind::Version, n) => format!("version {}", n.unwrap_or_default()),
    }
}

fn side_json(side: &Side) -> Value {
    let mut v = json!({"path": side.label, "kind": side.kind});
    let edited = side.edited_by_hand();
    if !edited.is_empty() {
        v["edited_by_hand"] = edited.into();
    }
    if let Some(n) = side.version {
        v["version"] = n.into();
    }
    v
}

/// `same`, `changed`, `only-in-a` or `only-in-b`.
fn status(s: &SectionPlan, a: &Configuration, b: &Configuration) -> &'static str {
    match (a.contains(s.section), b.contains(s.section)) {
        (true, false) => "only-in-a",
        (false, true) => "only-in-b",
        _ if s.is_noop() => "same",
        _ => "changed",
    }
}

/// The plan's sections as JSON, each with its `status` in place of an import's action.
pub(crate) fn sections_json(plan: &Plan, a: &Configuration, b: &Configuration) -> Value {
    plan.sections
        .iter()
        .map(|s| {
            let mut v = serde_json::to_value(s).unwrap_or(Value::Null);
            if let Some(o) = v.as_object_mut() {
                o.remove("action");
                o.remove("kept");
                o.insert("status".into(), status(s, a, b).into());
            }
            v
        })
        .collect()
}

/// How many item ids a line lists before it summarises.
const MAX_LISTED: usize = 12;

/// Every section that differs, with its items; then how many are the same.
pub(crate) fn changes_text(
    plan: &Plan,
    a: &Configuration,
    b: &Configuration,
    style: Style,
) -> String {
    let mut grid = crate::grid::Grid::headless(style);
    let mut details: Vec<String> = Vec::new();
    let mut same = 0;
    for s in &plan.sections {
        let st = status(s, a, b);
        if st == "same" {
            same += 1;
            continue;
        }
        let name = s.section.as_str();
        let label = match st {
            "only-in-a" => style.red("only in A"),
            "only-in-b" => style.green("only in B"),
            _ => style.yellow("changed"),
        };
        let items = |n: usize| if n == 1 { "item" } else { "items" };
        let mut parts = Vec::new();
        if !s.added.is_empty() {
            parts.push(format!("{} added", s.added.len()));
        }
        if !s.removed.is_empty() {
            parts.push(format!("{} removed", s.removed.len()));
        }
        if !s.changed.is_empty() {
            parts.push(format!("{} changed", s.changed.len()));
        }
        if !s.settings.is_empty() {
            parts.push("settings changed".into());
        }
        if s.reordered {
            parts.push("reordered".into());
        }
        let mut count = format!("{} → {} {}", s.items_before, s.items_after, items(s.items_after));
        if !parts.is_empty() {
            let _ = write!(count, " ({})", parts.join(", "));
        }
        grid.row([name.to_owned(), label, count]);
        let mut out = String::new();
        if !s.added.is_empty() {
            let _ = writeln!(out, "    {} {}", style.green("+"), id_list(&s.added));
        }
        if !s.removed.is_empty() {
            let _ = writeln!(out, "    {} {}", style.red("-"), id_list(&s.removed));
        }
        for c in &s.changed {
            let fields: Vec<String> = c.fields.iter().map(|f| clean(&f.field)).collect();
            let _ =
                writeln!(out, "    {} {}: {}", style.yellow("~"), clean(&c.id), fields.join(", "));
        }
        if !s.settings.is_empty() {
            let fields: Vec<String> = s.settings.iter().map(|f| clean(&f.field)).collect();
            let _ = writeln!(out, "    {} settings: {}", style.yellow("~"), fields.join(", "));
        }
        details.push(out);
    }
    let mut out = String::new();
    for (line, detail) in grid.lines().into_iter().zip(details) {
        let _ = writeln!(out, "{line}");
        out.push_str(&detail);
    }
    let differing = plan.sections.len() - same;
    if differing == 0 {
        let _ = writeln!(out, "No differences ({}).", plural(same, "section"));
    } else if same > 0 {
        let _ = writeln!(out, "{} the same.", plural_verb(same));
    }
    out
}

fn plural(n: usize, noun: &str) -> String {
    crate::import::plural(n, noun)
}

fn plural_verb(n: usize) -> String {
    if n == 1 { "1 other section is".into() } else { format!("{n} other sections are") }
}

fn id_list(ids: &[String]) -> String {
    let max = crate::render::max_listed(MAX_LISTED);
    let shown: Vec<String> = ids.iter().take(max).map(|i| clean(i)).collect();
    let mut s = shown.join(", ");
    if ids.len() > max {
        let _ = write!(s, ", … and {} more", ids.len() - MAX_LISTED);
    }
    s
}

/// Text from a file, safe for a terminal: control characters escaped (`\x1b`).
pub(crate) fn clean(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            let _ = write!(out, "\\x{:02x}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

/// `jimsctl history show N --target DIR`.
pub(crate) fn history_show(n: u64, t: TargetArgs, style: Style) -> Result<u8, Error> {
    let VersionChanges { info, previous, before, after, plan } =
        pipeline::diff::version_changes(&t.target, n)?;
    let holds: Vec<(&str, usize)> =
        after.sections_in_table_order().iter().map(|s| (s.id.as_str(), s.item_count())).collect();
    if t.output.format == OutputFormat::Json {
        let v = json!({
            "version": info,
            "previous": previous,
            "holds": holds.iter().map(|(id, n)| json!({"section": id, "items": n})).collect::<Vec<_>>(),
            "changes": sections_json(&plan, &before, &after),
        });
        out_json!(v);
        return Ok(0);
    }
    let mut head = format!(
        "Version {n}{}: {} at {}",
        if info.current { " (current)" } else { "" },
        info.action,
        info.time
    );
    if let Some(e) = &info.export {
        let _ = write!(head, ", from {}", clean(e));
    }
    if let Some(r) = info.restored {
        let _ = write!(head, ", restoring version {r}");
    }
    outln!("{head}.");
    let list: Vec<String> = holds.iter().map(|(id, n)| format!("{id} ({n})")).collect();
    outln!("Holds: {}.", if list.is_empty() { "nothing".to_owned() } else { list.join(", ") });
    match previous {
        Some(p) => outln!("Changes from version {p}:"),
        None => outln!("Changes from an empty folder:"),
    }
    out!("{}", changes_text(&plan, &before, &after, style));
    Ok(0)
}

/// `jimsctl rollback --dry-run`: what restoring the version would change, writing nothing.
pub(crate) fn rollback_dry_run(r: RollbackArgs, style: Style) -> Result<u8, Error> {
    let t = &r.target;
    let RollbackPreview { from: current, to, now, then, compared: right, plan, unreadable, edited } =
        pipeline::diff::rollback_preview(&t.target, r.to)?;
    let items_then = |id: pipeline::SectionId| then.get(id).map(|s| s.item_count());
    if t.output.format == OutputFormat::Json {
        let v = json!({
            "status": crate::exit::Exit::DryRun.word(),
            "from": current,
            "to": to,
            "would_be_version": current + 1,
            "changes": sections_json(&plan, &now, &right),
            "edited": edited.is_some() || !unreadable.is_empty(),
            "edited_files": edited.as_ref().map(|d| &d.files),
            "unreadable": unreadable.iter().map(|(id, why)| json!({
                "section": id.as_str(),
                "error": why,
                "items_after": items_then(*id),
            })).collect::<Vec<_>>(),
        });
        out_json!(v);
        return Ok(0);
    }
    outln!(
        "Dry run: rolling back {} from version {current} to version {to} would do this (nothing was written):",
        crate::render::path(&t.target)
    );
    out!("{}", changes_text(&plan, &now, &right, style));
    for (id, why) in &unreadable {
        let after = match items_then(*id) {
            Some(n) => format!("version {to}'s {n} {}", if n == 1 { "item" } else { "items" }),
            None => format!("nothing (version {to} does not hold it)"),
        };
        outln!(
            "{}  {}  its live file was changed by hand and no longer reads ({}); the rollback \
             replaces it with {after}.",
            id.as_str(),
            style.yellow("replaced"),
            clean(why)
        );
    }
    if edited.is_some() || !unreadable.is_empty() {
        let files = match &edited {
            Some(d) => {
                let list: Vec<String> =
                    d.files.iter().map(|f| format!("cwd/{}", clean(f.path))).collect();
                format!(" ({})", list.join(", "))
            }
            None => String::new(),
        };
        outln!(
            "{}: the live files were changed by hand since version {current}{files}. The rollback \
             replaces them; as they are now, hand edits included, they stay in the history as \
             version {current}.",
            style.yellow("Note")
        );
    }
    Ok(0)
}
