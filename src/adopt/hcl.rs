//! Writing environment files: blocks, attributes and comments laid out the way `terraform fmt`
//! does (two-space indents, `=` aligned within a run of attributes). Values are formatted by
//! hcl-rs, so strings are quoted and escaped (`${` in a value becomes `$${`); a template such as
//! `"ghcr.io/org/api:${image_tag}"` is written as one on purpose, with [`Value::Template`].

use hcl::expr::{Expression, TemplateExpr};

/// One attribute value.
#[derive(Clone, Debug)]
pub enum Value {
    /// Any JSON value, written as its HCL literal.
    Json(serde_json::Value),
    /// A quoted template, written as is (it may hold `${...}` interpolations).
    Template(String),
}

impl From<serde_json::Value> for Value {
    fn from(v: serde_json::Value) -> Value {
        Value::Json(v)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::Json(serde_json::Value::from(s))
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::Json(serde_json::Value::from(s))
    }
}

impl From<i64> for Value {
    fn from(n: i64) -> Value {
        Value::Json(serde_json::Value::from(n))
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Json(serde_json::Value::from(b))
    }
}

fn expression(v: &Value) -> Expression {
    match v {
        Value::Json(j) => hcl::to_expression(j).unwrap_or(Expression::Null),
        Value::Template(t) => {
            Expression::TemplateExpr(Box::new(TemplateExpr::QuotedString(t.clone())))
        }
    }
}

/// The HCL text of a value on its own, multi-line values indented from column 0.
pub fn format(v: &Value) -> String {
    let expr = expression(v);
    let mut buf = Vec::new();
    let mut f = hcl::format::Formatter::builder()
        .indent(b"  ")
        .prefer_ident_keys(true)
        .compact_arrays(true)
        .build(&mut buf);
    use hcl::format::Format;
    if expr.format(&mut f).is_err() {
        return "null".to_string();
    }
    String::from_utf8(buf).unwrap_or_default()
}

enum Item {
    Attr(String, String, Option<String>),
    Comment(String),
    Blank,
    Block(String),
}

/// A body being written: attributes, blocks and comments, in order.
#[derive(Default)]
pub struct Body {
    items: Vec<Item>,
}

impl Body {
    pub fn new() -> Body {
        Body::default()
    }

    /// `key = value`.
    pub fn attr(&mut self, key: &str, value: impl Into<Value>) -> &mut Self {
        self.items
            .push(Item::Attr(key.to_string(), format(&value.into()), None));
        self
    }

    /// `key = value # note`.
    pub fn attr_noted(&mut self, key: &str, value: impl Into<Value>, note: &str) -> &mut Self {
        self.items.push(Item::Attr(
            key.to_string(),
            format(&value.into()),
            Some(note.to_string()),
        ));
        self
    }

    /// `# text`, one line per line of `text`.
    pub fn comment(&mut self, text: &str) -> &mut Self {
        for line in text.lines() {
            self.items.push(Item::Comment(line.to_string()));
        }
        self
    }

    pub fn blank(&mut self) -> &mut Self {
        self.items.push(Item::Blank);
        self
    }

