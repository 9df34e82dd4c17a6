//! Turning ring buffer records into output text and actions.

use crate::maps::{MapError, RawEntries};
use crate::output::{OutputFormat, Services};
use crate::printf::Format;
use crate::resolve::{Place, StackSource};
use crate::value::{decode, DecodeError, Trailer, Value};
use crate::RuntimeError;
use btc_bpfprog::{ActionKind, EventHeader, MapInfo, Metadata, Ty};

/// A record that doesn't follow the contract in `btc-bpfprog`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("malformed event: record of {0} bytes is shorter than its header")]
    Short(usize),
    #[error("malformed event: unknown action kind {0}")]
    UnknownKind(u32),
    #[error("malformed event: printf format index {0} out of range")]
    BadFormat(u32),
    #[error("malformed event: map index {0} out of range")]
    BadMap(u32),
    #[error("malformed event: printf arguments of format {index}: {err}")]
    Args { index: u32, err: DecodeError },
    #[error("malformed event: probe index {0} is not a watchpoint:FUNC+argN probe")]
    BadProbe(u32),
    #[error("malformed event: print value index {0} out of range")]
    BadValue(u32),
    #[error("malformed event: print value {index}: {err}")]
    Value { index: u32, err: DecodeError },
    #[error(transparent)]
    Map(#[from] MapError),
}

/// bpftrace's default truncation trailer.
pub const DEFAULT_TRAILER: &[u8] = b"..";

/// Reads and changes user maps (the kernel in production, a fake in tests).
pub trait MapReader {
    fn read_map(&self, info: &MapInfo) -> Result<RawEntries, RuntimeError>;
    /// Deletes every entry (`clear(@m)`).
    fn clear_map(&self, info: &MapInfo) -> Result<(), RuntimeError>;
    /// Sets every entry's value to zero (`zero(@m)`).
    fn zero_map(&self, info: &MapInfo) -> Result<(), RuntimeError>;
    /// The frames of stack `id` in the stack trace map `map`.
    fn read_stack(&self, _map: &str, _id: u32) -> Option<Vec<u64>> {
        None
    }
}

/// A [`MapReader`] seen as the source of stacks.
struct Stacks<'a>(&'a dyn MapReader);

impl StackSource for Stacks<'_> {
    fn stack(&self, map: &str, id: u32) -> Option<Vec<u64>> {
        self.0.read_stack(map, id)
    }
}

/// What the caller should do after a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Continue,
    /// `exit()` was called: stop tracing and ignore the records after this one.
    Exit,
    /// A `watchpoint:FUNC+argN` setter reported `address` for the probe at index `probe` (from
    /// its site `site`, for a function found at run time whose probe names it).
    Watch { probe: u32, address: u64, site: Option<u64> },
    /// `unwatch(address)`.
    Unwatch(u64),
}

/// Decodes records per the metadata and renders their output.
pub struct Printer {
    formats: Vec<(Format, Ty)>,
    /// The format strings as written (time formats, join separators, system/cat commands).
    texts: Vec<String>,
    maps: Vec<MapInfo>,
    values: Vec<Ty>,
    trailer: Trailer,
    error_sites: Vec<btc_bpfprog::ErrorSite>,
    services: Services,
}

impl Printer {
    /// A text printer without symbols.
    #[cfg(test)]
    pub fn new(meta: &Metadata) -> Printer {
        Printer::with_services(meta, Services::plain())
    }

    pub fn with_services(meta: &Metadata, services: Services) -> Printer {
        Printer {
            formats: meta.formats.iter().map(|f| (Format::parse(&f.fmt), f.args.clone())).collect(),
            texts: meta.formats.iter().map(|f| f.fmt.clone()).collect(),
            maps: meta.maps.clone(),
            values: meta.values.clone(),
            error_sites: meta.error_sites.clone(),
            services,
            trailer: Trailer { strlen: meta.strlen, text: DEFAULT_TRAILER.to_vec() },
        }
    }

    /// Sets the truncation trailer (BPFTRACE_STR_TRUNC_TRAILER; empty: none).
    pub fn set_trailer(&mut self, text: &[u8]) {
        self.trailer.text = text.to_vec();
    }

    pub fn services(&self) -> &Services {
        &self.services
    }

    /// Decodes the arguments of format `index` and renders the format with them.
    fn render_format(&self, index: u32, payload: &[u8], maps: &dyn MapReader) -> Result<Vec<u8>, RuntimeError> {
        let (format, args_ty) = self.formats.get(index as usize).ok_or(EventError::BadFormat(index))?;
        let decoded = decode(args_ty, payload).map(|mut v| {
            self.trailer.apply(args_ty, &mut v);
            v
        });
        let mut args = match decoded {
            Ok(Value::Tuple(items)) => items,
            Ok(single) => vec![single],
            Err(err) => return Err(EventError::Args { index, err }.into()),
        };
        self.services.resolve_args(&mut args, &Stacks(maps));
        let mut text = Vec::new();
        format.render(&args, &mut text);
        Ok(text)
    }

