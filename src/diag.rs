//! Diagnostics: what is wrong, where, and how to fix it.
//!
//! Every problem slipway finds in user input becomes a [`Diagnostic`] that points at a byte range
//! of a source file registered in the [`SourceMap`]. Loading and validation collect all of them
//! instead of stopping at the first, so one `slipway validate` run shows everything. This module
//! owns the two renderings: miette's graphical report (caret under the token) for people, and a
//! flat JSON record (file, line, column) for machines. It does not decide what is an error: the
//! loaders and validators do.

use std::cell::RefCell;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceSpan};
use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// Index of a file in the [`SourceMap`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(pub u32);

/// A byte range in one source file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Loc {
    pub file: FileId,
    pub span: Range<usize>,
}

impl Loc {
    pub fn new(file: FileId, span: Range<usize>) -> Loc {
        Loc { file, span }
    }
}

#[derive(Clone, Debug)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Stable, documented identifier such as `unknown-attribute`.
    pub code: &'static str,
    pub message: String,
    pub loc: Option<Loc>,
    /// Short text printed under the caret.
    pub label: Option<String>,
    pub help: Option<String>,
    /// Secondary locations, e.g. where a duplicate was first defined.
    pub related: Vec<(Loc, String)>,
    /// The source line may hold a secret: show the location, never the snippet.
    pub redact: bool,
}

impl Diagnostic {
    pub fn error(code: &'static str, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            loc: None,
            label: None,
            help: None,
            related: Vec::new(),
            redact: false,
        }
    }

    pub fn warning(code: &'static str, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, message)
        }
    }

    pub fn at(mut self, loc: &Loc) -> Diagnostic {
        self.loc = Some(loc.clone());
        self
    }

    pub fn label(mut self, label: impl Into<String>) -> Diagnostic {
        self.label = Some(label.into());
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    pub fn redacted(mut self) -> Diagnostic {
        self.redact = true;
        self
    }

    pub fn related(mut self, loc: &Loc, label: impl Into<String>) -> Diagnostic {
        self.related.push((loc.clone(), label.into()));
        self
    }
}

/// Collects diagnostics from code that holds several shared borrows of the same sink.
#[derive(Default, Debug)]
pub struct Sink(RefCell<Vec<Diagnostic>>);

impl Sink {
    pub fn push(&self, d: Diagnostic) {
        self.0.borrow_mut().push(d);
    }

    pub fn into_vec(self) -> Vec<Diagnostic> {
        self.0.into_inner()
    }
}

#[derive(Debug)]
struct SourceFile {
    path: PathBuf,
    /// The text, named by its path, as miette wants it for snippets.
    named: NamedSource<String>,
    /// Byte offset at which each line starts.
    line_starts: Vec<usize>,
}

/// The files diagnostics point into.
#[derive(Debug, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

/// A resolved, human-numbered position (1-based line and column, column counted in characters).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

impl SourceMap {
    pub fn add(&mut self, path: impl Into<PathBuf>, text: String) -> FileId {
        let path = path.into();
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        let named = NamedSource::new(path.display().to_string(), text);
        self.files.push(SourceFile {
            path,
            named,
            line_starts,
        });
        FileId(u32::try_from(self.files.len() - 1).expect("fewer than 2^32 files"))
    }

    /// Every file, in the order added: (path, text).
    pub fn files(&self) -> impl Iterator<Item = (&Path, &str)> {
        self.files
            .iter()
            .map(|f| (f.path.as_path(), f.named.inner().as_str()))
    }

    pub fn path(&self, file: FileId) -> &Path {
        &self.files[file.0 as usize].path
    }

    pub fn text(&self, file: FileId) -> &str {
        self.files[file.0 as usize].named.inner()
    }

    pub fn position(&self, file: FileId, offset: usize) -> Position {
        let f = &self.files[file.0 as usize];
        let text = f.named.inner();
        let offset = offset.min(text.len());
        let line = f.line_starts.partition_point(|&s| s <= offset) - 1;
        let start = f.line_starts[line];
        let column = text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count())
            + 1;
        Position {
            line: line + 1,
            column,
        }
    }

    /// `file:line:col` of a location, as editors and CI annotations expect it.
    pub fn describe(&self, loc: &Loc) -> String {
        let p = self.position(loc.file, loc.span.start);
        format!("{}:{}:{}", self.path(loc.file).display(), p.line, p.column)
    }
}

/// Machine-readable form of a diagnostic (`--format json`).
#[derive(Serialize, Debug)]
pub struct JsonDiagnostic {
    pub severity: Severity,
    pub code: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<Position>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end: Option<Position>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

impl SourceMap {
    pub fn to_json(&self, d: &Diagnostic) -> JsonDiagnostic {
        JsonDiagnostic {
            severity: d.severity,
            code: d.code,
            message: d.message.clone(),
            file: d
                .loc
                .as_ref()
                .map(|l| self.path(l.file).display().to_string()),
            start: d.loc.as_ref().map(|l| self.position(l.file, l.span.start)),
            end: d.loc.as_ref().map(|l| self.position(l.file, l.span.end)),
            label: d.label.clone(),
            help: d.help.clone(),
        }
    }

    /// One line per diagnostic: `file:line:col: error[code]: message`.
    pub fn short(&self, d: &Diagnostic) -> String {
        let sev = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        match &d.loc {
            Some(loc) => format!("{}: {sev}[{}]: {}", self.describe(loc), d.code, d.message),
            None => format!("{sev}[{}]: {}", d.code, d.message),
        }
    }

    /// The graphical report with a caret under the token.
    pub fn render(&self, d: &Diagnostic, color: bool, width: usize) -> String {
        let theme = if color {
            GraphicalTheme::unicode()
        } else {
            GraphicalTheme::unicode_nocolor()
        };
        let handler = GraphicalReportHandler::new_themed(theme)
            .with_width(width)
            .with_links(false);
        let located;
        let d = match (&d.loc, d.redact) {
            (Some(loc), true) => {
                located = Diagnostic {
                    message: format!("{} ({})", d.message, self.describe(loc)),
                    loc: None,
                    related: Vec::new(),
                    ..d.clone()
                };
                &located
            }
            _ => d,
        };
        let report = Report { d, map: self };
        let mut out = String::new();
        if handler.render_report(&mut out, &report).is_err() {
            out = self.short(d);
        }
        out
    }
}

/// Adapter between a [`Diagnostic`] and miette's reporting traits.
struct Report<'a> {
    d: &'a Diagnostic,
    map: &'a SourceMap,
}

impl fmt::Debug for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.d.message)
    }
}

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.d.message)
    }
}

impl std::error::Error for Report<'_> {}

impl miette::Diagnostic for Report<'_> {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.d.code))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.d.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.d
            .help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        let loc = self.d.loc.as_ref()?;
        Some(&self.map.files[loc.file.0 as usize].named)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let loc = self.d.loc.as_ref()?;
        let primary = LabeledSpan::new_primary_with_span(
            self.d.label.clone(),
            SourceSpan::from(loc.span.start..loc.span.end.max(loc.span.start)),
        );
        let related = self
            .d
            .related
            .iter()
            .filter(|(l, _)| l.file == loc.file)
            .map(|(l, label)| LabeledSpan::new_with_span(Some(label.clone()), l.span.clone()));
        Some(Box::new(std::iter::once(primary).chain(related)))
    }
}
