//! `_shared.hcl` from environment files that repeat themselves: when a second environment is
//! adopted, what every environment file says identically moves into the shared file (which each
//! environment file is merged over, `crate::env::tree::merge`), and the environment files keep
//! what is their own.
//!
//! The rules follow the merge: an attribute moves when every file has it with the same value;
//! a block moves (recursively, with what its bodies share) when every file has exactly one
//! block of that type and labels. The identity of an environment (`account_id`, `cluster`,
//! `name`) never moves, nor do blocks that repeat without labels (`mount`, `port_mapping`,
//! `capacity_provider`), whose merge would be ambiguous. Files are edited with hcl-edit, so
//! what stays keeps its layout and comments. The caller checks that every environment renders
//! the same before and after.

use hcl_edit::structure::{Block, Body, Structure};

/// Attributes that say which environment a file is.
const IDENTITY: &[&str] = &["account_id", "cluster", "name"];

/// Blocks that may appear more than once without labels.
const REPEATABLE: &[&str] = &["mount", "port_mapping", "capacity_provider"];

/// A value without its layout and comments, to compare by what it says.
fn text(v: &hcl_edit::expr::Expression) -> hcl::Expression {
    v.clone().into()
}

fn key(b: &Block) -> (String, Vec<String>) {
    (
        b.ident.as_str().to_string(),
        b.labels.iter().map(|l| l.as_str().to_string()).collect(),
    )
}

fn blocks_with<'a>(body: &'a Body, k: &(String, Vec<String>)) -> Vec<&'a Block> {
    body.blocks().filter(|b| key(b) == *k).collect()
}

/// What all `bodies` share, taken out of each of them. `top`: the files' top level.
fn common(bodies: &mut [Body], top: bool) -> Body {
    let mut shared = Body::new();
    let Some(first) = bodies.first().cloned() else {
        return shared;
    };
    for structure in first.iter() {
        match structure {
            Structure::Attribute(a) => {
                let k = a.key.as_str();
                if top && IDENTITY.contains(&k) {
                    continue;
                }
                let value = text(&a.value);
                let everywhere = bodies.iter().all(|b| {
                    b.get_attribute(k)
                        .is_some_and(|other| text(&other.value) == value)
                });
                if everywhere {
                    shared.push(a.clone());
                    for b in bodies.iter_mut() {
                        b.remove_attribute(k);
                    }
                }
            }
            Structure::Block(blk) => {
                let k = key(blk);
                if REPEATABLE.contains(&k.0.as_str()) {
                    continue;
                }
                if !bodies.iter().all(|b| blocks_with(b, &k).len() == 1) {
                    continue;
                }
                let mut inner: Vec<Body> = bodies
                    .iter()
                    .map(|b| blocks_with(b, &k)[0].body.clone())
                    .collect();
                let moved = common(&mut inner, false);
                if moved.is_empty() {
                    continue;
                }
                let mut out = Block::new(blk.ident.clone());
                out.labels = blk.labels.clone();
                out.body = moved;
                shared.push(out);
                // Put the rest back; a block with nothing left of its own goes (the shared
                // one declares it).
                for (b, rest) in bodies.iter_mut().zip(inner) {
                    let mut rebuilt = Body::new();
                    for s in b.iter() {
                        match s {
                            Structure::Block(x) if key(x) == k => {
                                if !rest.is_empty() {
                                    let mut y = x.clone();
                                    y.body = rest.clone();
                                    rebuilt.push(y);
                                }
                            }
                            other => rebuilt.push(other.clone()),
                        }
                    }
                    *b = rebuilt;
                }
            }
        }
    }
    shared
}

/// `_shared.hcl`'s text and the environment files' new texts (same order), when the files
/// share a service block; `None` when there is nothing worth sharing or a file does not parse.
pub fn extract(files: &[(String, String)]) -> Option<(String, Vec<(String, String)>)> {
    if files.len() < 2 {
        return None;
    }
    let mut bodies = Vec::new();
    for (_, t) in files {
        bodies.push(hcl_edit::parser::parse_body(t).ok()?);
    }
    let shared = common(&mut bodies, true);
    if !shared.blocks().any(|b| b.ident.as_str() == "service") {
        return None;
    }
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    let header = format!(
        "# What {} have in common, moved here by `slipway init` when the second\n# environment was adopted; each environment file is merged over this one (its values win).\n\n",
        names.join(" and ")
    );
    let shared_text = format!("{header}{}", super::hcl::reformat(&shared.to_string()));
    let rest = files
        .iter()
        .zip(bodies)
        .map(|((n, _), b)| (n.clone(), super::hcl::reformat(&b.to_string())))
        .collect();
    Some((shared_text, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_both_say_moves_and_what_differs_stays() {
        let staging = r#"account_id = "111111111111"
region     = "eu-west-1"
cluster    = "shop-staging"

service "api" {
  image  = "ghcr.io/acme/api:${image_tag}"
  cpu    = 256
  memory = 512
  desired_count = 1

  health_check {
    command  = ["CMD", "true"]
    interval = "10s"
  }
  port_mapping {
    container_port = 8080
  }
}

service "web" {
  image = "ghcr.io/acme/web:${image_tag}"
  cpu = 256
  memory = 512
}
"#;
        let production = r#"account_id = "222222222222"
region     = "eu-west-1"
cluster    = "shop-production"

service "api" {
  image  = "ghcr.io/acme/api:${image_tag}"
  cpu    = 1024
  memory = 2048
  desired_count = 3

  health_check {
    command  = ["CMD", "true"]
    interval = "30s"
  }
  port_mapping {
    container_port = 8080
  }
}
"#;
        let (shared, rest) = extract(&[
            ("staging.hcl".into(), staging.into()),
            ("production.hcl".into(), production.into()),
        ])
        .unwrap();
        let shared_body: hcl::Body = hcl::from_str(&shared).unwrap();
        let api = shared_body
            .blocks()
            .find(|b| b.identifier() == "service")
            .unwrap();
        let attrs: Vec<&str> = api.body().attributes().map(|a| a.key()).collect();
        assert_eq!(attrs, ["image"], "{shared}");
        assert!(shared.contains("region"), "{shared}");
        assert!(!shared.contains("account_id"), "{shared}");
        assert!(!shared.contains("web"), "{shared}");
        let hc = api
            .body()
            .blocks()
            .find(|b| b.identifier() == "health_check")
            .unwrap();
        assert_eq!(
            hc.body().attributes().map(|a| a.key()).collect::<Vec<_>>(),
            ["command"]
        );
        let staging_after = &rest[0].1;
        assert!(
            staging_after.contains("interval = \"10s\""),
            "{staging_after}"
        );
        assert!(staging_after.contains("port_mapping"), "{staging_after}");
        assert!(staging_after.contains("service \"web\""), "{staging_after}");
        assert!(!staging_after.contains("region"), "{staging_after}");
    }

    #[test]
    fn nothing_to_share_without_a_common_service() {
        let a = "account_id = \"1\"\nregion = \"x\"\nservice \"a\" {\n  cpu = 1\n}\n";
        let b = "account_id = \"2\"\nregion = \"x\"\nservice \"b\" {\n  cpu = 1\n}\n";
        assert!(extract(&[("a.hcl".into(), a.into()), ("b.hcl".into(), b.into())]).is_none());
    }
}
