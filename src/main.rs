//! `slipway`: parse arguments, run one command, exit with a documented code (see `exit.rs`).

use std::process::ExitCode;

use clap::Parser;

use slipway::cli::{Cli, Command, MigrateCommand};
use slipway::commands;
use slipway::exit::Exit;
use slipway::output::Printer;
use slipway::settings::Settings;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Flags, the environment and the checkout, resolved once; no command reads them itself.
    let s = Settings::resolve(&cli);
    let p = Printer::new(s.format, s.color, s.verbose);
    let exit = match &cli.command {
        Command::Validate(args) => commands::validate::run(&s, args, &p),
        Command::Render(args) => runtime().block_on(commands::render::run(&s, args, &p)),
        Command::TfSummary(args) => commands::tf_summary::run(&s, args, &p),
        Command::Diff(args) => runtime().block_on(commands::diff::run(&s, args, &p)),
        Command::Plan(args) => runtime().block_on(commands::plan::run(&s, args, &p)),
        Command::Apply(args) => runtime().block_on(commands::apply::run(&s, args, &p)),
        Command::Comment(args) => runtime().block_on(commands::comment::run(&s, args, &p)),
        Command::Deploy(args) => runtime().block_on(commands::deploy::run(&s, args, &p)),
        Command::Rollback(args) => runtime().block_on(commands::rollback::run(&s, args, &p)),
        Command::Promote(args) => runtime().block_on(commands::promote::run(&s, args, &p)),
        Command::Status(args) => runtime().block_on(commands::status::run(&s, args, &p)),
        Command::Migrate(MigrateCommand::Run(args)) => {
            runtime().block_on(commands::migrate::run(&s, args, &p))
        }
        Command::Unlock(args) => runtime().block_on(commands::unlock::run(&s, args, &p)),
        Command::Changed(args) => commands::changed::run(&s, args, &p),
        Command::LintMigrations(args) => commands::lint_migrations::run(&s, args, &p),
        Command::Version(args) => commands::version::run(&s, args, &p),
        Command::Workflows(args) => commands::workflows::run(&s, args, &p),
        Command::Init(args) => runtime().block_on(commands::init::run(&s, args, &p)),
        Command::Bootstrap(args) => runtime().block_on(commands::bootstrap::run(&s, args, &p)),
    };
    exit.into()
}

/// The async runtime, started only by commands that do I/O beyond local files, so that
/// `slipway --version` and `validate` stay instant.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap_or_else(|e| {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::exit(Exit::Error as i32)
        })
}
