//! Command-line types only: parsing, no I/O. Commands resolve these into work in `commands/`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(
    name = "slipway",
    version,
    about = "From pull request to a running service on AWS ECS Fargate, with Terraform owning the infrastructure",
    after_help = "Exit codes: 0 ok · 1 error or invalid input · 2 changes pending (--detailed-exitcode) · 3 refused by a gate · 4 deploy failed and rolled back · 5 deploy and rollback failed"
)]
pub struct Cli {
    /// Directory holding the environment files (<name>.hcl, and _shared.hcl for what all share)
    #[arg(long, global = true, default_value = "envs", env = "SLIPWAY_ENVS_DIR")]
    pub envs_dir: PathBuf,

    /// Output format
    #[arg(long, global = true, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// Never colour output (NO_COLOR is honoured too)
    #[arg(long, global = true)]
    pub no_color: bool,

    /// More detail (repeat for more)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Check environment files and report every problem with its location
    Validate(ValidateArgs),
    /// Render tfvars, task definitions, service settings and policies for one environment
    Render(RenderArgs),
    /// Summarise a Terraform plan: counts, deletes and replacements, drift, outputs
    TfSummary(TfSummaryArgs),
    /// Compare what a deploy would run with what runs in ECS now (never changes anything)
    Diff(DiffArgs),
    /// Plan an environment: Terraform plan + ECS diff, written to a plan file with a fingerprint
    Plan(PlanArgs),
    /// Apply a reviewed plan behind its gates: Terraform apply, then the rollout it recorded
    Apply(ApplyArgs),
    /// Post the plan as a pull request comment, updated in place on every run
    Comment(CommentArgs),
    /// Roll out an image tag: verify, migrate, register, update, wait, smoke; roll back on failure
    Deploy(DeployArgs),
    /// Put services back on a known-good revision (default: the last one marked healthy)
    Rollback(RollbackArgs),
    /// Re-tag an environment's tested image for another environment (no rebuild) and deploy it
    Promote(PromoteArgs),
    /// Which version runs where: image tag, commit, revision, tasks, rollout state
    Status(StatusArgs),
    /// Database migrations as one-off ECS tasks
    #[command(subcommand)]
    Migrate(MigrateCommand),
    /// Force-release an environment's lock (say why); prints whose lock it was
    Unlock(UnlockArgs),
    /// The services a change since REF touches, per environment (a job matrix with --format json)
    Changed(ChangedArgs),
    /// The version the git tags give HEAD: 1.4.2, or 1.4.2+3.gabc1234 three commits later
    Version(VersionArgs),
    /// Write the GitHub Actions workflows the environment files imply (plan, apply, deploy, ...)
    Workflows(WorkflowsArgs),
    /// Write an environment file: adopt what runs in a cluster (--from-cluster), or a new one
    Init(InitArgs),
    /// Lint SQL migrations (the files changed since --base, or those given) with squawk's rules
    LintMigrations(LintMigrationsArgs),
    /// Take a never-applied environment to applied: Terraform init/plan/apply behind the gates,
    /// OIDC roles checked, and what GitHub still needs (--backend: the state bucket first)
    Bootstrap(BootstrapArgs),
}

#[derive(Args, Debug)]
pub struct BootstrapArgs {
    /// Environment to bootstrap
    #[arg(long, value_name = "NAME")]
    pub env: String,

    /// First create the Terraform state bucket (terraform/bootstrap, local state) and write
    /// <terraform-dir>/<env>.s3.tfbackend
    #[arg(long)]
    pub backend: bool,

    /// The root that creates the state bucket
    #[arg(long, value_name = "DIR", default_value = "terraform/bootstrap")]
    pub backend_dir: PathBuf,

    /// The state bucket to create (default: the environment's deploy.lock_bucket)
    #[arg(long, value_name = "NAME")]
    pub state_bucket: Option<String>,

    /// Also create this DynamoDB lock table (not needed: Terraform 1.10+ locks the state in S3)
    #[arg(long, value_name = "NAME")]
    pub lock_table: Option<String>,

    /// Overwrite a tfbackend file that says something else
    #[arg(long)]
    pub force: bool,

    #[command(flatten)]
    pub root: TerraformRoot,

    /// Passed to `terraform init` (repeatable); default: <env>.s3.tfbackend when it exists and
    /// the root's backend is s3
    #[arg(long = "backend-config", value_name = "CONFIG")]
    pub backend_config: Vec<String>,

    #[command(flatten)]
    pub gate: GateArgs,

    #[command(flatten)]
    pub lock: LockArgs,

    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(Args, Debug)]
