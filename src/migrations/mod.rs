//! Migration safety: what a SQL migration will do, before it runs.
//!
//! The SQL is parsed by squawk's own PostgreSQL parser (`squawk-syntax`) and checked by squawk's
//! rules (`squawk-linter`), so a statement inside a comment, a string literal or a dollar-quoted
//! body is never mistaken for one that runs, and `-- squawk-ignore rule` comments are honoured.
//! Each rule gets a slipway severity (the table in [`DEFAULT_SEVERITIES`]); the environment may
//! change a severity or turn a rule off. Two rules squawk does not have are slipway's own, also
//! decided on the syntax tree: `ban-truncate` (any TRUNCATE) and `unanalysed-do-block` (a `DO`
//! body is PL/pgSQL that no rule looks into). A file that does not parse is a `syntax-error`
//! finding at the place the parser gave up, never a crash.

pub mod pending;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use squawk_linter::{Linter, Rule};
use squawk_syntax::ast::{self, AstNode};
use squawk_syntax::{SourceFile, SyntaxKind};

/// How bad a finding is. Ordered: `Low < Medium < High < Critical`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 4] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
    ];

    pub fn parse(s: &str) -> Option<Severity> {
        match s {
            "critical" => Some(Severity::Critical),
            "high" => Some(Severity::High),
            "medium" => Some(Severity::Medium),
            "low" => Some(Severity::Low),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// slipway's own rules, decided on the same syntax tree.
pub const BAN_TRUNCATE: &str = "ban-truncate";
pub const UNANALYSED_DO_BLOCK: &str = "unanalysed-do-block";
pub const SYNTAX_ERROR: &str = "syntax-error";

/// The rules slipway runs unless the environment says otherwise, and their severities. Seed
/// 003's table first (critical: DROP TABLE, DROP COLUMN, TRUNCATE; high: ALTER COLUMN TYPE,
/// RENAME COLUMN, RENAME TABLE; medium: SET NOT NULL, DROP CONSTRAINT), then the squawk rules a
/// platform team cares about. squawk's style rules (`prefer-*`, `ban-char-field`, ...) are off
/// unless the environment gives them a severity.
pub const DEFAULT_SEVERITIES: &[(&str, Severity)] = &[
    ("ban-drop-table", Severity::Critical),
    ("ban-drop-column", Severity::Critical),
    (BAN_TRUNCATE, Severity::Critical),
    ("ban-truncate-cascade", Severity::Critical),
    ("ban-drop-database", Severity::Critical),
    ("ban-drop-schema", Severity::Critical),
    ("changing-column-type", Severity::High),
    ("renaming-column", Severity::High),
    ("renaming-table", Severity::High),
    ("adding-required-field", Severity::High),
    (
        "ban-concurrent-index-creation-in-transaction",
        Severity::High,
    ),
    (SYNTAX_ERROR, Severity::High),
    ("adding-not-nullable-field", Severity::Medium),
    ("ban-drop-constraint", Severity::Medium),
    ("ban-drop-not-null", Severity::Medium),
    ("require-concurrent-index-creation", Severity::Medium),
    ("require-concurrent-index-deletion", Severity::Medium),
    ("constraint-missing-not-valid", Severity::Medium),
    ("adding-foreign-key-constraint", Severity::Medium),
    ("adding-field-with-default", Severity::Medium),
    ("disallowed-unique-constraint", Severity::Medium),
    ("require-lock-timeout", Severity::Medium),
    (UNANALYSED_DO_BLOCK, Severity::Medium),
    ("require-statement-timeout", Severity::Low),
    ("transaction-nesting", Severity::Low),
    ("ban-uncommitted-transaction", Severity::Low),
];

/// What the expand/contract way of doing it is, for the rules where there is one.
fn advice(rule: &str) -> Option<&'static str> {
    Some(match rule {
        "ban-drop-column" => "expand/contract: deploy code that no longer reads or writes the column first; drop it in a later migration, once no running revision uses it",
        "ban-drop-table" => "expand/contract: deploy code that no longer uses the table first; drop it in a later migration",
        BAN_TRUNCATE | "ban-truncate-cascade" => "TRUNCATE deletes every row and takes an ACCESS EXCLUSIVE lock; if the data must go, delete it in batches, in a migration of its own",
        "renaming-column" => "expand/contract: add the new column, write both, backfill, deploy code that reads the new one, then drop the old one",
        "renaming-table" => "expand/contract: create the new table (or a view with the old name), move readers and writers over, then drop the old one",
        "changing-column-type" => "expand/contract: add a column of the new type, backfill it, move readers over, then drop the old column",
        "adding-required-field" => "add the column as NULL or with a non-volatile DEFAULT; running code that inserts without it would fail",
        "adding-not-nullable-field" => "add a CHECK (col IS NOT NULL) NOT VALID constraint, VALIDATE it separately, then SET NOT NULL (PostgreSQL 12+ uses the constraint and skips the scan)",
        "ban-drop-constraint" => "make sure no running revision relies on the guarantee before dropping it",
        "require-concurrent-index-creation" => "CREATE INDEX CONCURRENTLY (outside a transaction)",
        "ban-concurrent-index-creation-in-transaction" => "run CREATE INDEX CONCURRENTLY outside any transaction (a migration of its own, without BEGIN)",
        "constraint-missing-not-valid" | "adding-foreign-key-constraint" => "add the constraint NOT VALID, then VALIDATE CONSTRAINT in a separate transaction",
        UNANALYSED_DO_BLOCK => "no rule looks inside a DO body: review it by hand, or write its statements as plain SQL",
        SYNTAX_ERROR => "fix the SQL, or, if PostgreSQL accepts it, lower this rule's severity in the environment's migration block",
        _ => return None,
    })
}

/// An environment's choices: rule → severity, or `None` for off. Rules not named keep their
/// default (or stay off, for squawk's style rules).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RuleConfig {
    pub overrides: BTreeMap<String, Option<Severity>>,
}

