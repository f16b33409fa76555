//! The command line: clap types only. Each subcommand's arguments are turned once
//! into a plain settings value; nothing deeper in the program looks at clap.

mod run_args;
mod sandbox_args;

pub use run_args::RunArgs;
pub use sandbox_args::SandboxArgs;

use clap::{Parser, Subcommand};

/// Bulk-add emergency contact emails to DigiCert partner subaccounts.
#[derive(Debug, Parser)]
#[command(name = "ecbulk", version, about, propagate_version = true)]
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
}
