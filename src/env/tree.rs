//! The evaluated, located tree of one environment file.
//!
//! hcl-edit parses a file with byte spans; this module lowers that syntax into a small tree of
//! *evaluated* values in which every node remembers where it came from. Expressions are evaluated
//! with hcl-rs's evaluation context ([`Scope`]): `tf.<output>`, `image_tag`, `git.sha`, `env.name`.
//! References are checked before evaluation so that a missing Terraform output is reported at the
//! reference itself, with the outputs that do exist. When a root is deliberately unknown (validate
//! without outputs), the value becomes [`Val::Unknown`] and the decoder skips type checks on it.
//!
//! It also merges a shared file (`_shared.hcl`) under an environment file. It knows nothing of the
//! slipway schema: which attributes exist is the decoder's business.

use std::collections::{BTreeMap, BTreeSet};

use hcl::eval::{Context, Evaluate};
use hcl_edit::expr::{Expression, ObjectKey, TraversalOperator};
use hcl_edit::structure::{BlockLabel, Structure};
use hcl_edit::visit::{self, Visit};
use hcl_edit::Span;

use crate::diag::{Diagnostic, FileId, Loc, Sink};
use crate::suggest::did_you_mean;

/// An evaluated value with the location of the expression that produced it.
#[derive(Clone, Debug)]
pub struct Node {
    pub val: Val,
    pub loc: Loc,
}

#[derive(Clone, Debug)]
pub enum Val {
    Null,
    Bool(bool),
    Number(hcl::Number),
    String(String),
    Array(Vec<Node>),
    Object(Vec<Entry>),
    /// Depends on a value not known yet (e.g. a Terraform output during `validate`); holds the
    /// reference as written.
    Unknown(String),
}

