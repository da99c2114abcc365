//! `jimsctl validate FILE|DIR`: a configuration checked on its own, every problem listed;
//! exit 0 when it is valid, 2 when it is not (or cannot be read).

use pipeline::Error;
use pipeline::diff::SideKind;
use pipeline::validate::Validation;
use serde_json::json;

use crate::args::{OutputFormat, ValidateArgs};
use crate::diff::clean;
use crate::import::plural;

/// `jimsctl validate`.
pub(crate) fn run(a: ValidateArgs) -> Result<u8, Error> {
    let shown = clean(&a.path);
    let v = match pipeline::validate::validate(&a.path) {
        Ok(v) => v,
        Err(e) if a.output.format == OutputFormat::Json => {
            let v = json!({"path": a.path, "valid": false, "problems": [e.to_string()]});
            out_json!(v);
            return Ok(crate::exit::Exit::of_error(&e).code());
        }
        Err(e) => return Err(e),
    };
    let config = &v.side.configuration;
    let items: usize = config.sections().iter().map(|s| s.item_count()).sum();
    if a.output.format == OutputFormat::Json {
        let out = json!({
            "path": a.path,
            "kind": v.side.kind,
            "valid": v.is_valid(),
            "sections": config.sections_in_table_order().iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
            "items": items,
            "passwords": v.passwords,
            "remaining_on_a_new_server": v.new_server_rows,
            "unchecked_template_references": v.unchecked_templates,
            "problems": v.problems,
        });
        out_json!(out);
    } else {
        text(&v, &shown, items);
    }
    Ok(if v.is_valid() { 0 } else { crate::exit::Exit::Invalid.code() })
}

fn text(v: &Validation, shown: &str, items: usize) {
    let sections = v.side.configuration.sections().len();
    let kind = crate::diff::describe(&v.side);
    if v.is_valid() {
        outln!(
            "{shown} ({kind}): valid: {}, {}.",
            plural(sections, "section"),
            plural(items, "item")
        );
    } else {
        outln!("{shown} ({kind}): {}:", plural(v.problems.len(), "problem"));
        for p in &v.problems {
            outln!("  - {}", clean(p));
        }
    }
    if !v.passwords.is_empty() {
        let parts: Vec<String> = v
            .passwords
            .iter()
            .map(|(state, n)| match *state {
                "template" => format!("{n} from a template"),
                state => format!("{n} {state}"),
            })
            .collect();
        outln!("Passwords: {}.", parts.join(", "));
        // What `jimsctl passwords FILE` shows, by the same rules: tell the command where it
        // reads this input (a bundle or a server folder).
        let table = match v.side.kind {
            SideKind::Xml | SideKind::Json | SideKind::Folder => {
                format!(" (`jimsctl passwords {}` lists them)", shell_word(shown))
            }
            SideKind::Managed | SideKind::Version => String::new(),
        };
        outln!("Remaining on a new server: {}{table}.", v.new_server_rows);
    }
    if let Some(n) = v.passwords.get("plaintext") {
        outln!(
            "Note: {} readable in the file; keep it safe (an import seals them).",
            if *n == 1 { "1 password is".to_owned() } else { format!("{n} passwords are") }
        );
    }
    if v.unchecked_templates > 0 {
        outln!(
            "Note: {} not checked: the file holds no templates section (an import checks them \
             against the target's).",
            plural(v.unchecked_templates, "template reference")
        );
    }
}

/// `word` as a shell reads it back: as it is when it holds only characters no shell treats
/// specially, else in single quotes.
fn shell_word(word: &str) -> String {
    let plain = |c: char| c.is_alphanumeric() || "_./@:+,-=%".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::shell_word;

    #[test]
    fn a_shell_word_is_quoted_only_when_it_needs_to_be() {
        assert_eq!(shell_word("exports/full.xml"), "exports/full.xml");
        assert_eq!(shell_word("my exports/a.xml"), "'my exports/a.xml'");
        assert_eq!(shell_word("it's.xml"), r"'it'\''s.xml'");
        assert_eq!(shell_word(""), "''");
    }
}
