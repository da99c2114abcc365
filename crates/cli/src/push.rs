//! `jimsctl remote …` and `jimsctl push`: a managed folder's live JIMS server, and sending its
//! configuration there (live-jims.md). Arguments, the terminal's password prompt, and the
//! text and JSON output.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};
use pipeline::push::{FileResult, PushOutcome, PushStatus, RemoteConfig};
use pipeline::{Chain, Error, Secret, Table};
use serde_json::{Value, json};

use crate::args::{OutputArgs, OutputFormat, TargetArgs, parse_timeout};
use crate::exit::Exit;
use crate::term::{self, Style};
use crate::{prompt, render, sources};

/// `jimsctl remote …`.
#[derive(Debug, Subcommand)]
pub(crate) enum RemoteCommand {
    /// Set or replace the folder's remote (connects nowhere). The same URL keeps the record of
    /// the last push; a new URL is a new server and starts without one.
    Set(RemoteSetArgs),
    /// Show the folder's remote and its last push.
    Show(TargetArgs),
    /// Forget the folder's remote and its last push.
    Unset(TargetArgs),
    /// Connect to a server trusting nothing, send nothing, and print its certificate's SHA-256
    /// fingerprint, subject and validity, to compare with the server's own before pinning it.
    Fingerprint(FingerprintArgs),
}

impl RemoteCommand {
    pub(crate) fn format(&self) -> OutputFormat {
        match self {
            RemoteCommand::Set(a) => a.output.format,
            RemoteCommand::Show(t) | RemoteCommand::Unset(t) => t.output.format,
            RemoteCommand::Fingerprint(a) => a.output.format,
        }
    }
}

/// `jimsctl remote set`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("trust").required(true).args(["pin_sha256", "ca_file"])))]
pub(crate) struct RemoteSetArgs {
    /// The managed server folder.
    #[arg(long, value_name = "DIR")]
    target: PathBuf,
    /// The server: https://HOST[:PORT] (the port defaults to 1505).
    #[arg(long, value_name = "URL")]
    url: String,
    /// The JIMS administrator's name; the password comes from --secrets at push time
    /// (keys remote/HOST, then account/NAME).
    #[arg(long, value_name = "NAME")]
    user: String,
    /// Trust the server whose certificate has this SHA-256 fingerprint (hex, colons
    /// optional); the host name is then not checked.
    #[arg(long, value_name = "HEX")]
    pin_sha256: Option<String>,
    /// Trust the certificates signed by the CAs of this PEM file (chain and host name checked).
    #[arg(long, value_name = "PEM")]
    ca_file: Option<PathBuf>,
    /// SECTION=NAME: send SECTION to /config/NAME on this server; SECTION=-: never send it.
    /// SECTION is a section id or a native file's name (clients_https). Repeatable.
    #[arg(long = "endpoint", value_name = "SECTION=NAME")]
    endpoints: Vec<String>,
    #[command(flatten)]
    output: OutputArgs,
}

/// `jimsctl remote fingerprint`.
#[derive(Debug, Args)]
pub(crate) struct FingerprintArgs {
    /// The server: https://HOST[:PORT].
    url: String,
    /// Time limit, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 30.0, value_parser = parse_timeout)]
    timeout: f64,
    #[command(flatten)]
    output: OutputArgs,
}

