//! What the runtime-served functions print, in text or JSON: `time`, `system`, `cat`, `join`,
//! the `Attaching` and `Lost` lines, and the resolution of symbols, stacks and addresses before
//! printf and map printing.

use crate::json;
use crate::resolve::{Place, Resolver, StackSource};
#[cfg(test)]
use crate::resolve::{Sym, Symbolize};
use crate::value::Value;
use btc_bpfprog::Compat;

/// The output format (`-f`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OutputFormat {
    #[default]
    Text,
    Json,
}

/// A [`Symbolize`] that knows nothing: addresses print as numbers.
#[cfg(test)]
pub struct NoSymbols;

#[cfg(test)]
impl Symbolize for NoSymbols {
    fn kernel(&mut self, _addr: u64) -> Option<Sym> {
        None
    }
    fn user(&mut self, _pid: u32, _addr: u64) -> Option<Sym> {
        None
    }
    fn cgroup_path(&mut self, _id: u64, _filter: Option<&str>) -> String {
        String::new()
    }
}

/// Runs a `system()` command and reads a `cat()` file: the real ones in production, fakes in
/// tests.
pub trait Host {
    /// Runs `cmd` with `/bin/sh -c` and returns what it wrote to stdout.
    fn system(&self, cmd: &str) -> Result<Vec<u8>, String>;
    /// The first `max` bytes of file `path`.
    fn cat(&self, path: &str, max: u64) -> Result<Vec<u8>, String>;
    /// The wall-clock time now, in nanoseconds since the Unix epoch.
    fn now_ns(&self) -> i128;
}

/// Everything the printer needs besides the metadata.
pub struct Services {
    pub format: OutputFormat,
    pub resolver: Resolver,
    pub host: Box<dyn Host>,
    /// BPFTRACE_MAX_CAT_BYTES.
    pub max_cat_bytes: u64,
    /// Whose output is reproduced: bpftrace 0.20's or 0.26's.
    pub compat: Compat,
}

/// Default of BPFTRACE_MAX_CAT_BYTES.
pub const DEFAULT_MAX_CAT_BYTES: u64 = 10 * 1024;

impl Services {
    /// Text output, no symbols, the real host.
    #[cfg(test)]
    pub fn plain() -> Services {
        Services {
            format: OutputFormat::Text,
            resolver: Resolver::new(Box::new(NoSymbols), 0),
            host: Box::new(crate::kernel::process::RealHost),
            max_cat_bytes: DEFAULT_MAX_CAT_BYTES,
            compat: Compat::V020,
        }
    }

    /// Wraps text of message type `kind` for the output format.
    pub fn message(&self, kind: &str, text: &[u8]) -> Vec<u8> {
        match self.format {
            OutputFormat::Text => text.to_vec(),
            OutputFormat::Json => json::message(kind, text),
        }
    }

    /// The line before attaching (bpftrace 0.20), or once attached (0.26: `Attached N probes`).
    pub fn attaching(&self, probes: usize) -> Vec<u8> {
        match self.format {
            OutputFormat::Text if self.compat.v026() => crate::events::attached_line(probes).into_bytes(),
            OutputFormat::Text => crate::events::attaching_line(probes).into_bytes(),
            OutputFormat::Json if self.compat.v026() => {
                format!("{{\"type\": \"attached_probes\", \"count\": {probes}, \"data\": {{\"probes\": {probes}}}}}\n")
                    .into_bytes()
            }
            OutputFormat::Json => json::counter("attached_probes", "probes", probes as u64),
        }
    }

    /// bpftrace's line when a watchpoint can't be set because every hardware breakpoint
    /// register is taken (a `lost_events` message in JSON).
    pub fn out_of_watchpoint_registers(&self) -> Vec<u8> {
        let text = "Failed to attach watchpoint probe. You are out of watchpoint registers.";
        match self.format {
            OutputFormat::Text => format!("{text}\n").into_bytes(),
            OutputFormat::Json => json::message("lost_events", text.as_bytes()),
        }
    }

    /// The line reporting lost events.
    pub fn lost(&self, n: u64) -> Vec<u8> {
        match self.format {
            OutputFormat::Text => crate::events::lost_line(n).into_bytes(),
            OutputFormat::Json if self.compat.v026() => {
                format!("{{\"type\": \"lost_events\", \"count\": {n}, \"data\": {{\"events\": {n}}}}}\n").into_bytes()
            }
            OutputFormat::Json => json::counter("lost_events", "events", n),
        }
    }

    /// Resolves the runtime values among printf arguments.
    pub fn resolve_args(&self, args: &mut [Value], stacks: &dyn StackSource) {
        for a in args {
            // buf() values stay raw: `%r`, `%rx` and `%rh` format their bytes differently.
            if !matches!(a, Value::Runtime(btc_bpfprog::RuntimeTy::Buf { .. }, _)) {
                self.resolver.resolve(a, Place::Value, stacks);
            }
        }
    }

