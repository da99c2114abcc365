//! `--secrets prompt`: the brief's Add Missing Passwords dialog as a terminal screen.
//!
//! The table (rows that need a password on a light red background, light green once set; a
//! `!` / `✓` mark in front of each row, which is all there is without colour), markers for the
//! rows scrolled out of view above and below, the counters Total / Fixed / Remaining with a
//! progress bar, a masked password entry, a status line with the result of the last Assign,
//! and the buttons Assign, OK and Cancel.
//!
//! Up/Down (PgUp/PgDn, Home/End) choose any row, one already set included, so that a typo in a
//! masked field is fixed by choosing the row again. Enter assigns the password to the current
//! row, and to every other row still missing that shares its template or its account (and to
//! those that this row's earlier password had filled), then moves to the next missing row.
//! OK stays disabled until Remaining is 0; then the focus moves to it and the operator looks
//! at the finished table and confirms with Enter: only then does the import go on. Esc or
//! Ctrl-C cancels with nothing written. Everything is drawn on standard error; every text
//! from the export is escaped, and a password is never shown (one `*` per character).

use std::io::{Write, stderr};

use crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, read};
use crossterm::style::{
    Attribute, Color, Print, ResetColor, SetAttribute, SetBackgroundColor, SetForegroundColor,
};
use crossterm::terminal::{
    Clear, ClearType, EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use crossterm::{cursor, queue};
use pipeline::{Secret, Table};

use crate::render;

/// The longest password accepted at the prompt, in bytes (the buffer is sized once).
const MAX_PASSWORD: usize = 1024;

/// The text of a successful Assign, as JIMS's own dialog says it.
pub(crate) const SUCCESS: &str = "Success: in-memory working configuration updated";

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
        let _ = queue!(err, SetAttribute(Attribute::Reset), cursor::Show, LeaveAlternateScreen);
        let _ = err.flush();
        let _ = disable_raw_mode();
    }
}

/// How the dialog ended.
pub(crate) enum Ended {
    /// Every row has a password and the operator pressed OK: the passwords typed, by row
    /// index (one per row; a row typed twice holds the last one).
    Assigned(Vec<(usize, Secret)>),
    /// Esc or Ctrl-C: the table is as it was before the dialog.
    Cancelled,
}

/// Whether two rows share the secret a person typed: the same template, or the same account.
fn shares(table: &Table, a: usize, b: usize) -> bool {
    let (ra, rb) = (&table.rows[a], &table.rows[b]);
    let same = |x: &Option<String>, y: &Option<String>| x.is_some() && x == y;
    same(&ra.template, &rb.template) || same(&ra.username, &rb.username)
}

/// Where the keyboard goes: the password entry of the current row, or the OK button.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Focus {
    Entry,
    Ok,
}

/// The result of the last action, shown on the status line.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Note {
    None,
    Success(String),
    Refused(String),
}

/// A password typed in the dialog for one row, and the row it was typed for (itself, or the
/// row whose Assign filled it because they share a template or an account).
struct Typed {
    secret: Secret,
    origin: usize,
}

/// The dialog's state, apart from the table it works on.
struct Dialog {
    current: usize,
    top: usize,
    focus: Focus,
    entry: Secret,
    typed: Vec<Option<Typed>>,
    /// Each row's source before the dialog, restored on cancel.
    original: Vec<Option<String>>,
    note: Note,
}

impl Dialog {
    fn new(table: &Table) -> Dialog {
        let current = table.rows.iter().position(|r| !r.is_fixed()).unwrap_or(0);
        Dialog {
            current,
            top: 0,
            focus: Focus::Entry,
            entry: Secret::new(Vec::with_capacity(MAX_PASSWORD)),
            typed: (0..table.rows.len()).map(|_| None).collect(),
            original: table.rows.iter().map(|r| r.source.clone()).collect(),
            note: Note::None,
        }
    }

    /// The next row still missing after `from`, wrapping around.
    fn next_missing(table: &Table, from: usize) -> Option<usize> {
        let n = table.rows.len();
        (0..n).map(|i| (from + i) % n).find(|&i| !table.rows[i].is_fixed())
    }

    fn restore(&self, table: &mut Table) {
        for (row, source) in table.rows.iter_mut().zip(&self.original) {
            row.source.clone_from(source);
        }
    }

    fn finish(&mut self, table: &Table) -> Vec<(usize, Secret)> {
        self.typed
            .iter_mut()
            .zip(&table.rows)
            .filter_map(|(t, row)| t.take().map(|t| (row.index, t.secret)))
            .collect()
    }

