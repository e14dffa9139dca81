//! What git knows about the checkout: the commit being deployed and its branch, the files (and
//! lines) changed since a base, and the version the tags give it. All through git2 (libgit2),
//! no `git` executable.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::env::GitVars;

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("{} is not inside a git repository: {message}", path.display())]
    NoRepository { path: PathBuf, message: String },
    #[error("`{rev}` is not a commit of this repository ({message}): fetch it first (in Actions, `actions/checkout` with `fetch-depth: 0`)")]
    UnknownRevision { rev: String, message: String },
    #[error("git: {0}")]
    Git(String),
}

impl From<git2::Error> for GitError {
    fn from(e: git2::Error) -> GitError {
        GitError::Git(e.message().to_string())
    }
}

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
        version: None,
    })
}

fn open(path: &Path) -> Result<git2::Repository, GitError> {
    git2::Repository::discover(path).map_err(|e| GitError::NoRepository {
        path: path.to_path_buf(),
        message: e.message().to_string(),
    })
}

/// One file that differs, with the lines that changed on each side (1-based).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct FileChange {
    /// Relative to the repository root (the new path of a rename).
    pub path: String,
    /// The path before, when it differs (a rename) or the file was deleted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_path: Option<String>,
    #[serde(skip)]
    pub old_lines: Vec<u32>,
    #[serde(skip)]
    pub new_lines: Vec<u32>,
}

/// What changed between a base and HEAD.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Changes {
    /// The commit compared against: the merge base of the given base and HEAD (what a pull
    /// request adds), or the base itself when they share no history.
    pub base: String,
    pub head: String,
    /// The repository's working directory.
    #[serde(skip)]
    pub root: PathBuf,
    pub files: Vec<FileChange>,
}

impl Changes {
    /// The text of `path` at the base commit, if it existed there.
    pub fn base_text(&self, path: &str) -> Option<String> {
        self.text_at(&self.base, path)
    }

    /// The text of `path` at HEAD, if it exists there.
    pub fn head_text(&self, path: &str) -> Option<String> {
        self.text_at(&self.head, path)
    }

    fn text_at(&self, commit: &str, path: &str) -> Option<String> {
        let repo = git2::Repository::open(&self.root).ok()?;
        let oid = git2::Oid::from_str(commit).ok()?;
        let tree = repo.find_commit(oid).ok()?.tree().ok()?;
        let entry = tree.get_path(Path::new(path)).ok()?;
        let blob = entry.to_object(&repo).ok()?.peel_to_blob().ok()?;
        String::from_utf8(blob.content().to_vec()).ok()
    }
}

/// The files (and lines) that changed between `base` (its merge base with HEAD) and HEAD.
pub fn changes(path: &Path, base: &str) -> Result<Changes, GitError> {
    let repo = open(path)?;
    let root = repo
        .workdir()
        .map(Path::to_path_buf)
        .ok_or_else(|| GitError::Git("a bare repository has no files to compare".into()))?;
    let base_commit = repo
        .revparse_single(base)
        .and_then(|o| o.peel_to_commit())
        .map_err(|e| GitError::UnknownRevision {
            rev: base.to_string(),
            message: e.message().to_string(),
        })?;
    let head = repo.head()?.peel_to_commit()?;
    let from = repo
        .merge_base(base_commit.id(), head.id())
        .unwrap_or(base_commit.id());
    let from_tree = repo.find_commit(from)?.tree()?;
    let mut opts = git2::DiffOptions::new();
    opts.context_lines(0);
    let mut diff =
        repo.diff_tree_to_tree(Some(&from_tree), Some(&head.tree()?), Some(&mut opts))?;
    diff.find_similar(None)?;
    let files: std::cell::RefCell<BTreeMap<String, FileChange>> = Default::default();
    let key = |d: &git2::DiffDelta| -> (String, Option<String>) {
        let new = d
            .new_file()
            .path()
            .map(|p| p.to_string_lossy().into_owned());
        let old = d
            .old_file()
            .path()
            .map(|p| p.to_string_lossy().into_owned());
        match (new, old) {
            (Some(n), Some(o)) if n == o => (n, None),
            (Some(n), o) if d.status() != git2::Delta::Deleted => (n, o),
            (_, Some(o)) => (o.clone(), Some(o)),
            (Some(n), None) => (n, None),
            (None, None) => (String::new(), None),
        }
    };
    diff.foreach(
        &mut |d, _| {
            let (path, old_path) = key(&d);
            files
                .borrow_mut()
                .entry(path.clone())
                .or_insert(FileChange {
                    path,
                    old_path,
                    ..Default::default()
                });
            true
        },
        None,
        None,
        Some(&mut |d, _, line| {
            let (path, _) = key(&d);
            if let Some(f) = files.borrow_mut().get_mut(&path) {
                match line.origin() {
                    '-' => f.old_lines.extend(line.old_lineno()),
                    '+' => f.new_lines.extend(line.new_lineno()),
                    _ => {}
                }
            }
            true
        }),
    )?;
    Ok(Changes {
        base: from.to_string(),
        head: head.id().to_string(),
        root,
        files: files.into_inner().into_values().collect(),
    })
}