impl Val {
    pub fn type_name(&self) -> &'static str {
        match self {
            Val::Null => "null",
            Val::Bool(_) => "a bool",
            Val::Number(_) => "a number",
            Val::String(_) => "a string",
            Val::Array(_) => "a list",
            Val::Object(_) => "an object",
            Val::Unknown(_) => "an unknown value",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Entry {
    pub key: String,
    pub key_loc: Loc,
    pub node: Node,
}

#[derive(Clone, Debug)]
pub struct Attr {
    pub key: String,
    pub key_loc: Loc,
    pub node: Node,
}

#[derive(Clone, Debug)]
pub struct Block {
    pub ident: String,
    pub ident_loc: Loc,
    pub labels: Vec<(String, Loc)>,
    pub body: Body,
    pub loc: Loc,
}

#[derive(Clone, Debug)]
pub struct Body {
    pub attrs: Vec<Attr>,
    pub blocks: Vec<Block>,
}

/// What expressions may refer to. `None` marks a root that is not known in this run.
#[derive(Clone, Debug, Default)]
pub struct Scope {
    pub tf: Option<BTreeMap<String, serde_json::Value>>,
    /// Outputs Terraform marks sensitive: referencing one is an error, since its value would
    /// land in plain text (task definitions, logs, PR comments).
    pub tf_sensitive: Vec<String>,
    pub image_tag: Option<String>,
    pub git: Option<GitVars>,
    pub env_name: String,
    /// When false, a reference to an unknown root is an error instead of [`Val::Unknown`].
    pub allow_unknown: bool,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct GitVars {
    pub sha: String,
    pub short_sha: String,
    pub branch: Option<String>,
    /// `git.version`: the version the tags give HEAD (see [`crate::git::version`]).
    pub version: Option<String>,
}

pub const ROOTS: &[&str] = &["tf", "image_tag", "git", "env"];

const HINT_TF: &str = "pass --tf-outputs FILE, or run where `terraform output -json` has state";
const HINT_IMAGE_TAG: &str = "pass --image-tag TAG";
const HINT_GIT: &str = "run inside a git repository, or use a literal value";

impl Scope {
    fn context(&self) -> Context<'static> {
        let mut ctx = Context::new();
        if let Some(tf) = &self.tf {
            let obj: hcl::Map<String, hcl::Value> = tf
                .iter()
                .map(|(k, v)| (k.clone(), json_to_hcl(v)))
                .collect();
            ctx.declare_var("tf", hcl::Value::Object(obj));
        }
        if let Some(tag) = &self.image_tag {
            ctx.declare_var("image_tag", tag.clone());
        }
        if let Some(git) = &self.git {
            let mut obj = hcl::Map::new();
            obj.insert("sha".to_string(), hcl::Value::from(git.sha.clone()));
            obj.insert(
                "short_sha".to_string(),
                hcl::Value::from(git.short_sha.clone()),
            );
            obj.insert(
                "branch".to_string(),
                git.branch
                    .clone()
                    .map_or(hcl::Value::Null, hcl::Value::from),
            );
            obj.insert(
                "version".to_string(),
                git.version
                    .clone()
                    .map_or(hcl::Value::Null, hcl::Value::from),
            );
            ctx.declare_var("git", hcl::Value::Object(obj));
        }
        let mut env = hcl::Map::new();
        env.insert("name".to_string(), hcl::Value::from(self.env_name.clone()));
        ctx.declare_var("env", hcl::Value::Object(env));
        ctx
    }

    fn root_known(&self, root: &str) -> bool {
        match root {
            "tf" => self.tf.is_some(),
            "image_tag" => self.image_tag.is_some(),
            "git" => self.git.is_some(),
            _ => true,
        }
    }
}

fn json_to_hcl(v: &serde_json::Value) -> hcl::Value {
    match v {
        serde_json::Value::Null => hcl::Value::Null,
        serde_json::Value::Bool(b) => hcl::Value::Bool(*b),
        serde_json::Value::Number(n) => n
            .as_i64()
            .map(hcl::Value::from)
            .or_else(|| n.as_u64().map(hcl::Value::from))
            .or_else(|| n.as_f64().map(hcl::Value::from))
            .unwrap_or(hcl::Value::Null),
        serde_json::Value::String(s) => hcl::Value::String(s.clone()),
        serde_json::Value::Array(a) => hcl::Value::Array(a.iter().map(json_to_hcl).collect()),
        serde_json::Value::Object(o) => {
            hcl::Value::Object(o.iter().map(|(k, v)| (k.clone(), json_to_hcl(v))).collect())
        }
    }
}

/// A literal string attribute `key` of the top-level `block` (no label) in `text`, read without
/// evaluating anything: settings that evaluation itself depends on (`deploy.tag_prefix`, which
/// `git.version` is computed with).
pub fn literal_in_block(text: &str, block: &str, key: &str) -> Option<String> {
    let body = hcl_edit::parser::parse_body(text).ok()?;
    let found = body.iter().find_map(|s| match s {
        Structure::Block(b) if b.ident.as_str() == block && b.labels.is_empty() => {
            b.body.iter().find_map(|s| match s {
                Structure::Attribute(a) if a.key.as_str() == key => match &a.value {
                    Expression::String(s) => Some(s.value().to_string()),
                    _ => None,
                },
                _ => None,
            })
        }
        _ => None,
    });
    found
}

/// The line range (1-based, inclusive) of each top-level `ident "<label>" { … }` block in
/// `text`, e.g. every `service` block; None when the text does not parse.
pub fn block_lines(text: &str, ident: &str) -> Option<Vec<(String, u32, u32)>> {
    use hcl_edit::Span;
    let body = hcl_edit::parser::parse_body(text).ok()?;
    let line_of = |offset: usize| 1 + text[..offset.min(text.len())].matches('\n').count() as u32;
    let found = body
        .iter()
        .filter_map(|s| match s {
            Structure::Block(b) if b.ident.as_str() == ident => {
                let label = b.labels.first().map(|l| match l {
                    BlockLabel::String(s) => s.value().to_string(),
                    BlockLabel::Ident(i) => i.as_str().to_string(),
                })?;
                let span = b.span()?;
                Some((
                    label,
                    line_of(span.start),
                    line_of(span.end.saturating_sub(1)),
                ))
            }
            _ => None,
        })
        .collect();
    Some(found)
}

/// Parses and lowers one file. Syntax errors are reported and yield `None`.
pub fn parse_file(text: &str, file: FileId, scope: &Scope, sink: &Sink) -> Option<Body> {
    match hcl_edit::parser::parse_body(text) {
        Ok(body) => {
            let lower = Lower {
                file,
                scope,
                sink,
                ctx: scope.context(),
            };
            Some(lower.body(&body))
        }
        Err(err) => {
            let offset = syntax_error_offset(text, err.location().line(), err.location().column());
            let end = next_char_boundary(text, offset);
            let message = err.message();
            let d = if message.contains("redefined attribute") {
                Diagnostic::error(
                    "duplicate-attribute",
                    "attribute set more than once in the same block",
                )
                .at(&Loc::new(file, offset..end))
                .label("set again here")
                .help("remove one of the two assignments")
            } else {
                Diagnostic::error("syntax", format!("syntax error: {message}"))
                    .at(&Loc::new(file, offset..end))
                    .label("here")
                    .help("check the line above too: a missing `=`, closing brace, bracket or quote is reported where the parser gives up")
            };
            sink.push(d);
            None
        }
    }
}

fn syntax_error_offset(text: &str, line: usize, column: usize) -> usize {
    let line_start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    let line_text = text[line_start.min(text.len())..]
        .split('\n')
        .next()
        .unwrap_or("");
    let col_bytes: usize = line_text
        .chars()
        .take(column.saturating_sub(1))
        .map(char::len_utf8)
        .sum();
    (line_start + col_bytes).min(text.len())
}

fn next_char_boundary(text: &str, offset: usize) -> usize {
    text[offset..]
        .chars()
        .next()
        .map_or(offset, |c| offset + c.len_utf8())
}

struct Lower<'a> {
    file: FileId,
    scope: &'a Scope,
    sink: &'a Sink,
    ctx: Context<'static>,
}

impl Lower<'_> {
    fn loc(&self, span: Option<std::ops::Range<usize>>) -> Loc {
        Loc::new(self.file, span.unwrap_or(0..0))
    }

