//! Where and how results are printed: text for people (colour only on a terminal, never with
//! NO_COLOR or --no-color), one JSON document for machines.

use std::io::{IsTerminal, Write};

use serde::Serialize;

use crate::cli::Format;
use crate::diag::{Diagnostic, Severity, SourceMap};

pub struct Printer {
    pub format: Format,
    pub color: bool,
    pub verbose: u8,
    pub width: usize,
}

impl Printer {
    /// `color`: stderr may be coloured (resolved in [`crate::settings::Settings`]).
    pub fn new(format: Format, color: bool, verbose: u8) -> Printer {
        Printer {
            format,
            color,
            verbose,
            width: 100,
        }
    }

    pub fn stderr_is_terminal(&self) -> bool {
        std::io::stderr().is_terminal()
    }

    /// Whether stdout may be coloured (a terminal, and colour not turned off).
    pub fn color_stdout(&self) -> bool {
        self.color && std::io::stdout().is_terminal()
    }

    pub fn json<T: Serialize>(&self, value: &T) {
        // Through serde_json::Value so that every object's keys come out sorted.
        let v = serde_json::to_value(value).expect("serialisable");
        let mut out = std::io::stdout().lock();
        let _ = serde_json::to_writer_pretty(&mut out, &v);
        let _ = writeln!(out);
    }

    pub fn line(&self, s: impl AsRef<str>) {
        let _ = writeln!(std::io::stdout().lock(), "{}", s.as_ref());
    }

    pub fn note(&self, s: impl AsRef<str>) {
        let _ = writeln!(std::io::stderr().lock(), "{}", s.as_ref());
    }

    /// One line saying what went wrong; with `-v`, the detail behind it (`{:#}`: an AWS error's
    /// full SDK chain).
    pub fn error(&self, s: impl std::fmt::Display) {
        let text = if self.verbose > 0 {
            format!("{s:#}")
        } else {
            s.to_string()
        };
        let _ = writeln!(std::io::stderr().lock(), "error: {text}");
    }

    /// Prints diagnostics to stderr, errors first, each with its snippet and caret.
    pub fn diagnostics(&self, map: &SourceMap, diags: &[Diagnostic], strict: bool) {
        let mut sorted: Vec<&Diagnostic> = diags.iter().collect();
        sorted.sort_by_key(|d| (d.loc.as_ref().map(|l| (l.file, l.span.start)), d.severity));
        let mut err = std::io::stderr().lock();
        for d in sorted {
            let mut d = d.clone();
            if strict && d.severity == Severity::Warning {
                d.severity = Severity::Error;
            }
            let _ = write!(err, "{}", map.render(&d, self.color, self.width));
        }
    }
}

/// An error with what it concerns in front (`staging: …`), keeping `{:#}` (the detail `-v`
/// asks for) for the error itself.
pub struct In<'a, E>(pub &'a str, pub &'a E);

impl<E: std::fmt::Display> std::fmt::Display for In<'_, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if f.alternate() {
            write!(f, "{}: {:#}", self.0, self.1)
        } else {
            write!(f, "{}: {}", self.0, self.1)
        }
    }
}
