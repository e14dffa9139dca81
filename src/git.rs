//! What git knows about the checkout: the commit being deployed and its branch.

use std::path::Path;

use crate::env::GitVars;

/// The HEAD commit of the repository containing `path`, if there is one.
pub fn head(path: &Path) -> Option<GitVars> {
    let repo = git2::Repository::discover(path).ok()?;
    let head = repo.head().ok()?;
    let commit = head.peel_to_commit().ok()?;
    let sha = commit.id().to_string();
    // CI checks out a detached HEAD; GitHub Actions names the branch in its environment.
    let branch = if head.is_branch() {
        head.shorthand().ok().map(str::to_string)
    } else {
        ["GITHUB_HEAD_REF", "GITHUB_REF_NAME"]
            .iter()
            .find_map(|v| std::env::var(v).ok().filter(|b| !b.is_empty()))
    };
    Some(GitVars {
        short_sha: sha[..7].to_string(),
        sha,
        branch,
    })
}
