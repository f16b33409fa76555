//! The program's top: runs the chosen subcommand and turns its result into an
//! [`Exit`]. `main.rs` only parses the command line and calls [`main`].

use crate::cli::{Cli, Command};
use crate::exit::Exit;
use crate::sandbox::Sandbox;
use crate::term;
use std::io::Write;

/// Prints a command-line error (or the help or version text clap produced) and
/// says how to exit: clap's own code for a usage error is 2, which here means "some
/// rows were not added", so usage errors are mapped to [`Exit::Usage`].
pub fn usage_error(error: &clap::Error) -> Exit {
    let _ = error.print();
    match error.kind() {
        clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
            Exit::Success
        }
        _ => Exit::Usage,
    }
}

/// Runs the command line's subcommand.
pub fn main(cli: Cli) -> Exit {
    match cli.command {
        Command::Run(args) => match args.into_settings() {
            Ok(settings) => {
                term::configure(settings.color, settings.quiet);
                crate::run::run(&settings)
            }
            Err(message) => {
                term::print_error(&message);
                Exit::Usage
            }
        },
        Command::Sandbox(args) => match args.into_config() {
            Ok(config) => serve_sandbox(config),
            Err(message) => {
                term::print_error(&message);
                Exit::Usage
            }
        },
        Command::Completions { shell } => print_completions(shell),
    }
}

/// `ecbulk completions SHELL`: the script on stdout, made from the same clap types
/// that parse the command line, so it never lags behind the flags.
fn print_completions(shell: clap_complete::Shell) -> Exit {
    use clap::CommandFactory;
    let mut command = Cli::command();
    let mut stdout = std::io::stdout();
    clap_complete::generate(shell, &mut command, "ecbulk", &mut stdout);
    match stdout.flush() {
        Ok(()) => Exit::Success,
        Err(error) => {
            term::print_error(&format!("cannot print the completions: {error}"));
            Exit::Usage
        }
    }
}

/// `ecbulk sandbox`: prints the base URL as the first line of stdout and what the
/// sandbox plays on stderr, then serves until SIGINT or SIGTERM.
fn serve_sandbox(config: crate::sandbox::SandboxConfig) -> Exit {
    // Watch for signals before the URL is out: a caller may stop the sandbox as soon
    // as it has read the URL, and must not meet the default action of the signal.
    let mut signals = match signal_hook::iterator::Signals::new([
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
    ]) {
        Ok(signals) => signals,
        Err(error) => {
            term::print_error(&format!("cannot watch for signals: {error}"));
            return Exit::Usage;
        }
    };
    let described = config.describe();
    let sandbox = match Sandbox::start(config) {
        Ok(sandbox) => sandbox,
        Err(error) => {
            term::print_error(&format!("cannot start the sandbox: {error}"));
            return Exit::Usage;
        }
    };

    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "{}", sandbox.base_url());
    let _ = stdout.flush();
    eprintln!("ecbulk: {described}");

    let _ = signals.forever().next();
    sandbox.shutdown();
    Exit::Success
}