pub struct InitArgs {
    /// The environment to write (<envs-dir>/<NAME>.hcl)
    #[arg(long, value_name = "NAME")]
    pub env: String,

    /// Adopt the services that run in this ECS cluster, under the names they have
    #[arg(long, value_name = "CLUSTER")]
    pub from_cluster: Option<String>,

    /// AWS region (default: the AWS configuration's)
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,

    /// With --from-cluster: only this ECS service (repeatable). Without: a service of the new
    /// environment, NAME or NAME:PORT (repeatable)
    #[arg(long = "service", value_name = "NAME[:PORT]")]
    pub services: Vec<String>,

    /// A new environment's AWS account id
    #[arg(long, value_name = "ID")]
    pub account: Option<String>,

    /// A new environment's ECS cluster name (default: <NAME>)
    #[arg(long, value_name = "NAME")]
    pub cluster: Option<String>,

    /// The GitHub repository (owner/name) whose workflows deploy a new environment
    #[arg(long, value_name = "OWNER/NAME")]
    pub github_repo: Option<String>,

    /// Never ask: values not given as flags are errors (the default when stdin is not a terminal)
    #[arg(long)]
    pub no_input: bool,

    /// Overwrite files that exist
    #[arg(long)]
    pub force: bool,

    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(Args, Debug)]
pub struct WorkflowsArgs {
    /// Where the workflows go
    #[arg(long, value_name = "DIR", default_value = ".github/workflows")]
    pub out: PathBuf,

    /// Write nothing: exit 1 when the files in --out differ from what would be generated
    #[arg(long)]
    pub check: bool,

    /// The Terraform root the workflows run slipway with
    #[arg(long, value_name = "DIR", default_value = "terraform")]
    pub terraform_dir: PathBuf,
}

#[derive(Args, Debug)]
pub struct ChangedArgs {
    /// Compare with this commit, branch or tag (its merge base with HEAD, as a pull request)
    #[arg(long, value_name = "REF")]
    pub base: String,

    /// Only these environments (repeatable); all by default
    #[arg(long = "env", value_name = "NAME")]
    pub envs: Vec<String>,
}

#[derive(Args, Debug)]
pub struct VersionArgs {
    /// Use this environment's deploy.tag_prefix (default: tags named v<semver>)
    #[arg(long, value_name = "NAME")]
    pub env: Option<String>,
}

fn fingerprint(s: &str) -> Result<String, String> {
    crate::gate::fingerprint::parse_fingerprint(s)
}

/// What the approval gate checks besides the run's own facts (event, actor).
#[derive(Args, Debug, Clone, Default)]
pub struct GateArgs {
    /// The environment's confirmation word (approval.confirmation)
    #[arg(long, value_name = "WORD")]
    pub confirm: Option<String>,

    /// The pull request whose reviews count (approval.pull_request_approved); in Actions, the
    /// event's pull request by default
    #[arg(long, value_name = "NUMBER")]
    pub pr: Option<u64>,
}

/// The migration gate (`migration` blocks): which files count, and the override outside a PR.
#[derive(Args, Debug, Clone, Default)]
pub struct MigrationArgs {
    /// Lint the migration files changed since REF (default: since the commit each service's live
    /// revision was deployed from; every file for a service slipway never deployed)
    #[arg(long, value_name = "REF")]
    pub migrations_base: Option<String>,

    /// Run migrations with blocking findings anyway, outside a pull request (needs --confirm
    /// with the environment's confirmation word)
    #[arg(long)]
    pub allow_destructive_migration: bool,
}

#[derive(Args, Debug)]
pub struct LintMigrationsArgs {
    /// Use this environment's `sql` globs, rule severities and block_on (default: every
    /// environment's globs; the default rules when files are given)
    #[arg(long, value_name = "NAME")]
    pub env: Option<String>,

    /// Lint only the files changed since REF (its merge base with HEAD, as a pull request)
    #[arg(long, value_name = "REF", conflicts_with = "files")]
    pub base: Option<String>,

    /// Lint these files instead of the environments' globs
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

/// The environment's lock (deploy.lock_bucket).
#[derive(Args, Debug, Clone)]
pub struct LockArgs {
    /// How long the lock is held without a renewal; a heartbeat renews it every third of this
    #[arg(long, value_name = "DUR", value_parser = duration, default_value = "5m", env = "SLIPWAY_LOCK_LEASE")]
    pub lock_lease: std::time::Duration,

    /// Wait up to this long for a lock someone else holds (default: refuse at once)
    #[arg(long, value_name = "DUR", value_parser = duration, default_value = "0s", env = "SLIPWAY_LOCK_TIMEOUT")]
    pub lock_timeout: std::time::Duration,
}

#[derive(Args, Debug)]
pub struct ApplyArgs {
    /// Environment (must be the plan's)
    #[arg(long, value_name = "NAME")]
    pub env: String,

