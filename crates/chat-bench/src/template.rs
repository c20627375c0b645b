//! A Markdown template of named sections with `{{name}}` placeholders: how
//! BENCHMARKS.md's words live in a Markdown file (`BENCHMARKS.template.md`)
//! instead of string literals, while the code decides which sections a run
//! fills and with what figures.
//!
//! - A line `<!-- section NAME -->` starts the section NAME, which runs to
//!   the next such line, blank lines included. Text before the first one is
//!   a comment for whoever edits the template, and is never rendered.
//! - `{{name}}` is replaced by its value; values are not scanned again, and
//!   a placeholder without a value stays as it is (the tests look for `{{`).
//! - A `{{name}}` alone on its line whose value is empty or ends in a newline
//!   stands for whole lines: the value replaces the line, so a table with no
//!   rows leaves no blank line.

/// A parsed template: its sections, in order.
#[derive(Debug, Clone)]
pub struct Template {
    sections: Vec<(&'static str, &'static str)>,
}

const MARKER_START: &str = "<!-- section ";
const MARKER_END: &str = " -->";

impl Template {
    /// Splits `text` into its sections.
    pub fn parse(text: &'static str) -> Template {
        let mut sections: Vec<(&'static str, &'static str)> = Vec::new();
        let mut current: Option<(&'static str, usize)> = None;
        let mut at = 0;
        for line in text.split_inclusive('\n') {
            let name = line
                .trim_end()
                .strip_prefix(MARKER_START)
                .and_then(|rest| rest.strip_suffix(MARKER_END));
            if let Some(name) = name {
                if let Some((open, start)) = current {
                    sections.push((open, &text[start..at]));
                }
                current = Some((name.trim(), at + line.len()));
            }
            at += line.len();
        }
        if let Some((open, start)) = current {
            sections.push((open, &text[start..]));
        }
        Template { sections }
    }

    /// The names of the sections, in order.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.sections.iter().map(|(name, _)| *name)
    }

    /// The text of section `name`, unfilled.
    pub fn section(&self, name: &str) -> Option<&'static str> {
        self.sections
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, text)| *text)
    }

    /// Section `name` with `vars` filled in.
    ///
    /// # Panics
    ///
    /// If the template has no such section: the template is compiled in, so
    /// that is a mistake in the program, which the unit tests catch.
    pub fn render(&self, name: &str, vars: &[(&str, &str)]) -> String {
        let text = self
            .section(name)
            .unwrap_or_else(|| panic!("the template has no section {name:?}"));
        fill(text, vars)
    }
}

/// `text` with each `{{name}}` of `vars` replaced (see the module docs).
pub fn fill(text: &str, vars: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        let Some(len) = rest[open + 2..].find("}}") else {
            break;
        };
        let name = &rest[open + 2..open + 2 + len];
        let after = &rest[open + 4 + len..];
        let Some((_, value)) = vars.iter().find(|(key, _)| *key == name) else {
            out.push_str(&rest[..open + 4 + len]);
            rest = after;
            continue;
        };
        out.push_str(&rest[..open]);
        let line_start = out.is_empty() || out.ends_with('\n');
        out.push_str(value);
        rest = match after.strip_prefix('\n') {
            Some(next) if line_start && (value.is_empty() || value.ends_with('\n')) => next,
            _ => after,
        };
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_run_from_marker_to_marker() {
        let t = Template::parse(
            "a comment\n<!-- section one -->\n# One\n\n<!-- section two -->\nx {{v}} y\n",
        );
        assert_eq!(t.names().collect::<Vec<_>>(), ["one", "two"]);
        assert_eq!(t.section("one"), Some("# One\n\n"));
        assert_eq!(t.render("two", &[("v", "1")]), "x 1 y\n");
        assert_eq!(t.section("three"), None);
    }

    #[test]
    fn placeholders() {
        assert_eq!(fill("{{a}}{{b}}", &[("a", "{{b}}"), ("b", "2")]), "{{b}}2");
        assert_eq!(fill("{{missing}} {{", &[]), "{{missing}} {{");
        let table = "| h |\n{{rows}}\nafter\n";
        assert_eq!(fill(table, &[("rows", "")]), "| h |\nafter\n");
        assert_eq!(
            fill(table, &[("rows", "| 1 |\n| 2 |\n")]),
            "| h |\n| 1 |\n| 2 |\nafter\n"
        );
        assert_eq!(fill(table, &[("rows", "text")]), "| h |\ntext\nafter\n");
        assert_eq!(fill("x {{v}}\n", &[("v", "")]), "x \n");
    }
}
