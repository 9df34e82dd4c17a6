//! `btc-codegen`: the whole command line, code generation (LLVM) included. `btc` executes it
//! for the commands that compile a script to code; see src/codegen.rs.

fn main() {
    btc_cli::main(Some(btc_codegen::compile))
}

/// Stand-ins for llvm-sys's C wrappers that initialise every target LLVM was built with.
///
/// inkwell's `Target::initialize_all` and `initialize_native` call them, and that code sits in
/// an object the linker includes for the BPF functions btc does use. Resolving those references
/// to llvm-sys's wrappers would bring in every backend of Debian's LLVM (AArch64, AMDGPU,
/// Hexagon, X86, ...): the linker drops their code, but not their static initialisers, which
/// register thousands of command-line options at every start (about 1 ms). Defined here, in
/// the binary itself, the wrappers are never looked for. btc only ever initialises the BPF
/// target; these are never called.
mod all_targets {
    fn unused(name: &str) -> ! {
        eprintln!("btc-codegen: {name} is not available (only the BPF target is linked)");
        std::process::abort()
    }

    macro_rules! stand_ins {
        ($($name:ident),*) => {$(
            #[no_mangle]
            pub extern "C" fn $name() {
                unused(stringify!($name))
            }
        )*};
    }

    stand_ins!(
        LLVM_InitializeAllAsmParsers,
        LLVM_InitializeAllAsmPrinters,
        LLVM_InitializeAllDisassemblers,
        LLVM_InitializeAllTargetInfos,
        LLVM_InitializeAllTargetMCs,
        LLVM_InitializeAllTargets,
        LLVM_InitializeNativeAsmParser,
        LLVM_InitializeNativeAsmPrinter,
        LLVM_InitializeNativeDisassembler,
        LLVM_InitializeNativeTarget
    );
}
