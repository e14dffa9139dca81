//! Exit codes. Every command keeps to these; scripts and CI depend on them.

use std::process::ExitCode;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Success.
    Ok = 0,
    /// An error, or invalid input (nothing was changed).
    Error = 1,
    /// `plan`/`diff --detailed-exitcode`: there are changes.
    Changes = 2,
    /// A gate refused: approval, stale plan, lock held, wrong AWS account.
    Refused = 3,
    /// The deploy failed and was rolled back.
    RolledBack = 4,
    /// The deploy failed and so did the rollback.
    RollbackFailed = 5,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e as u8)
    }
}
