//! The commands about one managed folder or one file: `server init`, `export`, `convert`,
//! `history`, `rollback` and `key id`.

use std::path::Path;

use pipeline::{ConvertTo, Error, ExportFormat, ExportOptions, PasswordsOut};
use serde_json::json;

use crate::args::{
    BundleFormat, ConvertArgs, ConvertKind, ExportArgs, OutputFormat, PasswordsArg, RollbackArgs,
    TargetArgs,
};
use crate::exit::Exit;
use crate::render;

/// `jimsctl server init [--adopt]`.
pub(crate) fn init(
    dir: &Path,
    server_id: Option<&str>,
    adopt: bool,
    format: OutputFormat,
) -> Result<u8, Error> {
    let report = if adopt {
        pipeline::folder::adopt(dir, server_id)
    } else {
        pipeline::folder::init(dir, server_id)
    }?;
    if format == OutputFormat::Json {
        let status = if adopt { Exit::Adopted } else { Exit::Initialised };
        out_json!(json!({"status": status.word(), "dir": report.dir,
                       "server_id": report.server_id, "key_id": report.key_id.as_str(),
                       "sealed": report.sealed}));
    } else {
        outln!(
            "{} {} as managed JIMS server '{}' (key id {}).",
            if adopt { "Adopted" } else { "Initialised" },
            render::path(&report.dir),
            render::escape_for_terminal(&report.server_id),
            report.key_id
        );
        if adopt {
            outln!(
                "Sealed {} found in it.",
                crate::import::plural(report.sealed, "plaintext password")
            );
        }
    }
    Ok(0)
}

/// `jimsctl export`.
pub(crate) fn export(a: ExportArgs) -> Result<u8, Error> {
    let options = ExportOptions {
        format: a.format.map(|f| match f {
            BundleFormat::Xml => ExportFormat::Xml,
            BundleFormat::Json => ExportFormat::Json,
        }),
        sections: a.sections,
        passwords: match a.passwords {
            PasswordsArg::Sealed => PasswordsOut::Sealed,
            PasswordsArg::Omit => PasswordsOut::Omit,
            PasswordsArg::Plain => PasswordsOut::Plain,
        },
        force: a.force,
        to: a.to,
    };
    if options.passwords == PasswordsOut::Plain {
        errln!(
            "warning: {} will hold plaintext passwords (mode 0600); keep it safe and delete it after use",
            render::path(&a.out)
        );
    }
    let r = pipeline::export(&a.target, &a.out, &options)?;
    let sections: Vec<&str> = r.sections.iter().map(|s| s.as_str()).collect();
    outln!(
        "Exported {} ({}, {}: {}) to {}, passwords {}.",
        render::path(&a.target),
        r.scope,
        crate::import::plural(sections.len(), "section"),
        sections.join(", "),
        render::path(&r.out),
        match r.passwords {
            PasswordsOut::Sealed if !r.recipients.is_empty() => "sealed to its recipients",
            PasswordsOut::Sealed => "sealed",
            PasswordsOut::Omit => "omitted",
            PasswordsOut::Plain => "in plaintext",
        }
    );
    if r.sealed > 0 {
        errln!(
            "warning: {} held {} plaintext password{} (edited into cwd/ by hand); {} sealed in the \
             export, the folder is unchanged (an import of the folder's own export seals {})",
            render::path(&a.target),
            r.sealed,
            if r.sealed == 1 { "" } else { "s" },
            if r.sealed == 1 { "it is" } else { "they are" },
            if r.sealed == 1 { "it" } else { "them" },
        );
    }
    crate::keys::print_recipients(&r);
    Ok(0)
}

/// `jimsctl convert`.
pub(crate) fn convert(a: ConvertArgs) -> Result<u8, Error> {
    let to = match a.to {
        None => ConvertTo::Auto,
        Some(ConvertKind::Xml) => ConvertTo::Format(ExportFormat::Xml),
        Some(ConvertKind::Json) => ConvertTo::Format(ExportFormat::Json),
        Some(ConvertKind::Folder) => ConvertTo::Format(ExportFormat::Folder),
    };
    let r = pipeline::convert(&a.input, &a.out, to, a.force)?;
    outln!(
        "Converted {} to {} ({}, {}).",
        render::path(&a.input),
        render::path(&r.out),
        r.format,
        crate::import::plural(r.sections.len(), "section")
    );
    Ok(0)
}

/// `jimsctl history`.
pub(crate) fn history(t: TargetArgs) -> Result<u8, Error> {
    let versions = pipeline::folder::history(&t.target)?;
    if t.output.format == OutputFormat::Json {
        let current = versions.iter().map(|v| v.version).max().unwrap_or(0);
        out_json!(json!({"current": current, "versions": versions}));
    } else {
        out!(
            "{}",
            render::history(&versions, crate::term::Style { on: crate::term::color_stdout() })
        );
    }
    Ok(0)
}

/// `jimsctl rollback`.
pub(crate) fn rollback(r: RollbackArgs) -> Result<u8, Error> {
    let report = pipeline::folder::rollback(&r.target.target, r.to)?;
    if report.unchanged {
        if r.target.output.format == OutputFormat::Json {
            out_json!(json!({"status": Exit::Unchanged.word(), "version": report.version,
                    "files_written": []}));
        } else {
            outln!(
                "Nothing to restore: {} already holds what that version holds, so no new version \
                 was made (it is still at version {}).",
                r.target.target.display(),
                report.version
            );
        }
        return Ok(0);
    }
    if r.target.output.format == OutputFormat::Json {
        out_json!(json!({"status": Exit::RolledBack.word(), "version": report.version,
            "files_written": report.files_written}));
    } else {
        outln!(
            "Rolled back {}: now version {} ({} restored).",
            render::path(&r.target.target),
            report.version,
            crate::import::plural(report.files_written.len(), "file")
        );
    }
    Ok(0)
}

/// `jimsctl key id`.
pub(crate) fn key_id(t: TargetArgs) -> Result<u8, Error> {
    let key_id = pipeline::folder::key_id(&t.target)?;
    if t.output.format == OutputFormat::Json {
        out_json!(json!({"key_id": key_id}));
    } else {
        outln!("{key_id}");
    }
    Ok(0)
}