impl RuleConfig {
    pub fn severity(&self, rule: &str) -> Option<Severity> {
        if let Some(o) = self.overrides.get(rule) {
            return *o;
        }
        DEFAULT_SEVERITIES
            .iter()
            .find(|(r, _)| *r == rule)
            .map(|(_, s)| *s)
    }

    /// Every rule squawk has (its style rules and opt-in ones too) at `low`, over the defaults:
    /// what the property test runs, so that no rule's code goes unexercised.
    pub fn every_rule() -> RuleConfig {
        let mut c = RuleConfig::default();
        for r in enum_rules() {
            let name = r.to_string();
            if c.severity(&name).is_none() {
                c.overrides.insert(name, Some(Severity::Low));
            }
        }
        c
    }

    /// The squawk rules to run: those with a severity.
    pub fn squawk_rules(&self) -> Vec<Rule> {
        let mut names: BTreeSet<&str> = DEFAULT_SEVERITIES.iter().map(|(r, _)| *r).collect();
        names.extend(self.overrides.keys().map(String::as_str));
        names
            .into_iter()
            .filter(|n| self.severity(n).is_some())
            .filter_map(|n| Rule::try_from(n).ok())
            .collect()
    }
}

/// Every rule squawk has, opt-in ones included (squawk's `Rule` is an `enum_iterator::Sequence`).
fn enum_rules() -> Vec<Rule> {
    enum_iterator::all::<Rule>()
        .filter(|r| r.expands_to().is_empty() && *r != Rule::UnusedIgnore)
        .collect()
}

/// Is `name` a rule slipway knows (squawk's or its own)?
pub fn known_rule(name: &str) -> bool {
    matches!(name, BAN_TRUNCATE | UNANALYSED_DO_BLOCK | SYNTAX_ERROR)
        || Rule::try_from(name).is_ok()
}

/// One thing a migration does that the rules flag.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// As given (repository-relative for files from `sql` globs).
    pub file: String,
    /// 1-based line and column (in characters) of the flagged text.
    pub line: u32,
    pub column: u32,
    pub end_line: u32,
    pub end_column: u32,
    pub rule: String,
    pub severity: Severity,
    pub message: String,
    /// The statement, on one line, cut at 200 characters.
    pub statement: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

