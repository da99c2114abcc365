//! Rendering outcomes for people (text) and for programs (JSON). Only this module and main
//! print. No secret ever reaches here: the pipeline's results hold none.
//!
//! Text that came from outside (ids, Data, Username, element names, paths, plugin versions…)
//! passes [`escape_for_terminal`] where it is formatted, and columns are measured in terminal
//! cells ([`width`]), not in bytes or characters.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::path::Path;

use unicode_width::UnicodeWidthStr;

use pipeline::folder::VersionInfo;
use pipeline::{Action, Outcome, PARTIAL_WARNING, Plan, Status, Table};
use serde_json::{Value, json};

use crate::grid::Grid;
use crate::term::Style;

/// Whether `c` is a character a terminal may obey or that reorders what it shows, and which
/// `serde_json` leaves raw: DEL, the C1 controls (U+0080–U+009F: U+009B is a CSI on some
/// terminals) and the bidirectional marks, embeddings, overrides and isolates.
pub(crate) fn is_hidden_control(c: char) -> bool {
    matches!(
        c,
        '\u{7f}'..='\u{9f}'
            | '\u{61c}'
            | '\u{200e}'
            | '\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}'
    )
}

/// Whether `c` is shown escaped: every C0 control (newline and tab included), DEL, the C1
/// controls and the bidirectional formatting characters.
fn needs_escape(c: char) -> bool {
    c < ' ' || is_hidden_control(c)
}

/// Appends `c` escaped: `\t`, `\n`, `\r`, `\x1b` below U+0080, `\u{9b}` above.
fn push_escaped(out: &mut String, c: char) {
    match c {
        '\t' => out.push_str("\\t"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        c if (c as u32) < 0x80 => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
}

/// `text` with every control character escaped as git and ls quote odd names (`\x1b`, `\t`,
/// `\n`, `\u{9b}`), so that nothing from an input moves the cursor, changes colours, clears
/// the screen or starts a new line on a terminal. Backslashes are left as they are
/// (`CORP\svc` stays readable). Borrowed when there is nothing to escape.
pub(crate) fn escape_for_terminal(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if needs_escape(c) { push_escaped(&mut out, c) } else { out.push(c) }
    }
    Cow::Owned(out)
}

/// A path as a terminal may show it (see [`escape_for_terminal`]).
pub(crate) fn path(p: &Path) -> String {
    escape_for_terminal(&p.display().to_string()).into_owned()
}

/// The last line of defence at the print boundary: every control character of `text` escaped
/// but the newlines and jimsctl's own colours (the exact sequences [`Style`] writes).
pub(crate) fn terminal_safe(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| c != '\n' && needs_escape(c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if c == '\x1b'
            && let Some(own) = Style::SEQUENCES.iter().find(|s| rest.starts_with(*s))
        {
            out.push_str(own);
            rest = &rest[own.len()..];
            continue;
        }
        if c != '\n' && needs_escape(c) {
            push_escaped(&mut out, c)
        } else {
            out.push(c)
        }
        rest = &rest[c.len_utf8()..];
    }
    Cow::Owned(out)
}

/// An error's message for a terminal: every control character escaped, while the problems of
/// an invalid configuration keep one line each.
pub(crate) fn error_text(e: &pipeline::Error) -> String {
    let text = e.to_string();
    if let pipeline::ErrorKind::Invalid(problems) = e.kind() {
        let list: Vec<String> = problems.iter().map(|p| format!("  - {p}")).collect();
        let head = text.strip_suffix(list.join("\n").as_str()).and_then(|h| h.strip_suffix('\n'));
        if let (Some(head), false) = (head, problems.is_empty()) {
            let mut out = escape_for_terminal(head).into_owned();
            for p in problems {
                out.push_str("\n  - ");
                out.push_str(&escape_for_terminal(&p.to_string()));
            }
            return out;
        }
    }
    escape_for_terminal(&text).into_owned()
}

/// How many terminal cells `text` takes (wide characters count two).
pub(crate) fn width(text: &str) -> usize {
    UnicodeWidthStr::width(text)
}

/// `text` padded with spaces to `cells` terminal cells.
pub(crate) fn pad(text: &str, cells: usize) -> String {
    let mut out = String::with_capacity(text.len() + cells);
    out.push_str(text);
    out.extend(std::iter::repeat_n(' ', cells.saturating_sub(width(text))));
    out
}

/// The label `name` of a block of labelled lines whose labels are `labels` (`name` among them):
/// `name:` padded so that every line's value starts in the same column, one space after the
/// longest label (`jimsctl status`, `remote fingerprint`).
pub(crate) fn label(labels: &[&str], name: &str) -> String {
    debug_assert!(labels.contains(&name), "{name} is one of the block's labels");
    let widest = labels.iter().map(|l| width(l)).max().unwrap_or(0);
    pad(&format!("{name}:"), widest + 2)
}

/// The columns of the Add Missing Passwords table, as the brief names them.
pub(crate) const TABLE_HEADERS: [&str; 7] =
    ["Index", "Type", "Data Type", "Data", "Username", "Password", "Template"];

/// The cells of every row of the table (escaped for a terminal), and the width of each column
/// in terminal cells (headers included).
pub(crate) fn table_cells(table: &Table) -> (Vec<[String; 7]>, [usize; 7]) {
    let rows: Vec<[String; 7]> = table
        .rows
        .iter()
        .map(|r| {
            let esc = |t: &str| escape_for_terminal(t).into_owned();
            [
                r.index.to_string(),
                esc(r.type_label),
                esc(&r.data_type),
                esc(&r.data),
                esc(r.username.as_deref().unwrap_or_default()),
                if r.is_fixed() { "OK".to_owned() } else { "missing".to_owned() },
                esc(r.template.as_deref().unwrap_or_default()),
            ]
        })
        .collect();
    let mut widths = TABLE_HEADERS.map(width);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(width(cell));
        }
    }
    (rows, widths)
}