    fn body(&self, body: &hcl_edit::structure::Body) -> Body {
        let mut attrs: Vec<Attr> = Vec::new();
        let mut blocks = Vec::new();
        for structure in body.iter() {
            match structure {
                Structure::Attribute(attr) => {
                    let key = attr.key.as_str().to_string();
                    let key_loc = self.loc(attr.key.span());
                    if let Some(first) = attrs.iter().find(|a| a.key == key) {
                        self.sink.push(
                            Diagnostic::error(
                                "duplicate-attribute",
                                format!("attribute `{key}` is set more than once"),
                            )
                            .at(&key_loc)
                            .label("set again here")
                            .related(&first.key_loc, "first set here")
                            .help("remove one of them"),
                        );
                        continue;
                    }
                    let node = self.expr(&attr.value);
                    attrs.push(Attr { key, key_loc, node });
                }
                Structure::Block(block) => {
                    let labels = block
                        .labels
                        .iter()
                        .map(|l| (l.as_str().to_string(), self.loc(label_span(l))))
                        .collect();
                    blocks.push(Block {
                        ident: block.ident.as_str().to_string(),
                        ident_loc: self.loc(block.ident.span()),
                        labels,
                        body: self.body(&block.body),
                        loc: self.loc(block.span()),
                    });
                }
            }
        }
        Body { attrs, blocks }
    }

