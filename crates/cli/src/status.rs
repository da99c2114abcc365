//! `jimsctl status --target DIR`: server, key id, version, hand edits since that version, and
//! the remote's last push.

use pipeline::Error;
use serde_json::json;

use crate::args::{OutputFormat, StatusArgs};
use crate::diff::clean;
use crate::term::Style;

/// `jimsctl status`: 0 (or, with `--exit-code`, 1 when the live files were changed by hand).
pub(crate) fn run(a: StatusArgs, style: Style) -> Result<u8, Error> {
    let dir = &a.target.target;
    let s = pipeline::status::status(dir)?;
    let edited = s.drift.as_ref().is_some_and(|d| !d.is_clean());
    if a.target.output.format == OutputFormat::Json {
        let v = json!({
            "target": dir.display().to_string(),
            "server_id": s.server_id,
            "key_id": s.key_id,
            "version": s.version,
            "current": s.current,
            "edited": s.drift.as_ref().map(|d| !d.is_clean()),
            "files": s.drift.as_ref().map(|d| &d.files),
            "sections": s.drift.as_ref().map(|d| &d.sections),
            "remote": s.remote,
            "last_push": s.last_push,
        });
        out_json!(v);
        return Ok(if a.exit_code && edited { 1 } else { 0 });
    }
    outln!("{}{}", label("Folder"), dir.display());
    outln!("{}{}", label("Server"), clean(&s.server_id));
    outln!("{}{}", label("Key id"), s.key_id);
    match &s.current {
        Some(v) => {
            let mut line = format!("{}{} ({} at {}", label("Version"), s.version, v.action, v.time);
            if let Some(e) = &v.export {
                line.push_str(&format!(", from {}", clean(e)));
            }
            if let Some(r) = v.restored {
                line.push_str(&format!(", restoring version {r}"));
            }
            outln!("{line})");
        }
        None => outln!("{}{}", label("Version"), s.version),
    }
    match &s.drift {
        None => outln!(
            "{}cannot tell whether they were edited by hand (version {} was written before \
             jimsctl recorded what it wrote; the next import or rollback records it)",
            label("Live files"),
            s.version
        ),
        Some(d) if d.is_clean() => {
            outln!(
                "{}{} (no hand edits since version {})",
                label("Live files"),
                style.green("unchanged"),
                s.version
            )
        }
        Some(d) => {
            outln!(
                "{}{} by hand since version {}:",
                label("Live files"),
                style.yellow("changed"),
                s.version
            );
            let mut files = crate::grid::Grid::headless(style).indent(2);
            for f in &d.files {
                let change = serde_json::to_value(f.change)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                files.row([change, format!("cwd/{}", clean(f.path))]);
            }
            out!("{}", files.render());
            for sec in &d.sections {
                if let Some(why) = &sec.unreadable {
                    outln!("  {}: its items cannot be told: {}", sec.section.as_str(), clean(why));
                    continue;
                }
                let mut parts = Vec::new();
                let list =
                    |ids: &[String]| ids.iter().map(|i| clean(i)).collect::<Vec<_>>().join(", ");
                if !sec.changed.is_empty() {
                    parts.push(format!("changed {}", list(&sec.changed)));
                }
                if !sec.added.is_empty() {
                    parts.push(format!("added {}", list(&sec.added)));
                }
                if !sec.removed.is_empty() {
                    parts.push(format!("removed {}", list(&sec.removed)));
                }
                if parts.is_empty() {
                    parts
                        .push("no item differs (only layout or the section's own settings)".into());
                }
                outln!("  {}: {}", sec.section.as_str(), parts.join("; "));
            }
        }
    }
    match (&s.remote, &s.last_push) {
        (None, _) => outln!("{}none set", label("Remote")),
        (Some(r), push) => {
            let url = r.url.as_deref().map(clean).unwrap_or_else(|| "(no URL)".into());
            let user =
                r.user.as_deref().map(|u| format!(" (user {})", clean(u))).unwrap_or_default();
            outln!("{}{url}{user}", label("Remote"));
            match push {
                Some(p) => {
                    let version = p
                        .version
                        .map(|v| format!("version {v}"))
                        .unwrap_or_else(|| "a version".into());
                    let time =
                        p.time.as_deref().map(|t| format!(" at {}", clean(t))).unwrap_or_default();
                    let behind = match p.version {
                        Some(v) if v < s.version => {
                            format!("; the folder is now at version {}", s.version)
                        }
                        _ => String::new(),
                    };
                    outln!("{}{version}{time}{behind}", label("Last push"));
                }
                None => outln!("{}never", label("Last push")),
            }
        }
    }
    Ok(if a.exit_code && edited { 1 } else { 0 })
}

/// Every label of the status block, so that their values line up.
const LABELS: [&str; 7] =
    ["Folder", "Server", "Key id", "Version", "Live files", "Remote", "Last push"];

/// `name:` as the status block's label (see [`crate::render::label`]).
fn label(name: &str) -> String {
    crate::render::label(&LABELS, name)
}
