//! Turning ring buffer records into output text and actions.

use crate::maps::{format_map, MapError, RawEntries};
use crate::printf::Format;
use crate::value::{decode, DecodeError, Value};
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
    #[error(transparent)]
    Map(#[from] MapError),
}

/// Reads the current contents of a map (the kernel in production, a fake in tests).
pub trait MapReader {
    fn read_map(&self, info: &MapInfo) -> Result<RawEntries, RuntimeError>;
}

/// What the caller should do after a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Continue,
    /// `exit()` was called: stop tracing and ignore the records after this one.
    Exit,
}

/// Decodes records per the metadata and renders their output.
pub struct Printer {
    formats: Vec<(Format, Ty)>,
    maps: Vec<MapInfo>,
}

impl Printer {
    pub fn new(meta: &Metadata) -> Printer {
        Printer {
            formats: meta.formats.iter().map(|f| (Format::parse(&f.fmt), f.args.clone())).collect(),
            maps: meta.maps.clone(),
        }
    }

    /// Handles one record, appending its output to `out`.
    pub fn handle(&self, record: &[u8], maps: &dyn MapReader, out: &mut Vec<u8>) -> Result<Step, RuntimeError> {
        let (header, payload) = EventHeader::decode(record).ok_or(EventError::Short(record.len()))?;
        match ActionKind::from_u32(header.kind) {
            Some(ActionKind::Printf) => {
                let (format, args_ty) =
                    self.formats.get(header.index as usize).ok_or(EventError::BadFormat(header.index))?;
                let args = match decode(args_ty, payload) {
                    Ok(Value::Tuple(items)) => items,
                    Ok(single) => vec![single],
                    Err(err) => return Err(EventError::Args { index: header.index, err }.into()),
                };
                format.render(&args, out);
                Ok(Step::Continue)
            }
            Some(ActionKind::Exit) => Ok(Step::Exit),
            Some(ActionKind::PrintMap) => {
                let info = self.maps.get(header.index as usize).ok_or(EventError::BadMap(header.index))?;
                self.print_map(info, maps, out)?;
                Ok(Step::Continue)
            }
            None => Err(EventError::UnknownKind(header.kind).into()),
        }
    }

    /// Appends a map as `print(@m)` shows it.
    pub fn print_map(&self, info: &MapInfo, maps: &dyn MapReader, out: &mut Vec<u8>) -> Result<(), RuntimeError> {
        let entries = maps.read_map(info)?;
        out.extend(format_map(info, &entries).map_err(EventError::from)?);
        Ok(())
    }

    /// Appends what bpftrace prints at exit: an empty line, then every map sorted by name.
    pub fn print_exit_maps(&self, maps: &dyn MapReader, out: &mut Vec<u8>) -> Result<(), RuntimeError> {
        out.extend_from_slice(b"\n\n");
        for info in crate::maps::exit_order(&self.maps) {
            self.print_map(info, maps, out)?;
        }
        Ok(())
    }
}

/// The line bpftrace prints before attaching.
pub fn attaching_line(probes: usize) -> String {
    if probes == 1 {
        "Attaching 1 probe...\n".to_string()
    } else {
        format!("Attaching {probes} probes...\n")
    }
}

/// The line bpftrace prints when events were dropped.
pub fn lost_line(lost: u64) -> String {
    format!("Lost {lost} events\n")
}

#[cfg(test)]
mod tests;