    /// Lowers an expression. Literal lists and objects are lowered element by element so every
    /// element keeps its own location; anything else is evaluated as a whole.
    fn expr(&self, expr: &Expression) -> Node {
        let loc = self.loc(expr.span());
        match expr {
            Expression::Array(array) => Node {
                val: Val::Array(array.iter().map(|e| self.expr(e)).collect()),
                loc,
            },
            Expression::Object(object) => {
                let mut entries: Vec<Entry> = Vec::new();
                for (key, value) in object.iter() {
                    let (key, key_loc) = match key {
                        ObjectKey::Ident(ident) => {
                            (ident.as_str().to_string(), self.loc(ident.span()))
                        }
                        ObjectKey::Expression(e) => {
                            let key_loc = self.loc(e.span());
                            match self.expr(e).val {
                                Val::String(s) => (s, key_loc),
                                Val::Unknown(_) => continue,
                                other => {
                                    self.sink.push(
                                        Diagnostic::error(
                                            "wrong-type",
                                            format!(
                                                "object keys must be strings, found {}",
                                                other.type_name()
                                            ),
                                        )
                                        .at(&key_loc),
                                    );
                                    continue;
                                }
                            }
                        }
                    };
                    if let Some(first) = entries.iter().find(|e| e.key == key) {
                        self.sink.push(
                            Diagnostic::error(
                                "duplicate-key",
                                format!("key `{key}` appears more than once"),
                            )
                            .at(&key_loc)
                            .related(&first.key_loc, "first here"),
                        );
                        continue;
                    }
                    let node = self.expr(value.expr());
                    entries.push(Entry { key, key_loc, node });
                }
                Node {
                    val: Val::Object(entries),
                    loc,
                }
            }
            _ => self.evaluate(expr, loc),
        }
    }

    fn evaluate(&self, expr: &Expression, loc: Loc) -> Node {
        let mut refs = Refs::default();
        refs.visit_expr(expr);
        let mut unknown = None;
        let mut failed = false;
        for r in &refs.found {
            let rloc = self.loc(r.span.clone());
            if !ROOTS.contains(&r.root.as_str()) {
                let mut d =
                    Diagnostic::error("unknown-variable", format!("unknown variable `{}`", r.root))
                        .at(&rloc)
                        .label("not defined");
                d = d.help(match did_you_mean(&r.root, ROOTS.iter().copied()) {
                    Some(s) => format!("did you mean `{s}`? Variables: tf, image_tag, git, env"),
                    None => "expressions may use tf.<output>, image_tag, git.sha, git.short_sha, git.branch, git.version and env.name; quote plain strings".to_string(),
                });
                self.sink.push(d);
                failed = true;
                continue;
            }
            if !self.scope.root_known(&r.root) {
                if self.scope.allow_unknown {
                    unknown.get_or_insert_with(|| r.text.clone());
                } else {
                    let hint = match r.root.as_str() {
                        "tf" => HINT_TF,
                        "image_tag" => HINT_IMAGE_TAG,
                        _ => HINT_GIT,
                    };
                    self.sink.push(
                        Diagnostic::error(
                            "unresolved-reference",
                            format!("`{}` cannot be resolved: its value is not known", r.text),
                        )
                        .at(&rloc)
                        .help(hint),
                    );
                    failed = true;
                }
                continue;
            }
            if r.root == "tf" {
                let outputs = self.scope.tf.as_ref().expect("root_known checked tf");
                match &r.attr {
                    Some(name) if !outputs.contains_key(name) => {
                        let existing: Vec<&str> = outputs.keys().map(String::as_str).collect();
                        let mut help = format!(
                            "outputs that exist: {}",
                            if existing.is_empty() {
                                "(none)".to_string()
                            } else {
                                existing.join(", ")
                            }
                        );
                        if let Some(s) = did_you_mean(name, existing.iter().copied()) {
                            help = format!("did you mean `tf.{s}`? {help}");
                        }
                        self.sink.push(
                            Diagnostic::error(
                                "missing-output",
                                format!("Terraform output `{name}` does not exist"),
                            )
                            .at(&rloc)
                            .label("no such output")
                            .help(help),
                        );
                        failed = true;
                    }
                    Some(name) if self.scope.tf_sensitive.contains(name) => {
                        self.sink.push(
                            Diagnostic::error(
                                "sensitive-output",
                                format!("Terraform output `{name}` is sensitive and cannot be used as a plain value"),
                            )
                            .at(&rloc)
                            .label("sensitive")
                            .help("store it in Secrets Manager or SSM and reference it under `secrets`, so ECS injects it at task start"),
                        );
                        failed = true;
                    }
                    None => {
                        self.sink.push(
                            Diagnostic::error(
                                "bad-reference",
                                "`tf` must be followed by an output name, as in `tf.cluster_arn`",
                            )
                            .at(&rloc),
                        );
                        failed = true;
                    }
                    _ => {}
                }
            }
        }
        if failed {
            return Node {
                val: Val::Unknown(String::from("<error>")),
                loc,
            };
        }
        if let Some(text) = unknown {
            return Node {
                val: Val::Unknown(text),
                loc,
            };
        }
        let hexpr: hcl::Expression = expr.clone().into();
        match hexpr.evaluate(&self.ctx) {
            Ok(value) => hcl_to_node(value, &loc),
            Err(error) => {
                self.sink.push(
                    Diagnostic::error("evaluation", format!("cannot evaluate: {}", error.kind()))
                        .at(&loc),
                );
                Node {
                    val: Val::Unknown(String::from("<error>")),
                    loc,
                }
            }
        }
    }
}

