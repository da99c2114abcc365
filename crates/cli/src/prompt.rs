//! `--secrets prompt`: the brief's Add Missing Passwords dialog as a terminal screen.
//!
//! The table with the current row highlighted, the status line Total / Fixed / Remaining and a
//! progress bar of Fixed / Total, and a masked password entry. Enter assigns the password to
//! the current row (and to every other missing row that shares its template or its account),
//! then moves to the next missing row; the import goes on only when Remaining is 0. Esc or
//! Ctrl-C leaves with nothing written. Everything is drawn on standard error.

use std::io::{Write, stderr};

use crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, read};
use crossterm::style::{Attribute, Print, SetAttribute};
use crossterm::terminal::{
    Clear, ClearType, EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode,
    enable_raw_mode, size,
};
use crossterm::{cursor, queue};
use crypto::Secret;
use secrets::Table;

use crate::render;

/// The longest password accepted at the prompt, in bytes (the buffer is sized once).
const MAX_PASSWORD: usize = 1024;

/// Restores the terminal when dropped, whatever happened.
struct Screen;

impl Screen {
    fn enter() -> std::io::Result<Screen> {
        enable_raw_mode()?;
        let mut err = stderr();
        queue!(err, EnterAlternateScreen, cursor::Hide)?;
        err.flush()?;
        Ok(Screen)
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        let mut err = stderr();
        let _ = queue!(err, cursor::Show, LeaveAlternateScreen);
        let _ = err.flush();
        let _ = disable_raw_mode();
    }
}

/// How the dialog ended.
pub(crate) enum Ended {
    /// Every row has a password: these, by row index.
    Assigned(Vec<(usize, Secret)>),
    /// Esc or Ctrl-C.
    Cancelled,
}

/// Whether two rows share the secret a person typed: the same template, or the same account.
fn shares(table: &Table, a: usize, b: usize) -> bool {
    let (ra, rb) = (&table.rows[a], &table.rows[b]);
    let same = |x: &Option<String>, y: &Option<String>| x.is_some() && x == y;
    same(&ra.template, &rb.template) || same(&ra.username, &rb.username)
}

/// Runs the dialog over the rows of `table` still missing; marks each assigned row's source
/// as `prompt`.
pub(crate) fn run(table: &mut Table, title: &str, color: bool) -> std::io::Result<Ended> {
    let _screen = Screen::enter()?;
    let mut assigned: Vec<(usize, Secret)> = Vec::new();
    let mut entry = Secret::new(Vec::with_capacity(MAX_PASSWORD));
    let mut note = String::new();
    let next_missing = |table: &Table, from: usize| -> Option<usize> {
        let n = table.rows.len();
        (0..n).map(|i| (from + i) % n).find(|&i| !table.rows[i].is_fixed())
    };
    let Some(mut current) = next_missing(table, 0) else {
        return Ok(Ended::Assigned(assigned));
    };
    loop {
        draw(table, current, entry.expose().len(), title, &note, color)?;
        let Event::Key(KeyEvent { code, modifiers, kind, .. }) = read()? else { continue };
        if kind == KeyEventKind::Release {
            continue;
        }
        note.clear();
        match code {
            KeyCode::Esc => return Ok(Ended::Cancelled),
            KeyCode::Char('c') if modifiers.contains(KeyModifiers::CONTROL) => {
                return Ok(Ended::Cancelled);
            }
            KeyCode::Char(ch) => {
                let mut buf = [0u8; 4];
                let bytes = ch.encode_utf8(&mut buf).as_bytes();
                if entry.expose().len() + bytes.len() > MAX_PASSWORD {
                    note = format!("A password may be at most {MAX_PASSWORD} bytes.");
                } else {
                    entry.push_bytes(bytes);
                }
                buf.iter_mut().for_each(|b| *b = 0);
            }
            KeyCode::Backspace => entry.pop_char(),
            KeyCode::Up => {
                current = (0..table.rows.len())
                    .rev()
                    .map(|i| (current + i) % table.rows.len())
                    .find(|&i| i != current && !table.rows[i].is_fixed())
                    .unwrap_or(current);
            }
            KeyCode::Down | KeyCode::Tab => {
                current = next_missing(table, current + 1).unwrap_or(current);
            }
            KeyCode::Enter => {
                if entry.is_empty() {
                    note = "Type the password, then Enter to assign it.".into();
                    continue;
                }
                let typed =
                    std::mem::replace(&mut entry, Secret::new(Vec::with_capacity(MAX_PASSWORD)));
                let mut filled = 0;
                for i in 0..table.rows.len() {
                    if i != current && !table.rows[i].is_fixed() && shares(table, current, i) {
                        table.rows[i].source = Some("prompt".into());
                        assigned.push((table.rows[i].index, Secret::copy_from(typed.expose())));
                        filled += 1;
                    }
                }
                table.rows[current].source = Some("prompt".into());
                assigned.push((table.rows[current].index, typed));
                if filled > 0 {
                    note = format!(
                        "Assigned; it also filled {filled} other row(s) with the same template or account."
                    );
                }
                match next_missing(table, current + 1) {
                    Some(n) => current = n,
                    None => return Ok(Ended::Assigned(assigned)),
                }
            }
            _ => {}
        }
    }
}

