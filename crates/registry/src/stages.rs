//! The reader and writer stages and the built-in ones: the XML bundle, the JSON bundle and the
//! server configuration folder.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

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
/// column; and, when the stage's own crate has one, its typed error
/// ([`std::error::Error::source`]: a `format_xml::Error` or `format_json::Error`, with its kind
/// and position), whose words the sentence already holds.
#[derive(Clone, Debug)]
pub struct StageError {
    message: String,
    cause: Option<Arc<dyn std::error::Error + Send + Sync + 'static>>,
}

impl StageError {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> StageError {
        StageError { message: message.into(), cause: None }
    }

    /// The same error, caused by the stage's own typed error `cause`.
    pub fn caused_by(
        mut self,
        cause: impl std::error::Error + Send + Sync + 'static,
    ) -> StageError {
        self.cause = Some(Arc::new(cause));
        self
    }
}

/// Two stage errors are equal when they say the same.
impl PartialEq for StageError {
    fn eq(&self, other: &StageError) -> bool {
        self.message == other.message
    }
}

impl Eq for StageError {}

impl fmt::Display for StageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for StageError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.cause.as_deref().map(|e| e as &(dyn std::error::Error + 'static))
    }
}

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

    /// The bundle's bytes, or why the export cannot be written (a name that is not a valid
    /// XML name, a value no bundle can hold).
    fn write(&self, export: &Export) -> Result<Vec<u8>, StageError>;
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
            Input::Bytes { bytes, path } => format_xml::read_bundle(bytes).map_err(|e| {
                let e = e.with_path(path);
                StageError::new(e.to_string()).caused_by(e)
            }),
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

    fn write(&self, export: &Export) -> Result<Vec<u8>, StageError> {
        format_xml::write_bundle(export).map_err(|e| StageError::new(e.to_string()).caused_by(e))
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
            Input::Bytes { bytes, path } => format_json::read_bundle(bytes).map_err(|e| {
                let e = e.with_path(path);
                StageError::new(e.to_string()).caused_by(e)
            }),
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

    fn write(&self, export: &Export) -> Result<Vec<u8>, StageError> {
        format_json::write_bundle(export).map_err(|e| StageError::new(e.to_string()).caused_by(e))
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
            Input::Folder(path) => format_xml::folder::read_folder(path)
                .map_err(|e| StageError::new(e.to_string()).caused_by(e)),
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