    fn text_of(&self, index: u32) -> Result<&str, RuntimeError> {
        self.texts.get(index as usize).map(String::as_str).ok_or_else(|| EventError::BadFormat(index).into())
    }

    /// Handles one record, appending its output to `out`.
    pub fn handle(&self, record: &[u8], maps: &dyn MapReader, out: &mut Vec<u8>) -> Result<Step, RuntimeError> {
        let (header, payload) = EventHeader::decode(record).ok_or(EventError::Short(record.len()))?;
        match ActionKind::from_u32(header.kind) {
            Some(ActionKind::Printf) => {
                let text = self.render_format(header.index, payload, maps)?;
                out.extend(self.services.message("printf", &text));
                Ok(Step::Continue)
            }
            Some(ActionKind::Time) => {
                out.extend(self.services.time(self.text_of(header.index)?));
                Ok(Step::Continue)
            }
            Some(ActionKind::System) => {
                let cmd = self.render_format(header.index, payload, maps)?;
                out.extend(self.services.system(&cmd));
                Ok(Step::Continue)
            }
            Some(ActionKind::Cat) => {
                let path = self.render_format(header.index, payload, maps)?;
                out.extend(self.services.cat(&path));
                Ok(Step::Continue)
            }
            Some(ActionKind::Join) => {
                let (_, args_ty) = self.formats.get(header.index as usize).ok_or(EventError::BadFormat(header.index))?;
                let items = match decode(args_ty, payload) {
                    Ok(Value::Tuple(items)) => items,
                    Ok(_) => Vec::new(),
                    Err(err) => return Err(EventError::Args { index: header.index, err }.into()),
                };
                out.extend(self.services.join(&items, self.text_of(header.index)?));
                Ok(Step::Continue)
            }
            Some(ActionKind::Exit) => Ok(Step::Exit),
            Some(ActionKind::WatchpointSet) => {
                let site = (payload.len() >= 16).then(|| le_u64(payload, 8));
                Ok(Step::Watch { probe: header.index, address: le_u64(payload, 0), site })
            }
            Some(ActionKind::Unwatch) => Ok(Step::Unwatch(le_u64(payload, 0))),
            Some(ActionKind::HelperError) => {
                let site = self.error_sites.get(header.index as usize).ok_or(EventError::BadFormat(header.index))?;
                let code = le_u64(payload, 0) as i64;
                // Like bpftrace, in the output (stdout or the -o file), not on stderr.
                match self.services.format {
                    crate::output::OutputFormat::Json if self.services.compat.v026() => {
                        // bpftrace 0.26 also names the file: the location's text before `:LINE:`.
                        let file = site.location.rsplitn(3, ':').nth(2).unwrap_or_default();
                        out.extend(crate::json::helper_error_026(&site.helper, code, file, site.line, site.col))
                    }
                    crate::output::OutputFormat::Json => {
                        out.extend(crate::json::helper_error(&site.helper, code, site.line, site.col))
                    }
                    crate::output::OutputFormat::Text => out.extend(helper_warning(site, code).into_bytes()),
                }
                Ok(Step::Continue)
            }
            Some(ActionKind::PrintMap) => {
                let info = self.map(header.index)?;
                let top = le_u64(payload, 0);
                let div = le_u64(payload, 8);
                self.print_map_with(info, maps, top, div, out)?;
                Ok(Step::Continue)
            }
            Some(ActionKind::ClearMap) => {
                maps.clear_map(self.map(header.index)?)?;
                Ok(Step::Continue)
            }
            Some(ActionKind::ZeroMap) => {
                maps.zero_map(self.map(header.index)?)?;
                Ok(Step::Continue)
            }
            Some(ActionKind::PrintValue) => {
                let ty = self.values.get(header.index as usize).ok_or(EventError::BadValue(header.index))?;
                // As in bpftrace 0.20, print() adds no truncation trailer (printf does).
                let mut v = decode(ty, payload).map_err(|err| EventError::Value { index: header.index, err })?;
                self.services.resolver.resolve(&mut v, Place::Value, &Stacks(maps));
                match self.services.format {
                    OutputFormat::Text => {
                        v.render(out);
                        out.push(b'\n');
                    }
                    OutputFormat::Json => out.extend(crate::json::print_value(&v, self.services.compat)),
                }
                Ok(Step::Continue)
            }
            None => Err(EventError::UnknownKind(header.kind).into()),
        }
    }

    fn map(&self, index: u32) -> Result<&MapInfo, EventError> {
        self.maps.get(index as usize).ok_or(EventError::BadMap(index))
    }

