//! The questions jimsctl asks on a terminal, driven through a real pseudo-terminal (`script`
//! from util-linux runs the binary on one and forwards our keystrokes).

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{fixture, fixtures, isolated_home, tmp, tree};

/// Runs `jimsctl ARGS` on a pseudo-terminal, typing each of `keys` after a pause; returns the
/// exit code and everything the terminal showed.
fn on_terminal(args: &[&str], keys: &[&[u8]]) -> (i32, String) {
    let mut line = String::from(env!("CARGO_BIN_EXE_jimsctl"));
    for a in args {
        line.push(' ');
        line.push_str(&format!("'{}'", a.replace('\'', "'\\''")));
    }
    let mut child = Command::new("script")
        .args(["-q", "-e", "-f", "-c", &line, "/dev/null"])
        .current_dir(fixtures())
        .env("TERM", "xterm")
        .env("COLUMNS", "160")
        .env("LINES", "60")
        .env("XDG_CONFIG_HOME", isolated_home().join("config"))
        .env("XDG_STATE_HOME", isolated_home().join("state"))
        .env_remove("NO_COLOR")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("`script` (util-linux) runs");
    let mut stdin = child.stdin.take().unwrap();
    // Read the screen as it comes: a full pipe would stop the program mid-draw.
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut screen = Vec::new();
        let _ = std::io::Read::read_to_end(&mut stdout, &mut screen);
        String::from_utf8_lossy(&screen).into_owned()
    });
    for k in keys {
        std::thread::sleep(Duration::from_millis(400));
        if stdin.write_all(k).and_then(|()| stdin.flush()).is_err() {
            break; // the program has finished
        }
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "jimsctl did not finish on the terminal");
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(stdin);
    let status = child.wait().unwrap();
    (status.code().unwrap_or(-1), reader.join().unwrap())
}

fn full_target(dir: &Path) -> String {
    let target = dir.join("t").display().to_string();
    let secrets = format!("file:{}", fixture("exports/full.secrets.toml").display());
    // An older state, so that the partial import changes something and makes a version.
    let old = crate::support::old_full(dir);
    let r = crate::support::run(&[
        "import",
        old.to_str().unwrap(),
        "--target",
        &target,
        "--secrets",
        &secrets,
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    target
}

#[test]
fn the_partial_warning_is_asked_and_no_writes_nothing() {
    let dir = tmp();
    let target = full_target(dir.path());
    let secrets = format!("file:{}", fixture("exports/full.secrets.toml").display());
    let before = tree(Path::new(&target));
    let (code, screen) = on_terminal(
        &["import", "exports/partial.xml", "--target", &target, "--secrets", &secrets],
        &[b"n\r"],
    );
    assert_eq!(code, 4, "{screen}");
    assert!(screen.contains("You are choosing to import a partial configuration, only those elements will be overwritten."), "{screen}");
    assert!(screen.contains("[y/N]"), "{screen}");
    assert_eq!(tree(Path::new(&target)), before);

    let (code, screen) = on_terminal(
        &["import", "exports/partial.xml", "--target", &target, "--secrets", &secrets],
        &[b"y\r"],
    );
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains("version 2"), "{screen}");
}

#[test]
fn the_prompt_fills_every_row_and_masks_what_is_typed() {
    let dir = tmp();
    let target = dir.path().join("t").display().to_string();
    // The partial export's rows: three directories with their own accounts and four templates,
    // two of them sharing an account: six passwords, then Enter on OK.
    let mut typed: Vec<&[u8]> = vec![b"Typed-Secret-1\r"; 6];
    typed.push(b"\r");
    let (code, screen) = on_terminal(
        &[
            "import",
            "exports/partial.xml",
            "--target",
            &target,
            "--secrets",
            "prompt",
            "--accept-warning",
        ],
        &typed,
    );
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains("Add Missing Passwords"), "{screen}");
    assert!(screen.contains("Remaining:"), "{screen}");
    assert!(screen.contains("**************"), "the entry is masked: {screen}");
    assert!(!screen.contains("Typed-Secret-1"), "the password was echoed");
    // dc-readers and exchange-readers share the account CORP\JIMS-EventLogReader: typed once.
    assert!(screen.contains("and row 5 with the same template or account"), "{screen}");
    let dirs =
        std::fs::read_to_string(Path::new(&target).join("cwd/config/user_directory.xml")).unwrap();
    assert!(dirs.contains("{aesgcm} 1,"), "the typed passwords are sealed");
    assert!(!dirs.contains("Typed-Secret-1"));
}

#[test]
fn escape_leaves_the_prompt_with_nothing_written() {
    let dir = tmp();
    let target = dir.path().join("t");
    let (code, screen) = on_terminal(
        &[
            "import",
            "exports/partial.xml",
            "--target",
            target.to_str().unwrap(),
            "--secrets",
            "prompt",
            "--accept-warning",
        ],
        &[b"abc", b"\x1b"],
    );
    assert_eq!(code, 3, "{screen}");
    assert!(!target.exists(), "nothing was written");
}

#[test]
fn prompt_without_a_terminal_says_what_to_use_instead() {
    let dir = tmp();
    let t = dir.path().join("t");
    let r = crate::support::run(&[
        "import",
        "exports/partial.xml",
        "--target",
        t.to_str().unwrap(),
        "--secrets",
        "prompt",
        "--accept-warning",
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("needs a terminal") && r.stderr.contains("file:PATH"),
        "{}",
        r.stderr
    );
}

#[test]
fn the_table_is_red_and_green_on_a_terminal_and_plain_without_one() {
    let dir = tmp();
    let t = dir.path().join("t").display().to_string();
    let secrets = dir.path().join("some.toml");
    std::fs::write(&secrets, "[templates]\n\"ad-readers\" = \"Pw-some\"\n").unwrap();
    let spec = format!("file:{}", secrets.display());
    let (code, screen) =
        on_terminal(&["passwords", "exports/partial.xml", "--target", &t, "--secrets", &spec], &[]);
    assert_eq!(code, 3, "{screen}");
    assert!(screen.contains("\x1b[31mmissing\x1b[0m"), "missing rows are red: {screen:?}");
    assert!(screen.contains("\x1b[32mOK\x1b[0m"), "fixed rows are green: {screen:?}");
    assert!(screen.contains("Total: 7  Fixed: 1  Remaining: 6"), "{screen}");
    let r = crate::support::run(&[
        "passwords",
        "exports/partial.xml",
        "--target",
        &t,
        "--secrets",
        &spec,
    ]);
    assert!(!r.stdout.contains('\x1b'), "no colour without a terminal");
}
