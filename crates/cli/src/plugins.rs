//! `jimsctl plugins list`: every library in the plugin folders, with its name, version, ABI
//! version and whether it is usable, or why not. Exits 0 whatever it finds: a broken library is
//! reported, not an error of this command.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use pipeline::Error;
use pipeline::registry::{self, PluginInfo};
use serde_json::{Value, json};

use crate::args::{OutputFormat, PluginsCommand};
use crate::term::Style;

/// Runs `jimsctl plugins …`.
pub(crate) fn run(command: PluginsCommand, style: Style) -> Result<u8, Error> {
    let PluginsCommand::List(output) = command;
    let r = pipeline::default_registry();
    let folders = r.plugin_dirs();
    let plugins = r.plugins();
    if output.format == OutputFormat::Json {
        outln!("{:#}", list_json(folders, &plugins));
    } else {
        out!("{}", list_text(folders, &plugins, style));
    }
    Ok(0)
}

/// `major.minor`.
fn abi((major, minor): (u32, u32)) -> String {
    format!("{major}.{minor}")
}

/// Where a plugin folder comes from.
fn origin(dir: &Path) -> &'static str {
    let from_env: Vec<PathBuf> = std::env::var_os(registry::PLUGIN_PATH_VAR)
        .map(|v| std::env::split_paths(&v).collect())
        .unwrap_or_default();
    if from_env.iter().any(|d| d == dir) { registry::PLUGIN_PATH_VAR } else { "beside jimsctl" }
}

fn list_json(folders: &[PathBuf], plugins: &[PluginInfo]) -> Value {
    json!({
        "abi": abi(registry::host_abi()),
        "folders": folders.iter().map(|d| json!({
            "path": d.display().to_string(),
            "from": origin(d),
            "exists": d.is_dir(),
        })).collect::<Vec<_>>(),
        "plugins": plugins.iter().map(|p| json!({
            "file": p.path.display().to_string(),
            "name": p.name,
            "version": p.version,
            "abi": p.abi.map(abi),
            "thread_safe": p.thread_safe,
            "usable": p.usable(),
            "error": p.error.as_ref().map(|e| e.reason().to_owned()),
        })).collect::<Vec<_>>(),
    })
}

fn list_text(folders: &[PathBuf], plugins: &[PluginInfo], style: Style) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Plugin folders, searched in this order (jimsctl speaks plugin ABI {}):",
        abi(registry::host_abi())
    );
    if folders.is_empty() {
        let _ = writeln!(out, "  (none)");
    }
    // A folder refused as untrusted is reported here, with why, not as a row of the table.
    fn refused<'p>(p: &'p PluginInfo, folders: &[PathBuf]) -> Option<&'p registry::LoadError> {
        p.error
            .as_ref()
            .filter(|e| e.kind() == registry::LoadErrorKind::Untrusted)
            .filter(|_| folders.contains(&p.path))
    }
    for d in folders {
        match plugins.iter().find(|p| p.path == *d).and_then(|p| refused(p, folders)) {
            Some(e) => {
                let _ = writeln!(out, "  {} ({}, not searched)", d.display(), origin(d));
                let why = e.reason();
                let _ = writeln!(out, "    {}", why.strip_prefix("not searched: ").unwrap_or(why));
            }
            None => {
                let missing = if d.is_dir() { "" } else { ", missing" };
                let _ = writeln!(out, "  {} ({}{missing})", d.display(), origin(d));
            }
        }
    }
    let _ = writeln!(out);
    let plugins: Vec<&PluginInfo> =
        plugins.iter().filter(|p| refused(p, folders).is_none()).collect();
    if plugins.is_empty() {
        let _ = writeln!(
            out,
            "No plugin library found. Put plugin libraries (*{}) in one of these folders, or set \
             {} to the folders that hold them.",
            std::env::consts::DLL_SUFFIX,
            registry::PLUGIN_PATH_VAR
        );
        return out;
    }
    let dash = || "-".to_owned();
    let rows: Vec<[String; 6]> = plugins
        .iter()
        .map(|p| {
            [
                p.name.clone().unwrap_or_else(dash),
                p.version.clone().unwrap_or_else(dash),
                p.abi.map(abi).unwrap_or_else(dash),
                match p.thread_safe {
                    Some(true) => "parallel".to_owned(),
                    Some(false) => "serial".to_owned(),
                    None => dash(),
                },
                if p.usable() { "usable".to_owned() } else { "unusable".to_owned() },
                p.path.display().to_string(),
            ]
        })
        .collect();
    let headers = ["Name", "Version", "ABI", "Calls", "Status", "File"];
    let mut widths = headers.map(str::len);
    for row in &rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: &[String; 6]| {
        let padded: Vec<String> =
            cells.iter().zip(widths).map(|(c, w)| format!("{c:w$}")).collect();
        padded.join("  ").trim_end().to_owned()
    };
    let _ = writeln!(out, "{}", style.bold(&line(&headers.map(str::to_owned))));
    for (row, p) in rows.iter().zip(plugins) {
        let text = line(row);
        // Colour only the status word, which sits after the first four padded columns.
        let at: usize = widths[..4].iter().map(|w| w + 2).sum();
        let (head, tail) = text.split_at(at.min(text.len()));
        let status = &row[4];
        let painted = if p.usable() { style.green(status) } else { style.red(status) };
        let _ = writeln!(out, "{head}{painted}{}", &tail[status.len().min(tail.len())..]);
        if let Some(e) = &p.error {
            let _ = writeln!(out, "    {}", e.reason());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_list_says_where_to_put_plugins() {
        let text = list_text(&["/no/such/folder".into()], &[], Style { on: false });
        assert!(text.contains("  /no/such/folder (beside jimsctl, missing)"), "{text}");
        assert!(text.contains("No plugin library found."), "{text}");
        let v = list_json(&[], &[]);
        assert_eq!(v["plugins"], json!([]));
        assert_eq!(v["abi"], abi(registry::host_abi()));
    }
}
