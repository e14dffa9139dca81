//! Static sites: a built frontend published to an S3 bucket behind CloudFront, checked, and
//! restored when its smoke checks fail.
//!
//! What the bucket holds is known from slipway's release manifests (`.slipway/releases/`): each
//! file's sha256, size and S3 version. A publish compares the local files with the current
//! manifest (and with a listing of the bucket, so that files changed or removed behind
//! slipway's back are caught) and then, in this order:
//! 1. uploads what changed, assets first and HTML last, each with its content type and
//!    Cache-Control (the first `cache_control` glob that matches);
//! 2. writes the release's manifest, and `current.json`;
//! 3. deletes files that are gone, last;
//! 4. invalidates the changed paths in CloudFront (`/*` past the threshold) and waits for the
//!    invalidation, under the site's timeout;
//! 5. runs the site's smoke checks. When they pass, the release becomes `healthy.json`; when
//!    they fail, the last healthy release is restored: each of its files copied back from the
//!    version the manifest recorded, files it did not have deleted, the paths invalidated.
//!
//! The bucket must be versioned (the `static-site` module's is): restoring needs the versions.

pub mod release;
pub mod run;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::env::model::Site;

/// Where the manifests live in the bucket; never published from `dir`, never deleted.
pub const PREFIX: &str = ".slipway/";
pub const RELEASES: &str = ".slipway/releases/";
pub const CURRENT: &str = ".slipway/releases/current.json";
pub const HEALTHY: &str = ".slipway/releases/healthy.json";

/// One file of a release.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    pub sha256: String,
    pub size: u64,
    pub content_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<String>,
    /// The S3 version holding this content (what a restore copies back).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
}

/// A release: what the bucket served after a publish.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub site: String,
    pub release: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_sha: Option<String>,
    pub deployer: String,
    pub created_at: String,
    /// When its smoke checks passed (absent until then): the releases `rollback` may go back to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthy_at: Option<String>,
    pub files: BTreeMap<String, FileEntry>,
}

/// A local file to publish.
#[derive(Clone, Debug)]
pub struct LocalFile {
    pub path: PathBuf,
    pub entry: FileEntry,
}

/// The built site on disk, by key (path relative to `dir`, `/`-separated).
pub fn scan(root: &Path, site: &Site) -> Result<BTreeMap<String, LocalFile>, String> {
    let dir = root.join(&site.dir.v);
    if !dir.is_dir() {
        return Err(format!(
            "site \"{}\": dir {} does not exist (build the site before slipway runs)",
            site.name.v,
            dir.display()
        ));
    }
    let rules: Vec<(globset::GlobMatcher, String)> = site
        .cache_control
        .iter()
        .map(|(g, v)| {
            globset::GlobBuilder::new(&g.v)
                .literal_separator(true)
                .build()
                .map(|g| (g.compile_matcher(), v.v.clone()))
                .map_err(|e| format!("`{}` is not a glob: {e}", g.v))
        })
        .collect::<Result<_, _>>()?;
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.clone()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|e| format!("{}: {e}", d.display()))?;
        for e in entries {
            let e = e.map_err(|e| format!("{}: {e}", d.display()))?;
            let path = e.path();
            let kind = e
                .file_type()
                .map_err(|e| format!("{}: {e}", path.display()))?;
            if kind.is_dir() {
                stack.push(path);
                continue;
            }
            let key = path
                .strip_prefix(&dir)
                .map_err(|e| e.to_string())?
                .to_string_lossy()
                .replace('\\', "/");
            if key.starts_with(PREFIX) {
                continue;
            }
            let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let content_type = mime_guess::from_path(&path).first_raw().map_or(
                "application/octet-stream".to_string(),
                |m| {
                    if m.starts_with("text/") || m == "application/javascript" {
                        format!("{m}; charset=utf-8")
                    } else {
                        m.to_string()
                    }
                },
            );
            let cache_control = rules
                .iter()
                .find(|(m, _)| m.is_match(&key))
                .map(|(_, v)| v.clone());
            out.insert(
                key,
                LocalFile {
                    path,
                    entry: FileEntry {
                        sha256: crate::diff::hex(&Sha256::digest(&bytes)),
                        size: bytes.len() as u64,
                        content_type,
                        cache_control,
                        version_id: None,
                    },
                },
            );
        }
    }
    Ok(out)
}

/// What a publish would do.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Changes {
    pub site: String,
    /// Assets first, HTML last: the order of the uploads.
    pub upload: Vec<String>,
    pub delete: Vec<String>,
    pub unchanged: usize,
    /// The release the bucket serves now, when slipway published it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_release: Option<String>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.upload.is_empty() && self.delete.is_empty()
    }
}

fn is_html(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k.ends_with(".html") || k.ends_with(".htm")
}