fn label_span(label: &BlockLabel) -> Option<std::ops::Range<usize>> {
    match label {
        BlockLabel::Ident(i) => i.span(),
        BlockLabel::String(s) => s.span(),
    }
}

fn hcl_to_node(value: hcl::Value, loc: &Loc) -> Node {
    let val = match value {
        hcl::Value::Null => Val::Null,
        hcl::Value::Bool(b) => Val::Bool(b),
        hcl::Value::Number(n) => Val::Number(n),
        hcl::Value::String(s) => Val::String(s),
        hcl::Value::Array(a) => Val::Array(a.into_iter().map(|v| hcl_to_node(v, loc)).collect()),
        hcl::Value::Object(o) => Val::Object(
            o.into_iter()
                .map(|(key, v)| Entry {
                    key,
                    key_loc: loc.clone(),
                    node: hcl_to_node(v, loc),
                })
                .collect(),
        ),
    };
    Node {
        val,
        loc: loc.clone(),
    }
}

/// One variable reference found in an expression.
#[derive(Debug)]
struct Ref {
    root: String,
    /// First attribute after the root (`tf.<attr>`).
    attr: Option<String>,
    /// The reference as written, e.g. `tf.execution_role_arn`.
    text: String,
    span: Option<std::ops::Range<usize>>,
}

/// Finds the free variables of an expression (for-expression variables are bound, not free).
#[derive(Default)]
struct Refs {
    found: Vec<Ref>,
    bound: Vec<BTreeSet<String>>,
}

impl Refs {
    fn is_bound(&self, name: &str) -> bool {
        self.bound.iter().any(|s| s.contains(name))
    }
}

impl Visit for Refs {
    fn visit_traversal(&mut self, node: &hcl_edit::expr::Traversal) {
        if let Expression::Variable(var) = &node.expr {
            let root = var.as_str().to_string();
            if !self.is_bound(&root) {
                let attr = node.operators.first().and_then(|op| match op.value() {
                    TraversalOperator::GetAttr(ident) => Some(ident.as_str().to_string()),
                    _ => None,
                });
                let text = match &attr {
                    Some(a) => format!("{root}.{a}"),
                    None => root.clone(),
                };
                self.found.push(Ref {
                    root,
                    attr,
                    text,
                    span: node.span(),
                });
            }
            for op in &node.operators {
                if let TraversalOperator::Index(e) = op.value() {
                    self.visit_expr(e);
                }
            }
            return;
        }
        visit::visit_traversal(self, node);
    }

    fn visit_expr(&mut self, node: &Expression) {
        match node {
            Expression::Variable(var) => {
                let root = var.as_str().to_string();
                if !self.is_bound(&root) {
                    self.found.push(Ref {
                        text: root.clone(),
                        root,
                        attr: None,
                        span: var.span(),
                    });
                }
            }
            _ => visit::visit_expr(self, node),
        }
    }

