//! `export` (a managed folder to a bundle) and `convert` (between bundles and folders).

use std::path::{Path, PathBuf};

use model::{Configuration, Export, Header, PasswordsMode, Scope, SectionId};

use crate::error::{Error, ErrorKind};
use crate::input::{ExportFormat, read_export};
use store::output::{OutputKind, check as check_output, write_file_atomic, write_folder_atomic};

/// What `export` does with the passwords of the folder (`--passwords`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PasswordsOut {
    /// As stored: sealed under this server's key (the default).
    #[default]
    Sealed,
    /// The brief's "without passwords": every secret field empty.
    Omit,
    /// Opened, as plaintext `password` values, for a real JIMS; the file gets mode 0600.
    Plain,
}

/// The flags of `jimsctl export`.
#[derive(Clone, Debug, Default)]
pub struct ExportOptions {
    /// `--format`; by default from OUT's extension, else XML.
    pub format: Option<ExportFormat>,
    /// `--sections`: only these sections (a partial export).
    pub sections: Option<Vec<String>>,
    /// `--passwords`.
    pub passwords: PasswordsOut,
    /// `--to PUBFILE…`: seal the passwords to these servers' public keys (a fresh data key,
    /// wrapped for each) instead of this server's key.
    pub to: Vec<PathBuf>,
    /// `--force`: replace OUT when it exists (by default an existing file is refused).
    pub force: bool,
}

/// Refuses to replace the existing file `out` unless `force`: an export or a conversion never
/// overwrites a file without being told to (a plaintext export above all).
fn check_overwrite(out: &Path, force: bool) -> Result<(), Error> {
    match std::fs::symlink_metadata(out) {
        Ok(m) if m.is_dir() => Err(Error::new(
            ErrorKind::Usage,
            format!("{} is a folder; give the path of the file to write", out.display()),
        )
        .with_path(out)),
        Ok(_) if !force => Err(Error::new(
            ErrorKind::Usage,
            format!("{} already exists; nothing was written (--force replaces it)", out.display()),
        )
        .with_path(out)),
        _ => Ok(()),
    }
}

/// What `export` or `convert` wrote.
#[derive(Clone, Debug)]
pub struct ExportReport {
    /// The file or folder written.
    pub out: PathBuf,
    /// Its format.
    pub format: ExportFormat,
    /// The sections it holds.
    pub sections: Vec<SectionId>,
    /// `full` or `partial`.
    pub scope: &'static str,
    /// What was done with the passwords.
    pub passwords: PasswordsOut,
    /// How many secret fields were opened to plaintext (`--passwords plain`).
    pub opened: usize,
    /// How many plaintext passwords the folder's `cwd/` held (written there by hand: jimsctl
    /// seals every password it stores) and `--passwords sealed` sealed in the export, so that
    /// it holds none in clear. The folder itself is left as it is.
    pub sealed: usize,
    /// With `--to`: the recipients (transport key id, server id) and how many passwords were
    /// sealed to them.
    pub recipients: Vec<crate::sealed::RecipientId>,
}

/// The bundle format for an output path: `.json` is JSON, anything else XML.
fn format_for(out: &Path, explicit: Option<ExportFormat>) -> ExportFormat {
    explicit.unwrap_or_else(|| match out.extension().and_then(|e| e.to_str()) {
        Some(e) if e.eq_ignore_ascii_case("json") => ExportFormat::Json,
        _ => ExportFormat::Xml,
    })
}

/// The bundle's bytes in `format` (a bundle format: `export` and `convert` write a folder
/// themselves).
fn encode(export: &Export, format: ExportFormat) -> Result<Vec<u8>, Error> {
    format.write_bundle(export)?.ok_or_else(|| {
        Error::new(ErrorKind::Usage, format!("a {format} is no single file to write"))
    })
}