/// The Add Missing Passwords table, as the brief has it, with the status line.
pub(crate) fn table(table: &Table, style: Style) -> String {
    table_with(table, style, false)
}

/// [`table`], with a last column `Key` when `keys`: the secret key that answered a fixed row,
/// the item's own key (the first asked) for a missing one.
pub(crate) fn table_with(table: &Table, style: Style, keys: bool) -> String {
    let (rows, _) = table_cells(table);
    let mut headers = TABLE_HEADERS.to_vec();
    if keys {
        headers.push("Key");
    }
    let mut grid = Grid::new(headers, style);
    // The Password column is coloured in the rows (red missing, green OK), not in the header,
    // which is bold as a whole.
    for (mut cells, r) in rows.into_iter().zip(&table.rows) {
        cells[5] = if r.is_fixed() { style.green(&cells[5]) } else { style.red(&cells[5]) };
        let mut cells = cells.to_vec();
        if keys {
            let key = r.answered_key().unwrap_or_else(|| r.key());
            cells.push(escape_for_terminal(key.as_str()).into_owned());
        }
        grid.row(cells);
    }
    let mut out = grid.render();
    let _ = writeln!(out, "{}", status_line(table));
    out
}

/// `Total: T  Fixed: F  Remaining: R`.
pub(crate) fn status_line(table: &Table) -> String {
    format!("Total: {}  Fixed: {}  Remaining: {}", table.total(), table.fixed(), table.remaining())
}

/// The plan, section by section: one aligned row each (name, action, items before and after,
/// what changed), the ids under it.
pub(crate) fn plan(plan: &Plan, style: Style) -> String {
    let mut grid = Grid::headless(style).indent(2);
    let mut details: Vec<String> = Vec::new();
    for s in &plan.sections {
        let name = s.section.as_str();
        let mut detail = String::new();
        match s.action {
            Action::Untouched => grid.row([name, "untouched"]),
            Action::Replaced | Action::Merged => {
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
                if !s.kept.is_empty() {
                    parts.push(format!("{} kept", s.kept.len()));
                }
                if parts.is_empty() {
                    parts.push("no item changes".into());
                }
                grid.row([
                    name.to_owned(),
                    style.yellow(s.action.as_str()),
                    format!(
                        "{} → {} {} ({})",
                        s.items_before,
                        s.items_after,
                        if s.items_after == 1 { "item" } else { "items" },
                        parts.join(", ")
                    ),
                ]);
                if !s.added.is_empty() {
                    let _ = writeln!(detail, "      + {}", id_list(&s.added));
                }
                if !s.removed.is_empty() {
                    let _ = writeln!(detail, "      - {}", id_list(&s.removed));
                }
                if !s.kept.is_empty() {
                    let _ = writeln!(
                        detail,
                        "      = {} (kept: already on the target)",
                        id_list(&s.kept)
                    );
                }
                for c in s.changed.iter().take(max_listed(MAX_LISTED)) {
                    let fields: Vec<Cow<'_, str>> =
                        c.fields.iter().map(|f| escape_for_terminal(&f.field)).collect();
                    let _ = writeln!(
                        detail,
                        "      ~ {}: {}",
                        escape_for_terminal(&c.id),
                        fields.join(", ")
                    );
                }
                if s.changed.len() > max_listed(MAX_LISTED) {
                    let _ = writeln!(
                        detail,
                        "      ~ … and {} more changed",
                        s.changed.len() - MAX_LISTED
                    );
                }
            }
        }
        details.push(detail);
    }
    let mut out = String::new();
    for (line, detail) in grid.lines().into_iter().zip(details) {
        let _ = writeln!(out, "{line}");
        out.push_str(&detail);
    }
    out
}

