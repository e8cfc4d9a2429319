//! The `azleak` binary: parse arguments, run, map the outcome to an exit code.

use std::io::{self, ErrorKind};
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = azleak::cli::args::Cli::parse();
    let (mut stdout, mut stderr) = (io::stdout().lock(), io::stderr());
    let mut io = azleak::cli::Io {
        stdout: &mut stdout,
        stderr: &mut stderr,
        stdout_is_terminal: azleak::cli::stdout_is_terminal(),
    };
    match azleak::cli::run(cli, &mut io) {
        Ok(outcome) => ExitCode::from(outcome.exit_code()),
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            #[allow(clippy::print_stderr)]
            {
                eprintln!("azleak: error: {}", azleak::cli::error_message(&err));
            }
            ExitCode::from(2)
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain()
        .any(|e| e.downcast_ref::<io::Error>().is_some_and(|e| e.kind() == ErrorKind::BrokenPipe))
}
