//! `jimsctl plugins list`: every library in the plugin folders, with its name, version, ABI
//! version and whether it is usable, or why not. Exits 0 whatever it finds: a broken library is
//! reported, not an error of this command.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use pipeline::Error;
use pipeline::sources::{self as registry, PluginInfo};
use serde_json::{Value, json};

use crate::args::{OutputFormat, PluginsCommand};
use crate::grid::Grid;
use crate::render::{self, escape_for_terminal};
use crate::term::Style;

/// Runs `jimsctl plugins …`.
pub(crate) fn run(command: PluginsCommand, style: Style) -> Result<u8, Error> {
    let PluginsCommand::List(output) = command;
    let folders = registry::plugin_dirs();
    let plugins = registry::plugins();
    if output.format == OutputFormat::Json {
        out_json!(list_json(folders, &plugins));
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
                let _ = writeln!(out, "  {} ({}, not searched)", render::path(d), origin(d));
                let why = e.reason();
                let why = why.strip_prefix("not searched: ").unwrap_or(why);
                let _ = writeln!(out, "    {}", escape_for_terminal(why));
            }
            None => {
                let missing = if d.is_dir() { "" } else { ", missing" };
                let _ = writeln!(out, "  {} ({}{missing})", render::path(d), origin(d));
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
    let esc = |t: &str| escape_for_terminal(t).into_owned();
    let rows: Vec<[String; 6]> = plugins
        .iter()
        .map(|p| {
            [
                p.name.as_deref().map_or_else(dash, esc),
                p.version.as_deref().map_or_else(dash, esc),
                p.abi.map(abi).unwrap_or_else(dash),
                match p.thread_safe {
                    Some(true) => "parallel".to_owned(),
                    Some(false) => "serial".to_owned(),
                    None => dash(),
                },
                if p.usable() { "usable".to_owned() } else { "unusable".to_owned() },
                render::path(&p.path),
            ]
        })
        .collect();
    // The status word alone coloured; a refusal's reason on its own line under its row.
    let mut grid = Grid::new(["Name", "Version", "ABI", "Calls", "Status", "File"], style);
    for (mut row, p) in rows.into_iter().zip(&plugins) {
        row[4] = if p.usable() { style.green(&row[4]) } else { style.red(&row[4]) };
        grid.row(row);
    }
    let lines = grid.lines();
    let _ = writeln!(out, "{}", lines[0]);
    for (line, p) in lines[1..].iter().zip(&plugins) {
        let _ = writeln!(out, "{line}");
        if let Some(e) = &p.error {
            let _ = writeln!(out, "    {}", escape_for_terminal(e.reason()));
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

    fn info(file: &str, name: &str, version: &str) -> PluginInfo {
        PluginInfo {
            path: PathBuf::from(file),
            name: Some(name.to_owned()),
            version: Some(version.to_owned()),
            abi: Some(registry::host_abi()),
            thread_safe: Some(true),
            error: None,
        }
    }

    #[test]
    fn wide_and_hostile_versions_keep_the_columns_and_never_panic() {
        let plugins = [
            info("/p/libwide.so", "wide", "版本一二三四五六七八九十"),
            info("/p/libesc.so", "esc", "1.0\x1b[2J\x1b]0;owned\x07\u{9b}31m"),
            info("/p/lib\nx.so", "plain", "1.0"),
        ];
        for on in [false, true] {
            let text = list_text(&[], &plugins, Style { on });
            assert!(!text.contains("\x1b[2J") && !text.contains('\u{9b}'), "{text:?}");
            assert!(!text.contains('\x07'), "{text:?}");
            assert!(text.contains(r"1.0\x1b[2J\x1b]0;owned\x07\u{9b}31m"), "{text}");
            assert!(text.contains(r"/p/lib\nx.so"), "{text}");
            // Every row's Status column starts at the same terminal column.
            let plain = text.replace("\x1b[32m", "").replace("\x1b[0m", "").replace("\x1b[1m", "");
            let at: Vec<usize> = plain
                .lines()
                .filter(|l| l.contains("usable") || l.contains("Status"))
                .map(|l| {
                    let cut = l.find("usable").or_else(|| l.find("Status")).unwrap();
                    render::width(&l[..cut])
                })
                .collect();
            assert_eq!(at.len(), 4, "{plain}");
            assert!(at.windows(2).all(|w| w[0] == w[1]), "{at:?}\n{plain}");
        }
    }
}
