//! The Add Missing Passwords dialog (`--secrets prompt`) and the partial-import question, as a
//! person sees them: the binary runs on a pseudo-terminal of a given size (`script` from
//! util-linux, the size set with `stty`), and what it draws is read back through a terminal
//! emulator in memory (vt100), after each key, at 80×24 and at 160×45.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use unicode_width::UnicodeWidthStr;

use crate::support::{fixture, fixtures, isolated_home, tmp};

/// The two sizes every dialog test runs at.
const SIZES: [(u16, u16); 2] = [(80, 24), (160, 45)];

/// One run on a pseudo-terminal.
struct Session {
    code: i32,
    /// Every byte the terminal received.
    raw: Vec<u8>,
    /// The screen before the first key, then after each key.
    screens: Vec<vt100::Screen>,
}

impl Session {
    /// The screen after key `n` (0: before any key) as lines of text.
    fn text(&self, n: usize) -> Vec<String> {
        let s = &self.screens[n];
        s.rows(0, s.size().1).collect()
    }

    /// The whole screen after key `n` as one string.
    fn page(&self, n: usize) -> String {
        self.text(n).join("\n")
    }

    fn last(&self) -> usize {
        self.screens.len() - 1
    }
}

/// Runs `jimsctl ARGS` on a `cols`×`rows` pseudo-terminal, typing `keys` one at a time and
/// reading the screen once the program has redrawn after each.
fn drive(args: &[&str], keys: &[&[u8]], (cols, rows): (u16, u16), no_color: bool) -> Session {
    let mut line =
        format!("stty cols {cols} rows {rows}; exec '{}'", env!("CARGO_BIN_EXE_jimsctl"));
    for a in args {
        line.push_str(&format!(" '{}'", a.replace('\'', "'\\''")));
    }
    let mut command = Command::new("script");
    command
        .args(["-q", "-e", "-f", "-c", &line, "/dev/null"])
        .current_dir(fixtures())
        .env("TERM", "xterm-256color")
        .env_remove("COLUMNS")
        .env_remove("LINES")
        .env("XDG_CONFIG_HOME", isolated_home().join("config"))
        .env("XDG_STATE_HOME", isolated_home().join("state"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if no_color {
        command.env("NO_COLOR", "1");
    } else {
        command.env_remove("NO_COLOR");
    }
    let mut child = command.spawn().expect("`script` (util-linux) runs");
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let bytes = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&bytes);
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    });
    let len = |b: &Arc<Mutex<Vec<u8>>>| b.lock().unwrap().len();
    // Waits until more than `seen` bytes came and then nothing for a while (the frame is
    // whole), or the program ended.
    let settle = |seen: usize, child: &mut std::process::Child| {
        let deadline = Instant::now() + Duration::from_secs(15);
        while len(&bytes) <= seen && Instant::now() < deadline {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let mut last = len(&bytes);
        loop {
            std::thread::sleep(Duration::from_millis(150));
            let now = len(&bytes);
            if now == last {
                break;
            }
            last = now;
        }
    };
    let screen_of = |b: &[u8]| {
        let mut parser = vt100::Parser::new(rows, cols, 0);
        parser.process(b);
        parser.screen().clone()
    };
    let mut screens = Vec::new();
    settle(0, &mut child);
    screens.push(screen_of(&bytes.lock().unwrap()));
    for k in keys {
        let seen = len(&bytes);
        if stdin.write_all(k).and_then(|()| stdin.flush()).is_err() {
            break;
        }
        settle(seen, &mut child);
        screens.push(screen_of(&bytes.lock().unwrap()));
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            let raw = bytes.lock().unwrap().clone();
            panic!(
                "jimsctl did not finish on the terminal; last screen:\n{}",
                screen_of(&raw).contents()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(stdin);
    let status = child.wait().unwrap();
    reader.join().unwrap();
    let raw = bytes.lock().unwrap().clone();
    Session { code: status.code().unwrap_or(-1), raw, screens }
}

fn prompt_args<'a>(export: &'a str, target: &'a str) -> Vec<&'a str> {
    vec!["import", export, "--target", target, "--secrets", "prompt", "--accept-warning"]
}

/// The plaintext passwords of a managed folder, through `export --passwords plain`.
fn plain_export(target: &Path) -> String {
    let out = target.parent().unwrap().join("plain.xml");
    let r = crate::support::run(&[
        "export",
        "--target",
        target.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--passwords",
        "plain",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    std::fs::read_to_string(out).unwrap()
}

/// The row of the screen that holds the table header.
fn header_row(lines: &[String]) -> usize {
    lines
        .iter()
        .position(|l| l.contains("Index") && l.contains("Password"))
        .unwrap_or_else(|| panic!("no header:\n{}", lines.join("\n")))
}

/// Whether `line` is a table row: the current-row marker or a space, then the row's mark.
fn is_row(line: &str) -> bool {
    let c: Vec<char> = line.chars().take(4).collect();
    c.len() == 4
        && matches!(c[0], '>' | ' ')
        && c[1] == ' '
        && matches!(c[2], '!' | '✓')
        && c[3] == ' '
}

/// The column, in cells, where `needle` starts in `line`.
fn cell_of(line: &str, needle: &str) -> Option<usize> {
    line.find(needle).map(|at| UnicodeWidthStr::width(&line[..at]))
}

/// partial.xml's rows: three directories with their own accounts and four templates, two of
/// which share CORP\JIMS-EventLogReader: six passwords to type.
const PARTIAL_ASSIGNS: usize = 6;

#[test]
fn a_row_already_set_can_be_chosen_again_and_changed() {
    for size in SIZES {
        let dir = tmp();
        let target = dir.path().join("t");
        let t = target.to_str().unwrap();
        // Row 1 gets a typo; Home goes back to it; the right password replaces the typo; then
        // the five others, and OK.
        let mut keys: Vec<&[u8]> = vec![b"Typo-Pw1\r", b"\x1b[H", b"Right-Pw1\r"];
        keys.extend([b"Other-Pw\r" as &[u8]; PARTIAL_ASSIGNS - 1]);
        keys.push(b"\r");
        let s = drive(&prompt_args("exports/partial.xml", t), &keys, size, false);
        assert_eq!(s.code, 0, "{size:?}:\n{}", s.page(s.last()));
        let after_home = s.page(2);
        assert!(
            after_home.lines().any(|l| l.starts_with("> ✓ 1 ")),
            "{size:?}: Home chose row 1, already set:\n{after_home}"
        );
        assert!(s.page(3).contains("row 1 changed"), "{size:?}:\n{}", s.page(3));
        let plain = plain_export(&target);
        assert!(plain.contains("password=\"Right-Pw1\""), "{size:?}: the change was kept");
        assert!(!plain.contains("Typo-Pw1"), "{size:?}: the typo is gone");
        let raw = String::from_utf8_lossy(&s.raw);
        assert!(!raw.contains("Typo-Pw1") && !raw.contains("Right-Pw1"), "a password was shown");
    }
}

#[test]
fn changing_a_row_also_changes_the_rows_its_password_had_filled() {
    for size in SIZES {
        let dir = tmp();
        let target = dir.path().join("t");
        // Rows 4 and 5 share CORP\JIMS-EventLogReader: the typo typed for 4 fills 5 too. Up,
        // Up goes back to row 4, and the right password replaces it in both.
        let keys: [&[u8]; 10] = [
            b"Pw-1\r",
            b"Pw-2\r",
            b"Pw-3\r",
            b"Typo-Pw4\r",
            b"\x1b[A",
            b"\x1b[A",
            b"Right-Pw4\r",
            b"Pw-6\r",
            b"Pw-7\r",
            b"\r",
        ];
        let s = drive(
            &prompt_args("exports/partial.xml", target.to_str().unwrap()),
            &keys,
            size,
            false,
        );
        assert_eq!(s.code, 0, "{size:?}:\n{}", s.page(s.last()));
        let changed = s.page(7).replace('\n', " ");
        assert!(
            changed.contains("row 4 changed, and row 5 with the same template or account"),
            "{size:?}:\n{changed}"
        );
        assert!(changed.contains("Remaining: 2"), "{size:?}:\n{changed}");
        let plain = plain_export(&target);
        assert_eq!(plain.matches("password=\"Right-Pw4\"").count(), 2, "{size:?}: {plain}");
        assert!(!plain.contains("Typo-Pw4"), "{size:?}: the typo is gone everywhere");
    }
}

/// partial.xml with long Data and Username cells, wide characters among them.
fn long_cells_export(dir: &Path) -> PathBuf {
    let xml = std::fs::read_to_string(fixture("exports/partial.xml")).unwrap();
    let xml = xml
        .replace("ad4.corp.example\"", "ad4-domain-controller.emea.corp.example\"")
        .replace("id=\"AD4\" description=\"Forest 4\"", "id=\"AD4\" template=\"ad-readers\"")
        .replace("id=\"AD8\" description=\"Forest 8\"", "id=\"AD8\" template=\"ad-readers\"")
        .replace("ad8.corp.example", "版本服务器-目录-八号.corp.example")
        .replace("FOREST4\\JIMS-ADRemoteAccess", "FOREST4\\JIMS-AD-RemoteAccess-Service");
    let path = dir.join("long.xml");
    std::fs::write(&path, xml).unwrap();
    path
}

#[test]
fn password_and_template_are_never_cut_and_the_header_is_aligned() {
    for size in SIZES {
        let dir = tmp();
        let export = long_cells_export(dir.path());
        let target = dir.path().join("t");
        let s = drive(
            &prompt_args(export.to_str().unwrap(), target.to_str().unwrap()),
            &[b"\x1b"],
            size,
            false,
        );
        assert_eq!(s.code, 3, "{size:?}");
        let lines = s.text(0);
        let h = header_row(&lines);
        let header = &lines[h];
        let rows: Vec<&String> = lines[h + 1..].iter().filter(|l| is_row(l)).collect();
        assert_eq!(rows.len(), 7, "{size:?}:\n{rows:#?}");
        // Index and Password start where their headers do, in every row.
        let (xi, xp) = (cell_of(header, "Index").unwrap(), cell_of(header, "Password").unwrap());
        for row in &rows {
            assert!(
                row.chars().nth(xi).is_some_and(|c| c.is_ascii_digit()),
                "{size:?}: Index at {xi} in {row:?} / {header:?}"
            );
            assert_eq!(cell_of(row, "missing"), Some(xp), "{size:?}: {row:?} / {header:?}");
        }
        // The template is whole, under the Template header.
        let x = cell_of(header, "Template").unwrap();
        let based: Vec<&&String> = rows.iter().filter(|r| r.contains("ad-readers")).collect();
        assert!(based.len() >= 2, "{size:?}: ad-readers is cut:\n{}", lines.join("\n"));
        for row in &rows[..2] {
            assert_eq!(cell_of(row, "ad-readers"), Some(x), "{size:?}: under Template: {row:?}");
        }
        for row in &rows {
            assert!(UnicodeWidthStr::width(row.trim_end()) <= size.0 as usize, "{row:?}");
        }
        if size.0 == 80 {
            assert!(
                rows.iter().any(|r| r.contains('…')),
                "{size:?}: Data and Username are shortened with an ellipsis:\n{}",
                lines.join("\n")
            );
        } else {
            let page = s.page(0);
            assert!(page.contains("ad4-domain-controller.emea.corp.example"), "{page}");
            assert!(page.contains("版本服务器-目录-八号.corp.example"), "{page}");
        }
    }
}

#[test]
fn rows_hidden_above_and_below_are_counted() {
    for size in SIZES {
        let dir = tmp();
        let target = dir.path().join("t");
        // full.xml has 47 rows: more than either screen shows. End goes to the last row.
        let s = drive(
            &prompt_args("exports/full.xml", target.to_str().unwrap()),
            &[b"\x1b[F", b"\x1b"],
            size,
            false,
        );
        assert_eq!(s.code, 3, "{size:?}");
        let first = s.page(0);
        let shown = s.text(0).iter().filter(|l| l.contains("missing")).count();
        assert!(!first.contains("↑"), "{size:?}: nothing above the first row:\n{first}");
        assert!(first.contains(&format!("↓ {} more", 47 - shown)), "{size:?}:\n{first}");
        let end = s.page(1);
        assert!(end.contains(&format!("↑ {} more", 47 - shown)), "{size:?}:\n{end}");
        assert!(!end.contains("↓"), "{size:?}: nothing below the last row:\n{end}");
        assert!(end.lines().any(|l| l.starts_with("> ! 47 ")), "{size:?}:\n{end}");
        // The screen never scrolls: the title stays on the first line.
        assert!(end.starts_with("Add Missing Passwords"), "{size:?}:\n{end}");
    }
}

#[test]
fn rows_are_light_red_until_set_then_light_green_and_plain_marks_without_colour() {
    for size in SIZES {
        let dir = tmp();
        let target = dir.path().join("t");
        let s = drive(
            &prompt_args("exports/partial.xml", target.to_str().unwrap()),
            &[b"Pw-one\r", b"\x1b"],
            size,
            false,
        );
        assert_eq!(s.code, 3, "{size:?}");
        let screen = &s.screens[1];
        let lines = s.text(1);
        let row_of = |index: &str| {
            let at = lines.iter().position(|l| l.get(2..).is_some_and(|l| l.starts_with(index)));
            at.unwrap_or_else(|| panic!("{size:?}: no row {index}:\n{}", lines.join("\n")))
        };
        // Row 1 is set (green), row 2 is the current one, row 3 still missing (red).
        let (set, missing) = (row_of("✓ 1 "), row_of("! 3 "));
        assert_eq!(screen.cell(set as u16, 10).unwrap().bgcolor(), vt100::Color::Idx(194));
        assert_eq!(screen.cell(missing as u16, 10).unwrap().bgcolor(), vt100::Color::Idx(224));
        assert!(
            s.page(0)
                .lines()
                .filter(|l| l.contains("missing"))
                .all(|l| l.get(2..).is_some_and(|l| l.starts_with('!')))
        );

        let plain = drive(
            &prompt_args("exports/partial.xml", target.to_str().unwrap()),
            &[b"Pw-one\r", b"\x1b"],
            size,
            true,
        );
        let lines = plain.text(1);
        assert!(lines.iter().any(|l| l.starts_with("  ✓ 1 ")), "{}", lines.join("\n"));
        assert!(lines.iter().any(|l| l.starts_with("  ! 3 ")), "{}", lines.join("\n"));
        let screen = &plain.screens[1];
        for y in 0..size.1 {
            for x in 0..size.0 {
                let cell = screen.cell(y, x).unwrap();
                assert_eq!(cell.bgcolor(), vt100::Color::Default, "NO_COLOR: colour at {x},{y}");
                assert_eq!(cell.fgcolor(), vt100::Color::Default, "NO_COLOR: colour at {x},{y}");
            }
        }
    }
}

#[test]
fn the_status_line_tells_the_result_of_the_last_assign() {
    for size in SIZES {
        let dir = tmp();
        let target = dir.path().join("t");
        let s = drive(
            &prompt_args("exports/partial.xml", target.to_str().unwrap()),
            &[b"\r", b"Pw-one\r", b"\x1b"],
            size,
            false,
        );
        assert_eq!(s.code, 3, "{size:?}");
        assert!(
            s.page(1).contains("Not assigned: the password is empty"),
            "{size:?}:\n{}",
            s.page(1)
        );
        let after = s.page(2);
        assert!(
            after.contains("Success: in-memory working configuration updated: row 1 set"),
            "{size:?}:\n{after}"
        );
        assert!(!after.contains("Not assigned"), "{size:?}: the status is the last one's");
    }
}

#[test]
fn ok_stays_disabled_until_remaining_is_zero_and_the_import_waits_for_it() {
    for size in SIZES {
        let dir = tmp();
        let target = dir.path().join("t");
        let t = target.to_str().unwrap();
        // Tab to OK and Enter while rows are missing: refused. Then every row, and OK.
        let mut keys: Vec<&[u8]> = vec![b"\t", b"\r"];
        keys.extend([b"Pw-x\r" as &[u8]; PARTIAL_ASSIGNS]);
        keys.push(b"\r");
        let s = drive(&prompt_args("exports/partial.xml", t), &keys, size, false);
        assert_eq!(s.code, 0, "{size:?}:\n{}", s.page(s.last()));
        assert!(s.page(0).contains("[ OK: disabled, 7 left ]"), "{}", s.page(0));
        assert!(
            s.page(2).contains("OK is disabled until Remaining is 0 (7 left)"),
            "{size:?}:\n{}",
            s.page(2)
        );
        let done = s.page(2 + PARTIAL_ASSIGNS);
        assert!(done.contains("Total: 7  Fixed: 7  Remaining: 0"), "{size:?}:\n{done}");
        assert!(done.contains("[ OK ]"), "{size:?}:\n{done}");
        assert!(done.starts_with("Add Missing Passwords"), "the finished table stays:\n{done}");
        assert!(target.exists(), "{size:?}: imported after OK");
    }
    // Every row set, then Esc instead of OK: nothing is written, exit 3 as for any cancel.
    for size in SIZES {
        let dir = tmp();
        let target = dir.path().join("t");
        let mut keys: Vec<&[u8]> = vec![b"Pw-x\r"; PARTIAL_ASSIGNS];
        keys.push(b"\x1b");
        let s = drive(
            &prompt_args("exports/partial.xml", target.to_str().unwrap()),
            &keys,
            size,
            false,
        );
        assert_eq!(s.code, 3, "{size:?}");
        assert!(s.page(PARTIAL_ASSIGNS).contains("Remaining: 0"), "{}", s.page(PARTIAL_ASSIGNS));
        assert!(!target.exists(), "{size:?}: nothing was written");
    }
}

#[test]
fn the_partial_question_comes_after_the_sections_it_replaces() {
    let dir = tmp();
    let target = dir.path().join("t").display().to_string();
    let secrets = format!("file:{}", fixture("exports/full.secrets.toml").display());
    let r = crate::support::run(&[
        "import",
        "exports/full.xml",
        "--target",
        &target,
        "--secrets",
        &secrets,
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for size in SIZES {
        let s = drive(
            &["import", "exports/partial.xml", "--target", &target, "--secrets", &secrets],
            &[b"n\r"],
            size,
            true,
        );
        assert_eq!(s.code, 4, "{size:?}");
        let raw = String::from_utf8_lossy(&s.raw).into_owned();
        let question = raw.find("[y/N]").expect("asked");
        let listed = raw.find("This partial import replaces").expect("the sections are listed");
        let plan = raw.find("user_directories").expect("the plan names the section");
        assert!(listed < question && plan < question, "{raw}");
        assert!(raw[listed..question].contains("replaced"), "{raw}");
    }
}