/// `jimsctl push`.
#[derive(Debug, Args)]
#[command(
    after_help = "Exit codes: 0 pushed, up to date or dry run; 1 failed (nothing changed, or \
every section sent was put back); 2 bad usage or input, or the server refused the credentials \
or its certificate; 3 the administrator's password is missing; 5 the folder is busy; 7 failed \
midway and the server could not be put back: it holds a mix (the report says which sections \
hold what)."
)]
pub(crate) struct PushArgs {
    /// The managed server folder, whose remote is set with `jimsctl remote set`.
    #[arg(long, value_name = "DIR")]
    target: PathBuf,
    /// Send these sections (ids), changed or not.
    #[arg(long, value_name = "ID[,ID…]", value_delimiter = ',', conflicts_with = "all")]
    sections: Option<Vec<String>>,
    /// Send every section, changed or not (admin_clients only with --include-admin-clients).
    #[arg(long)]
    all: bool,
    /// Send admin_clients too (the admin whitelist: a wrong one locks the administrator out,
    /// and JIMS reads it only when it restarts).
    #[arg(long)]
    include_admin_clients: bool,
    /// Resolve and build everything, print what would be sent in which order; connect nowhere.
    #[arg(long)]
    dry_run: bool,
    /// Where the administrator's password is (keys remote/HOST, then account/NAME): env,
    /// file:PATH, dir:PATH, cmd:PROGRAM [ARG…], plugin:NAME[:CONFIG], prompt. Repeatable.
    #[arg(long = "secrets", value_name = "SPEC")]
    secrets: Vec<String>,
    /// Time limit of each `cmd:` answer, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 30.0, value_parser = parse_timeout)]
    secrets_timeout: f64,
    /// Show the start of a failing `cmd:` program's error output (it may hold a secret).
    #[arg(long)]
    verbose: bool,
    /// Time limit of each request, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 30.0, value_parser = parse_timeout)]
    timeout: f64,
    #[command(flatten)]
    pub(crate) output: OutputArgs,
}

/// `jimsctl remote …`.
pub(crate) fn remote(command: RemoteCommand, style: Style) -> Result<u8, Error> {
    match command {
        RemoteCommand::Set(a) => {
            let settings = pipeline::RemoteSettings {
                url: a.url,
                user: a.user,
                pin_sha256: a.pin_sha256,
                ca_file: a.ca_file,
                endpoints: a.endpoints,
            };
            let report = pipeline::remote_set(&a.target, &settings)?;
            if a.output.format == OutputFormat::Json {
                let mut v = serde_json::to_value(&report).unwrap_or_default();
                v["status"] = json!(Exit::Set.word());
                out_json!(v);
            } else {
                outln!(
                    "{} {} for {}.",
                    if report.replaced { "Replaced the remote with" } else { "Remote set:" },
                    style.bold(&report.remote.url),
                    render::path(&a.target)
                );
                out!("{}", describe_remote(&report.remote));
                if report.replaced {
                    outln!(
                        "{}",
                        if report.kept_last_push {
                            "Same server: the record of the last push is kept."
                        } else {
                            "A new server: the next push sends every section."
                        }
                    );
                }
                outln!(
                    "No connection was made. The administrator's password is read at push time \
                     from --secrets (remote/{}, then account/{}).",
                    host_of(&report.remote.url),
                    report.remote.user
                );
            }
            Ok(0)
        }
        RemoteCommand::Show(t) => {
            let show = pipeline::remote_show(&t.target)?;
            if t.output.format == OutputFormat::Json {
                out_json!(serde_json::to_value(&show).unwrap_or_default());
                return Ok(0);
            }
            let Some(remote) = &show.remote else {
                outln!(
                    "{} has no remote; set one with `jimsctl remote set --target {} --url \
                     https://HOST --user NAME --pin-sha256 HEX`.",
                    render::path(&t.target),
                    render::path(&t.target)
                );
                return Ok(0);
            };
            outln!("Remote: {}", style.bold(&remote.url));
            out!("{}", describe_remote(remote));
            match &show.last_push {
                Some(p) => {
                    outln!("Last push: version {} at {}", p.version, p.time);
                    let mut grid = crate::grid::Grid::headless(style).indent(2);
                    for (file, f) in &p.files {
                        grid.row([
                            render::escape_for_terminal(file).into_owned(),
                            render::escape_for_terminal(&f.endpoint).into_owned(),
                            format!("from version {}", f.version),
                        ]);
                    }
                    out!("{}", grid.render());
                }
                None => outln!("Last push: none (the next push sends every section)"),
            }
            if show.interrupted {
                outln!(
                    "{}",
                    style.yellow(
                        "A push was interrupted: the next one sends every section so that the \
                         server converges."
                    )
                );
            }
            Ok(0)
        }
        RemoteCommand::Unset(t) => {
            let had = pipeline::remote_unset(&t.target)?;
            if t.output.format == OutputFormat::Json {
                out_json!(json!({"status": if had { Exit::Unset } else { Exit::NoRemote }.word()}));
            } else if had {
                outln!("Forgot the remote of {} and its last push.", render::path(&t.target));
            } else {
                outln!("{} had no remote.", render::path(&t.target));
            }
            Ok(0)
        }
        RemoteCommand::Fingerprint(a) => {
            let info = pipeline::remote_fingerprint(&a.url, Duration::from_secs_f64(a.timeout))?;
            if a.output.format == OutputFormat::Json {
                out_json!(json!({
                    "sha256": info.sha256.to_string(),
                    "subject": info.subject,
                    "issuer": info.issuer,
                    "not_before": info.not_before,
                    "not_after": info.not_after,
                    "names": info.names,
                }));
            } else {
                const LABELS: [&str; 5] =
                    ["SHA-256 fingerprint", "Subject", "Issuer", "Valid", "Names"];
                let label = |name| render::label(&LABELS, name);
                let fingerprint = style.bold(&info.sha256.to_string());
                outln!("{}{fingerprint}", label("SHA-256 fingerprint"));
                outln!("{}{}", label("Subject"), info.subject);
                outln!("{}{}", label("Issuer"), info.issuer);
                outln!("{}{} to {}", label("Valid"), info.not_before, info.not_after);
                if !info.names.is_empty() {
                    outln!("{}{}", label("Names"), info.names.join(", "));
                }
                outln!(
                    "Nothing was trusted or sent. Compare this fingerprint with the server's own \
                     (on the JIMS machine) before pinning it with `jimsctl remote set … \
                     --pin-sha256 {}`.",
                    info.sha256
                );
            }
            Ok(0)
        }
    }
}

