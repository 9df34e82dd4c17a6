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
    #[error("malformed event: print value index {0} out of range")]
    BadValue(u32),
    #[error("malformed event: print value {index}: {err}")]
    Value { index: u32, err: DecodeError },
    #[error(transparent)]
    Map(#[from] MapError),
}

/// Reads and changes user maps (the kernel in production, a fake in tests).
pub trait MapReader {
    fn read_map(&self, info: &MapInfo) -> Result<RawEntries, RuntimeError>;
    /// Deletes every entry (`clear(@m)`).
    fn clear_map(&self, info: &MapInfo) -> Result<(), RuntimeError>;
    /// Sets every entry's value to zero (`zero(@m)`).
    fn zero_map(&self, info: &MapInfo) -> Result<(), RuntimeError>;
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
    values: Vec<Ty>,
}

impl Printer {
    pub fn new(meta: &Metadata) -> Printer {
        Printer {
            formats: meta.formats.iter().map(|f| (Format::parse(&f.fmt), f.args.clone())).collect(),
            maps: meta.maps.clone(),
            values: meta.values.clone(),
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
                let v = decode(ty, payload).map_err(|err| EventError::Value { index: header.index, err })?;
                v.render(out);
                out.push(b'\n');
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
        let entries = maps.read_map(info)?;
        out.extend(format_map(info, &entries, top, div).map_err(EventError::from)?);
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

/// The line bpftrace prints when events were dropped.
pub fn lost_line(lost: u64) -> String {
    format!("Lost {lost} events\n")
}

#[cfg(test)]
mod tests;