    /// Assigns the password typed to the current row (see the module's comment).
    fn assign(&mut self, table: &mut Table) {
        if self.entry.is_empty() {
            self.note = Note::Refused(format!(
                "Not assigned: the password is empty. Type the password of row {}, then Enter.",
                table.rows[self.current].index
            ));
            return;
        }
        if let Err(why) = pipeline::check_password(self.entry.expose()) {
            self.note = Note::Refused(format!("Not assigned: the password {why}."));
            return;
        }
        let typed =
            std::mem::replace(&mut self.entry, Secret::new(Vec::with_capacity(MAX_PASSWORD)));
        let current = self.current;
        let changed = table.rows[current].is_fixed();
        let mut others = Vec::new();
        for i in 0..table.rows.len() {
            if i == current || !shares(table, current, i) {
                continue;
            }
            let filled_by_this = matches!(&self.typed[i], Some(t) if t.origin == current);
            if !table.rows[i].is_fixed() || filled_by_this {
                table.rows[i].source = Some("prompt".into());
                self.typed[i] =
                    Some(Typed { secret: Secret::copy_from(typed.expose()), origin: current });
                others.push(table.rows[i].index);
            }
        }
        table.rows[current].source = Some("prompt".into());
        self.typed[current] = Some(Typed { secret: typed, origin: current });
        let mut text = format!(
            "{SUCCESS}: row {} {}",
            table.rows[current].index,
            if changed { "changed" } else { "set" }
        );
        match others.len() {
            0 => {}
            1 => {
                text.push_str(&format!(", and row {} with the same template or account", others[0]))
            }
            n => text.push_str(&format!(
                ", and {n} other rows with the same template or account ({})",
                others.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
            )),
        }
        text.push('.');
        if table.remaining() == 0 {
            text.push_str(" Every row is set: check the table, then Enter on OK.");
            self.focus = Focus::Ok;
        } else if let Some(next) = Dialog::next_missing(table, current + 1) {
            self.current = next;
        }
        self.note = Note::Success(text);
    }

    /// Handles one key; `Some` when the dialog ends.
    fn key(
        &mut self,
        table: &mut Table,
        code: KeyCode,
        modifiers: KeyModifiers,
        page: usize,
    ) -> Option<bool> {
        let n = table.rows.len();
        let ctrl = modifiers.contains(KeyModifiers::CONTROL);
        let mut moved = None;
        match code {
            KeyCode::Esc => return Some(false),
            KeyCode::Char('c') if ctrl => return Some(false),
            KeyCode::Char('u') if ctrl => {
                self.entry = Secret::new(Vec::with_capacity(MAX_PASSWORD));
                self.focus = Focus::Entry;
            }
            KeyCode::Char(_) if ctrl || modifiers.contains(KeyModifiers::ALT) => {}
            KeyCode::Char(ch) => {
                self.focus = Focus::Entry;
                let mut buf = [0u8; 4];
                let bytes = ch.encode_utf8(&mut buf).as_bytes();
                if self.entry.expose().len() + bytes.len() > MAX_PASSWORD {
                    self.note = Note::Refused(format!(
                        "Not typed: a password may be at most {MAX_PASSWORD} bytes."
                    ));
                } else {
                    self.entry.push_bytes(bytes);
                }
                buf.iter_mut().for_each(|b| *b = 0);
            }
            KeyCode::Backspace => {
                self.focus = Focus::Entry;
                self.entry.pop_char();
            }
            KeyCode::Up => moved = Some(self.current.saturating_sub(1)),
            KeyCode::Down => moved = Some((self.current + 1).min(n - 1)),
            KeyCode::PageUp => moved = Some(self.current.saturating_sub(page.max(1))),
            KeyCode::PageDown => moved = Some((self.current + page.max(1)).min(n - 1)),
            KeyCode::Home => moved = Some(0),
            KeyCode::End => moved = Some(n - 1),
            KeyCode::Tab | KeyCode::BackTab => {
                self.focus = if self.focus == Focus::Ok { Focus::Entry } else { Focus::Ok };
            }
            KeyCode::Enter if self.focus == Focus::Ok => {
                if table.remaining() == 0 {
                    return Some(true);
                }
                self.note = Note::Refused(format!(
                    "OK is disabled until Remaining is 0 ({} left).",
                    table.remaining()
                ));
                self.focus = Focus::Entry;
            }
            KeyCode::Enter => self.assign(table),
            _ => {}
        }
        if let Some(row) = moved {
            if row != self.current && !self.entry.is_empty() {
                // What was typed belongs to the row it was typed for: moving away drops it.
                self.entry = Secret::new(Vec::with_capacity(MAX_PASSWORD));
                self.note = Note::Refused(format!(
                    "Not assigned: left row {} before Enter; what was typed is cleared.",
                    table.rows[self.current].index
                ));
            }
            self.current = row;
            self.focus = Focus::Entry;
        }
        None
    }

