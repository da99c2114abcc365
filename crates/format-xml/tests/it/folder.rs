//! Server configuration folders: read, write, and the round trip through a bundle.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use format_xml::folder::{folder_files, native_file_paths, read_folder};
use format_xml::{ErrorKind, read_bundle, write_bundle};
use model::{Header, Scope, SectionId};

/// Writes the files of [`folder_files`] under `dir`, as a test's fixture (the crate itself
/// writes no file).
fn write_folder(config: &model::Configuration, dir: &Path) -> std::io::Result<()> {
    for (rel, bytes) in folder_files(config) {
        let path = dir.join(rel);
        fs::create_dir_all(path.parent().expect("a file under dir"))?;
        fs::write(path, bytes)?;
    }
    Ok(())
}

/// Every file under `dir`, by relative path.
fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(d) = todo.pop() {
        for entry in fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            } else {
                out.insert(path.strip_prefix(dir).unwrap().to_owned(), fs::read(&path).unwrap());
            }
        }
    }
    out
}

#[test]
fn write_then_read_a_full_folder() {
    let dir = tempfile::tempdir().unwrap();
    let config = samples::realistic_export(1).configuration;
    write_folder(&config, dir.path()).unwrap();
    let written = files(dir.path());
    let mut expected: Vec<PathBuf> =
        native_file_paths().map(|(_, p)| Path::new("cwd").join(p)).collect();
    expected.sort();
    assert_eq!(written.keys().cloned().collect::<Vec<_>>(), expected);
    assert!(
        written[&PathBuf::from("cwd/config/cache.xml")]
            .starts_with(b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<cache>\n")
    );

    let export = read_folder(dir.path()).unwrap();
    assert_eq!(export.header, Header::default());
    assert_eq!(export.configuration, config);
    assert_eq!(export.scope(), Scope::Full);
    // The cwd folder itself reads the same.
    assert_eq!(read_folder(&dir.path().join("cwd")).unwrap(), export);
}

#[test]
fn folder_files_are_the_native_files_in_order_and_write_nothing() {
    let config = samples::realistic_export(1).configuration;
    let listed = folder_files(&config);
    let expected: Vec<PathBuf> =
        native_file_paths().map(|(_, p)| Path::new("cwd").join(p)).collect();
    assert_eq!(listed.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>(), expected);
    // The same bytes as the files a folder holds, which read back as the configuration.
    let dir = tempfile::tempdir().unwrap();
    write_folder(&config, dir.path()).unwrap();
    assert_eq!(listed.into_iter().collect::<BTreeMap<_, _>>(), files(dir.path()));
    // Only the sections present.
    let mut partial = config;
    for id in SectionId::ALL {
        if id != SectionId::Transports {
            partial.remove(id);
        }
    }
    let paths: Vec<PathBuf> = folder_files(&partial).into_iter().map(|(p, _)| p).collect();
    assert_eq!(
        paths,
        [Path::new("cwd/config/clients_https.xml"), Path::new("cwd/config/clients_http.xml")]
    );
}

#[test]
fn folder_to_bundle_to_folder_gives_the_same_files() {
    let first = tempfile::tempdir().unwrap();
    write_folder(&samples::realistic_export(1).configuration, first.path()).unwrap();
    let bundle = write_bundle(&read_folder(first.path()).unwrap());
    let export = read_bundle(&bundle).unwrap();
    assert_eq!(export.header.scope(), Some(Scope::Full));
    let second = tempfile::tempdir().unwrap();
    write_folder(&export.configuration, second.path()).unwrap();
    assert_eq!(files(first.path()), files(second.path()));
}

#[test]
fn a_partial_folder_holds_the_sections_present() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path().join("cwd");
    fs::create_dir_all(cwd.join("config")).unwrap();
    fs::write(
        cwd.join("config/clients_http.xml"),
        "<xports><transport id=\"h\" port=\"80\"/></xports>",
    )
    .unwrap();
    fs::write(
        cwd.join("config/cache.xml"),
        "<!-- JIMS --><cache><config probe_timeout=\"30\"/></cache>",
    )
    .unwrap();
    fs::write(cwd.join("config/unrelated.txt"), "ignored").unwrap();
    let export = read_folder(dir.path()).unwrap();
    assert_eq!(export.configuration.ids(), [SectionId::Session, SectionId::Transports]);
    assert_eq!(export.scope(), Scope::Partial);
    let transports = export.configuration.get(SectionId::Transports).unwrap();
    assert_eq!(transports.files.len(), 1);
    assert_eq!(transports.files[0].path, "config/clients_http.xml");
    // A bundle written from it says partial and reads back.
    let bundle = write_bundle(&export);
    assert!(String::from_utf8_lossy(&bundle).contains("scope=\"partial\""));
    assert_eq!(read_bundle(&bundle).unwrap().configuration, export.configuration);
}

#[test]
fn folder_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let e = read_folder(dir.path()).unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::NoConfiguration);
    assert!(e.to_string().contains("no JIMS configuration file found"), "{e}");

    let e = read_folder(&dir.path().join("absent")).unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::Io);
    assert!(std::error::Error::source(&e).is_some());

    let config = dir.path().join("cwd/config");
    fs::create_dir_all(&config).unwrap();
    fs::write(config.join("srx_interface.xml"), "<SRXes>\n  <SRX id=\"a\">\n</SRXes>\n").unwrap();
    let e = read_folder(dir.path()).unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::Syntax);
    assert_eq!(e.path(), Some(config.join("srx_interface.xml").as_path()));
    assert_eq!((e.line(), e.column()), (Some(3), Some(1)));
    assert!(
        e.to_string().starts_with(&format!("{}:3:1: ", config.join("srx_interface.xml").display())),
        "{e}"
    );

    let file = dir.path().join("file.xml");
    fs::write(&file, "x").unwrap();
    assert_eq!(read_folder(&file).unwrap_err().kind(), &ErrorKind::NoConfiguration);
}
