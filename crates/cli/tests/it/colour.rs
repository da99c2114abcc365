//! Colour, decided once for jimsctl and clap: `--color auto|always|never`, then
//! `NO_COLOR`, `CLICOLOR_FORCE`, `CLICOLOR`, and whether the stream is a terminal that has
//! colours. Checked on standard output through a pipe and on a real pseudo-terminal (`script`
//! from util-linux), with the Add Missing Passwords table, whose header is bold and whose
//! Password column is red or green.

use std::process::{Command, Stdio};

use crate::support::{cmd, fixtures, isolated_home};

/// The table's first line as jimsctl writes it with colour.
const BOLD_HEADER: &str = "\x1b[1mIndex";
/// A missing password's cell with colour.
const RED_MISSING: &str = "\x1b[31mmissing\x1b[0m";

/// `jimsctl [FLAGS] passwords exports/full.xml` through a pipe, with `envs` set; its stdout.
fn piped(envs: &[(&str, &str)], flags: &[&str]) -> String {
    let mut c = cmd();
    c.current_dir(fixtures()).env("TERM", "xterm-256color").env("CI", "true");
    for (k, v) in envs {
        c.env(k, v);
    }
    let out = c.args(flags).args(["passwords", "exports/full.xml"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// Whether `stdout` is the coloured table (and nothing else is: all or nothing).
fn coloured(stdout: &str) -> bool {
    let on = stdout.starts_with(BOLD_HEADER) && stdout.contains(RED_MISSING);
    assert!(on || !stdout.contains('\x1b'), "half-coloured output:\n{stdout}");
    on
}

#[test]
fn through_a_pipe_colour_follows_the_flag_then_no_color_then_clicolor_force() {
    assert!(!coloured(&piped(&[], &[])), "not a terminal (even under CI): plain");
    assert!(!coloured(&piped(&[("CLICOLOR", "1")], &[])), "CLICOLOR=1 only allows colour");
    assert!(coloured(&piped(&[("CLICOLOR_FORCE", "1")], &[])));
    assert!(!coloured(&piped(&[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")], &[])));
    assert!(coloured(&piped(&[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "")], &[])), "empty NO_COLOR");
    assert!(coloured(&piped(&[], &["--color", "always"])));
    assert!(coloured(&piped(&[("NO_COLOR", "1")], &["--color=always"])), "the flag wins");
    assert!(!coloured(&piped(&[("CLICOLOR_FORCE", "1")], &["--color", "never"])));
    assert!(coloured(&piped(&[("CLICOLOR_FORCE", "1")], &["--color=auto"])));
}

#[test]
fn clicolor_force_0_or_empty_forces_nothing_any_other_value_forces_colour() {
    // https://bixense.com/clicolors/: "CLICOLOR_FORCE != 0": colour; `0` is not a request.
    assert!(!coloured(&piped(&[("CLICOLOR_FORCE", "0")], &[])), "CLICOLOR_FORCE=0");
    assert!(!coloured(&piped(&[("CLICOLOR_FORCE", "")], &[])), "empty: as unset");
    for v in ["1", "yes", "true", "2"] {
        assert!(coloured(&piped(&[("CLICOLOR_FORCE", v)], &[])), "CLICOLOR_FORCE={v}");
    }
    assert!(coloured(&piped(&[("CLICOLOR_FORCE", "0")], &["--color", "always"])), "the flag wins");
    assert!(!coloured(&piped(&[("CLICOLOR_FORCE", "0")], &["--color=never"])));
    assert!(!coloured(&piped(&[("CLICOLOR_FORCE", "0")], &["--color=auto"])));
    assert!(!coloured(&piped(&[("CLICOLOR_FORCE", "0"), ("CLICOLOR", "1")], &[])), "not a tty");
    assert!(!coloured(&piped(&[("CLICOLOR_FORCE", "2"), ("NO_COLOR", "1")], &[])), "NO_COLOR wins");
}

#[test]
fn clicolor_force_0_leaves_errors_and_clap_messages_plain_too() {
    let run = |envs: &[(&str, &str)], args: &[&str]| {
        let mut c = cmd();
        c.current_dir(fixtures()).env("TERM", "xterm-256color").env("CI", "true");
        for (k, v) in envs {
            c.env(k, v);
        }
        let out = c.args(args).output().unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    // jimsctl's own error, and clap's usage error.
    for args in [&["validate", "no-such-file.xml"][..], &["--no-such-flag"][..]] {
        let (code, err) = run(&[("CLICOLOR_FORCE", "0")], args);
        assert_eq!(code, Some(2), "{err}");
        assert!(err.starts_with("error:"), "{err:?}");
        assert!(!err.contains('\x1b'), "CLICOLOR_FORCE=0 coloured {args:?}: {err:?}");
        let (code, err) = run(&[("CLICOLOR_FORCE", "1")], args);
        assert_eq!(code, Some(2), "{err}");
        assert!(err.contains("\x1b[31m"), "CLICOLOR_FORCE=1 colours {args:?}: {err:?}");
    }
    // clap's help, on standard output.
    let help = |v: &str| {
        let out = cmd().env("CLICOLOR_FORCE", v).args(["import", "--help"]).output().unwrap();
        assert_eq!(out.status.code(), Some(0));
        String::from_utf8(out.stdout).unwrap()
    };
    assert!(!help("0").contains('\x1b'), "CLICOLOR_FORCE=0: plain help");
    assert!(help("1").contains('\x1b'), "CLICOLOR_FORCE=1: coloured help");
}

/// `jimsctl passwords exports/full.xml` on a pseudo-terminal with `envs` (and `TERM` as given,
/// or unset); everything the terminal showed.
fn on_terminal(term: Option<&str>, envs: &[(&str, &str)], flags: &[&str]) -> String {
    let mut line = String::from(env!("CARGO_BIN_EXE_jimsctl"));
    for a in flags.iter().chain(&["passwords", "exports/full.xml"]) {
        line.push_str(&format!(" '{a}'"));
    }
    let mut c = Command::new("script");
    c.args(["-q", "-e", "-c", &line, "/dev/null"])
        .current_dir(fixtures())
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("TERM")
        // Under CI (`CI` set), anstream colours a terminal whatever TERM says.
        .env_remove("CI")
        .env("XDG_CONFIG_HOME", isolated_home().join("config"))
        .env("XDG_STATE_HOME", isolated_home().join("state"))
        .stdin(Stdio::null());
    if let Some(t) = term {
        c.env("TERM", t);
    }
    for (k, v) in envs {
        c.env(k, v);
    }
    let out = c.output().expect("`script` (util-linux) runs");
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stdout));
    String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n")
}

#[test]
fn on_a_terminal_colour_is_on_unless_no_color_clicolor_0_a_dumb_terminal_or_never() {
    assert!(coloured(&on_terminal(Some("xterm-256color"), &[], &[])), "a colour terminal");
    assert!(!coloured(&on_terminal(Some("xterm-256color"), &[("NO_COLOR", "1")], &[])));
    assert!(!coloured(&on_terminal(Some("xterm-256color"), &[("CLICOLOR", "0")], &[])));
    assert!(!coloured(&on_terminal(Some("xterm"), &[], &["--color", "never"])));
    assert!(!coloured(&on_terminal(Some("dumb"), &[], &[])), "TERM=dumb has no colours");
    assert!(!coloured(&on_terminal(None, &[], &[])), "no TERM: no colours known");
    assert!(coloured(&on_terminal(Some("dumb"), &[("CLICOLOR_FORCE", "1")], &[])));
    assert!(
        !coloured(&on_terminal(Some("dumb"), &[("CLICOLOR_FORCE", "0")], &[])),
        "forces nothing"
    );
    assert!(coloured(&on_terminal(Some("xterm"), &[("CLICOLOR_FORCE", "0")], &[])), "nor prevents");
    assert!(coloured(&on_terminal(Some("dumb"), &[], &["--color", "always"])));
    assert!(coloured(&on_terminal(None, &[("CI", "true")], &[])), "a CI log keeps colours");
}
