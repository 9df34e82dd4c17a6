//! Links `btc-codegen` as a position-dependent executable. It carries LLVM, whose position-
//! independent build needs ~110,000 relative relocations at every start (about a millisecond of
//! `btc run -e`); at a fixed address the linker resolves them once. `btc` itself, much smaller,
//! stays position-independent.
fn main() {
    println!("cargo:rustc-link-arg-bin=btc-codegen=-no-pie");
    println!("cargo:rerun-if-changed=build.rs");
}
