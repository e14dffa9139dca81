//! Schema-by-use decoding of the located tree.
//!
//! A [`Reader`] wraps one body. Each accessor (`string`, `u32`, `blocks`, ...) both reads a field
//! and records that the field exists; [`Reader::finish`] then reports every attribute or block the
//! code never asked for as unknown, with a "did you mean". The decoding code *is* the schema, so
//! the two cannot drift apart. Type errors and missing required fields are reported at the token
//! and decoding carries on, so one run reports every problem.

use std::cell::RefCell;
use std::time::Duration;

use crate::diag::{Diagnostic, Loc, Sink};
use crate::suggest::did_you_mean;

use super::tree::{Block, Body, Node, Val};

/// A value with the location of the token it came from.
#[derive(Clone, Debug)]
pub struct Sp<T> {
    pub v: T,
    pub loc: Loc,
}

impl<T> Sp<T> {
    pub fn new(v: T, loc: Loc) -> Sp<T> {
        Sp { v, loc }
    }
}

impl<T: PartialEq> PartialEq for Sp<T> {
    fn eq(&self, other: &Self) -> bool {
        self.v == other.v
    }
}

pub struct Reader<'a> {
    body: &'a Body,
    /// Location used for "missing attribute" errors: the block header.
    owner: Loc,
    /// Human name of the block, e.g. `service "api"`.
    what: String,
    sink: &'a Sink,
    known_attrs: RefCell<Vec<&'static str>>,
    known_blocks: RefCell<Vec<&'static str>>,
}

impl<'a> Reader<'a> {
    pub fn new(body: &'a Body, owner: Loc, what: impl Into<String>, sink: &'a Sink) -> Self {
        Reader {
            body,
            owner,
            what: what.into(),
            sink,
            known_attrs: RefCell::new(Vec::new()),
            known_blocks: RefCell::new(Vec::new()),
        }
    }

    pub fn for_block(block: &'a Block, sink: &'a Sink) -> Self {
        let what = match block.labels.first() {
            Some((l, _)) => format!("{} \"{}\"", block.ident, l),
            None => block.ident.clone(),
        };
        Reader::new(&block.body, block.ident_loc.clone(), what, sink)
    }

    pub fn node(&self, key: &'static str) -> Option<&'a Node> {
        self.known_attrs.borrow_mut().push(key);
        self.body
            .attrs
            .iter()
            .find(|a| a.key == key)
            .map(|a| &a.node)
    }

    pub fn key_loc(&self, key: &str) -> Option<&'a Loc> {
        self.body
            .attrs
            .iter()
            .find(|a| a.key == key)
            .map(|a| &a.key_loc)
    }

    pub fn has(&self, key: &'static str) -> bool {
        self.node(key).is_some()
    }

    fn missing(&self, key: &str, example: &str) {
        self.sink.push(
            Diagnostic::error(
                "missing-attribute",
                format!("{} is missing the required attribute `{key}`", self.what),
            )
            .at(&self.owner)
            .label(format!("`{key}` is required here"))
            .help(format!("add `{key} = {example}`")),
        );
    }

    fn wrong_type(&self, key: &str, expected: &str, node: &Node) {
        self.sink.push(
            Diagnostic::error(
                "wrong-type",
                format!("`{key}` must be {expected}, found {}", node.val.type_name()),
            )
            .at(&node.loc)
            .label(format!("expected {expected}")),
        );
    }

    pub fn invalid(&self, loc: &Loc, message: impl Into<String>, help: impl Into<String>) {
        self.sink.push(
            Diagnostic::error("invalid-value", message)
                .at(loc)
                .help(help),
        );
    }

    // ---- scalar accessors --------------------------------------------------------------------

    pub fn string(&self, key: &'static str) -> Option<Sp<String>> {
        let node = self.node(key)?;
        as_string(node).or_else(|| {
            if !matches!(node.val, Val::Unknown(_)) {
                self.wrong_type(key, "a string", node);
            }
            None
        })
    }

