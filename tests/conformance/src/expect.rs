//! Judging a test's output against its expectation.

use crate::pyre;
use crate::suite::{ExpectMode, Test};
use std::path::Path;

/// Whether `output` meets the test's expectation. Files named by EXPECT_FILE and EXPECT_JSON
/// are relative to `dir` (the directory tests run in). An expectation that can't be read or
/// compiled is an error, reported as a failure.
pub fn meets(t: &Test, output: &str, dir: &Path) -> Result<bool, String> {
    match t.expect_mode {
        Some(ExpectMode::Regex) | None => {
            let re = pyre::compile(&t.expect)?;
            Ok(pyre::search(&re, output))
        }
        Some(ExpectMode::File) => {
            let want = read(dir, &t.expect)?;
            Ok(output.trim() == want.trim())
        }
        Some(ExpectMode::Json) => {
            let want: serde_json::Value = serde_json::from_str(&read(dir, &t.expect)?)
                .map_err(|e| format!("{}: {e}", t.expect))?;
            Ok(serde_json::from_str::<serde_json::Value>(output).is_ok_and(|got| got == want))
        }
    }
}

fn read(dir: &Path, name: &str) -> Result<String, String> {
    std::fs::read_to_string(dir.join(name)).map_err(|e| format!("{name}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test(mode: ExpectMode, expect: &str) -> Test {
        Test { expect: expect.into(), expect_mode: Some(mode), ..Test::default() }
    }

    #[test]
    fn regex_searches_every_line() {
        let t = test(ExpectMode::Regex, r"^@: \d+$");
        let dir = Path::new("/");
        assert_eq!(meets(&t, "Attaching 1 probe...\n@: 12\n", dir), Ok(true));
        assert_eq!(meets(&t, "@: x\n", dir), Ok(false));
    }

    #[test]
    fn files_compare_stripped_and_json_as_values() {
        let dir = std::env::temp_dir().join(format!("btc-conf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        std::fs::write(dir.join("out.txt"), "\n@x: 1\n@y: 2\n\n").expect("write");
        std::fs::write(dir.join("out.json"), r#"{"type": "map", "data": {"@x": 1}}"#).expect("write");
        let file = test(ExpectMode::File, "out.txt");
        assert_eq!(meets(&file, "@x: 1\n@y: 2\n", &dir), Ok(true));
        assert_eq!(meets(&file, "@x: 1\n@y: 3\n", &dir), Ok(false));
        let json = test(ExpectMode::Json, "out.json");
        assert_eq!(meets(&json, "{\"data\":{\"@x\":1},\"type\":\"map\"}\n", &dir), Ok(true));
        assert_eq!(meets(&json, "{\"data\":{\"@x\":2},\"type\":\"map\"}\n", &dir), Ok(false));
        assert_eq!(meets(&json, "not json", &dir), Ok(false));
        assert!(meets(&test(ExpectMode::File, "missing"), "", &dir).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
