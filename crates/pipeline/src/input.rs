//! The formats of an export, and reading one: an XML bundle, a JSON bundle or a server
//! configuration folder, recognised by content rather than by extension.
//!
//! The formats are a closed, typed list, [`ExportFormat`]: reading and writing each one is a
//! `match` here on its variant, calling its crate (`format-xml`, `format-json`). A new format is
//! a new variant, and the compiler then names every place to extend (reading, writing, and what
//! `export`, `convert` and `diff` do with it). Nothing is looked up by name at run time: only
//! secret sources are (see `crate::sources`).

use std::fmt;
use std::path::Path;

use model::Export;

use crate::error::{Error, ErrorKind};

/// The largest export file read, in bytes: the readers' limit ([`model::read::MAX_INPUT_BYTES`],
/// 256 MiB). Larger files are refused before reading.
pub const MAX_EXPORT_BYTES: u64 = model::read::MAX_INPUT_BYTES as u64;

/// The kind of an export.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    /// An XML bundle.
    Xml,
    /// A JSON bundle.
    Json,
    /// A server configuration folder (`cwd/config/…`).
    Folder,
}

impl fmt::Display for ExportFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ExportFormat::Xml => "XML bundle",
            ExportFormat::Json => "JSON bundle",
            ExportFormat::Folder => "server folder",
        })
    }
}

impl ExportFormat {
    /// Recognises a bundle's format from its first significant bytes: `<` is XML, `{` is JSON
    /// (after an optional UTF-8 byte order mark and whitespace). A folder is no bundle: `None`.
    pub fn sniff(bytes: &[u8]) -> Option<ExportFormat> {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        match bytes.iter().copied().find(|b| !b.is_ascii_whitespace()) {
            Some(b'<') => Some(ExportFormat::Xml),
            Some(b'{') => Some(ExportFormat::Json),
            _ => None,
        }
    }

    /// Reads a bundle of this format from `bytes`, read from `path` (for messages). A folder
    /// is read by [`read_export`], never from bytes.
    ///
    /// # Errors
    /// [`ErrorKind::Input`] naming the file, line and column; the reader's own typed error is
    /// its [`std::error::Error::source`].
    fn read_bundle(self, bytes: &[u8], path: &Path) -> Result<Export, Error> {
        match self {
            ExportFormat::Xml => {
                format_xml::read_bundle(bytes).map_err(|e| input_error(e.with_path(path), path))
            }
            ExportFormat::Json => {
                format_json::read_bundle(bytes).map_err(|e| input_error(e.with_path(path), path))
            }
            ExportFormat::Folder => Err(Error::new(
                ErrorKind::Input,
                format!("{} is a file, not a server configuration folder", path.display()),
            )
            .with_path(path)),
        }
    }

    /// The bundle of `export` in this format, as bytes; `None` for a folder, which is no one
    /// file (`format_xml::folder::folder_files` gives its files).
    ///
    /// # Errors
    /// [`ErrorKind::Input`] when the export cannot be written (a name that is not a valid XML
    /// name, a value no bundle can hold).
    pub(crate) fn write_bundle(self, export: &Export) -> Result<Option<Vec<u8>>, Error> {
        let written = match self {
            ExportFormat::Xml => {
                format_xml::write_bundle(export).map_err(|e| input_error(e, Path::new("")))
            }
            ExportFormat::Json => {
                format_json::write_bundle(export).map_err(|e| input_error(e, Path::new("")))
            }
            ExportFormat::Folder => return Ok(None),
        };
        written.map(Some)
    }
}

/// A reader's or writer's typed error as the pipeline's: its words, and itself as the source.
fn input_error(e: impl std::error::Error + Send + Sync + 'static, path: &Path) -> Error {
    let error = Error::new(ErrorKind::Input, e.to_string());
    let error = if path.as_os_str().is_empty() { error } else { error.with_path(path) };
    error.caused_by(e)
}

/// Reads the export at `path`: a folder, or a file whose format is recognised by its content.
/// Every error names the file, and for a parse error the line and column.
pub fn read_export(path: &Path) -> Result<(Export, ExportFormat), Error> {
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| {
        Error::new(ErrorKind::Input, format!("cannot read {shown}: {}", io_reason(&e)))
            .with_path(path)
    })?;
    if meta.is_dir() {
        let export = format_xml::folder::read_folder(path).map_err(|e| input_error(e, path))?;
        return Ok((export, ExportFormat::Folder));
    }
    if !meta.is_file() {
        // A FIFO would block until written to, a device would stream without end.
        return Err(Error::new(
            ErrorKind::Input,
            format!(
                "{shown} is not a regular file nor a folder; give an export file or a server folder"
            ),
        )
        .with_path(path));
    }
    if meta.len() > MAX_EXPORT_BYTES {
        return Err(Error::new(
            ErrorKind::Input,
            format!("{shown}: {}", model::read::too_large(Some(meta.len())).message()),
        )
        .with_path(path));
    }
    let bytes = read_bounded(path, meta.len())?;
    parse_bytes(&bytes, path)
}