fn host_of(url: &str) -> String {
    pipeline::push::host_of(url)
}

fn describe_remote(r: &RemoteConfig) -> String {
    let mut out = format!("  user: {}\n", r.user);
    if let Some(pin) = &r.pin_sha256 {
        out.push_str(&format!("  trust: the certificate with SHA-256 {pin}\n"));
    }
    if let Some(ca) = &r.ca_file {
        out.push_str(&format!("  trust: the CAs of {} (host name checked)\n", render::path(ca)));
    }
    for (section, name) in &r.endpoints {
        if name == "-" {
            out.push_str(&format!("  endpoint: {section} is never sent\n"));
        } else {
            out.push_str(&format!("  endpoint: {section} → /config/{name}\n"));
        }
    }
    out
}

/// Asks the administrator's password on the terminal (`--secrets prompt`).
struct Prompt {
    title: String,
    color: bool,
}

impl pipeline::push::AskPassword for Prompt {
    fn ask(&self, table: &mut Table) -> Option<Secret> {
        match prompt::run(table, &self.title, self.color) {
            Ok(prompt::Ended::Assigned(mut found)) => found.pop().map(|(_, s)| s),
            _ => None,
        }
    }
}

/// `jimsctl push`.
pub(crate) fn push(a: PushArgs, style: Style) -> Result<u8, Error> {
    let options = sources::options(a.secrets_timeout, a.verbose);
    let mut chain = Vec::new();
    let mut ask_prompt = false;
    for spec in &a.secrets {
        if spec == "prompt" {
            if !term::interactive() {
                return Err(sources::prompt_without_terminal(
                    "put the administrator's password under remote/HOST or account/NAME",
                ));
            }
            ask_prompt = true;
        } else {
            chain.push(sources::open(spec, &options)?);
        }
    }
    let chain = Chain::new(chain);
    let push_options = pipeline::PushOptions {
        sections: a.sections.clone(),
        all: a.all,
        include_admin_clients: a.include_admin_clients,
        dry_run: a.dry_run,
        timeout: Duration::from_secs_f64(a.timeout),
    };
    let outcome = if ask_prompt {
        let ask = Prompt {
            title: format!("push {} → administrator's password", render::path(&a.target)),
            color: style.on,
        };
        pipeline::push(&a.target, &push_options, &chain, &ask)
    } else {
        pipeline::push(&a.target, &push_options, &chain, &pipeline::push::NoAsking)
    };
    let outcome = outcome?;
    if a.output.format == OutputFormat::Json {
        out_json!(push_json(&outcome));
    } else {
        print_push(&outcome, style);
    }
    Ok(Exit::of_push(outcome.status).code())
}

