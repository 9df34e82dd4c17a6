//! `btc-codegen`: the whole command line, code generation (LLVM) included. `btc` executes it
//! for the commands that compile a script to code; see src/codegen.rs.

fn main() {
    btc_cli::main(Some(btc_codegen::compile))
}
