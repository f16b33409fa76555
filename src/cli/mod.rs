//! The command line: clap types only. Each subcommand's arguments are turned once
//! into a plain settings value; nothing deeper in the program looks at clap.

mod run_args;
mod sandbox_args;

pub use run_args::RunArgs;
pub use sandbox_args::SandboxArgs;

use clap::{Parser, Subcommand};

/// The version and the git commit it was built from (`unknown` without git), as
/// `--version` prints it: `0.1.0 (commit 1a2b3c4)`.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("ECBULK_GIT_COMMIT"),
    ")"
);

/// Bulk-add emergency contact emails to DigiCert partner subaccounts.
#[derive(Debug, Parser)]
#[command(name = "ecbulk", version = VERSION, about, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read a CSV of API keys and emails, send them, and write a report.
    Run(Box<RunArgs>),
    /// Serve a local stand-in for DigiCert's emergency-emails endpoint.
    Sandbox(SandboxArgs),
    /// Print shell completions for SHELL on stdout (e.g. `ecbulk completions bash >
    /// /etc/bash_completion.d/ecbulk`).
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}
