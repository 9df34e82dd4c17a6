//! The pcap files of `skboutput()`: turning a sample of the perf event array
//! [`btc_bpfprog::SKB_MAP`] into a pcap record. Pure; `kernel/skb.rs` reads the samples and
//! writes the files.
//!
//! The format is libpcap's with nanosecond timestamps (magic `0xa1b23c4d`), link type
//! `LINKTYPE_RAW` (101: packets start at the IP header), as bpftrace writes it.

use btc_bpfprog::SkbHeader;

/// `LINKTYPE_RAW`: raw IPv4 or IPv6, no link-layer header.
pub const LINKTYPE_RAW: u32 = 101;
/// The magic number of a pcap file with nanosecond timestamps.
pub const MAGIC_NANOS: u32 = 0xa1b2_3c4d;
/// The most bytes of a packet a record holds: libpcap refuses larger records for LINKTYPE_RAW.
pub const SNAPLEN: u32 = 262_144;

/// The global header a pcap file starts with (24 bytes, little-endian like the records).
pub fn file_header() -> Vec<u8> {
    let mut h = Vec::with_capacity(24);
    h.extend_from_slice(&MAGIC_NANOS.to_le_bytes());
    h.extend_from_slice(&2u16.to_le_bytes()); // version 2.4
    h.extend_from_slice(&4u16.to_le_bytes());
    h.extend_from_slice(&0i32.to_le_bytes()); // time zone: UTC
    h.extend_from_slice(&0u32.to_le_bytes()); // timestamp accuracy
    h.extend_from_slice(&SNAPLEN.to_le_bytes());
    h.extend_from_slice(&LINKTYPE_RAW.to_le_bytes());
    h
}

/// One pcap record: timestamp (`wall_ns`, nanoseconds since the epoch), captured length, the
/// packet's length, then the packet (cut at [`SNAPLEN`]).
pub fn record(wall_ns: u64, packet: &[u8]) -> Vec<u8> {
    let len = u32::try_from(packet.len()).unwrap_or(u32::MAX);
    let caplen = len.min(SNAPLEN);
    let mut r = Vec::with_capacity(16 + caplen as usize);
    // The seconds field is 32 bits: good until 2106.
    r.extend_from_slice(&u32::try_from(wall_ns / 1_000_000_000).unwrap_or(u32::MAX).to_le_bytes());
    r.extend_from_slice(&u32::try_from(wall_ns % 1_000_000_000).unwrap_or(0).to_le_bytes());
    r.extend_from_slice(&caplen.to_le_bytes());
    r.extend_from_slice(&len.to_le_bytes());
    r.extend_from_slice(&packet[..caplen as usize]);
    r
}

/// Decodes a sample into the index of its pcap file and its record. `boot_to_wall_ns` turns the
/// sample's boot-clock time (`nsecs`) into wall-clock time (CLOCK_REALTIME - CLOCK_BOOTTIME).
pub fn decode(sample: &[u8], boot_to_wall_ns: i128) -> Option<(usize, Vec<u8>)> {
    let (h, rest) = SkbHeader::decode(sample)?;
    let wall = (i128::from(h.ns) + boot_to_wall_ns).clamp(0, i128::from(u64::MAX));
    let wall = u64::try_from(wall).unwrap_or(0);
    Some((h.pcap as usize, record(wall, h.packet(rest))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(pcap: u32, len: u32, offset: u64, ns: u64, data: &[u8]) -> Vec<u8> {
        let mut s = Vec::new();
        s.extend_from_slice(&pcap.to_le_bytes());
        s.extend_from_slice(&len.to_le_bytes());
        s.extend_from_slice(&offset.to_le_bytes());
        s.extend_from_slice(&ns.to_le_bytes());
        s.extend_from_slice(data);
        s
    }

    #[test]
    fn file_header_is_libpcaps() {
        let h = file_header();
        assert_eq!(h.len(), 24);
        assert_eq!(h[..4], [0x4d, 0x3c, 0xb2, 0xa1]);
        assert_eq!(h[4..8], [2, 0, 4, 0]);
        assert_eq!(u32::from_le_bytes([h[16], h[17], h[18], h[19]]), SNAPLEN);
        assert_eq!(u32::from_le_bytes([h[20], h[21], h[22], h[23]]), 101);
    }

    #[test]
    fn samples_become_records_with_wall_clock_times() {
        // 6 captured bytes (then padding), the first 2 skipped; boot time 1000 s after the epoch.
        let s = sample(1, 6, 2, 5_000_000_123, b"\x45\x00abcd\0\0");
        let (pcap, r) = decode(&s, 1_000_000_000_000).expect("record");
        assert_eq!(pcap, 1);
        assert_eq!(u32::from_le_bytes([r[0], r[1], r[2], r[3]]), 1005);
        assert_eq!(u32::from_le_bytes([r[4], r[5], r[6], r[7]]), 123);
        assert_eq!(u32::from_le_bytes([r[8], r[9], r[10], r[11]]), 4);
        assert_eq!(u32::from_le_bytes([r[12], r[13], r[14], r[15]]), 4);
        assert_eq!(&r[16..], b"abcd");
        assert!(decode(&s[..10], 0).is_none());
    }

    #[test]
    fn large_packets_are_cut_at_the_snaplen() {
        let big = vec![7u8; SNAPLEN as usize + 10];
        let r = record(0, &big);
        assert_eq!(u32::from_le_bytes([r[8], r[9], r[10], r[11]]), SNAPLEN);
        assert_eq!(u32::from_le_bytes([r[12], r[13], r[14], r[15]]), SNAPLEN + 10);
        assert_eq!(r.len(), 16 + SNAPLEN as usize);
    }
}
