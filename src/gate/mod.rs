//! Gates: what must hold before a command may change anything. `apply` passes all of them;
//! `deploy`, `promote` and `migrate run` pass approval, account, migrations and lock; `rollback` passes
//! account, lock, and the `events`/`actors` part of approval (an emergency must not wait on a
//! review).
//!
//! Each gate is a pure decision over facts it is handed (unit-tested beside it), plus a thin
//! function that gathers those facts from AWS, GitHub or git. Every refusal is exit 3 and comes
//! before the first mutating AWS call; the one exception is the lock itself, whose refusals
//! after it was taken (the live state moved while waiting for it) release it again.

pub mod account;
pub mod approval;
pub mod fingerprint;
pub mod lock;
pub mod migrations;
pub mod stale;

use serde::Serialize;

/// A gate said no: which rule, and what would let the command through.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Refusal {
    /// The gate: `fingerprint`, `stale`, `approval`, `account`, `lock`.
    pub gate: &'static str,
    /// The rule within it, stable for scripts: `confirmation`, `live-state`, `lock-held`, ...
    pub rule: &'static str,
    pub message: String,
    /// What to do about it.
    pub help: Option<String>,
}

impl Refusal {
    pub fn new(gate: &'static str, rule: &'static str, message: impl Into<String>) -> Refusal {
        Refusal {
            gate,
            rule,
            message: message.into(),
            help: None,
        }
    }

    pub fn help(mut self, help: impl Into<String>) -> Refusal {
        self.help = Some(help.into());
        self
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "refused ({} {}): {}", self.gate, self.rule, self.message)?;
        if let Some(h) = &self.help {
            write!(f, "\n  help: {h}")?;
        }
        Ok(())
    }
}

/// A gate passed, and how (for the report).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Passed {
    pub gate: &'static str,
    pub detail: String,
}

impl Passed {
    pub fn new(gate: &'static str, detail: impl Into<String>) -> Passed {
        Passed {
            gate,
            detail: detail.into(),
        }
    }
}

/// Why a gate could not decide: the facts could not be gathered (GitHub or AWS unreachable, bad
/// input). Exit 1, not 3: nothing was refused, nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    #[error(transparent)]
    GitHub(#[from] crate::github::GitHubError),
    #[error(transparent)]
    Aws(#[from] crate::aws::AwsError),
    #[error("{0}")]
    Input(String),
}

/// How a gate ended when it did not pass.
#[derive(Debug)]
pub enum Stop {
    Refused(Box<Refusal>),
    Error(Box<GateError>),
}

impl From<Refusal> for Stop {
    fn from(r: Refusal) -> Stop {
        Stop::Refused(Box::new(r))
    }
}

impl From<GateError> for Stop {
    fn from(e: GateError) -> Stop {
        Stop::Error(Box::new(e))
    }
}

impl From<crate::github::GitHubError> for Stop {
    fn from(e: crate::github::GitHubError) -> Stop {
        Stop::Error(Box::new(e.into()))
    }
}

impl From<crate::aws::AwsError> for Stop {
    fn from(e: crate::aws::AwsError) -> Stop {
        Stop::Error(Box::new(e.into()))
    }
}

impl Stop {
    pub fn exit(&self) -> crate::exit::Exit {
        match self {
            Stop::Refused(_) => crate::exit::Exit::Refused,
            Stop::Error(_) => crate::exit::Exit::Error,
        }
    }
}

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stop::Refused(r) => r.fmt(f),
            Stop::Error(e) => {
                if f.alternate() {
                    write!(f, "{e:#}")
                } else {
                    write!(f, "{e}")
                }
            }
        }
    }
}