/// Reads a file of at most [`MAX_EXPORT_BYTES`] into a buffer wiped on drop (an export may hold
/// plaintext passwords), sized from the `len` the caller found
/// ([`crypto::SecretBytes::read_bounded`]). Opened non-blocking, so that a FIFO put in its place
/// since is never waited on.
fn read_bounded(path: &Path, len: u64) -> Result<crypto::SecretBytes, Error> {
    use std::os::unix::fs::OpenOptionsExt;
    let err = |e: std::io::Error| {
        Error::new(ErrorKind::Input, format!("cannot read {}: {}", path.display(), io_reason(&e)))
            .with_path(path)
    };
    let too_large = || {
        Error::new(
            ErrorKind::Input,
            format!("{}: {}", path.display(), model::read::too_large(None).message()),
        )
        .with_path(path)
    };
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(err)?;
    crypto::SecretBytes::read_bounded(file, len, MAX_EXPORT_BYTES)
        .map_err(err)?
        .ok_or_else(too_large)
}

/// Parses bundle bytes read from `path` (used for error messages only), in the format their
/// content says ([`ExportFormat::sniff`]).
pub fn parse_bytes(bytes: &[u8], path: &Path) -> Result<(Export, ExportFormat), Error> {
    if let Some(format) = ExportFormat::sniff(bytes) {
        return Ok((format.read_bundle(bytes, path)?, format));
    }
    let what = if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        "it is UTF-16 encoded; only UTF-8 is accepted"
    } else if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        "it is empty"
    } else {
        "it is neither an XML nor a JSON bundle (expected '<jims_export' or '{\"jims_export\"')"
    };
    Err(Error::new(ErrorKind::Input, format!("{}:1:1: not a JIMS export: {what}", path.display()))
        .with_path(path))
}

/// A short reason for an I/O error, without the OS's error number.
pub(crate) fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or folder".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_and_fifos_are_refused_without_reading() {
        let e = read_export(Path::new("/dev/zero")).unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::Input);
        assert!(e.to_string().contains("not a regular file"), "{e}");
    }

    #[test]
    fn sniffs_by_content() {
        assert_eq!(ExportFormat::sniff(b"  \n<?xml"), Some(ExportFormat::Xml));
        assert_eq!(ExportFormat::sniff(b"\xEF\xBB\xBF{"), Some(ExportFormat::Json));
        assert_eq!(ExportFormat::sniff(b"\xEF\xBB\xBF  \n<jims_export/>"), Some(ExportFormat::Xml));
        assert_eq!(ExportFormat::sniff(b"PK\x03\x04"), None);
        assert_eq!(ExportFormat::sniff(b""), None);
    }

    #[test]
    fn every_format_reads_what_it_writes() {
        let (export, format) = read_export(Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/exports/full.xml"
        )))
        .unwrap();
        assert_eq!(format, ExportFormat::Xml);
        for f in [ExportFormat::Xml, ExportFormat::Json] {
            let bytes = f.write_bundle(&export).unwrap().expect("a bundle");
            let (again, read_as) = parse_bytes(&bytes, Path::new("x")).unwrap();
            assert_eq!((read_as, &again.configuration), (f, &export.configuration));
        }
        assert!(ExportFormat::Folder.write_bundle(&export).unwrap().is_none());
        let e = ExportFormat::Folder.read_bundle(b"<x/>", Path::new("f.xml")).unwrap_err();
        assert!(e.to_string().contains("f.xml is a file"), "{e}");
    }

    #[test]
    fn utf16_and_garbage_are_named() {
        let p = Path::new("x.xml");
        let e = parse_bytes(b"\xFF\xFE<\0", p).unwrap_err();
        assert!(e.to_string().contains("UTF-16"), "{e}");
        assert_eq!(e.kind(), &ErrorKind::Input);
        let e = parse_bytes(b"\x00\x01garbage", p).unwrap_err();
        assert!(e.to_string().starts_with("x.xml:1:1: not a JIMS export"), "{e}");
    }

    #[test]
    fn a_reader_s_typed_error_is_at_the_end_of_the_source_chain() {
        let e = parse_bytes(b"<jims_export format_version=\"1\">\n  <section", Path::new("x.xml"))
            .unwrap_err();
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&e);
        let mut typed = None;
        while let Some(c) = cause {
            typed = typed.or_else(|| c.downcast_ref::<format_xml::Error>());
            cause = c.source();
        }
        let typed = typed.expect("the XML reader's own error is kept");
        assert_eq!((typed.line(), typed.path()), (Some(2), Some(Path::new("x.xml"))));
        assert!(e.to_string().starts_with("x.xml:2:"), "{e}");
    }
}
