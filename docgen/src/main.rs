//! `btc-docgen DIR`: writes btc's manual pages (`DIR/man/man1/btc.1`, `btc-run.1`, ...) and
//! shell completions (`DIR/completions/btc.bash`, `_btc` for zsh, `btc.fish`) from the command
//! line's definition (`btc_cli::command`). `make install` runs it; it is not installed, and
//! `btc` itself carries none of it.

use clap_complete::Shell;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn write_all(out: &Path) -> Result<(), String> {
    let err = |what: &Path, e: std::io::Error| format!("can't write {}: {e}", what.display());
    let man = out.join("man/man1");
    std::fs::create_dir_all(&man).map_err(|e| err(&man, e))?;
    clap_mangen::generate_to(btc_cli::command(), &man).map_err(|e| err(&man, e))?;
    let completions = out.join("completions");
    std::fs::create_dir_all(&completions).map_err(|e| err(&completions, e))?;
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        clap_complete::generate_to(shell, &mut btc_cli::command(), "btc", &completions)
            .map_err(|e| err(&completions, e))?;
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir] = args.as_slice() else {
        eprintln!("usage: btc-docgen DIR (writes DIR/man/man1/*.1 and DIR/completions/*)");
        return ExitCode::from(2);
    };
    match write_all(&PathBuf::from(dir)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("btc-docgen: {e}");
            ExitCode::FAILURE
        }
    }
}