/// Parses `--sections` ids: every unknown id is named, with the valid ones.
pub(crate) fn parse_section_ids(ids: &[String]) -> Result<Vec<SectionId>, Error> {
    let unknown: Vec<&str> =
        ids.iter().map(String::as_str).filter(|id| SectionId::parse(id).is_none()).collect();
    if !unknown.is_empty() {
        let valid: Vec<&str> = SectionId::ALL.iter().map(|s| s.as_str()).collect();
        return Err(Error::new(
            ErrorKind::Selection,
            format!(
                "unknown section '{}'; valid sections: {}",
                unknown.join("', '"),
                valid.join(", ")
            ),
        ));
    }
    let mut out: Vec<SectionId> = ids.iter().filter_map(|id| SectionId::parse(id)).collect();
    out.sort();
    out.dedup();
    Ok(out)
}

/// Writes a bundle of the managed folder `target_dir` to `out`.
pub fn export(
    target_dir: &Path,
    out: &Path,
    options: &ExportOptions,
) -> Result<ExportReport, Error> {
    check_output(out, OutputKind::File)?;
    let format = format_for(out, options.format);
    if format == ExportFormat::Folder {
        return Err(Error::new(ErrorKind::Usage, "export writes a bundle: --format xml or json"));
    }
    check_overwrite(out, options.force)?;
    if !options.to.is_empty() && options.passwords != PasswordsOut::Sealed {
        return Err(Error::new(
            ErrorKind::Usage,
            "--to seals the passwords to the recipients' public keys: it goes with --passwords \
             sealed (the default), not omit or plain",
        ));
    }
    let to = crate::sealed::read_recipients(&options.to)?;
    let target = store::Target::open_read(target_dir)?;
    let mut config: Configuration = target.configuration().clone();
    if let Some(ids) = &options.sections {
        let keep = parse_section_ids(ids)?;
        for id in SectionId::ALL {
            if !keep.contains(&id) {
                config.remove(id);
            }
        }
    }
    let mut opened = 0;
    let mut sealed = 0;
    // What becomes of each secret field is the secrets crate's: sealed, omitted or opened.
    let folder_error = |e: secrets::Error| {
        let error = Error::from(e);
        let message = format!("{}: {error}", target_dir.display());
        Error::new(error.kind().clone(), message).caused_by(error)
    };
    match options.passwords {
        // Sealed means sealed: a plaintext password edited into cwd/ by hand is sealed with
        // this folder's key (bound to its field, as an import seals it), never written out in
        // clear under a header that says the passwords are sealed.
        PasswordsOut::Sealed => {
            // A value under one of the folder's retired keys (a rollback across a rotation) is
            // sealed again under the current key, which the header names.
            secrets::reseal_retired(&mut config, target.folder_keys()).map_err(folder_error)?;
            sealed = secrets::seal_plaintext(&mut config, target.key()).map_err(folder_error)?;
        }
        PasswordsOut::Omit => {
            secrets::omit(&mut config);
        }
        // The same opening as push's.
        PasswordsOut::Plain => {
            let revealed =
                secrets::reveal_for_sending(&mut config, target.key(), target.retired_keys())
                    .map_err(folder_error)?;
            opened = revealed.opened;
        }
    }
    let scope = if config.is_full() { Scope::Full } else { Scope::Partial };
    let passwords_mode = match options.passwords {
        PasswordsOut::Omit => PasswordsMode::Omitted,
        _ => PasswordsMode::Included,
    };
    let key_id = target.key_id().to_string();
    let header = Header::new(
        scope,
        passwords_mode,
        Some(target.server_id()),
        Some(&key_id),
        Some(&store::now_rfc3339()),
    );
    let mut header = header;
    let mut recipients = Vec::new();
    if !to.is_empty() {
        opened = crate::sealed::seal_to(&mut config, &target, &mut header, &to)?;
        recipients = to
            .iter()
            .map(|f| crate::sealed::RecipientId {
                key_id: f.public.id().as_str().to_owned(),
                server_id: f.server_id.clone(),
            })
            .collect();
    }
    let sections = config.ids();
    let bundle = Export { header, configuration: config };
    let bytes = zeroize::Zeroizing::new(encode(&bundle, format)?);
    let mode = if options.passwords == PasswordsOut::Plain { 0o600 } else { 0o644 };
    write_file_atomic(out, &bytes, mode)?;
    Ok(ExportReport {
        out: out.to_owned(),
        format,
        sections,
        scope: scope.as_str(),
        passwords: options.passwords,
        opened,
        sealed,
        recipients,
    })
}

