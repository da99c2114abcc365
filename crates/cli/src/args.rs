//! The command line, as clap sees it. Names, flags and exit codes follow docs/cli.md.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Import Juniper JIMS server configurations: full or partial, with every missing password
/// resolved from the secret stores you already have.
#[derive(Debug, Parser)]
#[command(name = "jimsctl", version, about, long_about = None)]
#[command(after_help = "Exit codes: 0 done, 1 unexpected failure, 2 bad usage or input, \
3 passwords still missing, 4 partial-import warning not accepted, 5 target busy, \
6 (batch) at least one import failed.")]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
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
    /// List the versions of a managed server folder.
    History(TargetArgs),
    /// Restore an earlier version of a managed server folder (recorded as a new version).
    Rollback(RollbackArgs),
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
#[command(after_help = "Exit codes: 0 every import succeeded, 6 at least one did not (each \
one's own code is in the report); 2 bad usage or an unreadable manifest.")]
pub(crate) struct BatchArgs {
    /// The imports: a TOML file of [[import]] tables or a JSON file {"import": [...]}, each
    /// with export, target and optionally sections, accept_warning, secrets, source_key,
    /// dry_run.
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
    /// Show the start of a failing `cmd:` program's error output (it may hold a secret).
    #[arg(long)]
    pub(crate) verbose: bool,
    /// The exporting server's key file.
    #[arg(long, value_name = "FILE")]
    pub(crate) source_key: Option<PathBuf>,
    /// Do everything but write.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Look every secret up for each import (by default a secret with the same keys, Data and
    /// Username is looked up once for the whole batch).
    #[arg(long)]
    pub(crate) no_shared_lookups: bool,
    /// Write the report (JSON) to FILE.
    #[arg(long, value_name = "FILE")]
    pub(crate) report: Option<PathBuf>,
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
}

/// The flags `import` and `passwords` share.
#[derive(Debug, Args)]
pub(crate) struct ResolveArgs {
    /// The export: an XML or JSON bundle, or a server configuration folder.
    pub(crate) export: PathBuf,
    /// The managed server folder to import into (`import` creates it when it does not exist;
    /// `passwords` only reads it).
    #[arg(long, value_name = "DIR")]
    pub(crate) target: PathBuf,
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
    /// Show the start of a failing `cmd:` program's error output (it may hold a secret).
    #[arg(long)]
    pub(crate) verbose: bool,
    /// The exporting server's key file, so its sealed passwords are re-sealed instead of
    /// counted missing.
    #[arg(long, value_name = "FILE")]
    pub(crate) source_key: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) output: OutputArgs,
}

#[derive(Debug, Args)]
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
    /// value, to fill in and pass back with --secrets file:FILE.
    #[arg(long, value_name = "FILE")]
    pub(crate) emit: Option<PathBuf>,
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
    /// Where to write: `.xml` or `.json` by extension, otherwise a new folder.
    pub(crate) out: PathBuf,
    /// The output's kind, overriding OUT's extension.
    #[arg(long, value_enum)]
    pub(crate) to: Option<ConvertKind>,
}

/// The longest `--secrets-timeout` accepted: a day.
const MAX_TIMEOUT_SECONDS: f64 = 86_400.0;

/// `--secrets-timeout SECONDS`: a number of seconds above 0 and at most a day.
fn parse_timeout(text: &str) -> Result<f64, String> {
    let seconds: f64 =
        text.trim().parse().map_err(|_| format!("'{text}' is not a number of seconds"))?;
    if seconds.is_finite() && seconds > 0.0 && seconds <= MAX_TIMEOUT_SECONDS {
        Ok(seconds)
    } else {
        Err(format!("the time limit must be above 0 and at most {MAX_TIMEOUT_SECONDS} seconds"))
    }
}
