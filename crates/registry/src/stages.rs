//! The reader and writer stages and the built-in ones: the XML bundle, the JSON bundle and the
//! server configuration folder.

use std::fmt;
use std::path::Path;

use model::Export;

/// What a reader is given: a file's bytes (with its path, for messages) or a folder.
#[derive(Clone, Copy, Debug)]
pub enum Input<'a> {
    /// The bytes of a file.
    Bytes {
        /// The file's content.
        bytes: &'a [u8],
        /// Where it was read from: only for messages.
        path: &'a Path,
    },
    /// A folder.
    Folder(&'a Path),
}

/// A stage's failure: a sentence that names the file, and for a parse error its line and
/// column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StageError {
    message: String,
}

impl StageError {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> StageError {
        StageError { message: message.into() }
    }
}

impl fmt::Display for StageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for StageError {}

/// Reads an export of one format.
pub trait Reader: Send + Sync {
    /// The format's name: `xml`, `json`, `folder`.
    fn format(&self) -> &str;

    /// Whether `input` is in this format (by content, never by extension).
    fn recognises(&self, input: &Input<'_>) -> bool;

    /// Reads `input`.
    ///
    /// # Errors
    /// A [`StageError`] naming the file, line and column.
    fn read(&self, input: Input<'_>) -> Result<Export, StageError>;
}

/// Writes a bundle of one format.
pub trait Writer: Send + Sync {
    /// The format's name: `xml`, `json`.
    fn format(&self) -> &str;

    /// The bundle's bytes.
    fn write(&self, export: &Export) -> Vec<u8>;
}

/// The first significant byte of a bundle, after an optional UTF-8 byte order mark and
/// whitespace.
fn first_significant(bytes: &[u8]) -> Option<u8> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    bytes.iter().copied().find(|b| !b.is_ascii_whitespace())
}

/// The XML bundle (`<jims_export …>`).
#[derive(Clone, Copy, Debug, Default)]
pub struct XmlBundle;

impl Reader for XmlBundle {
    fn format(&self) -> &str {
        "xml"
    }

    fn recognises(&self, input: &Input<'_>) -> bool {
        matches!(input, Input::Bytes { bytes, .. } if first_significant(bytes) == Some(b'<'))
    }

    fn read(&self, input: Input<'_>) -> Result<Export, StageError> {
        match input {
            Input::Bytes { bytes, path } => format_xml::read_bundle(bytes)
                .map_err(|e| StageError::new(e.with_path(path).to_string())),
            Input::Folder(path) => {
                Err(StageError::new(format!("{} is a folder, not an XML bundle", path.display())))
            }
        }
    }
}

impl Writer for XmlBundle {
    fn format(&self) -> &str {
        "xml"
    }

    fn write(&self, export: &Export) -> Vec<u8> {
        format_xml::write_bundle(export)
    }
}

/// The JSON bundle (`{"jims_export": …}`).
#[derive(Clone, Copy, Debug, Default)]
pub struct JsonBundle;

impl Reader for JsonBundle {
    fn format(&self) -> &str {
        "json"
    }

    fn recognises(&self, input: &Input<'_>) -> bool {
        matches!(input, Input::Bytes { bytes, .. } if first_significant(bytes) == Some(b'{'))
    }

    fn read(&self, input: Input<'_>) -> Result<Export, StageError> {
        match input {
            Input::Bytes { bytes, path } => format_json::read_bundle(bytes)
                .map_err(|e| StageError::new(e.with_path(path).to_string())),
            Input::Folder(path) => {
                Err(StageError::new(format!("{} is a folder, not a JSON bundle", path.display())))
            }
        }
    }
}

impl Writer for JsonBundle {
    fn format(&self) -> &str {
        "json"
    }

    fn write(&self, export: &Export) -> Vec<u8> {
        format_json::write_bundle(export)
    }
}

/// A server's configuration folder (`cwd/config/*.xml`).
#[derive(Clone, Copy, Debug, Default)]
pub struct ServerFolder;

impl Reader for ServerFolder {
    fn format(&self) -> &str {
        "folder"
    }

    fn recognises(&self, input: &Input<'_>) -> bool {
        matches!(input, Input::Folder(_))
    }

    fn read(&self, input: Input<'_>) -> Result<Export, StageError> {
        match input {
            Input::Folder(path) => {
                format_xml::folder::read_folder(path).map_err(|e| StageError::new(e.to_string()))
            }
            Input::Bytes { path, .. } => Err(StageError::new(format!(
                "{} is a file, not a server configuration folder",
                path.display()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundles_are_recognised_by_content() {
        let p = Path::new("x.json");
        let xml = Input::Bytes { bytes: b"\xEF\xBB\xBF  \n<jims_export/>", path: p };
        let json = Input::Bytes { bytes: b" {\"jims_export\":{}}", path: p };
        let folder = Input::Folder(Path::new("."));
        assert!(XmlBundle.recognises(&xml) && !XmlBundle.recognises(&json));
        assert!(JsonBundle.recognises(&json) && !JsonBundle.recognises(&xml));
        assert!(ServerFolder.recognises(&folder) && !ServerFolder.recognises(&xml));
        assert!(!XmlBundle.recognises(&folder));
        assert!(!XmlBundle.recognises(&Input::Bytes { bytes: b"", path: p }));
    }

    #[test]
    fn read_errors_name_the_file() {
        let e = XmlBundle
            .read(Input::Bytes { bytes: b"<jims_export", path: Path::new("in/bad.xml") })
            .unwrap_err();
        assert!(e.to_string().starts_with("in/bad.xml:"), "{e}");
        let e = ServerFolder.read(Input::Bytes { bytes: b"", path: Path::new("f.xml") });
        assert!(e.unwrap_err().to_string().contains("f.xml is a file"));
    }
}