    /// The plan file `slipway plan` wrote (the saved Terraform plan beside it)
    #[arg(long, value_name = "FILE")]
    pub plan: std::path::PathBuf,

    /// The fingerprint reviewers saw (the PR comment shows its first 12 digits; that is enough)
    #[arg(long, value_name = "HEX", value_parser = fingerprint)]
    pub fingerprint: Option<String>,

    #[command(flatten)]
    pub gate: GateArgs,

    /// Apply a plan whose migrations have blocking findings, outside a pull request (needs
    /// --confirm with the environment's confirmation word)
    #[arg(long)]
    pub allow_destructive_migration: bool,

    /// `-backend-config` for `terraform init` (repeatable: a file or key=value)
    #[arg(long, value_name = "CONFIG")]
    pub backend_config: Vec<String>,

    #[command(flatten)]
    pub rollout: RolloutOpts,

    #[command(flatten)]
    pub tf: TfOutputsArgs,

    #[command(flatten)]
    pub aws: AwsArgs,

    #[command(flatten)]
    pub lock: LockArgs,
}

#[derive(Args, Debug)]
pub struct UnlockArgs {
    /// Environment whose lock to release
    #[arg(long, value_name = "NAME")]
    pub env: String,

    /// Why (printed with whose lock it was, for the log)
    #[arg(long, value_name = "TEXT")]
    pub reason: String,

    #[command(flatten)]
    pub aws: AwsArgs,
}

fn duration(s: &str) -> Result<std::time::Duration, String> {
    crate::env::decode::parse_duration(s)
        .ok_or_else(|| format!("`{s}` is not a duration (e.g. 90s, 10m, 1h30m)"))
}

/// Which services a rollout touches and how it behaves; shared by deploy and promote.
#[derive(Args, Debug, Clone)]
pub struct RolloutArgs {
    /// Only these services (repeatable); all by default
    #[arg(
        long = "service",
        value_name = "NAME",
        conflicts_with = "changed_since"
    )]
    pub services: Vec<String>,

    /// Only the services and sites changed since REF (`slipway changed`); none changed: nothing to do
    #[arg(long, value_name = "REF")]
    pub changed_since: Option<String>,

    #[command(flatten)]
    pub opts: RolloutOpts,
}

/// How a rollout behaves once it starts; shared by deploy, promote and apply.
#[derive(Args, Debug, Clone)]
pub struct RolloutOpts {
    /// Per-service deadline for settling (default: each service's deployment.timeout)
    #[arg(long, value_name = "DUR", value_parser = duration)]
    pub timeout: Option<std::time::Duration>,

    /// On failure, leave the services as they are instead of rolling back
    #[arg(long)]
    pub no_rollback: bool,

    /// Run the smoke checks against this base URL (default: the environment's smoke_base_url)
    #[arg(long, value_name = "URL")]
    pub smoke_base_url: Option<String>,

    /// Blue/green, canary, linear: run the smoke checks against this base URL (the test
    /// listener) while ECS holds the deployment after the test traffic shift; default: the
    /// smoke base URL on the alb's test_listener_port
    #[arg(long, value_name = "URL")]
    pub smoke_test_base_url: Option<String>,

    /// Skip the smoke checks
    #[arg(long)]
    pub no_smoke: bool,

    /// Overall deadline for the smoke checks
    #[arg(long, value_name = "DUR", value_parser = duration, default_value = "5m")]
    pub smoke_timeout: std::time::Duration,
}

#[derive(Args, Debug)]
pub struct DeployArgs {
    /// Environment to deploy
    #[arg(long, value_name = "NAME")]
    pub env: String,

    /// Image tag to deploy (it must exist in ECR)
    #[arg(long, value_name = "TAG")]
    pub image_tag: String,

    #[command(flatten)]
    pub rollout: RolloutArgs,

    #[command(flatten)]
    pub gate: GateArgs,

    #[command(flatten)]
    pub migrations: MigrationArgs,

    #[command(flatten)]
    pub tf: TfOutputsArgs,

    #[command(flatten)]
    pub aws: AwsArgs,

    #[command(flatten)]
    pub lock: LockArgs,
}

#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("target").args(["to", "to_release"])))]
pub struct RollbackArgs {
    /// Environment
    #[arg(long, value_name = "NAME")]
    pub env: String,

    /// Only these services (repeatable); all by default
    #[arg(long = "service", value_name = "NAME")]
    pub services: Vec<String>,

