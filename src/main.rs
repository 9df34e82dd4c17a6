//! `btc`: the command line without code generation (no LLVM); see src/codegen.rs.

fn main() {
    btc_cli::main(None)
}