    /// Scrolls so that the current row is in the `room` rows shown.
    fn scroll(&mut self, rows: usize, room: usize) {
        if self.current < self.top {
            self.top = self.current;
        } else if self.current >= self.top + room {
            self.top = self.current + 1 - room;
        }
        self.top = self.top.min(rows.saturating_sub(room));
    }
}

/// Runs the dialog over `table`; marks each row assigned with the source `prompt`. Returns
/// `Assigned` only when every row is set and the operator pressed OK.
pub(crate) fn run(table: &mut Table, title: &str, color: bool) -> std::io::Result<Ended> {
    if table.rows.is_empty() || table.remaining() == 0 {
        return Ok(Ended::Assigned(Vec::new()));
    }
    let _screen = Screen::enter()?;
    let mut dialog = Dialog::new(table);
    loop {
        let (width, height) = screen_size();
        let room = Layout::room(height);
        dialog.scroll(table.rows.len(), room);
        let frame = frame(table, &dialog, title, width, height);
        paint(&frame, width, color)?;
        let event = read()?;
        let Event::Key(KeyEvent { code, modifiers, kind, .. }) = event else { continue };
        if kind == KeyEventKind::Release {
            continue;
        }
        // The status line keeps the last result until another one replaces it.
        match dialog.key(table, code, modifiers, room) {
            None => {}
            Some(true) => return Ok(Ended::Assigned(dialog.finish(table))),
            Some(false) => {
                dialog.restore(table);
                return Ok(Ended::Cancelled);
            }
        }
    }
}

/// The terminal's size in cells: the terminal's own, else `COLUMNS` × `LINES`, else 80×24.
fn screen_size() -> (usize, usize) {
    if let Ok((w, h)) = crossterm::terminal::size()
        && w > 0
        && h > 0
    {
        return (w as usize, h as usize);
    }
    let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<usize>().ok());
    (env("COLUMNS").filter(|&w| w > 0).unwrap_or(80), env("LINES").filter(|&h| h > 0).unwrap_or(24))
}

/// How a piece of a line looks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Look {
    Plain,
    Bold,
    Header,
    /// A row that needs a password; `true` when it is the current row.
    Missing(bool),
    /// A row that has one.
    Set(bool),
    Good,
    Bad,
    Dim,
    Focused,
}

/// One line of the screen: pieces of text and how each looks.
type Line = Vec<(String, Look)>;

/// The screen's fixed lines around the rows.
struct Layout;

impl Layout {
    /// Lines that are not table rows: title, blank, header, the two markers, counters, the
    /// current row in full, entry, the status lines, buttons, keys.
    const FIXED: usize = 10 + STATUS_LINES;

    /// How many table rows fit in `height` lines (at least one).
    fn room(height: usize) -> usize {
        height.saturating_sub(Layout::FIXED).max(1)
    }
}

/// The lines of the status line: a long result wraps once.
const STATUS_LINES: usize = 2;

/// `text` broken into lines of at most `width` cells, at spaces where it can be.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let needed = render::width(&line) + usize::from(!line.is_empty()) + render::width(word);
        if !line.is_empty() && needed > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// The prefix of every table line: the current-row marker and the row's mark.
const PREFIX: usize = 4;
/// The space between two columns, when the table fits with it; else one cell.
const GAP: usize = 2;

/// The space between two columns for a table of `natural` widths on a screen `width` wide.
fn gap(natural: [usize; 7], width: usize) -> usize {
    if natural.iter().sum::<usize>() + PREFIX + GAP * 6 <= width { GAP } else { 1 }
}

