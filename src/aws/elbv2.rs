//! ELBv2 adapter: target groups and listener rules.

use aws_sdk_elasticloadbalancingv2::Client;

use super::AwsError;

const SERVICE: &str = "elasticloadbalancing";

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct TargetGroup {
    pub arn: String,
    pub name: String,
    pub port: Option<i32>,
    pub health_check_path: Option<String>,
    /// The HTTP codes the health check accepts (`200-399`).
    pub matcher: Option<String>,
    pub load_balancers: Vec<String>,
}

/// DescribeTargetGroups for one ARN: `Ok(None)` when it does not exist.
pub async fn target_group(client: &Client, arn: &str) -> Result<Option<TargetGroup>, AwsError> {
    match client
        .describe_target_groups()
        .target_group_arns(arn)
        .send()
        .await
    {
        Ok(out) => Ok(out.target_groups().first().map(|g| TargetGroup {
            arn: g.target_group_arn().unwrap_or_default().to_string(),
            name: g.target_group_name().unwrap_or_default().to_string(),
            port: g.port(),
            health_check_path: g.health_check_path().map(str::to_string),
            matcher: g.matcher().and_then(|m| m.http_code()).map(str::to_string),
            load_balancers: g.load_balancer_arns().to_vec(),
        })),
        Err(e) => {
            let err = AwsError::from_sdk(SERVICE, "DescribeTargetGroups", e);
            if err.is_code("TargetGroupNotFound") {
                Ok(None)
            } else {
                Err(err)
            }
        }
    }
}

/// A listener rule that forwards to a target group.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Rule {
    pub arn: String,
    pub priority: String,
    pub path_patterns: Vec<String>,
    pub hosts: Vec<String>,
    pub target_groups: Vec<String>,
}

/// The rules of one listener (DescribeRules, all pages, bounded).
pub async fn rules(client: &Client, listener_arn: &str) -> Result<Vec<Rule>, AwsError> {
    let mut out = Vec::new();
    let mut marker = None;
    for _ in 0..20 {
        let resp = client
            .describe_rules()
            .listener_arn(listener_arn)
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(SERVICE, "DescribeRules", e))?;
        for r in resp.rules() {
            let mut rule = Rule {
                arn: r.rule_arn().unwrap_or_default().to_string(),
                priority: r.priority().unwrap_or_default().to_string(),
                path_patterns: Vec::new(),
                hosts: Vec::new(),
                target_groups: r
                    .actions()
                    .iter()
                    .filter_map(|a| a.target_group_arn().map(str::to_string))
                    .collect(),
            };
            // A condition's values are in `Values` (the old form) or in its field's config.
            for c in r.conditions() {
                match c.field() {
                    Some("path-pattern") => {
                        rule.path_patterns.extend(c.values().iter().cloned());
                        if let Some(p) = c.path_pattern_config() {
                            rule.path_patterns.extend(p.values().iter().cloned());
                        }
                    }
                    Some("host-header") => {
                        rule.hosts.extend(c.values().iter().cloned());
                        if let Some(h) = c.host_header_config() {
                            rule.hosts.extend(h.values().iter().cloned());
                        }
                    }
                    _ => {}
                }
            }
            rule.path_patterns.dedup();
            rule.hosts.dedup();
            // Forward actions name their target group directly or in a forward config.
            for a in r.actions() {
                if let Some(fc) = a.forward_config() {
                    for t in fc.target_groups() {
                        if let Some(arn) = t.target_group_arn() {
                            if !rule.target_groups.iter().any(|x| x == arn) {
                                rule.target_groups.push(arn.to_string());
                            }
                        }
                    }
                }
            }
            out.push(rule);
        }
        marker = resp.next_marker().map(str::to_string);
        if marker.is_none() {
            break;
        }
    }
    Ok(out)
}

/// The listeners of one load balancer (DescribeListeners, all pages, bounded).
pub async fn listeners(client: &Client, load_balancer_arn: &str) -> Result<Vec<String>, AwsError> {
    let mut out = Vec::new();
    let mut marker = None;
    for _ in 0..20 {
        let resp = client
            .describe_listeners()
            .load_balancer_arn(load_balancer_arn)
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(SERVICE, "DescribeListeners", e))?;
        out.extend(
            resp.listeners()
                .iter()
                .filter_map(|l| l.listener_arn().map(str::to_string)),
        );
        marker = resp.next_marker().map(str::to_string);
        if marker.is_none() {
            break;
        }
    }
    Ok(out)
}
