use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = ecbulk::cli::Cli::parse();
    ExitCode::from(ecbulk::app::main(cli).code())
}
