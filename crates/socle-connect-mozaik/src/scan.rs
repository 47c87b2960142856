//! The per-line check with serde_json: is the line one JSON object, and which of the contract's
//! keys does it carry (JSON has no header, so a column is "present" when some line has its key).
//!
//! The check deserialises into visitors that only look at keys and skip every value
//! ([`IgnoredAny`]): no `Value` tree is built, object keys are borrowed from the line when they
//! have no escapes.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use socle_dictionary::SourceTable;

/// The keys looked for in the lines of one file, for every table that reads it.
#[derive(Debug, Clone, Default)]
pub struct KeySpec {
    /// Top-level keys: the tables' columns read from the line, and their `unnest` arrays.
    pub top: Vec<String>,
    /// The `unnest` arrays: index of the array's key in `top`, and the keys looked for in its
    /// elements (the unnesting tables' columns).
    pub arrays: Vec<(usize, Vec<String>)>,
}

impl KeySpec {
    /// The keys of the tables reading one file.
    pub fn of(tables: &[SourceTable]) -> KeySpec {
        let mut spec = KeySpec::default();
        for table in tables {
            for column in &table.columns {
                if table.unnest.as_deref() != Some(column.name.as_str()) {
                    spec.top_index(&column.name);
                }
            }
            if let Some(array) = &table.unnest {
                let at = spec.top_index(array);
                let fields = match spec.arrays.iter().position(|(i, _)| *i == at) {
                    Some(a) => &mut spec.arrays[a].1,
                    None => {
                        spec.arrays.push((at, Vec::new()));
                        let last = spec.arrays.len() - 1;
                        &mut spec.arrays[last].1
                    }
                };
                for column in &table.columns {
                    if !fields.contains(&column.name) {
                        fields.push(column.name.clone());
                    }
                }
            }
        }
        spec
    }

    fn top_index(&mut self, name: &str) -> usize {
        match self.top.iter().position(|n| n == name) {
            Some(i) => i,
            None => {
                self.top.push(name.to_string());
                self.top.len() - 1
            }
        }
    }
}

/// Which keys were seen (in one line, or in a whole file).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Seen {
    /// Per key of [`KeySpec::top`].
    pub top: Vec<bool>,
    /// Per array of [`KeySpec::arrays`]: per element key, and the number of object elements.
    pub arrays: Vec<(Vec<bool>, u64)>,
    /// Lines that are JSON objects.
    pub objects: u64,
}

impl Seen {
    pub fn new(spec: &KeySpec) -> Seen {
        Seen {
            top: vec![false; spec.top.len()],
            arrays: spec.arrays.iter().map(|(_, f)| (vec![false; f.len()], 0)).collect(),
            objects: 0,
        }
    }

    pub fn clear(&mut self) {
        self.top.fill(false);
        for (fields, n) in &mut self.arrays {
            fields.fill(false);
            *n = 0;
        }
        self.objects = 0;
    }

    /// Adds what `line` saw.
    pub fn merge(&mut self, line: &Seen) {
        for (a, b) in self.top.iter_mut().zip(&line.top) {
            *a |= *b;
        }
        for ((fa, na), (fb, nb)) in self.arrays.iter_mut().zip(&line.arrays) {
            for (a, b) in fa.iter_mut().zip(fb) {
                *a |= *b;
            }
            *na += nb;
        }
        self.objects += line.objects;
    }
}

/// Why a line is not one JSON object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotAnObject {
    /// Not JSON, or JSON followed by something else; `at` is the 1-based character position.
    Syntax { at: usize },
    /// The line ends inside a JSON value.
    Eof,
    /// Valid JSON, but not an object (an array, a string...).
    Shape,
}

/// Checks that `line` (valid UTF-8, no line break) is exactly one JSON object and records the
/// keys it carries in `seen` (cleared first; left partial on error).
pub fn scan_line(line: &[u8], spec: &KeySpec, seen: &mut Seen) -> Result<(), NotAnObject> {
    seen.clear();
    let mut de = serde_json::Deserializer::from_slice(line);
    let result = LineScan { spec, seen: &mut *seen }
        .deserialize(&mut de)
        .and_then(|()| de.end());
    match result {
        Ok(()) => {
            seen.objects = 1;
            Ok(())
        }
        // serde_json's messages may quote the offending value (a name, a code permanent): only
        // the category and the position are kept.
        Err(e) => Err(match e.classify() {
            serde_json::error::Category::Data => NotAnObject::Shape,
            serde_json::error::Category::Eof => NotAnObject::Eof,
            serde_json::error::Category::Syntax | serde_json::error::Category::Io => {
                NotAnObject::Syntax { at: e.column() }
            }
        }),
    }
}

