//! Reading an export: an XML bundle, a JSON bundle or a server configuration folder, recognised
//! by content rather than by extension.

use std::fmt;
use std::io::Read;
use std::path::Path;

use model::Export;
use registry::{Input, Registry};

use crate::error::{Error, ErrorKind};
use crate::stages;

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

/// Recognises a bundle's format from its first significant bytes: `<` is XML, `{` is JSON
/// (after an optional UTF-8 byte order mark and whitespace).
pub fn sniff(bytes: &[u8]) -> Option<ExportFormat> {
    let input = Input::Bytes { bytes, path: Path::new("") };
    let reader = crate::default_registry().reader_for(&input)?;
    stages::format_of(reader.format())
}

/// Reads the export at `path`: a folder, or a file whose format is recognised by its content.
/// Every error names the file, and for a parse error the line and column. The reader is found
/// in the [default registry](crate::default_registry).
pub fn read_export(path: &Path) -> Result<(Export, ExportFormat), Error> {
    read_export_with(crate::default_registry(), path)
}

/// [`read_export`] with the readers of `registry`.
pub fn read_export_with(registry: &Registry, path: &Path) -> Result<(Export, ExportFormat), Error> {
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| {
        Error::new(ErrorKind::Input, format!("cannot read {shown}: {}", io_reason(&e)))
            .with_path(path)
    })?;
    if meta.is_dir() {
        return read_with(registry, Input::Folder(path), path)?.ok_or_else(|| {
            Error::new(
                ErrorKind::Input,
                format!("{shown} is a folder, and no reader reads folders"),
            )
            .with_path(path)
        });
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
    let bytes = read_bounded(path)?;
    parse_bytes_with(registry, &bytes, path)
}

/// Reads `input` with the first reader of `registry` that recognises it; `None` when none
/// does.
fn read_with(
    registry: &Registry,
    input: Input<'_>,
    path: &Path,
) -> Result<Option<(Export, ExportFormat)>, Error> {
    let Some(reader) = registry.reader_for(&input) else { return Ok(None) };
    let input_error = |message: String| Error::new(ErrorKind::Input, message).with_path(path);
    let format = stages::format_of(reader.format()).ok_or_else(|| {
        input_error(format!(
            "{}: read as `{}`, a format the pipeline cannot import",
            path.display(),
            reader.format()
        ))
    })?;
    let export = reader.read(input).map_err(|e| input_error(e.to_string()).caused_by(e))?;
    Ok(Some((export, format)))
}

/// Reads a file of at most [`MAX_EXPORT_BYTES`] into a buffer wiped on drop (an export may hold
/// plaintext passwords).
fn read_bounded(path: &Path) -> Result<crypto::SecretBytes, Error> {
    let err = |e: std::io::Error| {
        Error::new(ErrorKind::Input, format!("cannot read {}: {}", path.display(), io_reason(&e)))
            .with_path(path)
    };
    let file = std::fs::File::open(path).map_err(err)?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0).min(MAX_EXPORT_BYTES);
    let mut bytes = crypto::SecretBytes::with_capacity(len as usize + 1);
    file.take(MAX_EXPORT_BYTES + 1).read_to_end(&mut bytes).map_err(err)?;
    if bytes.len() as u64 > MAX_EXPORT_BYTES {
        return Err(Error::new(
            ErrorKind::Input,
            format!("{}: {}", path.display(), model::read::too_large(None).message()),
        )
        .with_path(path));
    }
    Ok(bytes)
}

/// Parses bundle bytes read from `path` (used for error messages only).
pub fn parse_bytes(bytes: &[u8], path: &Path) -> Result<(Export, ExportFormat), Error> {
    parse_bytes_with(crate::default_registry(), bytes, path)
}

/// [`parse_bytes`] with the readers of `registry`.
pub fn parse_bytes_with(
    registry: &Registry,
    bytes: &[u8],
    path: &Path,
) -> Result<(Export, ExportFormat), Error> {
    if let Some(read) = read_with(registry, Input::Bytes { bytes, path }, path)? {
        return Ok(read);
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
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("not a regular file"), "{e}");
    }

    #[test]
    fn sniffs_by_content() {
        assert_eq!(sniff(b"  \n<?xml"), Some(ExportFormat::Xml));
        assert_eq!(sniff(b"\xEF\xBB\xBF{"), Some(ExportFormat::Json));
        assert_eq!(sniff(b"PK\x03\x04"), None);
        assert_eq!(sniff(b""), None);
    }

    #[test]
    fn utf16_and_garbage_are_named() {
        let p = Path::new("x.xml");
        let e = parse_bytes(b"\xFF\xFE<\0", p).unwrap_err();
        assert!(e.to_string().contains("UTF-16"), "{e}");
        assert_eq!(e.exit_code(), 2);
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