/// How deep a statement may nest (parentheses, brackets, CASE) and how long a chain of
/// operator tokens (`->` is two) it may hold between commas, before slipway refuses to parse it: squawk's parser is
/// recursive, and input like 10,000 nested parentheses would overflow its stack. PostgreSQL's own
/// parser refuses such statements too ("stack depth limit exceeded"); no migration needs them.
pub const MAX_NESTING: usize = 1_000;
pub const MAX_OPERATOR_CHAIN: usize = 2_000;

/// The stack each lint worker gets: with the limits above, many times what the parser needs.
pub const WORKER_STACK: usize = 64 * 1024 * 1024;

/// Where (byte offset) and how a statement exceeds the limits, from the lexer alone (which is
/// iterative, and knows strings, dollar quotes and comments).
fn too_deep(sql: &str) -> Option<(usize, String)> {
    use squawk_lexer::TokenKind as K;
    let mut depth = 0usize;
    let mut chain = 0usize;
    let mut offset = 0usize;
    for t in squawk_lexer::tokenize(sql) {
        let start = offset;
        offset += t.len as usize;
        match t.kind {
            K::OpenParen | K::OpenBracket => {
                depth += 1;
                chain = 0;
            }
            K::CloseParen | K::CloseBracket => {
                depth = depth.saturating_sub(1);
                chain = 0;
            }
            K::Comma | K::Semi => chain = 0,
            K::Ident => {
                let word = &sql[start..offset];
                if word.eq_ignore_ascii_case("case") {
                    depth += 1;
                } else if word.eq_ignore_ascii_case("end") {
                    depth = depth.saturating_sub(1);
                } else if word.eq_ignore_ascii_case("not") {
                    chain += 1;
                }
            }
            K::Minus
            | K::Plus
            | K::Slash
            | K::Star
            | K::Percent
            | K::Caret
            | K::Eq
            | K::Gt
            | K::Lt
            | K::Bang
            | K::Tilde
            | K::Pound
            | K::Question
            | K::Or
            | K::And
            | K::At
            | K::Backtick
            | K::Colon => chain += 1,
            _ => {}
        }
        if depth > MAX_NESTING {
            return Some((start, format!("the statement nests more than {MAX_NESTING} levels deep (parentheses, brackets, CASE)")));
        }
        if chain > MAX_OPERATOR_CHAIN {
            return Some((
                start,
                format!(
                    "the statement chains more than {MAX_OPERATOR_CHAIN} operators without a comma"
                ),
            ));
        }
    }
    None
}