    fn visit_for_expr(&mut self, node: &hcl_edit::expr::ForExpr) {
        // The collection is evaluated outside the loop's scope.
        self.visit_expr(&node.intro.collection_expr);
        let mut names = BTreeSet::new();
        names.insert(node.intro.value_var.as_str().to_string());
        if let Some(k) = &node.intro.key_var {
            names.insert(k.as_str().to_string());
        }
        self.bound.push(names);
        if let Some(k) = &node.key_expr {
            self.visit_expr(k);
        }
        self.visit_expr(&node.value_expr);
        if let Some(c) = &node.cond {
            self.visit_expr(&c.expr);
        }
        self.bound.pop();
    }
}

/// Overlays `over` (an environment file) on `base` (the shared file).
///
/// Attributes in `over` replace those in `base`, except that two object values merge key by key
/// (so an environment can change one variable and keep the shared ones). Blocks with the same
/// type and labels merge recursively; others are appended.
pub fn merge(mut base: Body, over: Body) -> Body {
    for attr in over.attrs {
        match base.attrs.iter_mut().find(|a| a.key == attr.key) {
            Some(existing) => merge_attr(existing, attr),
            None => base.attrs.push(attr),
        }
    }
    let base_len = base.blocks.len();
    let mut merged = vec![false; base_len];
    for block in over.blocks {
        let same = base.blocks[..base_len]
            .iter()
            .position(|b| b.ident == block.ident && same_labels(&b.labels, &block.labels))
            // A second block of the same name in one file is a duplicate, not another overlay:
            // keep it separate so the decoder reports it.
            .filter(|&i| !merged[i]);
        match same {
            Some(i) => {
                merged[i] = true;
                let existing = std::mem::replace(
                    &mut base.blocks[i].body,
                    Body {
                        attrs: Vec::new(),
                        blocks: Vec::new(),
                    },
                );
                base.blocks[i].body = merge(existing, block.body);
                // Point at the environment's block: that is where the user looks first.
                base.blocks[i].loc = block.loc;
                base.blocks[i].ident_loc = block.ident_loc;
                base.blocks[i].labels = block.labels;
            }
            None => base.blocks.push(block),
        }
    }
    base
}

fn same_labels(a: &[(String, Loc)], b: &[(String, Loc)]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.0 == y.0)
}

fn merge_attr(existing: &mut Attr, over: Attr) {
    match (&mut existing.node.val, over.node.val) {
        (Val::Object(base_entries), Val::Object(over_entries)) => {
            for e in over_entries {
                match base_entries.iter_mut().find(|b| b.key == e.key) {
                    Some(b) => *b = e,
                    None => base_entries.push(e),
                }
            }
            existing.key_loc = over.key_loc;
            existing.node.loc = over.node.loc;
        }
        (_, val) => {
            *existing = Attr {
                key: over.key,
                key_loc: over.key_loc,
                node: Node {
                    val,
                    loc: over.node.loc,
                },
            };
        }
    }
}

/// Labelled blocks of `over` that overlay nothing in `base` although a block of the same type has
/// a similar name: (the block, the name it probably meant).
pub fn near_misses<'a>(base: &'a Body, over: &'a Body) -> Vec<(&'a Block, &'a str)> {
    let mut out = Vec::new();
    for b in &over.blocks {
        let Some((label, _)) = b.labels.first() else {
            continue;
        };
        let same_type: Vec<&str> = base
            .blocks
            .iter()
            .filter(|x| x.ident == b.ident)
            .filter_map(|x| x.labels.first().map(|(l, _)| l.as_str()))
            .collect();
        if same_type.contains(&label.as_str()) {
            continue;
        }
        if let Some(m) = did_you_mean(label, same_type.iter().copied()) {
            out.push((b, m));
        }
    }
    out
}
