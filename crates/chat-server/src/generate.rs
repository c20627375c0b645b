//! `--generate man|bash|zsh|fish` (hidden): the man page (clap_mangen) and
//! the shell completions (clap_complete), made from the same clap
//! definition as `--help`, so they never drift from the flags.
//! `cargo xtask dist` runs it on the release binary. chat-client compiles
//! this same file (`#[path]` in its `main.rs`), so both binaries make them
//! alike without a crate of their own for thirty lines.

use std::io::{self, Write};

use clap::ValueEnum;
use clap_complete::Shell;

/// What `--generate` writes on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Generate {
    /// The man page, in roff (`man -l` reads it).
    Man,
    Bash,
    Zsh,
    Fish,
}

/// Writes `what` for `command` to `out`.
pub fn write(mut command: clap::Command, what: Generate, out: &mut dyn Write) -> io::Result<()> {
    let shell = match what {
        Generate::Man => return clap_mangen::Man::new(command).render(out),
        Generate::Bash => Shell::Bash,
        Generate::Zsh => Shell::Zsh,
        Generate::Fish => Shell::Fish,
    };
    let name = command.get_name().to_owned();
    clap_complete::generate(shell, &mut command, name, out);
    Ok(())
}