    /// A revision number of each service's family
    #[arg(long, value_name = "REVISION")]
    pub to: Option<i32>,

    /// The revision that was deployed with this image tag
    #[arg(long, value_name = "TAG")]
    pub to_release: Option<String>,

    /// Per-service deadline for settling
    #[arg(long, value_name = "DUR", value_parser = duration)]
    pub timeout: Option<std::time::Duration>,

    #[command(flatten)]
    pub aws: AwsArgs,

    #[command(flatten)]
    pub lock: LockArgs,
}

#[derive(Args, Debug)]
pub struct PromoteArgs {
    /// The environment where the image was tested
    #[arg(long, value_name = "ENV")]
    pub from: String,

    /// The environment to promote to
    #[arg(long, value_name = "ENV")]
    pub to: String,

    /// The tag to promote
    #[arg(long, value_name = "TAG")]
    pub image_tag: String,

    /// Tag the promoted image with this tag in the target (default: the same tag)
    #[arg(long = "as", value_name = "TAG")]
    pub as_tag: Option<String>,

    /// Terraform outputs of the source environment (default: its workspace's state)
    #[arg(long, value_name = "FILE")]
    pub from_tf_outputs: Option<PathBuf>,

    #[command(flatten)]
    pub rollout: RolloutArgs,

    #[command(flatten)]
    pub gate: GateArgs,

    #[command(flatten)]
    pub migrations: MigrationArgs,

    /// Terraform outputs of the target environment
    #[command(flatten)]
    pub tf: TfOutputsArgs,

    #[command(flatten)]
    pub aws: AwsArgs,

    #[command(flatten)]
    pub lock: LockArgs,
}

#[derive(Args, Debug)]
pub struct StatusArgs {
    /// Environments (repeatable); all by default
    #[arg(long = "env", value_name = "NAME")]
    pub envs: Vec<String>,

    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(Subcommand, Debug)]
pub enum MigrateCommand {
    /// Run the environment's migrations now (the deploy's migrate step alone)
    Run(MigrateArgs),
}

#[derive(Args, Debug)]
pub struct MigrateArgs {
    /// Environment
    #[arg(long, value_name = "NAME")]
    pub env: String,

    /// Image tag whose task definition runs the migration (default: the live one)
    #[arg(long, value_name = "TAG")]
    pub image_tag: Option<String>,

    #[command(flatten)]
    pub gate: GateArgs,

    #[command(flatten)]
    pub migrations: MigrationArgs,

    #[command(flatten)]
    pub tf: TfOutputsArgs,

    #[command(flatten)]
    pub aws: AwsArgs,

    #[command(flatten)]
    pub lock: LockArgs,
}

/// How slipway reaches AWS (credentials come from the usual chain: env, profile, SSO, OIDC web
/// identity; `AWS_ENDPOINT_URL` selects another endpoint, e.g. an emulator).
#[derive(Args, Debug, Clone)]
pub struct AwsArgs {
    /// AWS profile (default: AWS_PROFILE, then the default chain)
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,

    /// Deadline for one AWS call, retries included
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 30,
        env = "SLIPWAY_AWS_TIMEOUT"
    )]
    pub aws_timeout: u64,
}

#[derive(Args, Debug)]
pub struct DiffArgs {
    /// Environment to compare
    #[arg(long, value_name = "NAME")]
    pub env: String,

    /// Image tag a deploy would use; without it each service keeps the image it runs
    #[arg(long, value_name = "TAG")]
    pub image_tag: Option<String>,

    /// Only these services (repeatable)
    #[arg(long = "service", value_name = "NAME")]
    pub services: Vec<String>,

    #[command(flatten)]
    pub tf: TfOutputsArgs,

    #[command(flatten)]
    pub aws: AwsArgs,

    /// Exit 2 when there are changes, 0 when there are none
    #[arg(long)]
    pub detailed_exitcode: bool,
}

#[derive(Args, Debug)]
pub struct PlanArgs {
    /// Environment to plan
    #[arg(long, value_name = "NAME")]
    pub env: String,

    /// Image tag the plan deploys; without it each service keeps the image it runs
    #[arg(long, value_name = "TAG")]
    pub image_tag: Option<String>,

    /// The plan file to write (the Terraform plan is saved beside it)
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// Plan the ECS half only (Terraform outputs still come from --tf-outputs or state)
    #[arg(long)]
    pub no_terraform: bool,

    /// The ECS half and the sites cover only what changed since REF (`slipway changed`)
    #[arg(long, value_name = "REF")]
    pub changed_since: Option<String>,

