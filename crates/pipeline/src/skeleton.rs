//! `passwords --emit FILE`: a secrets file to fill in, with a key for every row still missing,
//! written beside what the file already holds (never over it, unless told to).

use std::path::Path;

use secrets::{SkeletonFormat, Table};

use crate::error::{Error, ErrorKind};

/// What [`emit_skeleton`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Emitted {
    /// Wrote a new file with this many keys.
    New(usize),
    /// Merged into the existing file: `added` keys added to its `kept`.
    Merged {
        /// Keys added.
        added: usize,
        /// Keys the file held.
        kept: usize,
    },
}

/// Writes the skeleton of `table` to `path` (mode 0600, atomically), TOML or JSON by its
/// extension. An existing file is merged into, never lost: every key and value it has is kept
/// and the missing keys are added empty; `force` overwrites it with the skeleton alone.
///
/// # Errors
/// [`ErrorKind::Usage`] for a path that ends in neither `.json` nor `.toml`;
/// [`ErrorKind::Input`] for an existing file that cannot be read or is not a usable secrets
/// file (left as it was) unless `force`; what writing the output reports.
pub fn emit_skeleton(path: &Path, table: &Table, force: bool) -> Result<Emitted, Error> {
    let format = match path.extension().and_then(|e| e.to_str()) {
        Some("toml") => SkeletonFormat::Toml,
        Some("json") => SkeletonFormat::Json,
        _ => {
            return Err(Error::new(
                ErrorKind::Usage,
                format!("--emit {}: the file must end in .json or .toml", path.display()),
            ));
        }
    };
    let existing = match std::fs::read(path) {
        Ok(bytes) if !force => Some(crypto::SecretBytes::new(bytes)),
        Ok(_) => None,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            return Err(Error::new(
                ErrorKind::Input,
                format!(
                    "--emit {}: cannot read the existing file to add the missing keys to it: {e}",
                    path.display()
                ),
            ));
        }
    };
    let Some(existing) = existing else {
        let text = secrets::skeleton(table, format);
        crate::write_file_atomic(path, text.as_bytes(), 0o600)?;
        return Ok(Emitted::New(table.missing().count()));
    };
    let kept = secrets::FileSource::parse(&existing, format, path)
        .map_err(|e| {
            Error::new(
                ErrorKind::Input,
                format!(
                    "--emit: {e}; it was left as it was (--force overwrites it with the missing \
                     keys only, losing what it holds)"
                ),
            )
        })?
        .len();
    let (merged, added) = secrets::merge_skeleton(&existing, format, table, path)
        .map_err(|e| Error::new(ErrorKind::Input, format!("--emit: {e}")))?;
    if added > 0 {
        crate::write_file_atomic(path, &merged, 0o600)?;
    }
    Ok(Emitted::Merged { added, kept })
}
