//! Where `lint-migrations` spends its time, phase by phase, on one thread:
//! `cargo run --release --example lint_phases -- DIR` (every `*.sql` file directly in DIR).
//!
//! The phases are squawk's (parse, `Parse::errors()`, `Linter::lint` with no rules and with
//! slipway's default rules) and slipway's whole `migrations::lint`, which does all of them.
//! docs/testing.md ("Benchmarks") quotes its figures.

use std::time::{Duration, Instant};

use slipway::migrations::{self, RuleConfig};
use squawk_linter::{Linter, Rule};
use squawk_syntax::SourceFile;

fn timed<T>(label: &str, f: impl FnOnce() -> T) -> T {
    let t = Instant::now();
    let out = f();
    println!("{label:52} {:>8.1} ms", ms(t.elapsed()));
    out
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let dir = std::env::args()
        .nth(1)
        .expect("usage: lint_phases DIR (a directory of .sql files)");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {dir}: {e}"))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .collect();
    paths.sort();
    let texts: Vec<String> = paths
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .collect();
    let bytes: usize = texts.iter().map(String::len).sum();
    println!(
        "{} files, {:.1} MB, one thread\n",
        texts.len(),
        bytes as f64 / 1e6
    );
    // The rules slipway runs by default (its own two are not squawk's).
    let rules: Vec<Rule> = migrations::DEFAULT_SEVERITIES
        .iter()
        .filter_map(|(name, _)| Rule::try_from(*name).ok())
        .collect();

    let parses = timed("squawk: SourceFile::parse", || {
        texts
            .iter()
            .map(|t| SourceFile::parse(t))
            .collect::<Vec<_>>()
    });
    timed("squawk: Parse::errors (validation)", || {
        parses.iter().map(|p| p.errors().len()).sum::<usize>()
    });
    timed("squawk: Linter::lint, no rules (its comment walks)", || {
        parses
            .iter()
            .zip(&texts)
            .map(|(p, t)| Linter::from(Vec::<Rule>::new()).lint(p, t).len())
            .sum::<usize>()
    });
    let found = timed("squawk: Linter::lint, slipway's default rules", || {
        parses
            .iter()
            .zip(&texts)
            .map(|(p, t)| Linter::from(rules.clone()).lint(p, t).len())
            .sum::<usize>()
    });
    timed("dropping the trees", || drop(parses));
    let config = RuleConfig::default();
    let findings = timed("slipway: migrations::lint (all of the above)", || {
        texts
            .iter()
            .map(|t| migrations::lint("f.sql", t, &config).len())
            .sum::<usize>()
    });
    println!("\n{found} squawk violations; {findings} slipway findings");
}
