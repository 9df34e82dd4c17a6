//! `skboutput()` on the kernel side: the perf buffer over [`SKB_MAP`] (BPFTRACE_PERF_RB_PAGES
//! pages per CPU) and the pcap files the packets go to. `crate::skb` turns samples into records.

use super::{reason, Tracer};
use crate::error::RuntimeError;
use btc_bpfprog::SKB_MAP;
use libbpf_rs::{MapCore, PerfBuffer, PerfBufferBuilder};
use std::cell::RefCell;
use std::ffi::OsStr;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::rc::Rc;

/// The perf buffer skboutput() samples arrive in, with what its callbacks collected.
pub struct SkbBuffer {
    perf: PerfBuffer<'static>,
    samples: Rc<RefCell<Vec<Vec<u8>>>>,
}

impl Tracer {
    /// Opens the perf buffer of skboutput(), `pages` pages per CPU (rounded up to a power of
    /// two, as perf needs). Its samples also wake [`Tracer::poll`].
    pub fn open_skb_buffer(&mut self, pages: u64) -> Result<(), RuntimeError> {
        let map = self
            .object
            .maps()
            .find(|m| m.name() == OsStr::new(SKB_MAP))
            .ok_or_else(|| RuntimeError::MissingMap(SKB_MAP.to_string()))?;
        let pages = usize::try_from(pages.clamp(1, 1 << 20).next_power_of_two()).unwrap_or(64);
        let samples = Rc::new(RefCell::new(Vec::new()));
        let sink = Rc::clone(&samples);
        // Lost samples are counted by the BPF side, in btc_lost, when bpf_skb_output returns
        // -ENOSPC: at once, while the kernel's own report in the buffer waits until a later
        // sample fits. Without a lost callback, libbpf skips that report.
        let perf = PerfBufferBuilder::new(&map)
            .pages(pages)
            .sample_cb(move |_cpu, data: &[u8]| sink.borrow_mut().push(data.to_vec()))
            .build()
            .map_err(|e| RuntimeError::RingBuf(format!("skboutput perf buffer: {}", reason(&e))))?;
        let mut ev = libc::epoll_event { events: libc::EPOLLIN as u32, u64: u64::MAX };
        // SAFETY: both descriptors are live epoll instances owned by this tracer; `ev` is valid.
        let rc = unsafe { libc::epoll_ctl(self.ringbuf.epoll_fd(), libc::EPOLL_CTL_ADD, perf.epoll_fd(), &mut ev) };
        if rc < 0 {
            let err = std::io::Error::last_os_error();
            return Err(RuntimeError::RingBuf(format!("skboutput perf buffer: {}", super::io_reason(&err))));
        }
        self.skb = Some(SkbBuffer { perf, samples });
        Ok(())
    }

    /// The skboutput() samples available now.
    pub fn consume_skb(&self) -> Result<Vec<Vec<u8>>, RuntimeError> {
        let Some(b) = &self.skb else { return Ok(Vec::new()) };
        b.perf.consume().map_err(|e| RuntimeError::RingBuf(format!("skboutput perf buffer: {}", reason(&e))))?;
        Ok(std::mem::take(&mut *b.samples.borrow_mut()))
    }
}

/// The pcap files, by their index in the metadata.
pub struct PcapFiles {
    files: Vec<(String, BufWriter<File>)>,
    boot_to_wall_ns: i128,
}

impl PcapFiles {
    /// Creates (or truncates) every file and writes its header.
    pub fn create(paths: &[String], boot_to_wall_ns: i128) -> Result<PcapFiles, RuntimeError> {
        let mut files = Vec::with_capacity(paths.len());
        for p in paths {
            let err = |e: std::io::Error| RuntimeError::Pcap(format!("failed to create pcap file {p}: {}", super::io_reason(&e)));
            let mut w = BufWriter::new(File::create(p).map_err(err)?);
            w.write_all(&crate::skb::file_header()).and_then(|()| w.flush()).map_err(err)?;
            files.push((p.clone(), w));
        }
        Ok(PcapFiles { files, boot_to_wall_ns })
    }

    /// Appends a record for each sample to its file, then flushes them.
    pub fn write(&mut self, samples: &[Vec<u8>]) -> Result<(), RuntimeError> {
        if samples.is_empty() {
            return Ok(());
        }
        let err = |p: &str, e: std::io::Error| RuntimeError::Pcap(format!("failed to write pcap file {p}: {}", super::io_reason(&e)));
        for s in samples {
            // A sample that doesn't decode can only come from a foreign object: skip it.
            let Some((i, record)) = crate::skb::decode(s, self.boot_to_wall_ns) else { continue };
            if let Some((p, w)) = self.files.get_mut(i) {
                w.write_all(&record).map_err(|e| err(p, e))?;
            }
        }
        for (p, w) in &mut self.files {
            w.flush().map_err(|e| err(p, e))?;
        }
        Ok(())
    }
}

/// Sets up skboutput() for a run of an object with `pcaps`: creates the files and opens the
/// perf buffer. `None` when the object doesn't call skboutput().
pub fn start(tracer: &mut Tracer, pcaps: &[String], pages: u64) -> Result<Option<PcapFiles>, RuntimeError> {
    if pcaps.is_empty() {
        return Ok(None);
    }
    let files = PcapFiles::create(pcaps, super::process::boot_to_wall_ns())?;
    tracer.open_skb_buffer(pages)?;
    Ok(Some(files))
}
