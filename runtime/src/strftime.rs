//! strftime(3) with bpftrace 0.20's one extension: `%f`, the microseconds of the second,
//! zero-padded to 6 digits. Everything else is the C library's (`%k` and `%l` are hours).

/// Formats `wall_ns` (nanoseconds since the Unix epoch) in local time with `fmt`. `None` when the
/// time can't be represented, or when the text is empty or needs `limit` bytes or more
/// (strftime(3) returns 0 then, which bpftrace reports as an error).
pub fn format(fmt: &str, wall_ns: i128, limit: usize) -> Option<String> {
    let secs = i64::try_from(wall_ns.div_euclid(1_000_000_000)).ok()?;
    let frac = wall_ns.rem_euclid(1_000_000_000) as u64;
    let fmt = extensions(fmt, frac);
    let time: libc::time_t = secs;
    static TZSET: std::sync::Once = std::sync::Once::new();
    // SAFETY: tzset only reads TZ and the zone files; once, before the first conversion.
    TZSET.call_once(|| unsafe { tzset() });
    // SAFETY: tm is plain data; localtime_r fills it and returns NULL on failure.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are valid for the call.
    if unsafe { libc::localtime_r(&time, &mut tm) }.is_null() {
        return None;
    }
    let cfmt = std::ffi::CString::new(fmt).ok()?;
    let mut buf = vec![0u8; limit.max(1)];
    // SAFETY: buf has buf.len() bytes; cfmt is NUL-terminated; tm is initialised.
    let n = unsafe { libc::strftime(buf.as_mut_ptr().cast(), buf.len(), cfmt.as_ptr(), &tm) };
    if n == 0 {
        return None;
    }
    buf.truncate(n);
    Some(String::from_utf8_lossy(&buf).into_owned())
}

extern "C" {
    fn tzset();
}

/// Replaces the extensions by digits of `frac_ns`, leaving `%%` and everything else alone.
fn extensions(fmt: &str, frac_ns: u64) -> String {
    let mut out = String::with_capacity(fmt.len());
    let mut chars = fmt.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('f') => out.push_str(&format!("{:06}", frac_ns / 1000)),
            Some(other) => {
                out.push('%');
                out.push(other);
            }
            None => out.push('%'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_are_replaced_and_escapes_kept() {
        assert_eq!(extensions("%S.%f %%f %k %l", 123_456_789), "%S.123456 %%f %k %l");
        assert_eq!(extensions("%f", 5_000), "000005");
    }

    #[test]
    fn formats_in_local_time() {
        std::env::set_var("TZ", "UTC");
        let t = 86_400i128 * 1_000_000_000 + 1_500_000;
        assert_eq!(format("%Y-%m-%d %H:%M:%S.%f", t, 64).as_deref(), Some("1970-01-02 00:00:00.001500"));
        assert_eq!(format("%k|%l", t, 64).as_deref(), Some(" 0|12"));
        assert_eq!(format("", t, 64), None);
        assert_eq!(format("%Y", t, 5).as_deref(), Some("1970"));
        assert_eq!(format("%Y", t, 4), None);
    }
}