/// The JSON of live-jims.md, one entry per native file.
pub(crate) fn push_json(o: &PushOutcome) -> Value {
    let exit = Exit::of_push(o.status);
    let mut v = json!({
        "status": exit.word(),
        "exit_code": exit.code(),
        "remote": o.remote,
        "version": o.version,
        "interrupted": o.interrupted,
        "sections": o.files,
        "passwords": o.passwords,
        "warnings": o.warnings,
        "seconds": o.seconds,
    });
    if let Some(m) = &o.message {
        v["message"] = json!(m);
    }
    if let Some(t) = &o.table {
        v["missing"] = render::table_json(t)["items"].clone();
    }
    v
}

fn result_word(r: FileResult) -> &'static str {
    match r {
        FileResult::Sent => "sent",
        FileResult::Restored => "restored",
        FileResult::NotRestored => "not-restored",
        FileResult::Failed => "failed",
        FileResult::Planned => "planned",
        FileResult::NotSent => "not-sent",
    }
}

fn print_push(o: &PushOutcome, style: Style) {
    for w in &o.warnings {
        errln!("{} {w}", style.yellow("warning:"));
    }
    match o.status {
        PushStatus::UpToDate => {
            outln!(
                "{} is up to date with version {}: nothing changed since the last push, no \
                 connection made.",
                o.remote,
                o.version
            );
            return;
        }
        PushStatus::MissingPasswords => {
            if let Some(t) = &o.table {
                out!("{}", render::table(t, style));
            }
            if let Some(m) = &o.message {
                errln!("error: {m}");
            }
            return;
        }
        _ => {}
    }
    let title = match o.status {
        PushStatus::DryRun => format!(
            "Dry run: would push version {} to {} in this order (nothing sent, no connection made):",
            o.version, o.remote
        ),
        PushStatus::Pushed => format!("Pushed version {} to {}:", o.version, o.remote),
        _ => format!("Push of version {} to {}:", o.version, o.remote),
    };
    outln!("{title}");
    for (i, f) in o.files.iter().enumerate() {
        let plan = match (f.plan, f.last_pushed_version) {
            (pipeline::push::FilePlan::New, _) => "never pushed".to_owned(),
            (pipeline::push::FilePlan::Changed, Some(v)) => format!("changed since version {v}"),
            (pipeline::push::FilePlan::Unchanged, Some(v)) => {
                format!("unchanged since version {v}")
            }
            (_, _) => String::new(),
        };
        let result = result_word(f.result);
        let result = match f.result {
            FileResult::Sent | FileResult::Restored => style.green(result),
            FileResult::Planned => result.to_owned(),
            FileResult::NotSent => style.yellow(result),
            FileResult::Failed | FileResult::NotRestored => style.red(result),
        };
        let status = f.http_status.map(|s| format!(" {s}")).unwrap_or_default();
        outln!(
            "  {:>2}. {:<17} {:<30} {:<26} {result}{status}",
            i + 1,
            f.id.as_str(),
            f.endpoint,
            plan
        );
        if let Some(note) = &f.note {
            outln!("      {note}");
        }
    }
    let p = &o.passwords;
    outln!(
        "Passwords: {} opened with the folder's key, {} plaintext, {} machine-bound, {} from a \
         template, {} empty.",
        p.opened,
        p.plaintext,
        p.machine_bound,
        p.from_template,
        p.missing
    );
    if let Some(m) = &o.message {
        let label = match o.status {
            PushStatus::Mixed => style.red("error (the server holds a mix):"),
            _ => style.red("error:"),
        };
        errln!("{label} {m}");
    }
}