/// Lints one file's text. Never panics on any input (a property test holds it to that). Call it
/// on a thread with [`WORKER_STACK`] (as [`pending::lint_many`] does): the parser is recursive.
pub fn lint(file: &str, sql: &str, config: &RuleConfig) -> Vec<Finding> {
    let lines = LineIndex::new(sql);
    if let Some((at, why)) = too_deep(sql) {
        let Some(severity) = config.severity(SYNTAX_ERROR) else {
            return Vec::new();
        };
        let (line, column) = lines.line_col(sql, at);
        return vec![Finding {
            file: file.to_string(),
            line,
            column,
            end_line: line,
            end_column: column,
            rule: SYNTAX_ERROR.to_string(),
            severity,
            message: format!("{why}: not parsed, and the rest of the file not checked"),
            statement: statement_at(sql, &[], at),
            help: Some("PostgreSQL refuses statements this deep too (stack depth limit exceeded); split the statement".to_string()),
        }];
    }
    let parse = SourceFile::parse(sql);
    let tree = parse.tree();
    let stmt_ranges: Vec<(usize, usize)> = tree
        .stmts()
        .map(|s| {
            let r = s.syntax().text_range();
            (usize::from(r.start()), usize::from(r.end()))
        })
        .collect();
    let mut out = Vec::new();
    let mut push = |rule: &str, start: usize, end: usize, message: String, help: Option<String>| {
        let Some(severity) = config.severity(rule) else {
            return;
        };
        let (line, column) = lines.line_col(sql, start);
        let (end_line, end_column) = lines.line_col(sql, end.max(start));
        // slipway's advice (the expand/contract way) where it has some, else squawk's help.
        let help = advice(rule).map(str::to_string).or(help);
        out.push(Finding {
            file: file.to_string(),
            line,
            column,
            end_line,
            end_column,
            rule: rule.to_string(),
            severity,
            message,
            statement: statement_at(sql, &stmt_ranges, start),
            help,
        });
    };

    // The parser's complaints: the first is where it lost track; the rest usually follow from it.
    if let Some(e) = parse.errors().first() {
        let r = e.range();
        push(
            SYNTAX_ERROR,
            usize::from(r.start()),
            usize::from(r.end()),
            format!("the SQL does not parse: {}", e.message()),
            None,
        );
    }

    let mut linter = Linter::from(config.squawk_rules());
    for v in linter.lint(&parse, sql) {
        let name = v.code.to_string();
        if v.code == Rule::UnusedIgnore && ignores_own_rule(&v.message) {
            continue;
        }
        push(
            &name,
            usize::from(v.text_range.start()),
            usize::from(v.text_range.end()),
            v.message,
            v.help,
        );
    }

    // slipway's own rules, with squawk's ignore comments applied to them too.
    // (A walk of every token: only when the text can hold an ignore comment at all.)
    let ignores = if sql.contains("squawk-ignore") {
        OwnIgnores::find(&parse.syntax_node(), &lines, sql)
    } else {
        OwnIgnores::default()
    };
    for stmt in tree.stmts() {
        let (rule, message) = match &stmt {
            ast::Stmt::Truncate(_) => (
                BAN_TRUNCATE,
                "TRUNCATE deletes every row of the table, and blocks reads and writes while it runs",
            ),
            ast::Stmt::Do(_) => (
                UNANALYSED_DO_BLOCK,
                "a DO block runs PL/pgSQL that no rule analyses",
            ),
            _ => continue,
        };
        let r = stmt.syntax().text_range();
        let start = first_token_start(stmt.syntax()).unwrap_or(usize::from(r.start()));
        if ignores.ignored(rule, lines.line_col(sql, start).0) {
            continue;
        }
        push(rule, start, usize::from(r.end()), message.to_string(), None);
    }
    out.sort_by(|a, b| (a.line, a.column, &a.rule).cmp(&(b.line, b.column, &b.rule)));
    out
}

/// squawk reports `-- squawk-ignore ban-truncate` as naming an unknown rule; slipway knows it.
fn ignores_own_rule(message: &str) -> bool {
    message
        .strip_prefix("unknown name ")
        .is_some_and(|n| matches!(n.trim(), BAN_TRUNCATE | UNANALYSED_DO_BLOCK))
}

fn first_token_start(node: &squawk_syntax::SyntaxNode) -> Option<usize> {
    node.children_with_tokens()
        .find(|t| !t.kind().is_trivia())
        .map(|t| usize::from(t.text_range().start()))
}

/// The statement containing `offset`, on one line, cut at 200 characters.
fn statement_at(sql: &str, ranges: &[(usize, usize)], offset: usize) -> String {
    let i = ranges.partition_point(|(_, end)| *end <= offset);
    let (start, end) = match ranges.get(i) {
        Some(&(s, e)) if s <= offset => (s, e),
        _ => {
            // Outside every statement (a parse error at the end): the line itself.
            let s = sql[..offset.min(sql.len())]
                .rfind('\n')
                .map_or(0, |p| p + 1);
            let e = sql[s..].find('\n').map_or(sql.len(), |p| s + p);
            (s, e)
        }
    };
    let text = sql.get(start..end).unwrap_or_default();
    let mut one = String::new();
    for word in text.split_whitespace() {
        if !one.is_empty() {
            one.push(' ');
        }
        one.push_str(word);
        if one.chars().count() > 200 {
            let cut: String = one.chars().take(199).collect();
            return format!("{cut}…");
        }
    }
    one
}

/// `-- squawk-ignore a, b` (this line and the next) and `-- squawk-ignore-file [a, b]`, for
/// slipway's own rules; squawk applies them to its own.
#[derive(Default)]
struct OwnIgnores {
    lines: BTreeMap<u32, BTreeSet<String>>,
    file: BTreeSet<String>,
    all: bool,
}