/// The columns' widths for a screen `width` cells wide: each column as wide as its widest
/// cell, and when that does not fit, Data and Username are shrunk first, then Data Type and
/// Type, and Template only last; Index and Password never.
pub(crate) fn column_widths(natural: [usize; 7], width: usize) -> [usize; 7] {
    let mut w = natural;
    let avail = width.saturating_sub(PREFIX + gap(natural, width) * 6);
    // (columns, the narrowest each may become), in the order they give way.
    let tiers: [(&[usize], usize); 4] =
        [(&[3, 4], 8), (&[2, 1], 8), (&[6], 10), (&[3, 4, 2, 1], 3)];
    for (cols, min) in tiers {
        while w.iter().sum::<usize>() > avail {
            let Some(&widest) = cols.iter().filter(|&&c| w[c] > min).max_by_key(|&&c| w[c]) else {
                break;
            };
            w[widest] -= 1;
        }
    }
    w
}

/// `text` fitted into exactly `cells` terminal cells: padded, or cut with an ellipsis.
pub(crate) fn fit(text: &str, cells: usize) -> String {
    if render::width(text) <= cells {
        return render::pad(text, cells);
    }
    if cells == 0 {
        return String::new();
    }
    let mut out = clip(text, cells - 1);
    out.push('…');
    render::pad(&out, cells)
}

/// The lines of the screen, top to bottom (no more than `height`).
fn frame(table: &Table, d: &Dialog, title: &str, width: usize, height: usize) -> Vec<Line> {
    let mut lines: Vec<Line> = Vec::with_capacity(height);
    lines.push(vec![(
        format!("Add Missing Passwords: {}", render::escape_for_terminal(title)),
        Look::Bold,
    )]);
    lines.push(Vec::new());
    let (cells, natural) = render::table_cells(table);
    let widths = column_widths(natural, width);
    let sep = " ".repeat(gap(natural, width));
    let join = |row: &[String]| -> String {
        row.iter().zip(widths).map(|(c, w)| fit(c, w)).collect::<Vec<_>>().join(&sep)
    };
    let headers = render::TABLE_HEADERS.map(str::to_owned);
    lines.push(vec![(format!("{}{}", " ".repeat(PREFIX), join(&headers)), Look::Header)]);
    let room = Layout::room(height);
    let shown = d.top..(d.top + room).min(cells.len());
    let above = d.top;
    let below = cells.len() - shown.end;
    let marker = |arrow: &str, n: usize| -> Line {
        if n == 0 { Vec::new() } else { vec![(format!("  {arrow} {n} more"), Look::Dim)] }
    };
    lines.push(marker("↑", above));
    for i in shown {
        let current = i == d.current;
        let fixed = table.rows[i].is_fixed();
        let prefix =
            format!("{} {} ", if current { '>' } else { ' ' }, if fixed { '✓' } else { '!' });
        let look = if fixed { Look::Set(current) } else { Look::Missing(current) };
        lines.push(vec![(format!("{prefix}{}", join(&cells[i])), look)]);
    }
    lines.push(marker("↓", below));

    let (total, fixed) = (table.total(), table.fixed());
    let counters = format!("Total: {total}  Fixed: {fixed}  Remaining: {}", total - fixed);
    let bar_width = width
        .saturating_sub(render::width(&counters) + 4 + 2 * total.to_string().len() + 2)
        .min(30);
    let done = (fixed * bar_width).checked_div(total).unwrap_or(bar_width);
    lines.push(vec![
        (counters, Look::Bold),
        (
            format!("  [{}{}] {fixed}/{total}", "#".repeat(done), "-".repeat(bar_width - done)),
            Look::Plain,
        ),
    ]);

    // The current row in full, whatever the columns had to cut.
    let r = &table.rows[d.current];
    let mut about = format!(
        "Row {}: {} · {} · {}",
        r.index,
        r.type_label,
        r.data_type,
        if r.data.is_empty() { "-" } else { &r.data }
    );
    for part in [&r.username, &r.template].into_iter().flatten() {
        about.push_str(" · ");
        about.push_str(part);
    }
    let about = render::escape_for_terminal(&about).into_owned();
    lines.push(vec![(fit(&about, width).trim_end().to_owned(), Look::Plain)]);
    let stars = d.entry.expose_str().map_or(d.entry.expose().len(), |s| s.chars().count()).min(64);
    let mut entry: Line =
        vec![(format!("Password for row {}: {}", r.index, "*".repeat(stars)), Look::Plain)];
    if d.focus == Focus::Entry {
        entry.push((" ".into(), Look::Focused));
    }
    lines.push(entry);
    // The status line: the result of the last Assign, on two lines when it needs them.
    let (text, look) = match &d.note {
        Note::None => ("", Look::Plain),
        Note::Success(t) => (t.as_str(), Look::Good),
        Note::Refused(t) => (t.as_str(), Look::Bad),
    };
    let mut status = wrap(text, width).into_iter();
    for _ in 0..STATUS_LINES {
        lines.push(status.next().map(|l| vec![(l, look)]).unwrap_or_default());
    }
    let remaining = table.remaining();
    let ok = if remaining == 0 {
        ("[ OK ]".to_owned(), if d.focus == Focus::Ok { Look::Focused } else { Look::Bold })
    } else {
        (format!("[ OK: disabled, {remaining} left ]"), Look::Dim)
    };
    lines.push(vec![
        ("[ Assign: Enter ]  ".into(), Look::Plain),
        ok,
        ("  [ Cancel: Esc ]".into(), Look::Plain),
    ]);
    lines.push(vec![(
        "↑/↓ PgUp/PgDn Home/End: any row, set ones too  Tab: OK  Ctrl-U: clear".into(),
        Look::Dim,
    )]);
    lines.truncate(height);
    lines
}

