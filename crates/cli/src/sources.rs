//! Secret sources as the command line builds them from `--secrets SPEC`, shared by `import`,
//! `passwords` and `batch`: the options, the registry lookup, and the one refusal of `prompt`
//! without a terminal.

use std::time::Duration;

use pipeline::{Error, ErrorKind, SecretSource, SourceOptions};

/// The sources' options from `--secrets-timeout` (seconds, checked by the argument parser to be
/// above 0 and at most a day; anything else is clamped rather than trusted) and `--verbose`.
pub(crate) fn options(timeout_seconds: f64, verbose: bool) -> SourceOptions {
    let mut options = SourceOptions::default();
    options.verbose = verbose;
    let seconds =
        if timeout_seconds.is_finite() { timeout_seconds.clamp(0.001, 86_400.0) } else { 30.0 };
    options.timeout = Duration::from_secs_f64(seconds);
    options
}

/// The source a SPEC names, built-in or plugin, found through the registry by its scheme.
/// `prompt` is not a source of a chain: the caller asks a person itself.
pub(crate) fn open(spec: &str, options: &SourceOptions) -> Result<Box<dyn SecretSource>, Error> {
    pipeline::secret_source(spec, options)?.ok_or_else(|| {
        Error::new(
            ErrorKind::SourceConfig,
            format!("the secret source '{spec}' cannot be used here"),
        )
    })
}

/// [`open`], but opened only when the import first needs it: after it has checked its export
/// and its target (a malformed SPEC is refused at once).
pub(crate) fn deferred(
    spec: &str,
    options: &SourceOptions,
) -> Result<Box<dyn SecretSource>, Error> {
    pipeline::deferred_source(spec, options)?.ok_or_else(|| {
        Error::new(
            ErrorKind::SourceConfig,
            format!("the secret source '{spec}' cannot be used here"),
        )
    })
}

/// The error for `--secrets prompt` with no terminal to ask on; `file_hint` says how to get a
/// file of passwords for this command.
pub(crate) fn prompt_without_terminal(file_hint: &str) -> Error {
    Error::new(
        ErrorKind::SourceConfig,
        format!(
            "--secrets prompt needs a terminal; without one, give the passwords with --secrets \
             env, --secrets file:PATH ({file_hint}), --secrets dir:PATH, --secrets cmd:PROGRAM \
             or --secrets plugin:NAME[:CONFIG]"
        ),
    )
}