    pub fn req_string(&self, key: &'static str, example: &str) -> Option<Sp<String>> {
        if self.body.attrs.iter().all(|a| a.key != key) {
            self.known_attrs.borrow_mut().push(key);
            self.missing(key, example);
            return None;
        }
        self.string(key)
    }

    pub fn bool(&self, key: &'static str) -> Option<Sp<bool>> {
        let node = self.node(key)?;
        match &node.val {
            Val::Bool(b) => Some(Sp::new(*b, node.loc.clone())),
            Val::Unknown(_) => None,
            _ => {
                self.wrong_type(key, "true or false", node);
                None
            }
        }
    }

    /// A whole number in `min..=max`.
    pub fn int(&self, key: &'static str, min: i64, max: i64) -> Option<Sp<i64>> {
        let node = self.node(key)?;
        self.int_node(key, node, min, max)
    }

    pub fn int_node(&self, key: &str, node: &Node, min: i64, max: i64) -> Option<Sp<i64>> {
        match &node.val {
            Val::Number(n) => match n.as_i64() {
                Some(i) if (min..=max).contains(&i) => Some(Sp::new(i, node.loc.clone())),
                Some(i) => {
                    self.invalid(
                        &node.loc,
                        format!("`{key}` is {i}, outside {min}..={max}"),
                        format!("use a whole number from {min} to {max}"),
                    );
                    None
                }
                None => {
                    self.wrong_type(key, "a whole number", node);
                    None
                }
            },
            Val::Unknown(_) => None,
            _ => {
                self.wrong_type(key, "a number", node);
                None
            }
        }
    }

    /// A number in steps of 0.1 (a percentage such as `2.5`), as tenths in `min..=max` tenths.
    pub fn tenths(&self, key: &'static str, min: i64, max: i64) -> Option<Sp<i64>> {
        let node = self.node(key)?;
        let range = || format!("{}..={}", min as f64 / 10.0, max as f64 / 10.0);
        match &node.val {
            Val::Number(n) => {
                let Some(f) = n.as_f64() else {
                    self.wrong_type(key, "a number", node);
                    return None;
                };
                let t = (f * 10.0).round();
                if (f * 10.0 - t).abs() > 1e-6 {
                    self.invalid(
                        &node.loc,
                        format!("`{key}` is {f}: it must be a multiple of 0.1"),
                        format!("use a number from {} in steps of 0.1", range()),
                    );
                    return None;
                }
                let t = t as i64;
                if !(min..=max).contains(&t) {
                    self.invalid(
                        &node.loc,
                        format!("`{key}` is {f}, outside {}", range()),
                        format!("use a number from {} in steps of 0.1", range()),
                    );
                    return None;
                }
                Some(Sp::new(t, node.loc.clone()))
            }
            Val::Unknown(_) => None,
            _ => {
                self.wrong_type(key, "a number", node);
                None
            }
        }
    }

    /// A duration of whole minutes in `0..=max` minutes (ECS's bake times), as minutes.
    pub fn minutes(&self, key: &'static str, max: i64) -> Option<Sp<i64>> {
        let d = self.duration(key)?;
        let secs = d.v.as_secs() as i64;
        if secs % 60 != 0 || secs / 60 > max {
            self.invalid(
                &d.loc,
                format!("`{key}` must be whole minutes from 0 to {max} (ECS counts bake times in minutes)"),
                "e.g. \"10m\" or \"1h\"",
            );
            return None;
        }
        Some(Sp::new(secs / 60, d.loc))
    }

    pub fn req_int(&self, key: &'static str, min: i64, max: i64, example: &str) -> Option<Sp<i64>> {
        if self.body.attrs.iter().all(|a| a.key != key) {
            self.known_attrs.borrow_mut().push(key);
            self.missing(key, example);
            return None;
        }
        self.int(key, min, max)
    }

