//! ECR lifecycle policies, in the document shape `PutLifecyclePolicy` takes.

use serde_json::{json, Value};

use crate::env::model::Lifecycle;

/// The policy document, or `None` when the repository declares no rule (ECR refuses empty ones).
pub fn policy(l: &Lifecycle) -> Option<Value> {
    let mut rules = Vec::new();
    if let Some(days) = &l.expire_untagged_days {
        rules.push(json!({
            "rulePriority": rules.len() + 1,
            "description": format!("Expire untagged images {} day{} after push", days.v, if days.v == 1 { "" } else { "s" }),
            "selection": {
                "tagStatus": "untagged",
                "countType": "sinceImagePushed",
                "countUnit": "days",
                "countNumber": days.v
            },
            "action": { "type": "expire" }
        }));
    }
    if let Some(keep) = &l.keep_tagged {
        let mut selection = json!({
            "tagStatus": "tagged",
            "countType": "imageCountMoreThan",
            "countNumber": keep.v
        });
        let (key, list, desc): (&str, Vec<String>, String) = if l.tag_prefixes.is_empty() {
            (
                "tagPatternList",
                vec!["*".to_string()],
                format!("Keep the last {} tagged images", keep.v),
            )
        } else {
            let prefixes: Vec<String> = l.tag_prefixes.iter().map(|p| p.v.clone()).collect();
            let desc = format!(
                "Keep the last {} images tagged {}",
                keep.v,
                prefixes
                    .iter()
                    .map(|p| format!("{p}*"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            ("tagPrefixList", prefixes, desc)
        };
        selection[key] = json!(list);
        rules.push(json!({
            "rulePriority": rules.len() + 1,
            "description": desc,
            "selection": selection,
            "action": { "type": "expire" }
        }));
    }
    (!rules.is_empty()).then(|| json!({ "rules": rules }))
}