    /// Appends a map as `print(@m)` shows it.
    pub fn print_map(&self, info: &MapInfo, maps: &dyn MapReader, out: &mut Vec<u8>) -> Result<(), RuntimeError> {
        self.print_map_with(info, maps, 0, 0, out)
    }

    /// Appends a map as `print(@m, top, div)` shows it.
    pub fn print_map_with(
        &self,
        info: &MapInfo,
        maps: &dyn MapReader,
        top: u64,
        div: u64,
        out: &mut Vec<u8>,
    ) -> Result<(), RuntimeError> {
        let raw = maps.read_map(info)?;
        let mut entries = crate::maps::top_div(crate::maps::decode_map(info, &raw).map_err(EventError::from)?, top, div);
        // bpftrace 0.26 keeps a keyless count() in an ordinary map: never counted or cleared,
        // it has no entry to print (0.20's always prints `@c: 0`).
        if self.services.compat.v026() && raw.is_empty() && info.scalar && info.value == btc_bpfprog::MapValue::Count {
            entries.clear();
        }
        let stacks = Stacks(maps);
        for e in &mut entries {
            self.services.resolver.resolve(&mut e.key, Place::Key, &stacks);
            if let crate::maps::EntryValue::Scalar(v) = &mut e.value {
                self.services.resolver.resolve(v, Place::Value, &stacks);
            }
        }
        match self.services.format {
            OutputFormat::Text => out.extend(crate::maps::render_entries(info, &entries, div, self.services.compat.v026())),
            OutputFormat::Json => out.extend(crate::json::map_entries(info, &entries, self.services.compat)),
        }
        Ok(())
    }

    /// Appends what bpftrace prints at exit: an empty line, then every map sorted by name.
    pub fn print_exit_maps(&self, maps: &dyn MapReader, out: &mut Vec<u8>) -> Result<(), RuntimeError> {
        if self.services.format == OutputFormat::Text {
            out.extend_from_slice(b"\n\n");
        }
        self.print_all_maps(maps, out)
    }

    /// Appends every map, sorted by name (at exit, and on SIGUSR1 while tracing).
    pub fn print_all_maps(&self, maps: &dyn MapReader, out: &mut Vec<u8>) -> Result<(), RuntimeError> {
        for info in crate::maps::exit_order(&self.maps) {
            self.print_map(info, maps, out)?;
        }
        Ok(())
    }
}

/// bpftrace 0.20's explanation of a failed helper call (`-k`): a few failures have their own
/// words, the others are the C library's text for the error code.
pub fn helper_error_message(helper: &str, code: i64) -> String {
    match (helper, code) {
        ("map_update_elem", c) if c == -i64::from(libc::E2BIG) => {
            "Map full; can't update element. Try increasing max_map_keys config".to_string()
        }
        ("map_delete_elem", c) if c == -i64::from(libc::ENOENT) => {
            "Can't delete map element because it does not exist.".to_string()
        }
        // Reported with code 0: the key wasn't there.
        ("map_lookup_elem", _) => "Can't lookup map element because it does not exist.".to_string(),
        (_, c) => {
            let c = i32::try_from(-c).unwrap_or(i32::MAX);
            let text = std::io::Error::from_raw_os_error(c).to_string();
            text.split(" (os error").next().unwrap_or(&text).to_string()
        }
    }
}

/// bpftrace 0.20's text for a failed helper: `stdin:1:9-13: WARNING: Bad address`, a line
/// naming the helper and its return code, then the source line with `~` under the call.
pub fn helper_warning(site: &btc_bpfprog::ErrorSite, code: i64) -> String {
    format!(
        "{}: WARNING: {}\nAdditional Info - helper: {}, retcode: {code}\n{}",
        site.location,
        helper_error_message(&site.helper, code),
        site.helper,
        site.excerpt
    )
}

fn le_u64(data: &[u8], off: usize) -> u64 {
    let mut b = [0u8; 8];
    if let Some(s) = data.get(off..off + 8) {
        b.copy_from_slice(s);
    }
    u64::from_le_bytes(b)
}

/// The line bpftrace prints before attaching.
pub fn attaching_line(probes: usize) -> String {
    if probes == 1 {
        "Attaching 1 probe...\n".to_string()
    } else {
        format!("Attaching {probes} probes...\n")
    }
}

/// The line bpftrace 0.26 prints once every probe is attached.
pub fn attached_line(probes: usize) -> String {
    if probes == 1 {
        "Attached 1 probe\n".to_string()
    } else {
        format!("Attached {probes} probes\n")
    }
}

/// The line bpftrace prints when events were dropped.
pub fn lost_line(lost: u64) -> String {
    format!("Lost {lost} events\n")
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod fuzz;
