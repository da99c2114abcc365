//! Where a problem is in an input: the file, line and column that every parse error names.

use std::fmt;
use std::path::{Path, PathBuf};

/// A place in an input file. Each part is optional; `Display` writes the known parts as the
/// `path:line:column: ` prefix of an error message (nothing at all when none is known).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Location {
    /// The file, once a caller has named it.
    pub path: Option<PathBuf>,
    /// The 1-based line.
    pub line: Option<u64>,
    /// The 1-based column.
    pub column: Option<u64>,
}

impl Location {
    /// A location at `line` and `column` (1-based; 0 means unknown), in no file yet.
    pub fn at(line: u64, column: u64) -> Location {
        Location {
            path: None,
            line: (line > 0).then_some(line),
            column: (line > 0 && column > 0).then_some(column),
        }
    }

    /// The file, if known.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(path) = &self.path {
            write!(f, "{}:", path.display())?;
        }
        if let Some(line) = self.line {
            write!(f, "{line}:")?;
            if let Some(column) = self.column {
                write!(f, "{column}:")?;
            }
        }
        if self.path.is_some() || self.line.is_some() {
            f.write_str(" ")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_only_the_known_parts() {
        assert_eq!(Location::default().to_string(), "");
        assert_eq!(Location::at(3, 7).to_string(), "3:7: ");
        assert_eq!(Location::at(3, 0).to_string(), "3: ");
        let mut l = Location::at(0, 9);
        l.path = Some("x.xml".into());
        assert_eq!(l.to_string(), "x.xml: ");
        l.line = Some(1);
        assert_eq!(l.to_string(), "x.xml:1: ");
    }
}
