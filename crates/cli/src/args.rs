//! The command line, as clap sees it. Names, flags and exit codes follow docs/cli.md.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Import Juniper JIMS server configurations: full or partial, with every missing password
/// resolved from the secret stores you already have.
#[derive(Debug, Parser)]
#[command(name = "jimsctl", version, about, long_about = None)]
#[command(after_help = "Exit codes: 0 done, 1 unexpected failure, 2 bad usage or input, \
3 passwords still missing, 4 partial-import warning not accepted, 5 target busy, \
6 (batch) at least one import or push failed, 7 (push) failed midway and the server could not \
be put back: it holds a mix.")]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
    /// When to use colour: auto (on a terminal that has colours, TERM not dumb, unless NO_COLOR
    /// is set or CLICOLOR=0; CLICOLOR_FORCE=1 forces it), always or never.
    #[arg(long, global = true, value_enum, value_name = "WHEN", default_value_t = crate::term::ColorWhen::Auto)]
    pub(crate) color: crate::term::ColorWhen,
    /// Say less: only the outcome's first line (and errors); `diff` prints nothing.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub(crate) quiet: bool,
    /// Say more: every item of a plan or a diff, not the first few of each list, and the start
    /// of a failing `cmd:` program's error output (which may hold a secret).
    #[arg(short, long, global = true)]
    pub(crate) verbose: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Manage a server folder.
    #[command(subcommand)]
    Server(ServerCommand),
    /// Import an export (XML, JSON or a server folder) into a managed server folder.
    Import(ImportArgs),
    /// Show the Add Missing Passwords table of an import, without writing anything.
    Passwords(PasswordsArgs),
    /// Write a bundle of a managed server folder.
    Export(ExportArgs),
    /// Convert between an XML bundle, a JSON bundle and a server folder, without loss.
    Convert(ConvertArgs),
    /// List the versions of a managed server folder, or show one (`history show N`).
    History(HistoryArgs),
    /// Restore an earlier version of a managed server folder (recorded as a new version).
    Rollback(RollbackArgs),
    /// The state of a managed folder: server, key id, version, hand edits to the live files
    /// since that version (which files, which items), and the remote's last push.
    Status(StatusArgs),
    /// Check a bundle, a server folder or a managed folder on its own, without a target: every
    /// problem the import rules find (exit 0 valid, 2 not).
    Validate(ValidateArgs),
    /// Print a shell's completion script for jimsctl (bash, zsh, fish, elvish, powershell),
    /// e.g. `jimsctl completions bash > /etc/bash_completion.d/jimsctl`.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Write jimsctl's man pages (one per command) into DIR (`cargo xtask man` runs this).
    #[command(hide = true)]
    Man {
        /// The folder to write the pages into (made when absent).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Compare two configurations: bundles, server folders, managed folders or versions of
    /// one (DIR@N), as the plan shows an import.
    Diff(DiffArgs),
    /// Key commands.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Show or change the Export/Import settings: the default folder for export files, and
    /// the last folder an import used.
    Settings(SettingsArgs),
    /// Run many imports at once, in parallel: from a manifest, or from a folder of exports.
    Batch(BatchArgs),
    /// Secret-source plugins: the libraries found, their ABI version and status.
    #[command(subcommand)]
    Plugins(PluginsCommand),
    /// The live JIMS server of a managed folder: set, show, forget it, or look at a server's
    /// certificate.
    #[command(subcommand)]
    Remote(crate::push::RemoteCommand),
    /// Send a managed folder's configuration to its live JIMS (see `jimsctl remote`).
    Push(crate::push::PushArgs),
}

/// `jimsctl plugins …`.
#[derive(Debug, Subcommand)]
pub(crate) enum PluginsCommand {
    /// List every library in the plugin folders (JIMSCTL_PLUGIN_PATH, then plugins/ beside
    /// jimsctl): name, version, ABI version, and whether it is usable or why not.
    List(OutputArgs),
}

