//! Man pages and shell completions made from the same clap definitions as `--help`, so
//! they cannot drift from it (the package build calls `tresen generate-docs`).

use std::path::Path;

use clap_complete::Shell;

use crate::Result;

/// Writes `DIR/man/*.1` (one page per command) and `DIR/completions/` for bash, zsh and
/// fish.
pub fn generate(mut cmd: clap::Command, out: &Path) -> Result<()> {
    let man = out.join("man");
    let completions = out.join("completions");
    for dir in [&man, &completions] {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("could not create {}: {e}", dir.display()))?;
    }
    clap_mangen::generate_to(cmd.clone(), &man)
        .map_err(|e| format!("could not write the man pages to {}: {e}", man.display()))?;
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        clap_complete::generate_to(shell, &mut cmd, "tresen", &completions).map_err(|e| {
            format!(
                "could not write the {shell} completions to {}: {e}",
                completions.display()
            )
        })?;
    }
    Ok(())
}
