//! `slipway`: parse arguments, run one command, exit with a documented code (see `exit.rs`).

use std::process::ExitCode;

use clap::Parser;

use slipway::cli::{Cli, Command, MigrateCommand};
use slipway::commands;
use slipway::exit::Exit;
use slipway::output::Printer;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let printer = Printer::new(cli.format, cli.no_color, cli.verbose);
    let exit = match &cli.command {
        Command::Validate(args) => commands::validate::run(&cli.envs_dir, args, &printer),
        Command::Render(args) => {
            runtime().block_on(commands::render::run(&cli.envs_dir, args, &printer))
        }
        Command::TfSummary(args) => commands::tf_summary::run(args, &printer),
        Command::Diff(args) => {
            runtime().block_on(commands::diff::run(&cli.envs_dir, args, &printer))
        }
        Command::Plan(args) => {
            runtime().block_on(commands::plan::run(&cli.envs_dir, args, &printer))
        }
        Command::Comment(args) => runtime().block_on(commands::comment::run(args, &printer)),
        Command::Deploy(args) => {
            runtime().block_on(commands::deploy::run(&cli.envs_dir, args, &printer))
        }
        Command::Rollback(args) => {
            runtime().block_on(commands::rollback::run(&cli.envs_dir, args, &printer))
        }
        Command::Promote(args) => {
            runtime().block_on(commands::promote::run(&cli.envs_dir, args, &printer))
        }
        Command::Status(args) => {
            runtime().block_on(commands::status::run(&cli.envs_dir, args, &printer))
        }
        Command::Migrate(MigrateCommand::Run(args)) => {
            runtime().block_on(commands::migrate::run(&cli.envs_dir, args, &printer))
        }
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