    /// A duration written as `"90s"`, `"10m"`, `"1h30m"` or a number of seconds.
    pub fn duration(&self, key: &'static str) -> Option<Sp<Duration>> {
        let node = self.node(key)?;
        match &node.val {
            Val::Number(n) => match n.as_u64() {
                Some(s) => Some(Sp::new(Duration::from_secs(s), node.loc.clone())),
                None => {
                    self.wrong_type(key, "a duration such as \"10m\"", node);
                    None
                }
            },
            Val::String(s) => match parse_duration(s) {
                Some(d) => Some(Sp::new(d, node.loc.clone())),
                None => {
                    self.invalid(
                        &node.loc,
                        format!("`{key}` = \"{s}\" is not a duration"),
                        "write a number with a unit: \"30s\", \"10m\", \"1h30m\"",
                    );
                    None
                }
            },
            Val::Unknown(_) => None,
            _ => {
                self.wrong_type(key, "a duration such as \"10m\"", node);
                None
            }
        }
    }

    // ---- collections -------------------------------------------------------------------------

    pub fn strings(&self, key: &'static str) -> Option<Vec<Sp<String>>> {
        let node = self.node(key)?;
        self.strings_node(key, node)
    }

    pub fn strings_node(&self, key: &str, node: &Node) -> Option<Vec<Sp<String>>> {
        match &node.val {
            Val::Array(items) => {
                let mut out = Vec::new();
                for item in items {
                    match as_string(item) {
                        Some(s) => out.push(s),
                        None if matches!(item.val, Val::Unknown(_)) => {}
                        None => self.wrong_type(&format!("{key}[..]"), "a string", item),
                    }
                }
                Some(out)
            }
            Val::Unknown(_) => None,
            _ => {
                self.wrong_type(key, "a list of strings", node);
                None
            }
        }
    }

    pub fn ints(&self, key: &'static str, min: i64, max: i64) -> Option<Vec<Sp<i64>>> {
        let node = self.node(key)?;
        match &node.val {
            Val::Array(items) => Some(
                items
                    .iter()
                    .filter_map(|i| self.int_node(key, i, min, max))
                    .collect(),
            ),
            Val::Number(_) => self.int_node(key, node, min, max).map(|i| vec![i]),
            Val::Unknown(_) => None,
            _ => {
                self.wrong_type(key, "a list of numbers", node);
                None
            }
        }
    }

    /// An object of string values, e.g. `environment = { APP_ENV = "staging" }`.
    pub fn string_map(&self, key: &'static str) -> Vec<(Sp<String>, Sp<String>)> {
        let Some(node) = self.node(key) else {
            return Vec::new();
        };
        match &node.val {
            Val::Object(entries) => {
                let mut out = Vec::new();
                for e in entries {
                    let k = Sp::new(e.key.clone(), e.key_loc.clone());
                    match &e.node.val {
                        Val::String(_) | Val::Number(_) | Val::Bool(_) => {
                            out.push((k, scalar_string(&e.node).expect("scalar")));
                        }
                        Val::Unknown(text) => {
                            out.push((k, Sp::new(format!("${{{text}}}"), e.node.loc.clone())));
                        }
                        _ => self.wrong_type(&format!("{key}.{}", e.key), "a string", &e.node),
                    }
                }
                out
            }
            Val::Unknown(_) => Vec::new(),
            _ => {
                self.wrong_type(key, "an object of strings", node);
                Vec::new()
            }
        }
    }

    // ---- blocks ------------------------------------------------------------------------------

