//! The layout floor of `cargo xtask bench`: the least work any durable import of an export into
//! a fresh JIMS folder must do, with the crates jimsctl uses.
//!
//! For each export: read it, parse it (quick-xml events for XML, a `serde_json::Value` for
//! JSON), and write each section as its own native file into a fresh
//! `TARGET/cwd/config/…`, `TARGET/cwd/system/init/…` tree (5 folders, 11 files; a section the
//! export lacks is written as an empty document); then one `syncfs` for the whole run. No
//! sealing, no validation, no atomic switch, no history, no lock, no audit.

use std::io::Write as _;
use std::path::Path;
#[cfg(test)]
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use model::SectionId;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, Event};
use quick_xml::{Reader, Writer, XmlVersion};
use serde_json::Value;

/// The folders of a target, made in this order (the target itself first).
const FOLDERS: [&str; 5] = ["", "cwd", "cwd/config", "cwd/system", "cwd/system/init"];

/// Imports one export at `target` (which must not exist), without syncing.
pub(crate) fn import(export: &Path, target: &Path) -> Result<()> {
    let bytes = std::fs::read(export).with_context(|| format!("reading {}", export.display()))?;
    let files = if bytes.first() == Some(&b'<') { from_xml(&bytes)? } else { from_json(&bytes)? };
    for folder in FOLDERS {
        std::fs::create_dir(target.join(folder))?;
    }
    let cwd = target.join("cwd");
    for (rel, data) in files {
        let mut f = std::fs::File::create_new(cwd.join(rel))?;
        f.write_all(&data)?;
    }
    Ok(())
}

/// One `syncfs(2)` of the filesystem holding `dir`.
pub(crate) fn syncfs(dir: &Path) -> Result<()> {
    let f = std::fs::File::open(dir)?;
    rustix::fs::syncfs(&f).map_err(std::io::Error::from).context("syncfs")
}

/// Every native file (path relative to `cwd/`, the section that owns it) in a fixed order.
fn native_files() -> Vec<(&'static str, SectionId)> {
    SectionId::ALL.iter().flat_map(|&s| s.native_files().iter().map(move |&f| (f, s))).collect()
}

/// A native document being written: declaration first.
fn document() -> Writer<Vec<u8>> {
    let mut w = Writer::new(Vec::with_capacity(16 * 1024));
    let _ = w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)));
    let _ = w.get_mut().write_all(b"\n");
    w
}

/// The files of every section, the sections present in `got`, the others as empty documents.
fn complete(mut got: Vec<(&'static str, Vec<u8>)>) -> Vec<(&'static str, Vec<u8>)> {
    for (rel, section) in native_files() {
        if !got.iter().any(|(r, _)| *r == rel) {
            let mut w = document();
            let _ = w.write_event(Event::Empty(BytesStart::new(section.root_name())));
            got.push((rel, w.into_inner()));
        }
    }
    got
}

/// The native file of `section` named `file` (a transports file) or its only one.
fn native_path(section: SectionId, file: Option<&str>) -> Result<&'static str> {
    let files = section.native_files();
    match file {
        None => Ok(files[0]),
        Some(name) => files
            .iter()
            .find(|f| f.rsplit('/').next() == Some(name))
            .copied()
            .with_context(|| format!("no native file {name} in section {}", section.as_str())),
    }
}