    /// `ident "label" ... { body }`.
    pub fn block(&mut self, ident: &str, labels: &[&str], body: &Body) -> &mut Self {
        let mut head = ident.to_string();
        for l in labels {
            head.push(' ');
            head.push_str(&format(&Value::from(*l)));
        }
        let inner = body.render(1);
        let text = if inner.trim().is_empty() {
            format!("{head} {{}}")
        } else {
            format!("{head} {{\n{inner}}}")
        };
        self.items.push(Item::Block(text));
        self
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The body's text at `depth` levels of indentation (each line ends in a newline).
    pub fn render(&self, depth: usize) -> String {
        let pad = "  ".repeat(depth);
        let mut out = String::new();
        let mut i = 0;
        while i < self.items.len() {
            match &self.items[i] {
                Item::Attr(..) => {
                    // A run of attributes: `=` aligned, as terraform fmt does.
                    let start = i;
                    while i < self.items.len() && matches!(self.items[i], Item::Attr(..)) {
                        i += 1;
                    }
                    let width = self.items[start..i]
                        .iter()
                        .map(|it| match it {
                            Item::Attr(k, ..) => k.len(),
                            _ => 0,
                        })
                        .max()
                        .unwrap_or(0);
                    for it in &self.items[start..i] {
                        if let Item::Attr(k, v, note) = it {
                            let mut lines = v.lines();
                            let first = lines.next().unwrap_or("");
                            out.push_str(&format!("{pad}{k:width$} = {first}"));
                            for rest in lines {
                                out.push('\n');
                                out.push_str(&pad);
                                out.push_str(rest);
                            }
                            if let Some(n) = note {
                                out.push_str(&format!(" # {n}"));
                            }
                            out.push('\n');
                        }
                    }
                    continue;
                }
                Item::Comment(c) => {
                    if c.is_empty() {
                        out.push_str(&format!("{pad}#\n"));
                    } else {
                        out.push_str(&format!("{pad}# {c}\n"));
                    }
                }
                Item::Blank => out.push('\n'),
                Item::Block(text) => {
                    for line in text.lines() {
                        if line.is_empty() {
                            out.push('\n');
                        } else {
                            out.push_str(&pad);
                            out.push_str(line);
                            out.push('\n');
                        }
                    }
                }
            }
            i += 1;
        }
        out
    }
}

/// Lays out HCL text the way [`Body::render`] does, after an edit moved things around:
/// two-space indents by nesting depth, `=` aligned within runs of attributes, no blank line
/// right after an opening brace or before a closing one, at most one blank line in a row.
/// Meant for text this module wrote (no heredocs).
pub fn reformat(text: &str) -> String {
    // Depth of each line (by braces and brackets outside strings), and the line trimmed.
    let mut lines: Vec<(usize, String)> = Vec::new();
    let mut depth: usize = 0;
    for raw in text.lines() {
        let line = raw.trim();
        let mut opens = 0i32;
        let mut leading_close = 0usize;
        let mut in_string = false;
        let mut escaped = false;
        let mut seen_other = false;
        for c in line.chars() {
            if in_string {
                match c {
                    _ if escaped => escaped = false,
                    '\\' => escaped = true,
                    '"' => in_string = false,
                    _ => {}
                }
                continue;
            }
            match c {
                '"' => {
                    in_string = true;
                    seen_other = true;
                }
                '#' => break,
                '{' | '[' | '(' => {
                    opens += 1;
                    seen_other = true;
                }
                '}' | ']' | ')' => {
                    opens -= 1;
                    if !seen_other {
                        leading_close += 1;
                    }
                }
                c if c.is_whitespace() => {}
                _ => seen_other = true,
            }
        }
        let this = depth.saturating_sub(leading_close);
        lines.push((this, line.to_string()));
        depth = (depth as i32 + opens).max(0) as usize;
    }
    // Blank lines: none after `{`, none before `}`, at most one in a row, none at the start.
    let mut kept: Vec<(usize, String)> = Vec::new();
    for (i, (d, l)) in lines.iter().enumerate() {
        if l.is_empty() {
            let after_open = kept
                .last()
                .is_none_or(|(_, p)| p.is_empty() || p.ends_with('{'));
            let before_close = lines[i + 1..]
                .iter()
                .find(|(_, n)| !n.is_empty())
                .is_none_or(|(_, n)| n.starts_with('}'));
            if after_open || before_close {
                continue;
            }
        }
        kept.push((*d, l.clone()));
    }
    // A blank line between top-level blocks.
    let mut spaced: Vec<(usize, String)> = Vec::new();
    for (d, l) in kept {
        let after_block = spaced.last().is_some_and(|(pd, p)| *pd == 0 && p == "}");
        if d == 0 && after_block && !l.is_empty() {
            spaced.push((0, String::new()));
        }
        spaced.push((d, l));
    }
    let kept = spaced;
    // `=` aligned within runs of attributes at one depth.
    let key_of = |l: &str| -> Option<usize> {
        let eq = l.find(" = ").or_else(|| l.find('='))?;
        let k = l[..eq].trim();
        (!k.is_empty()
            && k.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_\"".contains(c)))
        .then_some(eq)
    };
    let mut out = String::new();
    let mut i = 0;
    while i < kept.len() {
        let (d, l) = &kept[i];
        if key_of(l).is_none() {
            if l.is_empty() {
                out.push('\n');
            } else {
                out.push_str(&format!("{}{l}\n", "  ".repeat(*d)));
            }
            i += 1;
            continue;
        }
        // The run: attribute lines at depth d, with deeper continuation lines in between.
        let mut run = vec![i];
        let mut j = i + 1;
        while j < kept.len() {
            let (dj, lj) = &kept[j];
            if *dj > *d {
                j += 1;
                continue;
            }
            if *dj == *d && key_of(lj).is_some() {
                run.push(j);
                j += 1;
                continue;
            }
            if *dj == *d && lj.starts_with(['}', ']', ')']) {
                // The end of a multi-line value belongs to it.
                j += 1;
                continue;
            }
            break;
        }
        let width = run
            .iter()
            .map(|&k| {
                kept[k].1[..key_of(&kept[k].1).unwrap_or(0)]
                    .trim_end()
                    .len()
            })
            .max()
            .unwrap_or(0);
        for (k, (dk, lk)) in kept.iter().enumerate().take(j).skip(i) {
            let pad = "  ".repeat(*dk);
            if run.contains(&k) {
                let eq = key_of(lk).unwrap_or(0);
                let key = lk[..eq].trim_end();
                let value = lk[eq..]
                    .trim_start_matches(' ')
                    .trim_start_matches('=')
                    .trim_start();
                out.push_str(&format!("{pad}{key:width$} = {value}\n"));
            } else if lk.is_empty() {
                out.push('\n');
            } else {
                out.push_str(&format!("{pad}{lk}\n"));
            }
        }
        i = j;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_are_quoted_escaped_and_templates_kept() {
        assert_eq!(format(&Value::from("a\"b")), r#""a\"b""#);
        // A literal `${` in a live value must not become an interpolation.
        assert_eq!(format(&Value::from("x${y}")), r#""x$${y}""#);
        assert_eq!(
            format(&Value::Template("ghcr.io/o/a:${image_tag}".into())),
            r#""ghcr.io/o/a:${image_tag}""#
        );
        assert_eq!(format(&Value::from(json!(["a", "b"]))), r#"["a", "b"]"#);
    }

    #[test]
    fn reformat_reindents_and_realigns_edited_text() {
        let edited = "service \"app\" {\n\n  image = \"x\"\n  security_groups        = [\"sg\"]\nlog {\n    driver  = \"awslogs\"\n    options = {\n      a = \"1\"\n    }\n}\n\n}\n";
        assert_eq!(
            reformat(edited),
            "service \"app\" {\n  image           = \"x\"\n  security_groups = [\"sg\"]\n  log {\n    driver  = \"awslogs\"\n    options = {\n      a = \"1\"\n    }\n  }\n}\n"
        );
        // Text Body::render wrote is left as it is.
        let mut b = Body::new();
        b.attr("a", "x").attr("long_name", json!({"k": "1"}));
        let text = b.render(0);
        assert_eq!(reformat(&text), text);
    }

    #[test]
    fn bodies_align_attributes_and_nest_blocks() {
        let mut inner = Body::new();
        inner.attr("cpu", 256).attr("memory_reservation", 512);
        let mut b = Body::new();
        b.comment("adopted")
            .attr("a", "x")
            .attr("long_name", json!({"k.v": "1", "plain": "2"}));
        b.blank()
            .block("service", &["api"], &inner)
            .block("volume", &["tmp"], &Body::new());
        let text = b.render(0);
        assert_eq!(
            text,
            "# adopted\na         = \"x\"\nlong_name = {\n  \"k.v\" = \"1\"\n  plain = \"2\"\n}\n\nservice \"api\" {\n  cpu                = 256\n  memory_reservation = 512\n}\nvolume \"tmp\" {}\n"
        );
        // What is written parses.
        let body: hcl::Body = hcl::from_str(&text).unwrap();
        assert_eq!(body.blocks().count(), 2);
    }
}