/// How much the text output says (`-q`, `-v`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verbosity {
    /// `-q`: the outcome's first line only.
    Quiet,
    /// The default.
    Normal,
    /// `-v`: every item, no list cut short.
    Verbose,
}

static VERBOSITY: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(1);

/// Sets `-q`/`-v` for the process.
pub(crate) fn set_verbosity(v: Verbosity) {
    VERBOSITY.store(v as u8, std::sync::atomic::Ordering::Relaxed);
}

/// `-q`/`-v` as set.
pub(crate) fn verbosity() -> Verbosity {
    match VERBOSITY.load(std::sync::atomic::Ordering::Relaxed) {
        0 => Verbosity::Quiet,
        2 => Verbosity::Verbose,
        _ => Verbosity::Normal,
    }
}

/// How many item ids or changed items a text list shows before it summarises (all with `-v`).
pub(crate) fn max_listed(normal: usize) -> usize {
    if verbosity() == Verbosity::Verbose { usize::MAX } else { normal }
}

/// How many item ids or changed items the text plan lists before it summarises.
const MAX_LISTED: usize = 8;

/// `a, b, c, … and 12 more`.
fn id_list(ids: &[String]) -> String {
    let shown: Vec<Cow<'_, str>> =
        ids.iter().take(max_listed(MAX_LISTED)).map(|id| escape_for_terminal(id)).collect();
    let mut s = shown.join(", ");
    if ids.len() > max_listed(MAX_LISTED) {
        let _ = write!(s, ", … and {} more", ids.len() - MAX_LISTED);
    }
    s
}

fn passwords_json(table: &Table) -> Value {
    json!({"total": table.total(), "fixed": table.fixed(), "remaining": table.remaining()})
}

