//! The key commands beyond `key id`: `key public`, `key rotate`, `key list`, `key retire`, and
//! what `export --to` and an import of a sealed bundle print about recipients.

use pipeline::folder::KeyKind;
use pipeline::{Error, ExportReport, SealedToNote};
use serde_json::json;

use crate::args::{KeyPublicArgs, KeyRetireArgs, KeyRotateArgs, OutputFormat, TargetArgs};
use crate::exit::Exit;

/// What a rotation does not do: said after every rotation.
pub(crate) const ROTATION_LIMITS: &str = "A rotation re-seals what this folder stores; it does \
not change the passwords themselves. If the old key may have leaked, anyone holding it and an \
old copy of this folder or one of its exports can still open them: change the real AD, SRX and \
CSO passwords too, then import them.";

/// Text from an input (a server id), as printed: control characters escaped.
fn shown(s: &str) -> String {
    crate::render::escape_for_terminal(s).into_owned()
}

/// `jimsctl key public`: the folder's transport public key as a public-key file, made first in
/// a folder that has none.
pub(crate) fn public(a: KeyPublicArgs) -> Result<u8, Error> {
    let pipeline::folder::TransportPublicKey { file, created } =
        pipeline::folder::public_key(&a.target)?;
    let text = file.to_text();
    if let Some(out) = &a.out {
        pipeline::write_file_atomic(out, text.as_bytes(), 0o644)?;
    }
    if a.output.format == OutputFormat::Json {
        let mut v = json!({"server_id": file.server_id, "key_id": file.public.id().as_str(),
            "public_key": hex_of(file.public.as_bytes()), "created": created});
        if let Some(out) = &a.out {
            v["out"] = json!(out);
        } else {
            v["file"] = json!(text);
        }
        out_json!(v);
    } else {
        if created {
            errln!("Made a transport key pair for {} (it had none).", a.target.display());
        }
        match &a.out {
            Some(out) => outln!(
                "Wrote the public key {} of server '{}' to {}; give it to the servers that \
                 export to this one (`jimsctl export --to {}`).",
                file.public.id(),
                shown(&file.server_id),
                out.display(),
                out.display()
            ),
            None => out!("{text}"),
        }
    }
    Ok(0)
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `jimsctl key rotate [--transport] [--dry-run]`.
pub(crate) fn rotate(a: KeyRotateArgs) -> Result<u8, Error> {
    let report = pipeline::folder::rotate_key(&a.target, a.transport, a.dry_run)?;
    let limits = if a.transport {
        "Bundles already sealed to the old transport key still import here (it is kept in the \
         key ring until `jimsctl key retire`); give the senders the new public key \
         (`jimsctl key public`)."
    } else {
        ROTATION_LIMITS
    };
    if a.output.format == OutputFormat::Json {
        out_json!(json!({"status": if a.dry_run {Exit::DryRun} else {Exit::Rotated}.word(),
                "kind": report.kind,
                "old_key_id": report.old_id, "new_key_id": report.new_id,
                "resealed": report.resealed, "untouched": report.untouched,
                "version": report.version, "note": limits}));
        return Ok(0);
    }
    let verb = if a.dry_run { "Would rotate" } else { "Rotated" };
    let old = report.old_id.as_deref().unwrap_or("none");
    match report.kind {
        KeyKind::Server => {
            outln!(
                "{verb} the server key of {}: key {old} {} retired (kept in the key ring), new \
                 key {}.",
                a.target.display(),
                if a.dry_run { "would be" } else { "is" },
                if a.dry_run { "not made yet".to_owned() } else { report.new_id.clone() }
            );
            outln!(
                "{} {}re-sealed under the new key{}; {} left as {}.",
                crate::import::plural(report.resealed, "password"),
                if a.dry_run { "would be " } else { "" },
                report.version.map(|v| format!(", as version {v}")).unwrap_or_default(),
                crate::import::plural(report.untouched, "{capi}/{fsw} value"),
                if report.untouched == 1 { "it is" } else { "they are" }
            );
        }
        KeyKind::Transport => outln!(
            "{verb} the transport key of {}: key {old} {} retired (kept in the key ring), new \
             key {}.",
            a.target.display(),
            if a.dry_run { "would be" } else { "is" },
            if a.dry_run { "not made yet".to_owned() } else { report.new_id.clone() }
        ),
    }
    outln!("Note: {limits}");
    Ok(0)
}

/// `jimsctl key list`.
pub(crate) fn list(t: TargetArgs) -> Result<u8, Error> {
    let keys = pipeline::folder::key_list(&t.target)?;
    if t.output.format == OutputFormat::Json {
        out_json!(json!({"keys": keys}));
        return Ok(0);
    }
    let style = crate::term::Style { on: crate::term::color_stdout() };
    let mut grid = crate::grid::Grid::new(["KIND", "ID", "STATE", "RETIRED", "VERSIONS"], style);
    for k in &keys {
        let versions = if k.kind == KeyKind::Transport {
            "-".to_owned()
        } else if k.versions.is_empty() {
            "none".to_owned()
        } else {
            k.versions.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")
        };
        let state = match k.state {
            "missing" => style.red(k.state),
            _ => k.state.to_owned(),
        };
        grid.row([
            k.kind.as_str().to_owned(),
            shown(&k.id),
            state,
            shown(k.retired.as_deref().unwrap_or("-")),
            versions,
        ]);
    }
    out!("{}", grid.render());
    if keys.iter().any(|k| k.state == "missing") {
        outln!(
            "A key marked missing seals passwords of the versions shown but is not in this \
             folder: those passwords cannot be opened here."
        );
    }
    Ok(0)
}

/// `jimsctl key retire --id ID [--reseal-history]`.
pub(crate) fn retire(a: KeyRetireArgs) -> Result<u8, Error> {
    let report = pipeline::folder::retire_key(&a.target, &a.id, a.reseal_history)?;
    if a.output.format == OutputFormat::Json {
        out_json!(json!({"status": Exit::Retired.word(), "kind": report.kind, "key_id": report.id,
                "resealed_versions": report.resealed_versions, "version": report.version}));
        return Ok(0);
    }
    if let Some(v) = report.version {
        outln!("Re-sealed the current configuration under the current key as version {v}.");
    }
    if !report.resealed_versions.is_empty() {
        let list: Vec<String> = report.resealed_versions.iter().map(u64::to_string).collect();
        let noun = if list.len() == 1 { "version" } else { "versions" };
        outln!("Re-sealed history {noun} {} under the current key.", list.join(", "));
    }
    outln!(
        "Retired the {} key {} of {}: it is destroyed, and nothing here needs it any more.",
        report.kind.as_str(),
        report.id,
        a.target.display()
    );
    if report.kind == KeyKind::Transport {
        outln!("Bundles sealed to it no longer import here.");
    }
    Ok(0)
}

/// `export --to`: the recipients the bundle was sealed to.
pub(crate) fn print_recipients(r: &ExportReport) {
    for rec in &r.recipients {
        outln!("Sealed to '{}' (transport key {}).", shown(&rec.server_id), rec.key_id);
    }
    if !r.recipients.is_empty() {
        outln!(
            "{} sealed under a fresh data key that only those recipients can unwrap; they \
             import it with no --source-key.",
            crate::import::plural(r.opened, "password")
        );
    }
}

/// An import of a sealed bundle: who it was sealed to, when this server is not among them.
pub(crate) fn print_sealed_to(note: Option<&SealedToNote>, missing: bool) {
    if let Some(note) = note
        && note.opened_with.is_none()
        && missing
    {
        errln!("note: {}", note.not_a_recipient_message());
    }
}
