use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match ecbulk::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return ExitCode::from(ecbulk::app::usage_error(&error).code()),
    };
    ExitCode::from(ecbulk::app::main(cli).code())
}