/// What a JSON value is, by its first character (for messages that must not quote it).
pub fn json_kind(text: &[u8]) -> &'static str {
    match text.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => "object",
        Some(b'[') => "array",
        Some(b'"') => "string",
        Some(b't' | b'f') => "boolean",
        Some(b'n') => "null",
        Some(b'-' | b'0'..=b'9') => "number",
        _ => "value",
    }
}

/// An object key, borrowed from the line unless it holds escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_str(V)
    }
}

/// The line: must be an object.
struct LineScan<'a> {
    spec: &'a KeySpec,
    seen: &'a mut Seen,
}

impl<'de> DeserializeSeed<'de> for LineScan<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for LineScan<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<Key>()? {
            match self.spec.top.iter().position(|n| *n == *key.0) {
                Some(i) => {
                    self.seen.top[i] = true;
                    match self.spec.arrays.iter().position(|(at, _)| *at == i) {
                        Some(a) => map.next_value_seed(ArrayScan {
                            fields: &self.spec.arrays[a].1,
                            seen: &mut self.seen.arrays[a],
                        })?,
                        None => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// Accepts every other JSON value without looking at it: a wrong shape is arrow-json's to find
/// (and the connector's to name), the scan only records keys.
macro_rules! accept_scalars {
    () => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
            Ok(())
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
            Ok(())
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
            Ok(())
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
            Ok(())
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
            Ok(())
        }
        fn visit_unit<E: de::Error>(self) -> Result<(), E> {
            Ok(())
        }
        fn visit_none<E: de::Error>(self) -> Result<(), E> {
            Ok(())
        }
    };
}

/// The value of an `unnest` array key: its object elements' keys are recorded.
struct ArrayScan<'a> {
    fields: &'a [String],
    seen: &'a mut (Vec<bool>, u64),
}

impl<'de> DeserializeSeed<'de> for ArrayScan<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ArrayScan<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    accept_scalars!();
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq
            .next_element_seed(ElementScan {
                fields: self.fields,
                seen: &mut *self.seen,
            })?
            .is_some()
        {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(())
    }
}

/// One element of an `unnest` array.
struct ElementScan<'a> {
    fields: &'a [String],
    seen: &'a mut (Vec<bool>, u64),
}

impl<'de> DeserializeSeed<'de> for ElementScan<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ElementScan<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    accept_scalars!();
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.seen.1 += 1;
        while let Some(key) = map.next_key::<Key>()? {
            if let Some(i) = self.fields.iter().position(|n| *n == *key.0) {
                self.seen.0[i] = true;
            }
            map.next_value::<IgnoredAny>()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> KeySpec {
        KeySpec {
            top: vec!["a".into(), "b".into(), "codes".into()],
            arrays: vec![(2, vec!["code".into(), "a".into()])],
        }
    }

    #[test]
    fn records_keys_of_objects_and_array_elements() {
        let spec = spec();
        let mut seen = Seen::new(&spec);
        let line = br#"{"b": {"x": [1, 2]}, "zz": null, "codes": [{"code": "A", "n": 1}, null, 3, [4]], "a\u00e9": 1}"#;
        assert_eq!(scan_line(line, &spec, &mut seen), Ok(()));
        assert_eq!(seen.top, [false, true, true]);
        assert_eq!(seen.arrays, [(vec![true, false], 1)]);
        assert_eq!(seen.objects, 1);
        // Escaped keys are compared decoded.
        assert_eq!(scan_line(br#"{"\u0061": 1, "codes": "x"}"#, &spec, &mut seen), Ok(()));
        assert_eq!(seen.top, [true, false, true]);
    }

    #[test]
    fn tells_syntax_eof_and_shape_apart() {
        let spec = spec();
        let mut seen = Seen::new(&spec);
        assert_eq!(scan_line(b"[1, 2]", &spec, &mut seen), Err(NotAnObject::Shape));
        assert_eq!(scan_line(b"\"Tremblay\"", &spec, &mut seen), Err(NotAnObject::Shape));
        assert_eq!(scan_line(br#"{"a": 1"#, &spec, &mut seen), Err(NotAnObject::Eof));
        assert_eq!(scan_line(br#"{"a": "Tre"#, &spec, &mut seen), Err(NotAnObject::Eof));
        assert!(matches!(
            scan_line(br#"{"a": 1} {"a": 2}"#, &spec, &mut seen),
            Err(NotAnObject::Syntax { .. })
        ));
        assert!(matches!(
            scan_line(br#"{"a": x}"#, &spec, &mut seen),
            Err(NotAnObject::Syntax { at: 7 })
        ));
        assert_eq!(json_kind(b" [1]"), "array");
        assert_eq!(json_kind(b"-1"), "number");
    }
}
