//! The one place the store calls the XML crate: reading and writing native section files.

use std::path::Path;

use model::{SectionFile, SectionId};

use crate::error::{Error, ErrorKind};

/// Parses the native file `path` (relative to `cwd/`) of `section`; errors name `full_path`
/// with line and column.
pub(crate) fn read(
    section: SectionId,
    path: &'static str,
    bytes: &[u8],
    full_path: &Path,
) -> Result<SectionFile, Error> {
    format_xml::read_native_file(section, path, bytes).map_err(|e| {
        let e = e.with_path(full_path);
        Error::new(ErrorKind::Parse, e.to_string()).at(full_path).caused_by(e)
    })
}

/// Serializes a native file. The XML writer refuses a name that is not a valid XML name or a
/// NUL in a value (the readers never let one in): a bad configuration, exit 2.
pub(crate) fn write(file: &SectionFile) -> Result<Vec<u8>, Error> {
    format_xml::write_native_file(file)
        .map_err(|e| Error::new(ErrorKind::Parse, e.to_string()).caused_by(e))
}