impl OwnIgnores {
    fn find(root: &squawk_syntax::SyntaxNode, lines: &LineIndex, sql: &str) -> OwnIgnores {
        let mut out = OwnIgnores {
            lines: BTreeMap::new(),
            file: BTreeSet::new(),
            all: false,
        };
        for el in root.descendants_with_tokens() {
            let Some(token) = el.into_token() else {
                continue;
            };
            if token.kind() != SyntaxKind::COMMENT {
                continue;
            }
            let Some((names, range, kind)) = squawk_linter::ignore::ignore_rule_info(&token) else {
                continue;
            };
            let set: BTreeSet<String> = names
                .split(',')
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_string)
                .collect();
            match kind {
                squawk_linter::ignore::IgnoreKind::File if set.is_empty() => out.all = true,
                squawk_linter::ignore::IgnoreKind::File => out.file.extend(set),
                squawk_linter::ignore::IgnoreKind::Line => {
                    let line = lines.line_col(sql, usize::from(range.start())).0;
                    out.lines.entry(line).or_default().extend(set);
                }
            }
        }
        out
    }

    fn ignored(&self, rule: &str, line: u32) -> bool {
        self.all
            || self.file.contains(rule)
            || [line, line.saturating_sub(1)]
                .iter()
                .any(|l| self.lines.get(l).is_some_and(|s| s.contains(rule)))
    }
}

/// Byte offset → 1-based line and character column.
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { starts }
    }

    fn line_col(&self, text: &str, offset: usize) -> (u32, u32) {
        let offset = offset.min(text.len());
        let line = self.starts.partition_point(|&s| s <= offset) - 1;
        let start = self.starts[line];
        let col = text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        (line as u32 + 1, col as u32 + 1)
    }
}

