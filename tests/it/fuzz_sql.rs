//! Property test over the migration linter: whatever text a migration file holds, linting it
//! with every rule squawk has returns findings that point inside the text, and never panics.
//!
//! `linter_never_panics` runs a bounded number of cases in every `make test`;
//! `linter_never_panics_for_a_while` (ignored by default) runs until SLIPWAY_FUZZ_SECS elapse
//! and is what `make fuzz` runs.

use slipway::migrations::{lint, RuleConfig};

use crate::support::fixtures;

fn seeds() -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(fixtures().join("migrations"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    out.sort();
    out
}

const TOKENS: &[&str] = &[
    ";",
    "(",
    ")",
    ",",
    "'",
    "\"",
    "$$",
    "$fn$",
    "--",
    "/*",
    "*/",
    "\n",
    " ",
    "\\",
    "E'",
    "U&'",
    "BEGIN;",
    "COMMIT;",
    "ROLLBACK;",
    "DO $$ BEGIN",
    "END $$;",
    "ALTER TABLE t",
    "DROP COLUMN c",
    "DROP TABLE t",
    "TRUNCATE t",
    "CASCADE",
    "RENAME TO x",
    "RENAME COLUMN a TO b",
    "ALTER COLUMN c TYPE bigint",
    "SET NOT NULL",
    "DROP CONSTRAINT k",
    "ADD CONSTRAINT k",
    "CHECK (a > 0)",
    "NOT VALID",
    "FOREIGN KEY (a) REFERENCES b (id)",
    "CREATE INDEX",
    "CONCURRENTLY",
    "IF NOT EXISTS",
    "IF EXISTS",
    "ON t (c)",
    "ADD COLUMN c int",
    "NOT NULL",
    "DEFAULT now()",
    "SET lock_timeout = '1s';",
    "squawk-ignore",
    "squawk-ignore-file",
    "ban-drop-column",
    "ban-truncate",
    "CREATE FUNCTION f() RETURNS int AS",
    "LANGUAGE sql",
    "SELECT",
    "INSERT INTO t VALUES",
    "é",
    "👍",
    "\u{0}",
    "\u{feff}",
    "::",
    "[1:2]",
    "$1",
    "COPY t FROM stdin;",
    "\\.",
    "WITH RECURSIVE",
    "PARTITION OF",
    "DETACH PARTITION",
    "CREATE TYPE e AS ENUM ('a')",
    "ALTER TYPE e ADD VALUE 'b'",
    "REINDEX",
    "VACUUM",
];

fn check(text: &str, config: &RuleConfig) {
    let lines = text.split('\n').count() as u32;
    for f in lint("fuzz.sql", text, config) {
        assert!(
            f.line >= 1 && f.line <= lines && f.end_line >= f.line && f.end_line <= lines,
            "{f:?} outside {lines} lines"
        );
        assert!(f.column >= 1, "{f:?}");
        assert!(f.statement.chars().count() <= 200, "{f:?}");
    }
}

/// Runs on a thread with the stack slipway's lint workers get (the parser is recursive).
fn run(cases: u32, deadline: Option<std::time::Instant>) -> u64 {
    std::thread::Builder::new()
        .stack_size(slipway::migrations::WORKER_STACK)
        .spawn(move || run_here(cases, deadline))
        .unwrap()
        .join()
        .unwrap()
}

fn run_here(cases: u32, deadline: Option<std::time::Instant>) -> u64 {
    let config = RuleConfig::every_rule();
    crate::mutate::run(&seeds(), TOKENS, 16, cases, deadline, &|text| {
        check(text, &config)
    })
}

#[test]
fn linter_never_panics() {
    assert!(run(512, None) >= 512);
    let config = RuleConfig::every_rule();
    for raw in [
        "",
        ";",
        "'",
        "$$",
        "$a$",
        "--",
        "/*",
        "BEGIN",
        "DO",
        "DO $$",
        "ALTER TABLE",
        "\u{0}",
        "-- squawk-ignore\n",
        "-- squawk-ignore-file",
        "E'\\",
        "\"",
        "((((((((((",
    ] {
        check(raw, &config);
    }
}

#[test]
#[ignore = "long-running: `make fuzz` runs it for SLIPWAY_FUZZ_SECS seconds"]
fn linter_never_panics_for_a_while() {
    crate::mutate::for_a_while("mutated migration files linted with every rule", run);
}

/// Input that nests deeper than the parser's stack allows is a finding, never a crash: what the
/// long property run found first (a stack overflow on thousands of nested parentheses).
#[test]
fn deep_nesting_is_a_finding_not_a_stack_overflow() {
    let cases = [
        format!("SELECT {}1{};", "(".repeat(100_000), ")".repeat(100_000)),
        format!("SELECT {}", "(".repeat(100_000)),
        format!("SELECT {}1;", "- ".repeat(100_000)),
        format!("SELECT {}true;", "NOT ".repeat(100_000)),
        format!("SELECT j{};", "->'a'".repeat(100_000)),
        format!(
            "SELECT {} 1 {};",
            "CASE WHEN true THEN ".repeat(50_000),
            " END".repeat(50_000)
        ),
        format!(
            "SELECT {}1{};",
            "ARRAY[".repeat(100_000),
            "]".repeat(100_000)
        ),
        // Just inside the limits: parsed (on the workers' stack), and linted.
        format!(
            "SELECT {}1{}; SELECT j{}; DROP TABLE t;",
            "(".repeat(999),
            ")".repeat(999),
            "->'a'".repeat(999)
        ),
    ];
    let handle = std::thread::Builder::new()
        .stack_size(slipway::migrations::WORKER_STACK)
        .spawn(move || {
            cases
                .iter()
                .map(|sql| {
                    lint("deep.sql", sql, &RuleConfig::default())
                        .into_iter()
                        .map(|f| f.rule)
                        .collect::<Vec<_>>()
                })
                .collect::<Vec<_>>()
        })
        .unwrap();
    let rules = handle.join().unwrap();
    for r in &rules[..7] {
        assert_eq!(r, &vec!["syntax-error".to_string()]);
    }
    assert!(
        rules[7].contains(&"ban-drop-table".to_string()),
        "{:?}",
        rules[7]
    );
}
