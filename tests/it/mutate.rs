//! What the property tests share: text mutated by token edits (insertions, deletions,
//! replacements, and a piece repeated), and batches of cases run until a deadline.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

#[derive(Debug, Clone)]
pub enum Edit {
    Insert(usize, usize),
    Delete(usize, usize),
    Replace(usize, usize, usize),
    /// A piece of the text repeated (up to 50 times): deep nesting, long chains.
    Repeat(usize, usize, usize),
}

/// A seed index and up to `max_edits` edits drawing from `tokens` tokens.
pub fn edits(tokens: usize, max_edits: usize) -> impl Strategy<Value = (usize, Vec<Edit>)> {
    let edit = prop_oneof![
        (any::<usize>(), 0..tokens).prop_map(|(at, t)| Edit::Insert(at, t)),
        (any::<usize>(), 1usize..40).prop_map(|(at, n)| Edit::Delete(at, n)),
        (any::<usize>(), 1usize..10, 0..tokens).prop_map(|(at, n, t)| Edit::Replace(at, n, t)),
        (any::<usize>(), 1usize..60, 2usize..50).prop_map(|(at, n, k)| Edit::Repeat(at, n, k)),
    ];
    (any::<usize>(), prop::collection::vec(edit, 1..max_edits))
}

/// `base` with `edits` applied, character by character.
pub fn apply(base: &str, edits: &[Edit], tokens: &[&str]) -> String {
    let mut s: Vec<char> = base.chars().collect();
    for e in edits {
        let len = s.len().max(1);
        match *e {
            Edit::Insert(at, t) => {
                let at = (at % len).min(s.len());
                s.splice(at..at, tokens[t].chars());
            }
            Edit::Delete(at, n) => {
                let at = at % len;
                let end = (at + n).min(s.len());
                s.drain(at.min(end)..end);
            }
            Edit::Replace(at, n, t) => {
                let at = at % len;
                let end = (at + n).min(s.len());
                s.splice(at.min(end)..end, tokens[t].chars());
            }
            Edit::Repeat(at, n, k) => {
                let at = (at % len).min(s.len());
                let end = (at + n).min(s.len());
                let piece: Vec<char> = s[at..end].to_vec();
                for _ in 0..k {
                    s.splice(end..end, piece.iter().copied());
                }
            }
        }
    }
    s.into_iter().collect()
}

/// Runs batches of `cases` mutated seeds through `check` until `deadline` (one batch without
/// one); returns how many ran.
pub fn run(
    seeds: &[String],
    tokens: &[&str],
    max_edits: usize,
    cases: u32,
    deadline: Option<std::time::Instant>,
    check: &dyn Fn(&str),
) -> u64 {
    let strategy = edits(tokens.len(), max_edits);
    let executed = std::cell::Cell::new(0u64);
    loop {
        // A fresh runner per batch: a runner stops generating once it has run `cases`, and each
        // new one draws from a new random seed.
        let mut runner = TestRunner::new(Config {
            cases,
            failure_persistence: None,
            ..Config::default()
        });
        runner
            .run(&strategy, |(seed, edits)| {
                check(&apply(&seeds[seed % seeds.len()], &edits, tokens));
                executed.set(executed.get() + 1);
                Ok(())
            })
            .unwrap();
        match deadline {
            Some(d) if std::time::Instant::now() < d => continue,
            _ => return executed.get(),
        }
    }
}

/// The long run `make fuzz` makes: `run` until SLIPWAY_FUZZ_SECS (default 300) have passed,
/// then how many `what` it went through.
pub fn for_a_while(what: &str, run: impl Fn(u32, Option<std::time::Instant>) -> u64) {
    let secs: u64 = std::env::var("SLIPWAY_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    let started = std::time::Instant::now();
    let n = run(1000, Some(started + std::time::Duration::from_secs(secs)));
    println!(
        "fuzz: {n} {what} in {:.0}s, no panic",
        started.elapsed().as_secs_f64()
    );
}
