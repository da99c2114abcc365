//! A server's configuration folder as an input and an output: `cwd/config/*.xml` and
//! `cwd/system/init/admin_whitelist_static.xml`, one native file per section (two for
//! transports).
//!
//! A folder has no header: it reads as [`Header::default`], full when every section's file is
//! there and otherwise partial, holding the sections whose files are there.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use model::{Configuration, Export, Header, Section, SectionId};

use crate::read::read_native_file;
use crate::write::write_native_file;
use crate::{Error, ErrorKind, MAX_INPUT_BYTES};

/// The working folder inside a server folder.
pub const CWD: &str = "cwd";

/// Every native file, in document order: `(section, path relative to cwd/)`.
pub fn native_file_paths() -> impl Iterator<Item = (SectionId, &'static str)> {
    SectionId::ALL.into_iter().flat_map(|s| s.native_files().iter().map(move |p| (s, *p)))
}

/// Reads a server's configuration folder as an export from an unknown server.
///
/// `dir` may be a server folder holding `cwd/` or the `cwd` folder itself. The header is
/// [`Header::default`]; the sections are those whose native files are present (for transports,
/// either file). A folder without any native file is an error.
pub fn read_folder(dir: &Path) -> Result<Export, Error> {
    let base = cwd_of(dir)?;
    let mut configuration = Configuration::new();
    for id in SectionId::ALL {
        let mut files = Vec::new();
        for &native in id.native_files() {
            let path = native_path(&base, native);
            if let Some(bytes) = read_limited(&path)? {
                files.push(read_native_file(id, native, &bytes).map_err(|e| e.with_path(&path))?);
            }
        }
        if !files.is_empty() {
            configuration.insert(Section { id, files });
        }
    }
    if configuration.sections().is_empty() {
        return Err(Error::new(
            ErrorKind::NoConfiguration,
            "no JIMS configuration file found here (a server folder holds \
             cwd/config/event_log_reader.xml, cwd/config/srx_interface.xml and the like)",
        )
        .with_path(dir));
    }
    Ok(Export { header: Header::default(), configuration })
}

/// The files of a server folder holding `config`: for every file of every section present,
/// its path relative to the server folder (`cwd/<native path>`, in document order) and its
/// bytes. Nothing is written here: the pipeline's output module writes an output folder
/// atomically and durably, with the permissions its passwords call for.
///
/// # Errors
/// [`ErrorKind::Unwritable`], as [`crate::write_bundle`].
pub fn folder_files(config: &Configuration) -> Result<Vec<(PathBuf, Vec<u8>)>, Error> {
    let base = Path::new(CWD);
    config
        .sections()
        .iter()
        .flat_map(|section| section.files.iter())
        .map(|file| Ok((native_path(base, file.path), write_native_file(file)?)))
        .collect()
}

/// The `cwd` folder of `dir`: `dir/cwd` when it exists, else `dir` itself.
fn cwd_of(dir: &Path) -> Result<PathBuf, Error> {
    let meta = fs::metadata(dir).map_err(|e| io_error(dir, "cannot read the folder", e))?;
    if !meta.is_dir() {
        return Err(Error::new(
            ErrorKind::NoConfiguration,
            "this is not a folder; a server configuration folder holds cwd/config/*.xml",
        )
        .with_path(dir));
    }
    let cwd = dir.join(CWD);
    Ok(if cwd.is_dir() { cwd } else { dir.to_owned() })
}

/// `base` joined with a `/`-separated native path, component by component.
fn native_path(base: &Path, native: &str) -> PathBuf {
    native.split('/').fold(base.to_owned(), |p, part| p.join(part))
}

/// The file's bytes, `None` when it does not exist; refuses files over [`MAX_INPUT_BYTES`].
fn read_limited(path: &Path) -> Result<Option<Vec<u8>>, Error> {
    let file = match fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error(path, "cannot open the file", e)),
    };
    let len = file.metadata().map_err(|e| io_error(path, "cannot read the file", e))?.len();
    model::read::check_size(len).map_err(|e| e.with_path(path))?;
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(MAX_INPUT_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| io_error(path, "cannot read the file", e))?;
    if bytes.len() > MAX_INPUT_BYTES {
        return Err(model::read::too_large(None).with_path(path));
    }
    Ok(Some(bytes))
}

/// An error reading `path`, saying `what` failed and why, caused by `source`.
fn io_error(path: &Path, what: &str, source: std::io::Error) -> Error {
    Error::new(ErrorKind::Io, format!("{what}: {source}")).with_path(path).caused_by(source)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_paths_cover_every_section_in_order() {
        let all: Vec<_> = native_file_paths().collect();
        assert_eq!(all.len(), 11);
        assert_eq!(all[0], (SectionId::EventSources, "config/event_log_reader.xml"));
        assert_eq!(all[9], (SectionId::Transports, "config/clients_http.xml"));
        assert_eq!(all[10], (SectionId::AdminClients, "system/init/admin_whitelist_static.xml"));
    }

    #[test]
    fn native_path_joins_components() {
        let p = native_path(Path::new("/x/cwd"), "system/init/a.xml");
        assert_eq!(p, Path::new("/x/cwd/system/init/a.xml"));
    }
}
