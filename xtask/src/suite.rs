//! `cargo xtask suite`: every criterion bench of the workspace (each stage's, and one import and
//! a batch end to end), saved as a named baseline or compared against one, so that a change's
//! effect on each stage is measured before and after on one machine.
//!
//! - `cargo xtask suite --save main`: run the suite and keep the results as `main`;
//! - `cargo xtask suite --compare main`: run it again and print each bench's change against
//!   `main` (criterion's own comparison, with its confidence interval);
//! - `--filter TEXT` runs only the benches whose id contains TEXT (criterion's filter);
//! - `--quick` shortens warm-up and measurement (1 s and 3 s instead of 3 s and 5 s).
//!
//! Baselines live in `target/criterion/` (criterion's place), so they survive until `cargo
//! clean`.

use anyhow::{Context, Result, bail};

/// What to do with the run's results.
#[derive(Debug, PartialEq, Eq)]
enum Baseline {
    /// Neither saved nor compared (criterion still compares with the previous run).
    None,
    /// Saved under this name.
    Save(String),
    /// Compared against the baseline of this name.
    Compare(String),
}

#[derive(Debug, PartialEq, Eq)]
struct Settings {
    baseline: Baseline,
    filter: Option<String>,
    quick: bool,
}

fn settings(args: &[String]) -> Result<Settings> {
    let mut s = Settings { baseline: Baseline::None, filter: None, quick: false };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().cloned().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--save" | "--compare" if s.baseline != Baseline::None => {
                bail!("give one of --save NAME and --compare NAME")
            }
            "--save" => s.baseline = Baseline::Save(name(value()?)?),
            "--compare" => s.baseline = Baseline::Compare(name(value()?)?),
            "--filter" => s.filter = Some(value()?),
            "--quick" => s.quick = true,
            other => bail!(
                "unknown option '{other}'; suite takes --save NAME | --compare NAME, --filter TEXT, \
                 --quick"
            ),
        }
    }
    Ok(s)
}

/// A baseline's name: criterion keeps it as a folder name.
fn name(text: String) -> Result<String> {
    let ok = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && !text.starts_with('.');
    if !ok {
        bail!("a baseline name is letters, digits, '-', '_' and '.', not '{text}'");
    }
    Ok(text)
}

/// The `cargo bench` command line for `s`.
fn cargo_args(s: &Settings) -> Vec<String> {
    let mut args: Vec<String> =
        ["bench", "--workspace", "--bench", "*", "--"].into_iter().map(String::from).collect();
    if let Some(f) = &s.filter {
        args.push(f.clone());
    }
    let (warm_up, measure) = if s.quick { ("1", "3") } else { ("3", "5") };
    args.extend(["--warm-up-time", warm_up, "--measurement-time", measure].map(String::from));
    match &s.baseline {
        Baseline::None => {}
        Baseline::Save(n) => args.extend(["--save-baseline".to_owned(), n.clone()]),
        Baseline::Compare(n) => args.extend(["--baseline".to_owned(), n.clone()]),
    }
    args
}

/// `cargo xtask suite ARGS`.
pub(crate) fn run(args: &[String]) -> Result<()> {
    let s = settings(args)?;
    let args = cargo_args(&s);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    crate::run("cargo", &args)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn save_and_compare_become_criterion_s_baseline_flags() {
        let s = settings(&strings(&["--save", "main", "--quick"])).unwrap();
        let args = cargo_args(&s);
        assert_eq!(args[..5], ["bench", "--workspace", "--bench", "*", "--"]);
        assert!(args.ends_with(&strings(&["--save-baseline", "main"])), "{args:?}");
        assert!(args.windows(2).any(|w| w == ["--measurement-time", "3"]), "{args:?}");
        let s = settings(&strings(&["--compare", "main", "--filter", "xml_read"])).unwrap();
        let args = cargo_args(&s);
        assert_eq!(args[5], "xml_read");
        assert!(args.ends_with(&strings(&["--baseline", "main"])), "{args:?}");
    }

    #[test]
    fn bad_settings_are_refused() {
        for bad in [
            &["--save"][..],
            &["--save", "a", "--compare", "b"],
            &["--compare", "../x"],
            &["--save", ".hidden"],
            &["--fast"],
        ] {
            assert!(settings(&strings(bad)).is_err(), "{bad:?}");
        }
    }
}
