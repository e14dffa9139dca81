//! Where `lint-migrations` spends its time, phase by phase, on one thread:
//! `cargo run --release --example lint_phases -- DIR` (every `*.sql` file directly in DIR).
//!
//! The phases are squawk's (parse, `Parse::errors()`, `Linter::lint` with no rules and with
//! slipway's default rules, dropping the trees) and slipway's whole `migrations::lint`, which
//! does all of them; what the whole takes beyond them is slipway's own part.
//! docs/testing.md ("Benchmarks") quotes its figures.

use std::time::{Duration, Instant};

use slipway::migrations::{self, RuleConfig};
use squawk_linter::{Linter, Rule};
use squawk_syntax::SourceFile;

fn timed<T>(label: &str, f: impl FnOnce() -> T) -> (T, Duration) {
    let t = Instant::now();
    let out = f();
    let took = t.elapsed();
    println!("{label:52} {:>8.1} ms", ms(took));
    (out, took)
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
    let config = RuleConfig::default();
    let rules = config.squawk_rules();

    let (parses, parse) = timed("squawk: SourceFile::parse", || {
        texts
            .iter()
            .map(|t| SourceFile::parse(t))
            .collect::<Vec<_>>()
    });
    let (_, errors) = timed("squawk: Parse::errors (validation)", || {
        parses.iter().map(|p| p.errors().len()).sum::<usize>()
    });
    timed("squawk: Linter::lint, no rules (its comment walks)", || {
        parses
            .iter()
            .zip(&texts)
            .map(|(p, t)| Linter::from(Vec::<Rule>::new()).lint(p, t).len())
            .sum::<usize>()
    });
    let (found, lint) = timed("squawk: Linter::lint, slipway's default rules", || {
        parses
            .iter()
            .zip(&texts)
            .map(|(p, t)| Linter::from(rules.clone()).lint(p, t).len())
            .sum::<usize>()
    });
    let (_, drop_trees) = timed("squawk: dropping the trees", || drop(parses));
    let (findings, whole) = timed("slipway: migrations::lint (all of the above)", || {
        texts
            .iter()
            .map(|t| migrations::lint("f.sql", t, &config).len())
            .sum::<usize>()
    });
    let squawk = parse + errors + lint + drop_trees;
    println!(
        "{:52} {:>8.1} ms",
        "slipway's own part (the whole less squawk's)",
        ms(whole.saturating_sub(squawk))
    );
    println!("\n{found} squawk violations; {findings} slipway findings");
}