/// Which sources fixed how many rows, e.g. `file: 12, env: 1`.
fn sources_summary(table: &Table) -> String {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for r in &table.rows {
        if let Some(s) = &r.source {
            match counts.iter_mut().find(|(k, _)| k == s) {
                Some((_, n)) => *n += 1,
                None => counts.push((s.clone(), 1)),
            }
        }
    }
    counts
        .iter()
        .map(|(k, n)| format!("{}: {n}", escape_for_terminal(k)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `import` in text; a dry run (`dry_run`) shows the plan and the partial-import warning even
/// when passwords are missing, since the plan is what it is for.
pub(crate) fn import_text(
    o: &Outcome,
    export: &str,
    target: &str,
    dry_run: bool,
    style: Style,
) -> String {
    let mut out = String::new();
    let sections: Vec<&str> = o.sections.iter().map(|s| s.as_str()).collect();
    let (export, target) = (escape_for_terminal(export), escape_for_terminal(target));
    let head = match o.status {
        Status::Imported => format!(
            "Imported {export} ({}) into {target}{}: version {}.",
            o.format,
            if o.creates_target { " (created)" } else { "" },
            o.version.unwrap_or_default()
        ),
        Status::Unchanged => format!(
            "Nothing to import: {target} already holds what {export} ({}) holds, so no new \
             version was made (it is still at version {}).",
            o.format,
            o.version.unwrap_or_default()
        ),
        Status::DryRun => format!(
            "Dry run: importing {export} ({}) into {target}{} would do this (nothing was written):",
            o.format,
            if o.creates_target { " (would be created)" } else { "" }
        ),
        Status::MissingPasswords if dry_run => format!(
            "Dry run: importing {export} ({}) into {target} would stop: {} missing \
             (nothing was written). It would do this once {} given:",
            o.format,
            crate::import::plural(o.table.remaining(), "password"),
            if o.table.remaining() == 1 { "it is" } else { "they are" }
        ),
        Status::MissingPasswords => format!(
            "Cannot import {export} into {target} yet: {} missing. Nothing was written.",
            crate::import::plural(o.table.remaining(), "password")
        ),
        Status::WarningNotAccepted => format!(
            "The partial-import warning was not accepted; nothing was written.\n\
             Run again with --accept-warning to import {} into {target}; {}.",
            sections.join(", "),
            match o.table.total() {
                0 => "it needs no password".to_owned(),
                1 => "it needs 1 password that the export does not carry usably".to_owned(),
                n => format!("it needs {n} passwords that the export does not carry usably"),
            }
        ),
    };
    let _ = writeln!(out, "{head}");
    if o.status == Status::WarningNotAccepted {
        return out;
    }
    if o.partial {
        if dry_run {
            let _ = writeln!(out, "Warning: {PARTIAL_WARNING}");
        }
        let _ = writeln!(out, "Partial import of: {}.", sections.join(", "));
    }
    let t = &o.table;
    if let (Some(p), true) = (&o.plan, dry_run || o.status != Status::MissingPasswords) {
        out.push_str(&plan(p, style));
    }
    if o.status == Status::MissingPasswords {
        let _ = writeln!(out, "\nAdd Missing Passwords");
        out.push_str(&table(t, style));
        out.push_str(&foreign_keys_note(o));
        let _ = writeln!(
            out,
            "\nGive them with --secrets (env, file:PATH, dir:PATH, cmd:PROGRAM, \
             plugin:NAME[:CONFIG], prompt); `jimsctl passwords … --emit secrets.toml` writes a \
             file to fill in."
        );
        return out;
    }
    let mut line = format!("Passwords: {} to resolve, {} fixed", t.total(), t.fixed());
    let by_source = sources_summary(t);
    if !by_source.is_empty() {
        let _ = write!(line, " ({by_source})");
    }
    if o.sealed_plaintext > 0 {
        let _ = write!(
            line,
            "; {} in the export {} sealed",
            crate::import::plural(o.sealed_plaintext, "plaintext password"),
            if o.sealed_plaintext == 1 { "was" } else { "were" }
        );
    }
    if o.resealed > 0 {
        let _ = write!(line, "; {} re-sealed from the source key", o.resealed);
    }
    let _ = writeln!(out, "{line}.");
    out
}

/// The rows still missing because the export holds them sealed under another server's key,
/// by key id: `(key id, rows)`.
fn foreign_missing(o: &Outcome) -> Vec<(&str, usize)> {
    o.foreign_keys
        .iter()
        .map(|(id, rows)| {
            let missing = rows
                .iter()
                .filter(|i| o.table.rows.iter().any(|r| r.index == **i && !r.is_fixed()))
                .count();
            (id.as_str(), missing)
        })
        .filter(|(_, n)| *n > 0)
        .collect()
}

/// Said once, rather than a "missing" per row: these passwords are in the export, sealed under
/// another server's key, and `--source-key` with that key re-seals them.
pub(crate) fn foreign_keys_note(o: &Outcome) -> String {
    let foreign = foreign_missing(o);
    if foreign.is_empty() {
        return String::new();
    }
    let server = match &o.export_server_id {
        Some(s) => format!("server '{}' (as the export's header says)", crate::diff::clean(s)),
        None => "another server (the export's header does not name it)".to_owned(),
    };
    let mut out = String::new();
    for (id, n) in &foreign {
        let rows = if *n == 1 {
            "1 of these passwords is".to_owned()
        } else {
            format!("{n} of these passwords are")
        };
        let _ = writeln!(
            out,
            "\n{rows} in the export, sealed under key id {id} of {server}, not under this folder's key."
        );
    }
    let _ = writeln!(
        out,
        "Give that server's key with --source-key FILE (its .jims-import/server.key; `jimsctl key id \
         --target DIR` there prints its key id) and they are re-sealed instead of asked."
    );
    out
}

/// The foreign keys as JSON: `[{"key_id", "server_id", "rows"}]`, rows still missing.
pub(crate) fn foreign_keys_json(o: &Outcome) -> Value {
    foreign_missing(o)
        .into_iter()
        .map(|(id, n)| json!({"key_id": id, "server_id": o.export_server_id, "rows": n}))
        .collect()
}

/// `import` as one JSON object; a dry run of a partial import carries the warning's text.
pub(crate) fn import_json(o: &Outcome, export: &str, target: &str, dry_run: bool) -> Value {
    let status = crate::exit::Exit::of_import(o.status).word();
    let mut v = json!({
        "status": status,
        "export": export,
        "target": target,
        "format": o.format,
        "sections": o.sections.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        "partial": o.partial,
        "created": o.creates_target && o.status == Status::Imported,
        "passwords": passwords_json(&o.table),
        "sealed_plaintext": o.sealed_plaintext,
        "resealed": o.resealed,
    });
    if let Some(p) = &o.plan {
        v["plan"] = serde_json::to_value(p).unwrap_or(Value::Null);
    }
    if o.partial && (dry_run || o.status == Status::WarningNotAccepted) {
        v["warning"] = PARTIAL_WARNING.into();
    }
    if let Some(version) = o.version {
        v["version"] = version.into();
    }
    if o.status == Status::MissingPasswords {
        v["items"] = table_json(&o.table)["items"].clone();
        v["foreign_keys"] = foreign_keys_json(o);
    }
    v
}

/// The table as `passwords --format json` gives it.
pub(crate) fn table_json(table: &Table) -> Value {
    serde_json::to_value(table.to_json()).unwrap_or(Value::Null)
}

/// `history` as a table for people, the current version marked with `*`.
pub(crate) fn history(versions: &[VersionInfo], style: Style) -> String {
    // The current version is marked with `*` before its number, the others with a space.
    let mut grid = Grid::new([" Version", "Time", "Action", "Export", "Sections"], style);
    for v in versions {
        grid.row([
            format!("{}{}", if v.current { "*" } else { " " }, v.version),
            escape_for_terminal(&v.time).into_owned(),
            escape_for_terminal(&v.action).into_owned(),
            match (&v.export, v.restored) {
                (Some(e), _) => escape_for_terminal(e).into_owned(),
                (None, Some(n)) => format!("restores version {n}"),
                (None, None) => "-".into(),
            },
            v.sections.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(","),
        ]);
    }
    grid.render()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_control_character_is_escaped_as_git_quotes_names() {
        assert!(matches!(escape_for_terminal("DC1 CORP\\svc é 版"), Cow::Borrowed(_)));
        let cases = [
            ("a\x1b[31mred", r"a\x1b[31mred"),
            ("tab\there", r"tab\there"),
            ("two\nlines\r", r"two\nlines\r"),
            ("nul\0bel\x07bs\x08del\x7f", r"nul\x00bel\x07bs\x08del\x7f"),
            ("csi\u{9b}2J nel\u{85}", r"csi\u{9b}2J nel\u{85}"),
            ("rtl\u{202e}txt.exe\u{2066}", r"rtl\u{202e}txt.exe\u{2066}"),
            ("osc\x1b]0;title\x07", r"osc\x1b]0;title\x07"),
        ];
        for (raw, shown) in cases {
            let escaped = escape_for_terminal(raw);
            assert_eq!(escaped, shown);
            assert!(!escaped.chars().any(needs_escape), "{escaped:?}");
            // Escaping what is escaped changes nothing.
            assert_eq!(escape_for_terminal(&escaped), escaped);
        }
        assert_eq!(path(Path::new("/tmp/a\x1bb/c\nd")), r"/tmp/a\x1bb/c\nd");
    }

    #[test]
    fn the_print_boundary_lets_only_newlines_and_our_own_colours_through() {
        let style = Style { on: true };
        let ours = format!("{} {}\n{}\n", style.red("missing"), style.bold("T"), style.green("OK"));
        assert_eq!(terminal_safe(&ours), ours);
        let hostile = "x\x1b[8mhidden\x1b[2J\x1b]0;t\x07\r\u{9b}1m\ty\n";
        assert_eq!(
            terminal_safe(hostile),
            "x\\x1b[8mhidden\\x1b[2J\\x1b]0;t\\x07\\r\\u{9b}1m\\ty\n"
        );
        // One of our sequences inside input text survives only as ours would: it colours.
        assert_eq!(terminal_safe("\x1b[0m\x1b[0"), "\x1b[0m\\x1b[0");
    }

    #[test]
    fn an_error_is_one_escaped_line_but_a_list_of_problems_keeps_its_lines() {
        let e = pipeline::Error::new(pipeline::ErrorKind::Input, "cannot read /x/\x1b[2Jy\nz.xml");
        assert_eq!(error_text(&e), r"cannot read /x/\x1b[2Jy\nz.xml");
    }

    #[test]
    fn the_table_header_is_bold_as_a_whole_and_never_red() {
        let out = table(&Table::default(), Style { on: true });
        let header = out.lines().next().unwrap();
        assert!(header.starts_with("\x1b[1mIndex"), "{header:?}");
        assert!(header.ends_with("Template\x1b[0m"), "{header:?}");
        assert_eq!(header.matches("\x1b[").count(), 2, "{header:?}");
    }
}
