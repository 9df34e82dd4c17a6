//! strftime(3) with bpftrace's extensions: `%f` microseconds, `%k` nanoseconds and `%l`
//! milliseconds of the second, zero-padded.

/// Formats `wall_ns` (nanoseconds since the Unix epoch) in local time with `fmt`. `None` when the
/// time can't be represented or formats to nothing, which bpftrace prints as `(?)`.
pub fn format(fmt: &str, wall_ns: i128) -> Option<String> {
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
    let mut buf = vec![0u8; 1024];
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
            Some('k') => out.push_str(&format!("{frac_ns:09}")),
            Some('l') => out.push_str(&format!("{:03}", frac_ns / 1_000_000)),
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
        assert_eq!(extensions("%S.%f %%f %k %l", 123_456_789), "%S.123456 %%f 123456789 123");
        assert_eq!(extensions("%f", 5_000), "000005");
    }

    #[test]
    fn formats_in_local_time() {
        std::env::set_var("TZ", "UTC");
        let t = 86_400i128 * 1_000_000_000 + 1_500_000;
        assert_eq!(format("%Y-%m-%d %H:%M:%S.%f", t).as_deref(), Some("1970-01-02 00:00:00.001500"));
        assert_eq!(format("", t), None);
    }
}