/// `jimsctl batch`: the list of imports, the `import` flags that apply to every entry that does
/// not set its own, and how to run.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("list").required(true).args(["manifest", "exports"])))]
#[command(after_help = "Exit codes: 0 every import (and push) succeeded, 6 at least one did not \
(each one's own code is in the report); 2 bad usage or an unreadable manifest.")]
pub(crate) struct BatchArgs {
    /// The imports: a TOML file of [[import]] tables or a JSON file {"import": [...]}, each
    /// with export, target and optionally sections, accept_warning, secrets, source_key,
    /// dry_run, replace_event_sources.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["exports", "targets"])]
    pub(crate) manifest: Option<PathBuf>,
    /// A folder of exports: each NAME.xml or NAME.json (not *.secrets.json) is imported into
    /// TARGETS/NAME/.
    #[arg(long, value_name = "DIR", requires = "targets")]
    pub(crate) exports: Option<PathBuf>,
    /// The folder holding the managed folders (with --exports); made when absent.
    #[arg(long, value_name = "DIR", requires = "exports")]
    pub(crate) targets: Option<PathBuf>,
    /// Imports run at once (default: one per core).
    #[arg(short = 'j', long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub(crate) jobs: Option<u16>,
    /// Import only these sections of each file.
    #[arg(long, value_name = "ID[,ID…]", value_delimiter = ',')]
    pub(crate) sections: Option<Vec<String>>,
    /// Accept the partial-import warning for every partial import.
    #[arg(long)]
    pub(crate) accept_warning: bool,
    /// A secret source, repeatable, tried in the order given; `{name}` (the export's file name
    /// without extension) and `{dir}` (its folder) are replaced per export, e.g.
    /// file:{dir}/{name}.secrets.json.
    #[arg(long = "secrets", value_name = "SPEC")]
    pub(crate) secrets: Vec<String>,
    /// Time limit for each answer of a `cmd:` source or a plugin, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 30.0, value_parser = parse_timeout)]
    pub(crate) secrets_timeout: f64,
    /// The exporting server's key file.
    #[arg(long, value_name = "FILE")]
    pub(crate) source_key: Option<PathBuf>,
    /// Do everything but write.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Clear and replace the event sources in a partial import too (by default a partial
    /// import keeps the target's event sources and adds only those with new ids, as JIMS does).
    #[arg(long)]
    pub(crate) replace_event_sources: bool,
    /// Look every secret up for each import (by default a secret with the same keys, Data and
    /// Username is looked up once for the whole batch).
    #[arg(long)]
    pub(crate) no_shared_lookups: bool,
    /// Write the report (JSON) to FILE.
    #[arg(long, value_name = "FILE")]
    pub(crate) report: Option<PathBuf>,
    /// After each import succeeds, push its target to its remote (`jimsctl remote set`), with
    /// the entry's --secrets for the administrator's password (remote/HOST, account/NAME).
    #[arg(long)]
    pub(crate) push: bool,
    /// Pushes run at once, on their own pool while imports go on.
    #[arg(long, value_name = "N", default_value_t = 8, requires = "push",
          value_parser = clap::value_parser!(u16).range(1..))]
    pub(crate) push_jobs: u16,
    /// Time limit of each push request, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 30.0, value_parser = parse_timeout,
          requires = "push")]
    pub(crate) push_timeout: f64,
    #[command(flatten)]
    pub(crate) output: OutputArgs,
}