/// Counts by severity, highest first.
pub fn counts(findings: &[Finding]) -> Vec<(Severity, usize)> {
    Severity::ALL
        .iter()
        .map(|s| (*s, findings.iter().filter(|f| f.severity == *s).count()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(sql: &str) -> Vec<(String, Severity, u32)> {
        lint("m.sql", sql, &RuleConfig::default())
            .into_iter()
            .map(|f| (f.rule, f.severity, f.line))
            .collect()
    }

    fn has(sql: &str, rule: &str) -> bool {
        rules(sql).iter().any(|(r, _, _)| r == rule)
    }

    #[test]
    fn seed_003s_operations_get_its_severities() {
        let cases = [
            ("DROP TABLE users;", "ban-drop-table", Severity::Critical),
            (
                "ALTER TABLE users DROP COLUMN legacy;",
                "ban-drop-column",
                Severity::Critical,
            ),
            ("TRUNCATE users;", BAN_TRUNCATE, Severity::Critical),
            (
                "ALTER TABLE users ALTER COLUMN age TYPE bigint;",
                "changing-column-type",
                Severity::High,
            ),
            (
                "ALTER TABLE users RENAME COLUMN a TO b;",
                "renaming-column",
                Severity::High,
            ),
            (
                "ALTER TABLE users RENAME TO people;",
                "renaming-table",
                Severity::High,
            ),
            (
                "ALTER TABLE users ALTER COLUMN email SET NOT NULL;",
                "adding-not-nullable-field",
                Severity::Medium,
            ),
            (
                "ALTER TABLE users DROP CONSTRAINT users_fk;",
                "ban-drop-constraint",
                Severity::Medium,
            ),
        ];
        for (sql, rule, sev) in cases {
            let got = rules(sql);
            assert!(
                got.iter().any(|(r, s, _)| r == rule && *s == sev),
                "{sql}: expected {rule} at {sev}, got {got:?}"
            );
        }
    }

    #[test]
    fn comments_and_strings_never_trigger() {
        let sql = "-- DROP TABLE users;\n/* ALTER TABLE users DROP COLUMN x; */\nSELECT 'TRUNCATE users', $$DROP TABLE t$$;\n";
        assert_eq!(rules(sql), vec![]);
    }

    #[test]
    fn squawk_ignore_is_honoured_for_squawks_rules_and_slipways() {
        let sql = "-- squawk-ignore ban-drop-column\nALTER TABLE users DROP COLUMN legacy;\n-- squawk-ignore ban-truncate\nTRUNCATE audit;\n";
        let got = rules(sql);
        assert!(
            !got.iter()
                .any(|(r, _, _)| r == "ban-drop-column" || r == BAN_TRUNCATE),
            "{got:?}"
        );
        assert!(!got.iter().any(|(r, _, _)| r == "unused-ignore"), "{got:?}");
        let file = "-- squawk-ignore-file\nTRUNCATE audit;\nDROP TABLE x;\n";
        assert_eq!(rules(file), vec![]);
    }

    #[test]
    fn a_file_that_does_not_parse_is_a_finding_with_its_place() {
        let f = lint(
            "bad.sql",
            "SELECT 1;\nALTER TABLE users DROP COLUMN;\n",
            &RuleConfig::default(),
        );
        let e = f
            .iter()
            .find(|f| f.rule == SYNTAX_ERROR)
            .expect("syntax error");
        assert_eq!((e.line, e.severity), (2, Severity::High));
        assert!(e.message.contains("does not parse"), "{}", e.message);
    }

    #[test]
    fn do_blocks_are_flagged_as_unanalysed_and_drop_index_concurrently_parses() {
        assert!(has(
            "DO $$ BEGIN DROP TABLE x; END $$;",
            UNANALYSED_DO_BLOCK
        ));
        assert!(!has("DO $$ BEGIN DROP TABLE x; END $$;", "ban-drop-table"));
        let got = rules("SET lock_timeout = '1s';\nDROP INDEX CONCURRENTLY IF EXISTS i;\n");
        assert!(!got.iter().any(|(r, _, _)| r == SYNTAX_ERROR), "{got:?}");
    }

    #[test]
    fn the_safe_forms_of_seed_004_pass() {
        let sql = "SET lock_timeout = '2s';\nSET statement_timeout = '30s';\nALTER TABLE users ADD COLUMN nickname text NULL;\nALTER TABLE users ADD COLUMN plan text DEFAULT 'free';\n";
        assert_eq!(rules(sql), vec![]);
        let idx = "SET lock_timeout = '2s';\nSET statement_timeout = '0';\nCREATE INDEX CONCURRENTLY IF NOT EXISTS users_email ON users (email);\n";
        assert_eq!(rules(idx), vec![]);
    }

    #[test]
    fn the_environment_changes_severities_and_turns_rules_off() {
        let mut c = RuleConfig::default();
        c.overrides
            .insert("ban-drop-column".into(), Some(Severity::Low));
        c.overrides.insert("require-lock-timeout".into(), None);
        c.overrides
            .insert("prefer-robust-stmts".into(), Some(Severity::Low));
        let f = lint("m.sql", "ALTER TABLE users DROP COLUMN legacy;", &c);
        let got: Vec<_> = f.iter().map(|f| (f.rule.as_str(), f.severity)).collect();
        assert!(got.contains(&("ban-drop-column", Severity::Low)), "{got:?}");
        assert!(
            got.contains(&("prefer-robust-stmts", Severity::Low)),
            "{got:?}"
        );
        assert!(
            !got.iter().any(|(r, _)| *r == "require-lock-timeout"),
            "{got:?}"
        );
    }

    #[test]
    fn findings_carry_line_column_statement_and_advice() {
        let sql = "SET lock_timeout = '1s';\nSET statement_timeout = '1s';\n\nALTER TABLE users\n  DROP COLUMN legacy;\n";
        let f = lint("m.sql", sql, &RuleConfig::default());
        let d = f.iter().find(|f| f.rule == "ban-drop-column").unwrap();
        assert_eq!((d.line, d.column), (5, 3));
        assert_eq!(d.statement, "ALTER TABLE users DROP COLUMN legacy;");
        assert!(d.help.as_deref().unwrap().contains("expand/contract"));
    }

    #[test]
    fn columns_count_characters() {
        let idx = LineIndex::new("é\nxé;");
        assert_eq!(idx.line_col("é\nxé;", 5), (2, 3));
    }
}
