//! btc-codegen: code generation. A script checked by btc-compiler's front end in; a BPF ELF
//! object (or LLVM IR, assembly) out, through inkwell and LLVM's BPF backend.
//!
//! It is a crate of its own so that only the binary that generates code links LLVM
//! (`btc-codegen`, see src/bin/): LLVM's static initialisers cost milliseconds at every start.
//!
//! The modules themselves are `compiler/src/codegen/` (`crate::codegen`), written as part of
//! the compiler: the front end's modules are re-exported here under the same paths, so
//! `crate::sema`, `crate::types`, `crate::ast` mean the same in them as in the front end.

pub use btc_compiler::*;

#[path = "../../compiler/src/codegen/mod.rs"]
pub mod codegen;

/// Compiles a script to an object, LLVM IR or assembly.
pub fn compile(
    source: &str,
    types: &dyn TypeSource,
    opts: &CompileOptions,
    emit: Emit,
) -> Result<(Vec<u8>, Diagnostics), CompileError> {
    let checked = check(source, types, opts)?;
    let cg = codegen::CodegenOptions {
        file: opts.file_name.clone(),
        max_map_keys: checked.settings.max_map_keys.unwrap_or(opts.max_map_keys),
        runtime_config: checked.settings.runtime.clone(),
        source: checked.source.clone(),
        strlen: checked.settings.strlen_bytes(opts.strlen),
        script: btc_bpfprog::SourceInfo { name: opts.file_name.clone(), sha256: sha256_hex(source.as_bytes()) },
        requires: checked.requires.clone(),
        portable: sema::portable::collect(&checked.program, &checked.analysis, &checked.consts, types),
        license: checked.settings.license.clone(),
    };
    let out = codegen::generate(&checked.program, &checked.analysis, &cg, emit).map_err(CompileError::Internal)?;
    Ok((out, checked.warnings))
}

/// SHA-256 of `bytes` in lower-case hex, as `sha256sum` prints it.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn sha256_matches_sha256sum() {
        assert_eq!(super::sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
