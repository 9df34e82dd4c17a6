//! printf format strings: parsing conversion specifications and checking arguments against them.

use crate::types::Type;

/// One `%...` conversion in a format string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversion {
    /// The conversion character (`d`, `s`, ...); `r` may be followed by `x`/`h` (`%rx`, `%rh`).
    pub conv: char,
}

/// The conversions of a format string, found as bpftrace 0.20 finds them
/// ([`btc_bpfprog::printf::specifiers`]: a `%` that starts no specifier is text).
pub fn conversions(fmt: &str) -> Result<Vec<Conversion>, String> {
    let b = fmt.as_bytes();
    Ok(btc_bpfprog::printf::specifiers(b)
        .into_iter()
        .map(|r| {
            let spec = &b[r];
            let conv = if spec.ends_with(b"rx") || spec.ends_with(b"rh") { 'r' } else { char::from(spec[spec.len() - 1]) };
            Conversion { conv }
        })
        .collect())
}

/// Checks the arguments of a printf call against its format.
pub fn check(fmt: &str, args: &[Type]) -> Result<(), String> {
    let convs = conversions(fmt)?;
    if convs.len() != args.len() {
        return Err(format!(
            "printf: the format string has {} specifier{} but {} argument{} given",
            convs.len(),
            if convs.len() == 1 { "" } else { "s" },
            args.len(),
            if args.len() == 1 { " is" } else { "s are" }
        ));
    }
    for (i, (c, t)) in convs.iter().zip(args).enumerate() {
        let ok = match c.conv {
            's' => matches!(t, Type::Str { .. } | Type::Int { .. } | Type::Ptr { .. } | Type::Tuple(_) | Type::Runtime(_)),
            'r' => matches!(t, Type::Runtime(btc_bpfprog::RuntimeTy::Buf { .. })),
            _ => t.is_scalar(),
        };
        if !ok {
            return Err(format!("printf: %{} in argument {} does not match a value of type {t}", c.conv, i + 1));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_specifiers() {
        let c = conversions("%-16s %6d %lu %llu %% %x %rx %r").expect("valid");
        assert_eq!(c.iter().map(|c| c.conv).collect::<String>(), "sduuxrr");
        // bpftrace 0.20: `%q`, `%i` and C's `+`, space and `#` flags start no specifier.
        assert_eq!(conversions("%q %i %+d % d %#x 50% done").map(|c| c.len()), Ok(0));
    }

    #[test]
    fn checks_counts() {
        assert!(check("%d %d", &[Type::I64]).is_err());
        assert!(check("%s", &[Type::Str { len: 16 }]).is_ok());
    }
}