    /// Lint the migration files changed since REF (default: since the commit each service's live
    /// revision was deployed from)
    #[arg(long, value_name = "REF")]
    pub migrations_base: Option<String>,

    /// `-backend-config` for `terraform init` (repeatable: a file or key=value)
    #[arg(long, value_name = "CONFIG")]
    pub backend_config: Vec<String>,

    #[command(flatten)]
    pub tf: TfOutputsArgs,

    #[command(flatten)]
    pub aws: AwsArgs,

    /// Exit 2 when there are changes, 0 when there are none
    #[arg(long)]
    pub detailed_exitcode: bool,

    /// Also post the plan as the pull request comment (see `slipway comment`)
    #[arg(long)]
    pub comment: bool,

    #[command(flatten)]
    pub github: GitHubArgs,
}

/// Where the comment goes; defaults come from the GitHub Actions environment.
#[derive(Args, Debug, Clone)]
pub struct GitHubArgs {
    /// Pull request number (default: from GITHUB_EVENT_PATH)
    #[arg(long, value_name = "NUMBER")]
    pub pr: Option<u64>,

    /// owner/name (default: GITHUB_REPOSITORY)
    #[arg(long, value_name = "OWNER/NAME")]
    pub repository: Option<String>,

    /// What the comment tells reviewers to run to apply the plan
    #[arg(long, value_name = "TEXT", env = "SLIPWAY_APPLY_HINT")]
    pub apply_hint: Option<String>,
}

#[derive(Args, Debug)]
pub struct CommentArgs {
    /// A plan file written by `slipway plan`
    #[arg(long, value_name = "FILE")]
    pub plan: PathBuf,

    /// Print the comment instead of posting it
    #[arg(long)]
    pub dry_run: bool,

    #[command(flatten)]
    pub github: GitHubArgs,
}

#[derive(Args, Debug)]
pub struct TfSummaryArgs {
    /// A binary plan file (`terraform plan -out`), or the JSON of `terraform show -json`
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,

    /// Print the Markdown section used in PR comments instead of a table
    #[arg(long)]
    pub markdown: bool,

    /// Where the plan was made (binary plans are read with `terraform show -json` there)
    #[command(flatten)]
    pub root: TerraformRoot,

    /// The workspace the plan belongs to (binary plans only)
    #[arg(long = "env", value_name = "NAME", default_value = "default")]
    pub workspace: String,

    /// Exit 2 when the plan has changes
    #[arg(long)]
    pub detailed_exitcode: bool,
}

#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// Environment to check (repeatable); all when omitted
    #[arg(long = "env", value_name = "NAME")]
    pub envs: Vec<String>,

    /// Treat warnings as errors
    #[arg(long)]
    pub strict: bool,

    /// Also check `tf.*` references against these outputs (`terraform output -json` format)
    #[arg(long, value_name = "FILE")]
    pub tf_outputs: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum Artefact {
    /// Terraform variables (needs no Terraform outputs)
    Tfvars,
    /// ECS task definitions
    TaskDefinitions,
    /// ECS service settings
    Services,
    /// ECR lifecycle policies
    Lifecycle,
    /// IAM trust and permission policies of the OIDC roles
    Iam,
}

#[derive(Args, Debug)]
pub struct RenderArgs {
    /// Environment to render
    #[arg(long, value_name = "NAME")]
    pub env: String,

    /// Image tag to deploy (seeds use the git sha)
    #[arg(long, value_name = "TAG")]
    pub image_tag: Option<String>,

    #[command(flatten)]
    pub tf: TfOutputsArgs,

    /// Write one file per artefact into this directory
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// Render only these artefacts (repeatable); all by default
    #[arg(long, value_enum, value_name = "KIND")]
    pub only: Vec<Artefact>,

    /// Treat warnings as errors
    #[arg(long)]
    pub strict: bool,
}

/// Where Terraform outputs come from; shared by every command that renders.
#[derive(Args, Debug, Clone)]
pub struct TfOutputsArgs {
    /// `terraform output -json` saved to a file; without it slipway runs `terraform output -json`
    #[arg(long, value_name = "FILE")]
    pub tf_outputs: Option<PathBuf>,

    /// The Terraform root whose outputs are read (workspace = environment name)
    #[command(flatten)]
    pub root: TerraformRoot,
}

/// The Terraform root configuration slipway runs Terraform in.
#[derive(Args, Debug, Clone)]
pub struct TerraformRoot {
    /// The Terraform root configuration
    #[arg(
        long,
        value_name = "DIR",
        default_value = "terraform",
        env = "SLIPWAY_TERRAFORM_DIR"
    )]
    pub terraform_dir: PathBuf,
}