#[derive(Debug, Args)]
pub(crate) struct SettingsArgs {
    /// Set the default folder where export files are looked up.
    #[arg(long, value_name = "DIR", conflicts_with = "unset_default_folder")]
    pub(crate) default_folder: Option<PathBuf>,
    /// Forget the default folder.
    #[arg(long)]
    pub(crate) unset_default_folder: bool,
    #[command(flatten)]
    pub(crate) output: OutputArgs,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ServerCommand {
    /// Make DIR a managed JIMS configuration folder: an empty configuration and a fresh key.
    Init {
        /// The folder to create or take over.
        dir: PathBuf,
        /// The server's id, carried by its exports (default: the folder's name).
        #[arg(long, value_name = "ID")]
        server_id: Option<String>,
        /// Take over a folder that already holds a JIMS `cwd/`, sealing the plaintext
        /// passwords it finds.
        #[arg(long)]
        adopt: bool,
        #[command(flatten)]
        output: OutputArgs,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum KeyCommand {
    /// Print the folder's key id (the `server_key_id` its exports carry).
    Id(TargetArgs),
    /// Print the folder's transport public key, its id and the server id: a small text file,
    /// safe to mail or commit, that other servers pass to `export --to`.
    Public(KeyPublicArgs),
    /// Replace the server key (or, with --transport, the transport key pair); the old key is
    /// kept in the folder's key ring so that its history still opens.
    Rotate(KeyRotateArgs),
    /// List the current and retired keys, and the versions that use each.
    List(TargetArgs),
    /// Destroy a retired key (refused while a version still needs it, unless
    /// --reseal-history).
    Retire(KeyRetireArgs),
}

/// `jimsctl key public`.
#[derive(Debug, Args)]
pub(crate) struct KeyPublicArgs {
    /// The managed server folder.
    #[arg(long, value_name = "DIR")]
    pub(crate) target: PathBuf,
    /// Write the public-key file here instead of to standard output.
    #[arg(long, value_name = "FILE")]
    pub(crate) out: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) output: OutputArgs,
}

/// `jimsctl key rotate`.
#[derive(Debug, Args)]
pub(crate) struct KeyRotateArgs {
    /// The managed server folder.
    #[arg(long, value_name = "DIR")]
    pub(crate) target: PathBuf,
    /// Rotate the transport key pair instead of the server key.
    #[arg(long)]
    pub(crate) transport: bool,
    /// Check that every sealed value opens and say what would change, writing nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
    #[command(flatten)]
    pub(crate) output: OutputArgs,
}

/// `jimsctl key retire`.
#[derive(Debug, Args)]
pub(crate) struct KeyRetireArgs {
    /// The managed server folder.
    #[arg(long, value_name = "DIR")]
    pub(crate) target: PathBuf,
    /// The id of the retired key to destroy (see `jimsctl key list`).
    #[arg(long, value_name = "ID")]
    pub(crate) id: String,
    /// Re-seal the versions that still use the key under the current key first.
    #[arg(long)]
    pub(crate) reseal_history: bool,
    #[command(flatten)]
    pub(crate) output: OutputArgs,
}

/// Output for people (default) or programs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub(crate) enum OutputFormat {
    /// Text for people.
    #[default]
    Text,
    /// One JSON object on standard output.
    Json,
}

#[derive(Debug, Args)]
pub(crate) struct OutputArgs {
    /// Output for people or for programs.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub(crate) format: OutputFormat,
}

#[derive(Debug, Args)]
pub(crate) struct TargetArgs {
    /// The managed server folder.
    #[arg(long, value_name = "DIR")]
    pub(crate) target: PathBuf,
    #[command(flatten)]
    pub(crate) output: OutputArgs,
}

#[derive(Debug, Args)]
pub(crate) struct RollbackArgs {
    #[command(flatten)]
    pub(crate) target: TargetArgs,
    /// The version to restore (default: the one before the current).
    #[arg(long, value_name = "N")]
    pub(crate) to: Option<u64>,
    /// Show what the rollback would change, and write nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
}

/// `jimsctl history [--target DIR]` or `jimsctl history show N --target DIR`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub(crate) struct HistoryArgs {
    #[command(subcommand)]
    pub(crate) show: Option<HistoryCommand>,
    /// The managed server folder.
    #[arg(long, value_name = "DIR", required = true)]
    pub(crate) target: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) output: OutputArgs,
}