/// A version from the tags: the semver of the nearest tag `<prefix><semver>` that HEAD
/// descends from, and how far HEAD is past it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Version {
    pub version: String,
    pub tag: Option<String>,
    pub commits_since: usize,
    pub short_sha: String,
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.commits_since == 0 && self.tag.is_some() {
            write!(f, "{}", self.version)
        } else {
            // Semver build metadata: commits since the tag, then the commit.
            write!(
                f,
                "{}+{}.g{}",
                self.version, self.commits_since, self.short_sha
            )
        }
    }
}

/// The version of HEAD from tags named `<prefix><semver>` (`v1.4.2`, `api-v1.4.2`): the nearest
/// one HEAD descends from (the highest, when several name one commit), `1.4.2` at the tag
/// itself, `1.4.2+3.gabc1234` three commits later, `0.0.0+N.g…` without any.
pub fn version(path: &Path, prefix: &str) -> Result<Version, GitError> {
    let repo = open(path)?;
    let head = repo.head()?.peel_to_commit()?;
    let mut tagged: BTreeMap<git2::Oid, (semver::Version, String)> = BTreeMap::new();
    let names = repo.tag_names(Some(&format!("{prefix}*")))?;
    for name in names.iter() {
        let Ok(Some(name)) = name else { continue };
        let Some(v) = name
            .strip_prefix(prefix)
            .and_then(|rest| semver::Version::parse(rest).ok())
        else {
            continue;
        };
        let Ok(commit) = repo
            .revparse_single(&format!("refs/tags/{name}"))
            .and_then(|o| o.peel_to_commit())
        else {
            continue;
        };
        let better = tagged.get(&commit.id()).is_none_or(|(have, _)| v > *have);
        if better {
            tagged.insert(commit.id(), (v, name.to_string()));
        }
    }
    let short_sha = head.id().to_string()[..7].to_string();
    // The nearest tagged ancestor: breadth-first from HEAD, by generations.
    let mut walk = repo.revwalk()?;
    walk.push(head.id())?;
    walk.set_sorting(git2::Sort::TOPOLOGICAL | git2::Sort::TIME)?;
    let mut nearest = None;
    for oid in walk {
        let oid = oid?;
        if let Some((v, name)) = tagged.get(&oid) {
            nearest = Some((oid, v.clone(), name.clone()));
            break;
        }
    }
    let count = |hide: Option<git2::Oid>| -> Result<usize, GitError> {
        let mut w = repo.revwalk()?;
        w.push(head.id())?;
        if let Some(h) = hide {
            w.hide(h)?;
        }
        Ok(w.count())
    };
    Ok(match nearest {
        Some((oid, v, name)) => Version {
            version: v.to_string(),
            tag: Some(name),
            commits_since: count(Some(oid))?,
            short_sha,
        },
        None => Version {
            version: "0.0.0".to_string(),
            tag: None,
            commits_since: count(None)?,
            short_sha,
        },
    })
}
