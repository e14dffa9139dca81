//! IAM documents for the GitHub OIDC roles: the trust policy that admits exactly the declared
//! workflows, and a least-privilege permission policy per permission set, scoped to this
//! environment's resources by ARN.

use serde::Serialize;
use serde_json::{json, Value};

use crate::env::model::{Environment, Github, OidcRole, Permission};
use crate::naming::{partition, secret_policy_resource};
use crate::render::Names;

pub const OIDC_HOST: &str = "token.actions.githubusercontent.com";

#[derive(Debug, Serialize)]
pub struct RolePolicies {
    pub name: String,
    pub trust_policy: Value,
    pub permission_policy: Value,
    pub managed_policy_arns: Vec<String>,
}

pub fn role(env: &Environment, gh: &Github, role: &OidcRole) -> RolePolicies {
    let account = &env.account_id.v;
    let part = partition(&env.region.v);
    let mut subjects: Vec<String> = role.subjects.iter().map(|s| s.claim.clone()).collect();
    subjects.sort();
    subjects.dedup();
    let op = if subjects.iter().any(|s| s.contains('*') || s.contains('?')) {
        "StringLike"
    } else {
        "StringEquals"
    };
    let mut condition = json!({ "StringEquals": { format!("{OIDC_HOST}:aud"): gh.audience.v } });
    condition[op][format!("{OIDC_HOST}:sub")] = json!(subjects);
    let trust_policy = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": { "Federated": format!("arn:{part}:iam::{account}:oidc-provider/{OIDC_HOST}") },
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": condition
        }]
    });
    let mut perms: Vec<Permission> = role.permissions.iter().map(|p| p.v).collect();
    perms.sort();
    perms.dedup();
    let statements: Vec<Value> = perms
        .iter()
        .flat_map(|p| statements(env, role, *p))
        .collect();
    RolePolicies {
        name: role.name.clone(),
        trust_policy,
        permission_policy: json!({ "Version": "2012-10-17", "Statement": statements }),
        managed_policy_arns: role
            .managed_policy_arns
            .iter()
            .map(|a| a.v.clone())
            .collect(),
    }
}

