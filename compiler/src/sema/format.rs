//! printf format strings: parsing conversion specifications and checking arguments against them.

use crate::types::Type;

/// One `%...` conversion in a format string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversion {
    /// The conversion character (`d`, `s`, ...); `r` may be followed by `x`/`h` (`%rx`, `%rh`).
    pub conv: char,
}

/// The conversions of a format string, or an error message.
pub fn conversions(fmt: &str) -> Result<Vec<Conversion>, String> {
    let mut out = Vec::new();
    let mut chars = fmt.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            continue;
        }
        if chars.peek() == Some(&'%') {
            chars.next();
            continue;
        }
        while chars.peek().is_some_and(|c| "-+ #0".contains(*c)) {
            chars.next();
        }
        while chars.peek().is_some_and(|c| c.is_ascii_digit()) {
            chars.next();
        }
        if chars.peek() == Some(&'.') {
            chars.next();
            while chars.peek().is_some_and(|c| c.is_ascii_digit()) {
                chars.next();
            }
        }
        while chars.peek().is_some_and(|c| "hlzj".contains(*c)) {
            chars.next();
        }
        match chars.next() {
            Some(conv) if "diuxXocsp".contains(conv) => out.push(Conversion { conv }),
            Some('r') => {
                if chars.peek().is_some_and(|c| *c == 'x' || *c == 'h') {
                    chars.next();
                }
                out.push(Conversion { conv: 'r' });
            }
            Some(other) => return Err(format!("invalid format specifier '%{other}' in printf")),
            None => return Err("format string ends in the middle of a '%' specifier".to_string()),
        }
    }
    Ok(out)
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
        let c = conversions("%-16s %6d %lu %llu %% %x").expect("valid");
        assert_eq!(c.iter().map(|c| c.conv).collect::<String>(), "sduux");
        assert!(conversions("%q").is_err());
    }

    #[test]
    fn checks_counts() {
        assert!(check("%d %d", &[Type::I64]).is_err());
        assert!(check("%s", &[Type::Str { len: 16 }]).is_ok());
    }
}