/// `jimsctl history show`.
#[derive(Debug, Subcommand)]
pub(crate) enum HistoryCommand {
    /// What version N holds (sections and item counts) and what it changed from the version
    /// before it.
    Show {
        /// The version.
        version: u64,
        #[command(flatten)]
        target: TargetArgs,
    },
}

/// `jimsctl status --target DIR`.
#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    #[command(flatten)]
    pub(crate) target: TargetArgs,
    /// Exit with 1 when the live files were changed by hand since the current version.
    #[arg(long)]
    pub(crate) exit_code: bool,
}

/// `jimsctl validate FILE|DIR`.
#[derive(Debug, Args)]
pub(crate) struct ValidateArgs {
    /// An XML or JSON bundle, a server folder, a managed folder or DIR@N.
    #[arg(value_name = "FILE|DIR")]
    pub(crate) path: String,
    #[command(flatten)]
    pub(crate) output: OutputArgs,
}

/// `jimsctl diff A B`.
#[derive(Debug, Args)]
#[command(after_help = "Each side is an XML or JSON bundle, a server folder, a managed folder \
(its live configuration) or DIR@N (version N of a managed folder). Exit codes: 0 compared (with \
--exit-code: no difference), 1 with --exit-code: they differ, 2 bad input.")]
pub(crate) struct DiffArgs {
    /// The old side.
    #[arg(value_name = "A")]
    pub(crate) a: String,
    /// The new side.
    #[arg(value_name = "B")]
    pub(crate) b: String,
    /// Exit with 1 when the two differ (0 when they do not), for scripts.
    #[arg(long)]
    pub(crate) exit_code: bool,
    /// A server key file that opens sealed passwords of either side, so they compare by value
    /// (a managed folder's own key is used without asking); repeatable.
    #[arg(long, value_name = "FILE")]
    pub(crate) source_key: Vec<PathBuf>,
    #[command(flatten)]
    pub(crate) output: OutputArgs,
}

/// The flags `import` and `passwords` share.
#[derive(Debug, Args)]
pub(crate) struct ResolveArgs {
    /// The export: an XML or JSON bundle, or a server configuration folder.
    pub(crate) export: PathBuf,
    /// The managed server folder to import into (`import` creates it when it does not exist;
    /// `passwords` only reads it, and without it shows what a new server would need).
    #[arg(long, value_name = "DIR")]
    pub(crate) target: Option<PathBuf>,
    /// Import only these sections of the file (the Advanced chooser).
    #[arg(long, value_name = "ID[,ID…]", value_delimiter = ',')]
    pub(crate) sections: Option<Vec<String>>,
    /// A secret source, repeatable, tried in the order given: env, file:PATH, dir:PATH,
    /// cmd:PROGRAM [ARG…], plugin:NAME[:CONFIG], prompt.
    #[arg(long = "secrets", value_name = "SPEC")]
    pub(crate) secrets: Vec<String>,
    /// Time limit for each answer of a `cmd:` source or a plugin, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 30.0, value_parser = parse_timeout)]
    pub(crate) secrets_timeout: f64,
    /// The exporting server's key file, so its sealed passwords are re-sealed instead of
    /// counted missing.
    #[arg(long, value_name = "FILE")]
    pub(crate) source_key: Option<PathBuf>,
    /// Clear and replace the event sources in a partial import too (by default a partial
    /// import keeps the target's event sources and adds only those with new ids, as JIMS does).
    #[arg(long)]
    pub(crate) replace_event_sources: bool,
    #[command(flatten)]
    pub(crate) output: OutputArgs,
}

#[derive(Debug, Args)]
#[command(mut_arg("target", |a| a.required(true)))]
pub(crate) struct ImportArgs {
    #[command(flatten)]
    pub(crate) resolve: ResolveArgs,
    /// Accept the partial-import warning ahead of time.
    #[arg(long)]
    pub(crate) accept_warning: bool,
    /// Do everything but write: print the plan.
    #[arg(long)]
    pub(crate) dry_run: bool,
}