/// XML: each `<section id>`'s content (for transports, each `<xports file>`'s) is copied, event
/// by event, into its own document.
fn from_xml(bytes: &[u8]) -> Result<Vec<(&'static str, Vec<u8>)>> {
    let mut reader = Reader::from_reader(bytes);
    let mut out = Vec::with_capacity(11);
    let mut depth = 0usize;
    let mut section: Option<SectionId> = None;
    // The document being written and its path, with the depth at which it ends.
    let mut current: Option<(&'static str, Writer<Vec<u8>>, usize)> = None;
    loop {
        let event = reader.read_event()?;
        match &event {
            Event::Eof => break,
            Event::Start(e) => {
                depth += 1;
                if current.is_none() {
                    if depth == 2 && e.name().as_ref() == "section" {
                        let id = attr(e, "id")?.context("a section without an id")?;
                        section = Some(
                            SectionId::parse(&id)
                                .with_context(|| format!("unknown section {id}"))?,
                        );
                        if section != Some(SectionId::Transports) {
                            current = Some((native_path(section.unwrap(), None)?, document(), 2));
                        }
                    } else if depth == 3 && section == Some(SectionId::Transports) {
                        let file = attr(e, "file")?.context("an xports without a file")?;
                        let rel = native_path(SectionId::Transports, Some(&file))?;
                        current = Some((rel, document(), 3));
                        let mut root = BytesStart::new("xports");
                        root.extend_attributes(e.attributes().filter_map(|a| a.ok()));
                        current.as_mut().unwrap().1.write_event(Event::Start(root))?;
                    }
                    continue;
                }
            }
            Event::End(_) => {
                if let Some((_, _, end)) = &current
                    && *end == depth
                {
                    let (rel, mut w, end) = current.take().unwrap();
                    if end == 3 {
                        w.write_event(Event::End(BytesEnd::new("xports")))?;
                    }
                    out.push((rel, w.into_inner()));
                }
                depth -= 1;
                if depth == 1 {
                    section = None;
                }
                if current.is_none() {
                    continue;
                }
            }
            _ => {
                if current.is_none() {
                    continue;
                }
            }
        }
        if let Some((_, w, _)) = &mut current {
            w.write_event(event)?;
        }
    }
    if depth != 0 {
        bail!("the export ends inside an element");
    }
    Ok(complete(out))
}

fn attr(e: &BytesStart<'_>, name: &str) -> Result<Option<String>> {
    for a in e.attributes() {
        let a = a?;
        if a.key.as_ref() == name {
            return Ok(Some(a.normalized_value(XmlVersion::Implicit1_0)?.into_owned()));
        }
    }
    Ok(None)
}

/// JSON: each member of `jims_export.sections` is written as XML (for transports, each member
/// of the section is one file): an object is an element whose scalar members are attributes
/// and whose objects and arrays are child elements.
fn from_json(bytes: &[u8]) -> Result<Vec<(&'static str, Vec<u8>)>> {
    let value: Value = serde_json::from_slice(bytes)?;
    let sections = value
        .get("jims_export")
        .and_then(|e| e.get("sections"))
        .and_then(Value::as_object)
        .context("no jims_export.sections")?;
    let mut out = Vec::with_capacity(11);
    for (id, content) in sections {
        let section = SectionId::parse(id).with_context(|| format!("unknown section {id}"))?;
        if section == SectionId::Transports {
            for (file, transports) in content.as_object().context("transports: an object")? {
                let mut w = document();
                element(&mut w, "xports", transports, section.item_name())?;
                out.push((native_path(section, Some(file))?, w.into_inner()));
            }
        } else {
            let mut w = document();
            element(&mut w, section.root_name(), content, section.item_name())?;
            out.push((native_path(section, None)?, w.into_inner()));
        }
    }
    Ok(complete(out))
}

/// Writes `value` as the element `name` (`item` names the elements of an array).
fn element(w: &mut Writer<Vec<u8>>, name: &str, value: &Value, item: &str) -> Result<()> {
    match value {
        Value::Array(items) => {
            w.write_event(Event::Start(BytesStart::new(name)))?;
            for v in items {
                element(w, item, v, item)?;
            }
            w.write_event(Event::End(BytesEnd::new(name)))?;
        }
        Value::Object(members) => {
            let mut start = BytesStart::new(name);
            let mut children = false;
            for (k, v) in members {
                match v {
                    Value::String(s) => start.push_attribute((k.as_str(), s.as_str())),
                    Value::Number(_) | Value::Bool(_) => {
                        start.push_attribute((k.as_str(), v.to_string().as_str()))
                    }
                    Value::Null => {}
                    _ => children = true,
                }
            }
            if !children {
                w.write_event(Event::Empty(start))?;
                return Ok(());
            }
            w.write_event(Event::Start(start))?;
            for (k, v) in members {
                if matches!(v, Value::Array(_) | Value::Object(_)) {
                    element(w, k, v, k)?;
                }
            }
            w.write_event(Event::End(BytesEnd::new(name)))?;
        }
        Value::String(s) => {
            w.write_event(Event::Start(BytesStart::new(name)))?;
            w.write_event(Event::Text(quick_xml::events::BytesText::new(s)))?;
            w.write_event(Event::End(BytesEnd::new(name)))?;
        }
        other => {
            let mut start = BytesStart::new(name);
            start.push_attribute(("value", other.to_string().as_str()));
            w.write_event(Event::Empty(start))?;
        }
    }
    Ok(())
}

/// The folders and files under `target` (for the tests below).
#[cfg(test)]
fn tree(target: &Path) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let mut dirs = Vec::new();
    let mut files = Vec::new();
    let mut stack = vec![target.to_path_buf()];
    while let Some(d) = stack.pop() {
        dirs.push(d.clone());
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() { stack.push(p) } else { files.push(p) }
        }
    }
    (dirs, files)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> PathBuf {
        crate::root().join("fixtures/exports").join(name)
    }

    #[test]
    fn both_formats_make_five_folders_and_eleven_native_files() {
        for name in ["full.xml", "full.json", "partial.xml", "partial.json"] {
            let tmp =
                std::env::temp_dir().join(format!("layout-floor-{}-{name}", std::process::id()));
            let _ = std::fs::remove_dir_all(&tmp);
            import(&fixture(name), &tmp).unwrap();
            let (dirs, files) = tree(&tmp);
            assert_eq!((dirs.len(), files.len()), (5, 11), "{name}");
            let https = std::fs::read_to_string(tmp.join("cwd/config/clients_https.xml")).unwrap();
            assert!(https.starts_with("<?xml"), "{name}: {https}");
            if name.starts_with("full") {
                assert!(https.contains("srx-https"), "{name}: {https}");
                let srx =
                    std::fs::read_to_string(tmp.join("cwd/config/srx_interface.xml")).unwrap();
                assert!(srx.contains("SRX"), "{name}");
            }
            std::fs::remove_dir_all(&tmp).unwrap();
        }
    }
}
