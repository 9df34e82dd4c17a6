//! The compiler's view of the running system: tracepoint formats from tracefs, kernel and user
//! symbols, cgroup ids.

use btc_compiler::TypeSource;

/// Types and symbols from the running kernel.
pub struct KernelTypes;

impl TypeSource for KernelTypes {
    fn tracepoint_format(&self, category: &str, name: &str) -> Result<String, String> {
        btc_runtime::tracefs::tracepoint_format(category, name).map_err(|e| e.to_string())
    }
    fn tracepoints(&self) -> Result<Vec<(String, String)>, String> {
        btc_runtime::tracefs::tracepoints().map_err(|e| e.to_string())
    }
    fn kernel_symbol(&self, name: &str) -> Result<u64, String> {
        btc_runtime::symbols::kernel_symbol(name)
    }
    fn user_symbol(&self, path: &str, name: &str) -> Result<(u64, u64), String> {
        btc_runtime::symbols::user_symbol(path, name)
    }
    fn cgroup_id(&self, path: &str) -> Result<u64, String> {
        btc_runtime::symbols::cgroup_id(path)
    }
}