/// Light red and light green, as JIMS's dialog shows rows to fix and rows fixed.
const LIGHT_RED: Color = Color::AnsiValue(224);
const LIGHT_GREEN: Color = Color::AnsiValue(194);

/// Draws `frame` on standard error in one write, each line clipped to `width` cells.
fn paint(frame: &[Line], width: usize, color: bool) -> std::io::Result<()> {
    let mut out: Vec<u8> = Vec::with_capacity(8192);
    for (y, line) in frame.iter().enumerate() {
        queue!(out, cursor::MoveTo(0, y as u16))?;
        let mut used = 0;
        for (text, look) in line {
            // Text from an export is escaped where it is formatted; this is the last guard.
            let text = clip(&render::escape_for_terminal(text), width.saturating_sub(used));
            used += render::width(&text);
            const CURRENT: &[Attribute] = &[Attribute::Reverse, Attribute::Bold];
            let (attrs, background): (&[Attribute], Option<Color>) = match look {
                Look::Plain | Look::Good | Look::Bad | Look::Dim => (&[], None),
                Look::Bold => (&[Attribute::Bold], None),
                Look::Focused => (&[Attribute::Reverse], None),
                Look::Header => (&[Attribute::Bold, Attribute::Underlined], None),
                Look::Missing(cur) => (if *cur { CURRENT } else { &[] }, Some(LIGHT_RED)),
                Look::Set(cur) => (if *cur { CURRENT } else { &[] }, Some(LIGHT_GREEN)),
            };
            for a in attrs {
                queue!(out, SetAttribute(*a))?;
            }
            if color {
                if let Some(bg) = background {
                    queue!(out, SetBackgroundColor(bg), SetForegroundColor(Color::Black))?;
                }
                match look {
                    Look::Good => queue!(out, SetForegroundColor(Color::DarkGreen))?,
                    Look::Bad => queue!(out, SetForegroundColor(Color::DarkRed))?,
                    Look::Dim => queue!(out, SetAttribute(Attribute::Dim))?,
                    _ => {}
                }
            }
            queue!(out, Print(text), ResetColor, SetAttribute(Attribute::Reset))?;
        }
        queue!(out, Clear(ClearType::UntilNewLine))?;
    }
    queue!(out, cursor::MoveTo(0, frame.len() as u16), Clear(ClearType::FromCursorDown))?;
    let mut err = stderr();
    err.write_all(&out)?;
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

    #[test]
    fn a_cell_too_narrow_ends_with_an_ellipsis_in_exactly_its_width() {
        assert_eq!(fit("abc", 5), "abc  ");
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit("版本一二", 4), "版… ");
        assert_eq!(render::width(&fit("版本一二", 4)), 4);
    }

    #[test]
    fn a_long_status_wraps_at_spaces() {
        assert_eq!(wrap("aa bb cc", 5), ["aa bb", "cc"]);
        assert_eq!(wrap("", 5), Vec::<String>::new());
        assert_eq!(wrap("abcdefgh ij", 4), ["abcdefgh", "ij"]);
    }

    #[test]
    fn data_and_username_give_way_before_password_and_template() {
        // Index, Type, Data Type, Data, Username, Password, Template.
        let natural = [5, 14, 17, 30, 28, 8, 16];
        let w = column_widths(natural, 80);
        assert_eq!(w[0], 5);
        assert_eq!(w[5], 8);
        assert_eq!(w[6], 16);
        assert!(w.iter().sum::<usize>() + PREFIX + gap(natural, 80) * 6 <= 80, "{w:?}");
        // Wide enough: nothing shrinks.
        assert_eq!(column_widths(natural, 160), natural);
    }
}
