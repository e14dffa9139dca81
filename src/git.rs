//! What git knows about the checkout: the commit being deployed and its branch.

use std::path::Path;

use crate::env::GitVars;

/// The HEAD commit of the repository containing `path`, if there is one. On a detached HEAD (as
/// CI checks out) the branch is `branch_hint`, the name the CI system gives.
pub fn head(path: &Path, branch_hint: Option<String>) -> Option<GitVars> {
    let repo = git2::Repository::discover(path).ok()?;
    let head = repo.head().ok()?;
    let commit = head.peel_to_commit().ok()?;
    let sha = commit.id().to_string();
    let branch = if head.is_branch() {
        head.shorthand().ok().map(str::to_string)
    } else {
        branch_hint
    };
    Some(GitVars {
        short_sha: sha[..7].to_string(),
        sha,
        branch,
    })
}
