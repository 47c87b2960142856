//! The fuzz campaign of the Mozaïk reader (`socle_connect::testing::fuzz`): mutated committed
//! JSON Lines never panic the reader, every rejected line is located, records read = records
//! typed + records rejected per table, and a fixture cut short fails the source exactly when its
//! last line is cut. 64 cases per property; `PROPTEST_CASES` for more (`benches/fuzz.sh`).

use serde_json::Value;
use socle_connect::testing::fuzz;
use socle_connect_mozaik::read_mozaik;

/// Whether JSON Lines cut short are a cut file by the contract: the last line, with no line
/// break, is not blank and is not a whole JSON object (even with bytes that are not UTF-8
/// replaced), or ends inside a UTF-8 character.
fn jsonl_cut_rule(bytes: &[u8]) -> bool {
    if bytes.ends_with(b"\n") {
        return false;
    }
    let start = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let mut last = &bytes[start..];
    last = last.strip_suffix(b"\r").unwrap_or(last);
    if start == 0 {
        last = last.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(last);
    }
    if last.iter().all(u8::is_ascii_whitespace) {
        return false;
    }
    if std::str::from_utf8(last).is_err_and(|e| e.error_len().is_none()) {
        return true;
    }
    !matches!(
        serde_json::from_str::<Value>(&String::from_utf8_lossy(last)),
        Ok(Value::Object(_))
    )
}

#[test]
fn the_reader_survives_mutated_fixtures() {
    fuzz::fuzz_reader("mozaik", file!(), |dir, source, opts| async move {
        read_mozaik(&dir, &source, &opts).await
    });
}

#[test]
fn fixtures_cut_short_fail_the_source() {
    fuzz::fuzz_cut_files(
        "mozaik",
        file!(),
        false,
        jsonl_cut_rule,
        |dir, source, opts| async move { read_mozaik(&dir, &source, &opts).await },
    );
}
