//! Text tables for people. comfy-table lays the columns out, measured in terminal cells (a wide
//! character takes two, jimsctl's own colours take none), with no borders and two spaces
//! between columns, as `ls -l` or `cargo tree` print; no line ends in spaces, and nothing is
//! wrapped or cut (a long path stays whole and copyable). The header, when there is one, is bold
//! as a whole. Every cell is text already escaped for a terminal by its caller.

use comfy_table::{ContentArrangement, Table, presets};

use crate::term::Style;

/// A table being built: rows of cells, an optional header, some columns right-aligned.
pub(crate) struct Grid {
    table: Table,
    header: bool,
    style: Style,
    indent: usize,
}

impl Grid {
    /// A table with `headers` over its columns (bold where colour is on).
    pub(crate) fn new<S: Into<String>>(headers: impl IntoIterator<Item = S>, style: Style) -> Grid {
        let mut grid = Grid::headless(style);
        let headers: Vec<String> = headers.into_iter().map(Into::into).collect();
        grid.table.set_header(headers);
        grid.header = true;
        grid
    }

    /// A table without a header row (aligned lines, such as the plan's sections).
    pub(crate) fn headless(style: Style) -> Grid {
        let mut table = Table::new();
        table.load_style(presets::NOTHING);
        table.set_content_arrangement(ContentArrangement::Disabled);
        Grid { table, header: false, style, indent: 0 }
    }

    /// Starts every line with `cells` spaces.
    pub(crate) fn indent(mut self, cells: usize) -> Grid {
        self.indent = cells;
        self
    }

    /// Adds a row; a row shorter than the others leaves its last cells empty.
    pub(crate) fn row<S: Into<String>>(&mut self, cells: impl IntoIterator<Item = S>) {
        let cells: Vec<String> = cells.into_iter().map(Into::into).collect();
        self.table.add_row(cells);
    }

    /// The lines, the header's first (bold where colour is on), then one per row.
    pub(crate) fn lines(&mut self) -> Vec<String> {
        self.table.discover_columns();
        let last = self.table.column_iter().count().saturating_sub(1);
        for (i, c) in self.table.column_iter_mut().enumerate() {
            c.set_padding((0, if i == last { 0 } else { 2 }));
        }
        let pad = " ".repeat(self.indent);
        self.table
            .lines()
            .enumerate()
            .map(|(i, line)| {
                let line = line.trim_end();
                if i == 0 && self.header {
                    format!("{pad}{}", self.style.bold(line))
                } else {
                    format!("{pad}{line}")
                }
            })
            .collect()
    }

    /// The whole table, each line ending in a newline.
    pub(crate) fn render(&mut self) -> String {
        let mut out = String::new();
        for line in self.lines() {
            out.push_str(&line);
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_measured_in_terminal_cells_and_colours_take_none() {
        let style = Style { on: true };
        let mut g = Grid::new(["Id", "Name", "Status"], style);
        g.row(["1".to_owned(), "版本".to_owned(), style.red("missing")]);
        g.row(["10".to_owned(), "abc".to_owned(), style.green("OK")]);
        let lines = g.lines();
        assert_eq!(lines[0], "\x1b[1mId  Name  Status\x1b[0m");
        assert_eq!(lines[1], "1   版本  \x1b[31mmissing\x1b[0m");
        assert_eq!(lines[2], "10  abc   \x1b[32mOK\x1b[0m");
        let plain = Style { on: false };
        let mut g = Grid::headless(plain).indent(2);
        g.row(["a", "1"]);
        g.row(["bb", "100"]);
        g.row(["c"]);
        assert_eq!(g.render(), "  a   1\n  bb  100\n  c\n");
    }
}