/// The kind of `convert`'s output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConvertTo {
    /// Decide from OUT: `.xml` or `.json` by extension, otherwise a folder.
    Auto,
    /// This format.
    Format(ExportFormat),
}

/// Converts between an XML bundle, a JSON bundle and a server folder, without loss (a folder
/// has no header). An existing file at `out` is replaced only with `force`.
///
/// # Errors
/// Besides what reading and writing report: an OUT whose extension is neither `.xml` nor
/// `.json` without [`ConvertTo::Format`] (exit 2: `out.txt` is no folder name), an existing
/// file without `force`, a folder that is not empty.
pub fn convert(
    input: &Path,
    out: &Path,
    to: ConvertTo,
    force: bool,
) -> Result<ExportReport, Error> {
    let format = match to {
        ConvertTo::Format(f) => f,
        ConvertTo::Auto => match out.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("xml") => ExportFormat::Xml,
            Some(e) if e.eq_ignore_ascii_case("json") => ExportFormat::Json,
            None => ExportFormat::Folder,
            Some(e) => {
                return Err(Error::new(
                    ErrorKind::Usage,
                    format!(
                        "{}: '.{e}' is neither .xml nor .json; name the output .xml or .json, or \
                         give --to xml, json or folder",
                        out.display()
                    ),
                )
                .with_path(out));
            }
        },
    };
    let kind = if format == ExportFormat::Folder { OutputKind::Folder } else { OutputKind::File };
    check_output(out, kind)?;
    if format != ExportFormat::Folder {
        check_overwrite(out, force)?;
    }
    let (mut export, _) = read_export(input)?;
    if export.header.format_version().is_none() {
        // From a folder: a bundle needs a header; the folder knows no server.
        export.header = Header::new(export.scope(), PasswordsMode::Included, None, None, None);
    }
    let sections = export.configuration.ids();
    let scope = export.scope().as_str();
    if format == ExportFormat::Folder {
        let files: Vec<(PathBuf, zeroize::Zeroizing<Vec<u8>>)> =
            format_xml::folder::folder_files(&export.configuration)
                .map_err(|e| Error::new(ErrorKind::Input, e.to_string()).caused_by(e))?
                .into_iter()
                .map(|(rel, bytes)| (rel, zeroize::Zeroizing::new(bytes)))
                .collect();
        let (file_mode, dir_mode) = if secrets::holds_plaintext(&export.configuration) {
            (0o600, 0o700)
        } else {
            (0o644, 0o755)
        };
        write_folder_atomic(out, &files, file_mode, dir_mode)?;
    } else {
        let mode = if secrets::holds_plaintext(&export.configuration) { 0o600 } else { 0o644 };
        let bytes = zeroize::Zeroizing::new(encode(&export, format)?);
        write_file_atomic(out, &bytes, mode)?;
    }
    Ok(ExportReport {
        out: out.to_owned(),
        format,
        sections,
        scope,
        passwords: PasswordsOut::Sealed,
        opened: 0,
        sealed: 0,
        recipients: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_follow_the_extension() {
        assert_eq!(format_for(Path::new("a.JSON"), None), ExportFormat::Json);
        assert_eq!(format_for(Path::new("a.xml"), None), ExportFormat::Xml);
        assert_eq!(format_for(Path::new("a"), None), ExportFormat::Xml);
        assert_eq!(format_for(Path::new("a.xml"), Some(ExportFormat::Json)), ExportFormat::Json);
    }

    #[test]
    fn unknown_sections_are_named() {
        let e = parse_section_ids(&["templates".into(), "nope".into()]).unwrap_err();
        assert!(e.to_string().starts_with("unknown section 'nope'; valid sections: event_sources"));
    }
}
