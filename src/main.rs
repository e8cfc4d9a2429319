//! The `azleak` binary: parse arguments, run, map the outcome to an exit code.

use std::io::{self, ErrorKind};
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    limit_malloc_arenas();
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

/// glibc gives each thread that allocates its own heap arena, up to 8 per core; a history
/// scan's workers and walk threads then keep freed memory in many arenas (on git/git about 15
/// MB of peak RSS above two arenas). One arena per core keeps threads from waiting on each
/// other's arena and the memory in fewer heaps. Set before any thread starts.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get()).max(2);
        let cores = libc::c_int::try_from(cores).unwrap_or(libc::c_int::MAX);
        // SAFETY: mallopt only changes a malloc parameter; no other thread exists yet.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, cores);
        }
    }
}
