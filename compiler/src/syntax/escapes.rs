//! String literal escapes: `\n \t \r \" \\ \' \0nn` (octal) and `\xnn` (hex), as the manual lists.

/// Processes escapes. Returns the string and the first invalid escape, if any.
pub fn unescape(s: &str) -> (String, Option<String>) {
    let mut out: Vec<u8> = Vec::with_capacity(s.len());
    let bytes = s.as_bytes();
    let mut bad = None;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b != b'\\' {
            out.push(b);
            i += 1;
            continue;
        }
        let Some(&next) = bytes.get(i + 1) else {
            bad.get_or_insert_with(|| "\\".to_string());
            break;
        };
        i += 2;
        match next {
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'"' => out.push(b'"'),
            b'\'' => out.push(b'\''),
            b'\\' => out.push(b'\\'),
            b'0'..=b'7' => {
                let mut v: u32 = u32::from(next - b'0');
                let mut n = 1;
                while n < 3 && bytes.get(i).is_some_and(|c| (b'0'..=b'7').contains(c)) {
                    v = v * 8 + u32::from(bytes[i] - b'0');
                    i += 1;
                    n += 1;
                }
                out.push((v & 0xff) as u8);
            }
            b'x' => {
                let start = i;
                while i < bytes.len() && i < start + 2 && bytes[i].is_ascii_hexdigit() {
                    i += 1;
                }
                match u8::from_str_radix(&s[start..i], 16) {
                    Ok(v) if i > start => out.push(v),
                    _ => {
                        bad.get_or_insert_with(|| "\\x".to_string());
                    }
                }
            }
            other => {
                bad.get_or_insert_with(|| format!("\\{}", other as char));
                out.push(other);
            }
        }
    }
    (String::from_utf8_lossy(&out).into_owned(), bad)
}

#[cfg(test)]
mod tests {
    use super::unescape;

    #[test]
    fn escapes() {
        assert_eq!(unescape(r#"a\n\t\"\\\x41\101"#), ("a\n\t\"\\AA".to_string(), None));
        assert_eq!(unescape(r"\q").1, Some("\\q".to_string()));
    }
}