#[derive(Debug, Args)]
pub(crate) struct PasswordsArgs {
    #[command(flatten)]
    pub(crate) resolve: ResolveArgs,
    /// Write a secrets file (JSON or TOML, by extension) with every missing key and an empty
    /// value, to fill in and pass back with --secrets file:FILE. An existing FILE keeps every
    /// key and value it has; the missing keys are added to it.
    #[arg(long, value_name = "FILE")]
    pub(crate) emit: Option<PathBuf>,
    /// With --emit: overwrite an existing FILE with the missing keys only (what it holds is lost).
    #[arg(long, requires = "emit")]
    pub(crate) force: bool,
    /// Show each row's secret key in the table: the key that answered a fixed row, the item's
    /// own key for a missing one.
    #[arg(long)]
    pub(crate) keys: bool,
}

/// A bundle's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum BundleFormat {
    /// An XML bundle.
    Xml,
    /// A JSON bundle.
    Json,
}

/// What `export` does with the passwords.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub(crate) enum PasswordsArg {
    /// As stored: sealed under this server's key.
    #[default]
    Sealed,
    /// Without passwords.
    Omit,
    /// Plaintext, for deploying to a real JIMS (the file gets mode 0600).
    Plain,
}

#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    /// The managed server folder.
    #[arg(long, value_name = "DIR")]
    pub(crate) target: PathBuf,
    /// The bundle to write.
    #[arg(long, value_name = "FILE")]
    pub(crate) out: PathBuf,
    /// The bundle's format (default: from OUT's extension, else XML).
    #[arg(long, value_enum)]
    pub(crate) format: Option<BundleFormat>,
    /// Only these sections.
    #[arg(long, value_name = "ID[,ID…]", value_delimiter = ',')]
    pub(crate) sections: Option<Vec<String>>,
    /// Sealed (default), omit, or plain.
    #[arg(long, value_enum, default_value_t = PasswordsArg::Sealed)]
    pub(crate) passwords: PasswordsArg,
    /// Replace OUT when it exists (by default an existing file is refused).
    #[arg(long)]
    pub(crate) force: bool,
    /// Seal the passwords to this server's public key (a file from `jimsctl key public`)
    /// instead of this server's key; repeatable, one per recipient. The recipients import with
    /// no --source-key.
    #[arg(long = "to", value_name = "PUBFILE")]
    pub(crate) to: Vec<PathBuf>,
}

/// `convert`'s output kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ConvertKind {
    /// An XML bundle.
    Xml,
    /// A JSON bundle.
    Json,
    /// A server configuration folder.
    Folder,
}

#[derive(Debug, Args)]
pub(crate) struct ConvertArgs {
    /// An XML bundle, a JSON bundle or a server folder.
    pub(crate) input: PathBuf,
    /// Where to write: `.xml` or `.json` by extension, a new folder for a name without an
    /// extension (any other extension needs --to).
    pub(crate) out: PathBuf,
    /// The output's kind, overriding OUT's extension.
    #[arg(long, value_enum)]
    pub(crate) to: Option<ConvertKind>,
    /// Replace OUT when it is an existing file (by default it is refused).
    #[arg(long)]
    pub(crate) force: bool,
}

/// The longest `--secrets-timeout` accepted: a day.
const MAX_TIMEOUT_SECONDS: f64 = 86_400.0;

/// `--secrets-timeout SECONDS`: a number of seconds above 0 and at most a day.
pub(crate) fn parse_timeout(text: &str) -> Result<f64, String> {
    let seconds: f64 =
        text.trim().parse().map_err(|_| format!("'{text}' is not a number of seconds"))?;
    if seconds.is_finite() && seconds > 0.0 && seconds <= MAX_TIMEOUT_SECONDS {
        Ok(seconds)
    } else {
        Err(format!("the time limit must be above 0 and at most {MAX_TIMEOUT_SECONDS} seconds"))
    }
}