fn statements(env: &Environment, role: &OidcRole, p: Permission) -> Vec<Value> {
    let account = &env.account_id.v;
    let region = &env.region.v;
    let cluster = &env.cluster.v;
    let part = partition(region);
    let services: Vec<&str> = env.services.iter().map(|s| s.name.v.as_str()).collect();
    match p {
        Permission::EcrPush => {
            let mut repos: Vec<String> = env
                .repositories
                .iter()
                .map(|r| format!("arn:{part}:ecr:{region}:{account}:repository/{}", r.name.v))
                .collect();
            repos.sort();
            vec![
                json!({ "Sid": "EcrAuth", "Effect": "Allow", "Action": ["ecr:GetAuthorizationToken"], "Resource": "*" }),
                json!({
                    "Sid": "EcrPush", "Effect": "Allow",
                    "Action": ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:CompleteLayerUpload", "ecr:DescribeImages", "ecr:GetDownloadUrlForLayer", "ecr:InitiateLayerUpload", "ecr:PutImage", "ecr:UploadLayerPart"],
                    "Resource": repos
                }),
            ]
        }
        Permission::EcsDeploy => {
            let svc_arns: Vec<String> = services
                .iter()
                .map(|s| format!("arn:{part}:ecs:{region}:{account}:service/{cluster}/{s}"))
                .collect();
            let mut pass: Vec<String> = services
                .iter()
                .flat_map(|s| {
                    [
                        Names::execution_role(cluster, s),
                        Names::task_role(cluster, s),
                    ]
                })
                .map(|n| format!("arn:{part}:iam::{account}:role/{n}"))
                .collect();
            pass.sort();
            let mut statements = vec![
                json!({
                    "Sid": "EcsTaskDefinitions", "Effect": "Allow",
                    "Action": ["ecs:DeregisterTaskDefinition", "ecs:DescribeTaskDefinition", "ecs:ListTaskDefinitions", "ecs:RegisterTaskDefinition", "ecs:TagResource", "ecs:ListTagsForResource"],
                    "Resource": "*"
                }),
                json!({
                    "Sid": "EcsServices", "Effect": "Allow",
                    "Action": ["ecs:CreateService", "ecs:DescribeServices", "ecs:UpdateService"],
                    "Resource": svc_arns
                }),
                json!({
                    "Sid": "EcsOneOffTasks", "Effect": "Allow",
                    "Action": ["ecs:DescribeTasks", "ecs:ListTasks", "ecs:RunTask", "ecs:StopTask"],
                    "Resource": "*",
                    "Condition": { "ArnEquals": { "ecs:cluster": format!("arn:{part}:ecs:{region}:{account}:cluster/{cluster}") } }
                }),
                json!({
                    "Sid": "PassTaskRoles", "Effect": "Allow",
                    "Action": ["iam:PassRole"],
                    "Resource": pass.clone(),
                    "Condition": { "StringEquals": { "iam:PassedToService": "ecs-tasks.amazonaws.com" } }
                }),
                json!({
                    "Sid": "DeployChecks", "Effect": "Allow",
                    "Action": ["ecr:BatchGetImage", "ecr:DescribeImages", "ecr:DescribeImageScanFindings", "ecs:DescribeClusters", "ecs:ListServices", "elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetHealth", "elasticloadbalancing:DescribeRules"],
                    "Resource": "*"
                }),
                json!({
                    "Sid": "VerifyTaskRoles", "Effect": "Allow",
                    "Action": ["iam:GetRole"],
                    "Resource": pass
                }),
                json!({
                    "Sid": "VerifySecretsExist", "Effect": "Allow",
                    "Action": ["secretsmanager:DescribeSecret"],
                    "Resource": format!("arn:{part}:secretsmanager:{region}:{account}:secret:*")
                }),
            ];
            if let Some(bucket) = &env.deploy.lock_bucket {
                // The environment's lock: taken, renewed and released with conditional writes.
                statements.push(json!({
                    "Sid": "DeployLock", "Effect": "Allow",
                    "Action": ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
                    "Resource": format!("arn:{part}:s3:::{}/{}", bucket.v, crate::naming::lock_key(&env.name))
                }));
            }
            statements
        }
        Permission::LogsRead => {
            let groups: Vec<String> = services
                .iter()
                .map(|s| {
                    format!(
                        "arn:{part}:logs:{region}:{account}:log-group:{}:*",
                        Names::log_group(cluster, s)
                    )
                })
                .collect();
            vec![json!({
                "Sid": "LogsRead", "Effect": "Allow",
                "Action": ["logs:DescribeLogStreams", "logs:FilterLogEvents", "logs:GetLogEvents"],
                "Resource": groups
            })]
        }
        Permission::SecretsRead => {
            let mut sm = Vec::new();
            let mut ssm = Vec::new();
            for svc in &env.services {
                for (_, v) in svc
                    .secrets
                    .iter()
                    .chain(svc.sidecars.iter().flat_map(|s| s.secrets.iter()))
                {
                    let Ok(arn) = crate::naming::secret_arn(&v.v, region, account) else {
                        continue;
                    };
                    if arn.contains(":secretsmanager:") {
                        sm.push(secret_policy_resource(&arn));
                    } else {
                        ssm.push(arn);
                    }
                }
            }
            sm.sort();
            sm.dedup();
            ssm.sort();
            ssm.dedup();
            let mut out = Vec::new();
            if !sm.is_empty() {
                out.push(json!({ "Sid": "SecretsManagerRead", "Effect": "Allow", "Action": ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"], "Resource": sm }));
            }
            if !ssm.is_empty() {
                out.push(json!({ "Sid": "SsmParametersRead", "Effect": "Allow", "Action": ["ssm:GetParameters"], "Resource": ssm }));
            }
            out
        }
        Permission::StaticSite => {
            let bucket = role.s3_bucket.as_ref().map_or("", |b| b.v.as_str());
            let dist = role
                .cloudfront_distribution_id
                .as_ref()
                .map_or("", |d| d.v.as_str());
            vec![
                json!({ "Sid": "SiteBucketList", "Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": format!("arn:{part}:s3:::{bucket}") }),
                json!({ "Sid": "SiteObjects", "Effect": "Allow", "Action": ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"], "Resource": format!("arn:{part}:s3:::{bucket}/*") }),
                json!({ "Sid": "CloudFrontInvalidate", "Effect": "Allow", "Action": ["cloudfront:CreateInvalidation", "cloudfront:GetInvalidation"], "Resource": format!("arn:{part}:cloudfront::{account}:distribution/{dist}") }),
            ]
        }
        Permission::TerraformApply => {
            let bucket = role
                .terraform_state_bucket
                .as_ref()
                .map_or("", |b| b.v.as_str());
            let mut out = vec![
                json!({ "Sid": "StateList", "Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": format!("arn:{part}:s3:::{bucket}") }),
                json!({ "Sid": "StateObjects", "Effect": "Allow", "Action": ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"], "Resource": format!("arn:{part}:s3:::{bucket}/*") }),
            ];
            if let Some(table) = &role.terraform_lock_table {
                out.push(json!({ "Sid": "StateLock", "Effect": "Allow", "Action": ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem"], "Resource": format!("arn:{part}:dynamodb:{region}:{account}:table/{}", table.v) }));
            }
            out
        }
    }
}