    /// `time(fmt)`: the wall time now. As in bpftrace 0.20, the text must fit in 64 bytes (its
    /// NUL included) and must not be empty, else an error goes to stderr and nothing is printed.
    pub fn time(&self, fmt: &str) -> Vec<u8> {
        match crate::strftime::format(fmt, self.host.now_ns(), 64) {
            Some(text) => self.message("time", text.as_bytes()),
            None => {
                eprintln!("ERROR: strftime returned 0");
                Vec::new()
            }
        }
    }

    /// `system(cmd)`: the command's output; a failure is reported on stderr (as bpftrace).
    pub fn system(&self, cmd: &[u8]) -> Vec<u8> {
        match self.host.system(&String::from_utf8_lossy(cmd)) {
            Ok(out) => self.message("syscall", &out),
            Err(e) => {
                eprintln!("ERROR: {e}");
                Vec::new()
            }
        }
    }

    /// `cat(path)`: the file's contents; a failure is reported on stderr (as bpftrace).
    pub fn cat(&self, path: &[u8]) -> Vec<u8> {
        let path = String::from_utf8_lossy(path);
        match self.host.cat(&path, self.max_cat_bytes) {
            Ok(data) => self.message("cat", &data),
            Err(e) => {
                eprintln!("ERROR: failed to open file '{path}': {e}");
                Vec::new()
            }
        }
    }

    /// `join(arr, sep)`: `items` is the count then the strings.
    pub fn join(&self, items: &[Value], sep: &str) -> Vec<u8> {
        let count = match items.first() {
            Some(Value::Int(n)) => usize::try_from(n.bits).unwrap_or(0),
            _ => 0,
        };
        let parts: Vec<Vec<u8>> = items.iter().skip(1).take(count).map(Value::to_bytes).collect();
        let joined = parts.join(sep.as_bytes());
        match self.format {
            OutputFormat::Text => {
                let mut t = joined;
                t.push(b'\n');
                t
            }
            OutputFormat::Json => json::message("join", &joined),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Int;

    struct FakeHost;
    impl Host for FakeHost {
        fn system(&self, cmd: &str) -> Result<Vec<u8>, String> {
            Ok(format!("ran {cmd}\n").into_bytes())
        }
        fn cat(&self, path: &str, max: u64) -> Result<Vec<u8>, String> {
            if path == "/x" {
                Ok(b"0123456789".iter().take(max as usize).copied().collect())
            } else {
                Err("No such file or directory".into())
            }
        }
        fn now_ns(&self) -> i128 {
            0
        }
    }

    fn services(format: OutputFormat) -> Services {
        Services { format, host: Box::new(FakeHost), max_cat_bytes: 4, ..Services::plain() }
    }

    fn s(v: Vec<u8>) -> String {
        String::from_utf8_lossy(&v).into_owned()
    }

    #[test]
    fn text_and_json_forms() {
        let t = services(OutputFormat::Text);
        let j = services(OutputFormat::Json);
        assert_eq!(s(t.system(b"echo hi")), "ran echo hi\n");
        assert_eq!(s(j.system(b"echo hi")), "{\"type\": \"syscall\", \"data\": \"ran echo hi\\n\"}\n");
        assert_eq!(s(t.cat(b"/x")), "0123");
        assert_eq!(s(j.cat(b"/x")), "{\"type\": \"cat\", \"data\": \"0123\"}\n");
        assert_eq!(s(t.cat(b"/nope")), "");
        let items = vec![
            Value::Int(Int::unsigned(2)),
            Value::Str(b"/bin/echo".to_vec()),
            Value::Str(b"a".to_vec()),
            Value::Str(b"garbage".to_vec()),
        ];
        assert_eq!(s(t.join(&items, " ")), "/bin/echo a\n");
        assert_eq!(s(j.join(&items, ",")), "{\"type\": \"join\", \"data\": \"/bin/echo,a\"}\n");
        assert_eq!(s(j.attaching(2)), "{\"type\": \"attached_probes\", \"data\": {\"probes\": 2}}\n");
        assert_eq!(s(t.lost(2)), "Lost 2 events\n");
        let j26 = Services { compat: Compat::V026, ..services(OutputFormat::Json) };
        assert_eq!(s(j26.lost(2)), "{\"type\": \"lost_events\", \"count\": 2, \"data\": {\"events\": 2}}\n");
        assert_eq!(s(j26.attaching(1)), "{\"type\": \"attached_probes\", \"count\": 1, \"data\": {\"probes\": 1}}\n");
    }
}