/// Compares the local files with the bucket: the current manifest says what each key holds,
/// the listing which keys exist and their sizes.
pub fn compare(
    site: &str,
    local: &BTreeMap<String, LocalFile>,
    current: Option<&Manifest>,
    listing: &BTreeMap<String, u64>,
) -> Changes {
    let mut upload: Vec<String> = local
        .iter()
        .filter(|(key, f)| {
            let recorded = current.and_then(|m| m.files.get(*key));
            let same = recorded.is_some_and(|r| {
                r.sha256 == f.entry.sha256
                    && r.content_type == f.entry.content_type
                    && r.cache_control == f.entry.cache_control
            });
            !(same && listing.get(*key) == Some(&f.entry.size))
        })
        .map(|(k, _)| k.clone())
        .collect();
    upload.sort_by_key(|k| (is_html(k), k.clone()));
    let delete: Vec<String> = listing
        .keys()
        .filter(|k| !k.starts_with(PREFIX) && !local.contains_key(*k))
        .cloned()
        .collect();
    Changes {
        site: site.to_string(),
        unchanged: local.len() - upload.len(),
        upload,
        delete,
        current_release: current.map(|m| m.release.clone()),
    }
}

/// The CloudFront paths a change touches: each key, and the directory an `index.html` serves;
/// `/*` when there are more than `threshold`.
pub fn invalidation_paths(keys: &[&String], threshold: usize) -> Vec<String> {
    let mut paths: Vec<String> = Vec::new();
    for k in keys {
        paths.push(format!("/{}", encode_path(k)));
        if let Some(dir) = k.strip_suffix("index.html") {
            if dir.is_empty() || dir.ends_with('/') {
                paths.push(format!("/{}", encode_path(dir)));
            }
        }
    }
    paths.sort();
    paths.dedup();
    if paths.len() > threshold {
        vec!["/*".to_string()]
    } else {
        paths
    }
}

/// A key URL-encoded outside the unreserved set, `/` kept: as CloudFront wants invalidation
/// paths, and S3 a CopyObject source.
pub fn encode_path(key: &str) -> String {
    let mut out = String::new();
    for b in key.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A release id: sortable (to the millisecond), and naming the commit when there is one.
pub fn release_id(git_short: Option<&str>) -> String {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_millis());
    let now = format!(
        "{}.{millis:03}",
        crate::planfile::now_rfc3339()
            .replace([':', '-'], "")
            .replace('T', "-")
            .trim_end_matches('Z')
    );
    match git_short {
        Some(g) => format!("{now}-{g}"),
        None => now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(files: &[(&str, &str)]) -> BTreeMap<String, LocalFile> {
        files
            .iter()
            .map(|(k, body)| {
                (
                    k.to_string(),
                    LocalFile {
                        path: PathBuf::from(k),
                        entry: FileEntry {
                            sha256: crate::diff::hex(&Sha256::digest(body.as_bytes())),
                            size: body.len() as u64,
                            content_type: "text/html".into(),
                            cache_control: None,
                            version_id: None,
                        },
                    },
                )
            })
            .collect()
    }

    fn manifest(l: &BTreeMap<String, LocalFile>) -> Manifest {
        Manifest {
            site: "web".into(),
            release: "r1".into(),
            git_sha: None,
            deployer: "ci".into(),
            created_at: "2026-12-02T00:00:00Z".into(),
            healthy_at: None,
            files: l
                .iter()
                .map(|(k, f)| (k.clone(), f.entry.clone()))
                .collect(),
        }
    }

    #[test]
    fn html_goes_last_and_gone_files_are_deleted() {
        let l = local(&[
            ("index.html", "a"),
            ("app.js", "b"),
            ("about/index.html", "c"),
        ]);
        let c = compare(
            "web",
            &l,
            None,
            &BTreeMap::from([("old.css".to_string(), 3)]),
        );
        assert_eq!(c.upload, vec!["app.js", "about/index.html", "index.html"]);
        assert_eq!(c.delete, vec!["old.css"]);
    }

    #[test]
    fn nothing_changed_means_nothing_to_do_and_drift_is_caught() {
        let l = local(&[("index.html", "a"), ("app.js", "bb")]);
        let m = manifest(&l);
        let listing = BTreeMap::from([("index.html".to_string(), 1), ("app.js".to_string(), 2)]);
        assert!(compare("web", &l, Some(&m), &listing).is_empty());
        // Someone replaced app.js by hand (another size) or removed it: it is uploaded again.
        let drifted = BTreeMap::from([("index.html".to_string(), 1), ("app.js".to_string(), 9)]);
        assert_eq!(
            compare("web", &l, Some(&m), &drifted).upload,
            vec!["app.js"]
        );
        let gone = BTreeMap::from([("index.html".to_string(), 1)]);
        assert_eq!(compare("web", &l, Some(&m), &gone).upload, vec!["app.js"]);
    }

    #[test]
    fn invalidation_paths_cover_directories_and_fall_back_to_everything() {
        let keys = [
            "index.html".to_string(),
            "docs/index.html".to_string(),
            "a b.js".to_string(),
        ];
        let refs: Vec<&String> = keys.iter().collect();
        assert_eq!(
            invalidation_paths(&refs, 10),
            vec![
                "/",
                "/a%20b.js",
                "/docs/",
                "/docs/index.html",
                "/index.html"
            ]
        );
        assert_eq!(invalidation_paths(&refs, 3), vec!["/*"]);
    }
}