fn draw(
    table: &Table,
    current: usize,
    typed: usize,
    title: &str,
    note: &str,
    color: bool,
) -> std::io::Result<()> {
    let (width, height) = size().ok().filter(|&(w, h)| w > 0 && h > 0).unwrap_or((120, 40));
    let mut err = stderr();
    queue!(err, cursor::MoveTo(0, 0), Clear(ClearType::All))?;
    // Every line is escaped here, whatever it holds: nothing from an export reaches the
    // screen raw (a hostile Data or Username could otherwise redraw the dialog).
    let mut line = |text: &str, attr: Option<Attribute>| -> std::io::Result<()> {
        let clipped = clip(&render::escape_for_terminal(text), width as usize);
        if let (Some(a), true) = (attr, color) {
            queue!(err, SetAttribute(a), Print(clipped), SetAttribute(Attribute::Reset))?;
        } else {
            queue!(err, Print(clipped))?;
        }
        queue!(err, Print("\r\n"))
    };
    line(
        &format!("Add Missing Passwords: {}", render::escape_for_terminal(title)),
        Some(Attribute::Bold),
    )?;
    line("", None)?;
    let (cells, widths) = render::table_cells(table);
    let fmt_row = |row: &[String]| -> String {
        row.iter().zip(widths).map(|(c, w)| render::pad(c, w)).collect::<Vec<_>>().join("  ")
    };
    let header: Vec<String> = render::TABLE_HEADERS.iter().map(|h| (*h).to_owned()).collect();
    line(&fmt_row(&header), Some(Attribute::Underlined))?;
    // Show a window of rows around the current one that fits the screen.
    let room = (height as usize).saturating_sub(10).max(3);
    let start = current.saturating_sub(room / 2).min(cells.len().saturating_sub(room));
    for (i, row) in cells.iter().enumerate().skip(start).take(room) {
        let marker = if i == current { "> " } else { "  " };
        let attr = if i == current { Some(Attribute::Reverse) } else { None };
        line(&format!("{marker}{}", fmt_row(row)), attr)?;
    }
    let (total, fixed) = (table.total(), table.fixed());
    line("", None)?;
    line(
        &format!("Total: {total}  Fixed: {fixed}  Remaining: {}", total - fixed),
        Some(Attribute::Bold),
    )?;
    let bar_width = 30usize;
    let done = (fixed * bar_width).checked_div(total).unwrap_or(bar_width);
    line(&format!("[{}{}] {fixed}/{total}", "#".repeat(done), "-".repeat(bar_width - done)), None)?;
    let r = &table.rows[current];
    line("", None)?;
    line(
        &format!(
            "Password for row {} ({} {}{}): {}",
            r.index,
            render::escape_for_terminal(r.type_label),
            render::escape_for_terminal(&r.data),
            r.username
                .as_deref()
                .map(|u| format!(", {}", render::escape_for_terminal(u)))
                .unwrap_or_default(),
            "*".repeat(typed.min(64))
        ),
        None,
    )?;
    line("Enter: Assign   Up/Down: choose row   Esc: cancel (nothing is written)", None)?;
    if !note.is_empty() {
        line(note, None)?;
    }
    err.flush()
}

/// The longest start of `text` that fits in `cells` terminal cells.
fn clip(text: &str, cells: usize) -> String {
    let mut used = 0;
    let mut out = String::new();
    for c in text.chars() {
        let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w > cells {
            break;
        }
        used += w;
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_clipped_to_the_screen_in_cells() {
        assert_eq!(clip("abcdef", 4), "abcd");
        assert_eq!(clip("版本一二", 5), "版本");
        assert_eq!(clip("a版", 2), "a");
        assert_eq!(clip("", 3), "");
    }
}
