//! The part of the contract that concerns `skboutput(PATH, SKB, LENGTH, OFFSET)`: the perf event
//! array packets travel through ([`SKB_MAP`]) and the header the BPF side puts before each
//! packet ([`SkbHeader`]). The pcap files are listed in [`crate::Metadata::pcaps`].

/// Name of the `BPF_MAP_TYPE_PERF_EVENT_ARRAY` map `bpf_skb_output` writes to. Only objects
/// that call `skboutput()` have it.
pub const SKB_MAP: &str = "btc_skb";

/// What precedes each packet in a [`SKB_MAP`] sample; the packet's first `len` bytes follow it
/// (the sample may be padded after them).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SkbHeader {
    /// Index of the pcap file in [`crate::Metadata::pcaps`].
    pub pcap: u32,
    /// Bytes of the packet captured (`LENGTH`, as the kernel reads it from the helper's flags).
    pub len: u32,
    /// `OFFSET`: bytes at the start of the captured data that are not written to the file.
    pub offset: u64,
    /// `bpf_ktime_get_boot_ns()` (the clock of `nsecs`) when the packet was captured.
    pub ns: u64,
}

/// Size of [`SkbHeader`] in bytes.
pub const SKB_HEADER_SIZE: usize = std::mem::size_of::<SkbHeader>();

impl SkbHeader {
    /// Decodes a header from the start of a sample; returns it and the bytes after it.
    pub fn decode(data: &[u8]) -> Option<(SkbHeader, &[u8])> {
        let u32_at = |o: usize| Some(u32::from_le_bytes(data.get(o..o + 4)?.try_into().ok()?));
        let u64_at = |o: usize| Some(u64::from_le_bytes(data.get(o..o + 8)?.try_into().ok()?));
        let h = SkbHeader { pcap: u32_at(0)?, len: u32_at(4)?, offset: u64_at(8)?, ns: u64_at(16)? };
        Some((h, data.get(SKB_HEADER_SIZE..)?))
    }

    /// The part of `rest` (the bytes after the header) that goes to the file: the captured
    /// `len` bytes (fewer if the sample is short), without the first `offset` of them.
    pub fn packet<'a>(&self, rest: &'a [u8]) -> &'a [u8] {
        let end = rest.len().min(self.len as usize);
        let start = usize::try_from(self.offset).unwrap_or(usize::MAX).min(end);
        &rest[start..end]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_decodes_and_cuts_the_packet() {
        let mut s = Vec::new();
        s.extend_from_slice(&2u32.to_le_bytes());
        s.extend_from_slice(&6u32.to_le_bytes());
        s.extend_from_slice(&2u64.to_le_bytes());
        s.extend_from_slice(&77u64.to_le_bytes());
        s.extend_from_slice(b"abcdef\0\0");
        let (h, rest) = SkbHeader::decode(&s).expect("header");
        assert_eq!(h, SkbHeader { pcap: 2, len: 6, offset: 2, ns: 77 });
        assert_eq!(SKB_HEADER_SIZE, 24);
        // The padding after the packet is dropped, and so are the first `offset` bytes.
        assert_eq!(h.packet(rest), b"cdef");
        assert_eq!(SkbHeader { offset: 9, ..h }.packet(rest), b"");
        assert_eq!(SkbHeader { len: 100, offset: 0, ..h }.packet(rest), b"abcdef\0\0");
        assert!(SkbHeader::decode(&s[..20]).is_none());
    }
}