    /// All blocks of a type that takes no labels.
    fn unlabelled(&self, ident: &'static str) -> Vec<&'a Block> {
        self.known_blocks.borrow_mut().push(ident);
        let blocks: Vec<&Block> = self
            .body
            .blocks
            .iter()
            .filter(|b| b.ident == ident)
            .collect();
        for b in &blocks {
            if let Some((l, loc)) = b.labels.first() {
                self.sink.push(
                    Diagnostic::error(
                        "unexpected-label",
                        format!("`{ident}` blocks take no label, found \"{l}\""),
                    )
                    .at(loc)
                    .help(format!("write `{ident} {{ ... }}`")),
                );
            }
        }
        blocks
    }

    /// Any number of blocks of a type that takes no labels, in file order.
    pub fn blocks(&self, ident: &'static str) -> Vec<&'a Block> {
        self.unlabelled(ident)
    }

    /// An object of any values, as JSON (`raw = { dockerLabels = { team = "x" } }`). Keys are
    /// kept as written; a value not known yet (a Terraform output during `validate`) is kept as
    /// its `${...}` placeholder.
    pub fn json_object(
        &self,
        key: &'static str,
    ) -> Option<Sp<serde_json::Map<String, serde_json::Value>>> {
        let node = self.node(key)?;
        match to_json(node) {
            serde_json::Value::Object(m) => Some(Sp::new(m, node.loc.clone())),
            _ if matches!(node.val, Val::Unknown(_)) => None,
            _ => {
                self.wrong_type(key, "an object", node);
                None
            }
        }
    }

    /// At most one block of a type that takes no labels.
    pub fn block(&self, ident: &'static str) -> Option<&'a Block> {
        let blocks = self.unlabelled(ident);
        for extra in blocks.iter().skip(1) {
            self.sink.push(
                Diagnostic::error(
                    "duplicate-block",
                    format!("only one `{ident}` block is allowed in {}", self.what),
                )
                .at(&extra.ident_loc)
                .related(&blocks[0].ident_loc, "first one here")
                .help("merge the two blocks"),
            );
        }
        blocks.first().copied()
    }

    /// Blocks of a type that takes exactly one label, checked for duplicate labels.
    pub fn labelled(&self, ident: &'static str, kind: &str) -> Vec<(Sp<String>, &'a Block)> {
        self.labelled_with(ident, kind, "")
    }

    /// [`Reader::labelled`], with more characters allowed in labels than letters, digits, `-`
    /// and `_` (ECR repository names take `/` and `.`).
    pub fn labelled_with(
        &self,
        ident: &'static str,
        kind: &str,
        also: &str,
    ) -> Vec<(Sp<String>, &'a Block)> {
        self.known_blocks.borrow_mut().push(ident);
        let mut out: Vec<(Sp<String>, &Block)> = Vec::new();
        for b in self.body.blocks.iter().filter(|b| b.ident == ident) {
            let Some((label, loc)) = b.labels.first() else {
                self.sink.push(
                    Diagnostic::error(
                        "missing-label",
                        format!("`{ident}` blocks need a name: `{ident} \"<{kind}>\" {{ ... }}`"),
                    )
                    .at(&b.ident_loc),
                );
                continue;
            };
            if let Some((extra, loc)) = b.labels.get(1) {
                self.sink.push(
                    Diagnostic::error(
                        "unexpected-label",
                        format!("`{ident}` blocks take one label, found a second: \"{extra}\""),
                    )
                    .at(loc),
                );
            }
            if let Some((first, _)) = out.iter().find(|(l, _)| l.v == *label) {
                self.sink.push(
                    Diagnostic::error(
                        "duplicate-name",
                        format!("{kind} \"{label}\" is declared more than once"),
                    )
                    .at(loc)
                    .label("declared again here")
                    .related(&first.loc, "first declared here")
                    .help(format!("rename one of them; {kind} names must be unique")),
                );
                continue;
            }
            if label.is_empty()
                || !label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_".contains(c) || also.contains(c))
            {
                let extra: Vec<String> = also.chars().map(|c| format!("`{c}`")).collect();
                self.invalid(
                    loc,
                    format!("{kind} name \"{label}\" is not valid"),
                    if extra.is_empty() {
                        "use letters, digits, `-` and `_`".to_string()
                    } else {
                        format!("use letters, digits, `-`, `_`, {}", extra.join(", "))
                    },
                );
            }
            out.push((Sp::new(label.clone(), loc.clone()), b));
        }
        out
    }

    /// Reports everything in the body that no accessor asked for.
    pub fn finish(self) {
        let attrs = self.known_attrs.borrow();
        let blocks = self.known_blocks.borrow();
        for a in &self.body.attrs {
            if attrs.contains(&a.key.as_str()) {
                continue;
            }
            let mut d = Diagnostic::error(
                "unknown-attribute",
                format!("{} has no attribute `{}`", self.what, a.key),
            )
            .at(&a.key_loc)
            .label("unknown attribute");
            d = if blocks.contains(&a.key.as_str()) {
                d.help(format!(
                    "`{0}` is a block: write `{0} {{ ... }}` without `=`",
                    a.key
                ))
            } else if let Some(s) = did_you_mean(&a.key, attrs.iter().copied()) {
                d.help(format!("did you mean `{s}`?"))
            } else {
                d.help(format!("attributes here: {}", sorted_list(&attrs)))
            };
            self.sink.push(d);
        }
        for b in &self.body.blocks {
            if blocks.contains(&b.ident.as_str()) {
                continue;
            }
            let mut d = Diagnostic::error(
                "unknown-block",
                format!("{} has no block `{}`", self.what, b.ident),
            )
            .at(&b.ident_loc)
            .label("unknown block");
            d = if attrs.contains(&b.ident.as_str()) {
                d.help(format!("`{0}` is an attribute: write `{0} = ...`", b.ident))
            } else if let Some(s) = did_you_mean(&b.ident, blocks.iter().copied()) {
                d.help(format!("did you mean `{s}`?"))
            } else if blocks.is_empty() {
                d.help(format!("{} takes no blocks", self.what))
            } else {
                d.help(format!("blocks here: {}", sorted_list(&blocks)))
            };
            self.sink.push(d);
        }
    }
}

/// A located value as JSON: numbers stay numbers, unknown values become their placeholder.
pub fn to_json(node: &Node) -> serde_json::Value {
    use serde_json::Value as J;
    match &node.val {
        Val::Null => J::Null,
        Val::Bool(b) => J::Bool(*b),
        Val::Number(n) => serde_json::to_value(n).unwrap_or(J::Null),
        Val::String(s) => J::String(s.clone()),
        Val::Array(items) => J::Array(items.iter().map(to_json).collect()),
        Val::Object(entries) => J::Object(
            entries
                .iter()
                .map(|e| (e.key.clone(), to_json(&e.node)))
                .collect(),
        ),
        Val::Unknown(text) => J::String(format!("${{{text}}}")),
    }
}

fn sorted_list(items: &[&str]) -> String {
    let mut v: Vec<&str> = items.to_vec();
    v.sort_unstable();
    v.dedup();
    v.join(", ")
}

fn as_string(node: &Node) -> Option<Sp<String>> {
    match &node.val {
        Val::String(s) => Some(Sp::new(s.clone(), node.loc.clone())),
        Val::Unknown(text) => Some(Sp::new(format!("${{{text}}}"), node.loc.clone())),
        _ => None,
    }
}

fn scalar_string(node: &Node) -> Option<Sp<String>> {
    let s = match &node.val {
        Val::String(s) => s.clone(),
        Val::Number(n) => n.to_string(),
        Val::Bool(b) => b.to_string(),
        _ => return None,
    };
    Some(Sp::new(s, node.loc.clone()))
}

/// Parses `"90s"`, `"10m"`, `"1h30m"`, `"500ms"` or a bare number of seconds.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(secs) = s.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit())?;
        if digits == 0 {
            return None;
        }
        let n: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let d = match unit {
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n.checked_mul(60)?),
            "h" => Duration::from_secs(n.checked_mul(3600)?),
            _ => return None,
        };
        total = total.checked_add(d)?;
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("10m"), Some(Duration::from_secs(600)));
        assert_eq!(parse_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("45"), Some(Duration::from_secs(45)));
        assert_eq!(parse_duration("10 minutes"), None);
        assert_eq!(parse_duration("m"), None);
        assert_eq!(parse_duration(""), None);
    }
}
