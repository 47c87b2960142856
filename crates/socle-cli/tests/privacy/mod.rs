//! What the privacy test searches the shared zone, its statistics, the quality reports and the
//! logs for: the personal data the generator wrote (`personal.csv` of its truth folder).
//!
//! The rule, chosen to find every real leak without false alarms:
//! - **Codes permanents**: anywhere, in any case, also inside a longer word (a code is 12
//!   characters `[A-Z]{4}[0-9]{8}`: no other value looks like one).
//! - **Birth dates**: in every format the exports use (`2010-03-04`, `20100304`, `04/03/2010`),
//!   as a whole token (bounded by anything but letters, digits, `-` and `/`), or as the date of an
//!   ISO timestamp (`2010-03-04T...`). A token, not any substring: an 8-digit birth date could
//!   otherwise be found by chance inside a 32-hex-digit student key.
//! - **Names**: full names only, "prénom nom" or "nom prénom", in any case, as consecutive words
//!   (words are runs of letters, so `Jean-Philippe` is two words and a comma between the names is
//!   allowed). A first name or a surname alone is not searched: `Martin`, `Rose` or `Laval` are
//!   also ordinary words, course descriptions or places. A full name that is also part of a name
//!   of the public ministry registry (a school named after a person, `Jacques-Cartier`) is left
//!   out: finding it proves nothing.
//!
//! [`PersonalData::find`] answers what kind of value it found, never the value itself, so that a
//! failing assertion does not print personal data either.

use std::collections::{HashMap, HashSet};
use std::path::Path;

/// The personal values to look for, prepared for fast search.
pub struct PersonalData {
    /// Codes permanents, upper case.
    codes: HashSet<String>,
    /// Birth dates in the three formats.
    dates: HashSet<String>,
    /// Full names as word sequences (lower case, both orders), by first word.
    names: HashMap<String, Vec<Vec<String>>>,
    /// How many people `personal.csv` lists.
    pub people: usize,
    /// Full names left out because a public registry name holds them.
    pub public_names: usize,
}

/// What was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    CodePermanent,
    BirthDate,
    FullName,
}

/// Lower-case words: runs of letters.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphabetic())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

impl PersonalData {
    /// From the truth folder's `personal.csv` (`code_perm,nom,pnom,date_naiss`, ISO dates), with
    /// `public` the names of the public registry (schools, organisations).
    pub fn load<'a>(truth: &Path, public: impl IntoIterator<Item = &'a str>) -> Self {
        let mut r = csv::Reader::from_path(truth.join("personal.csv")).unwrap();
        let mut codes = HashSet::new();
        let mut dates = HashSet::new();
        let mut sequences: HashSet<Vec<String>> = HashSet::new();
        let mut people = 0;
        for rec in r.deserialize::<std::collections::BTreeMap<String, String>>() {
            let rec = rec.unwrap();
            people += 1;
            let code = rec["code_perm"].trim().to_uppercase();
            if !code.is_empty() {
                codes.insert(code);
            }
            let d = rec["date_naiss"].trim();
            if let Ok(date) = chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d") {
                dates.insert(date.format("%Y-%m-%d").to_string());
                dates.insert(date.format("%Y%m%d").to_string());
                dates.insert(date.format("%d/%m/%Y").to_string());
            }
            let (first, last) = (words(&rec["pnom"]), words(&rec["nom"]));
            if !first.is_empty() && !last.is_empty() {
                sequences.insert(first.iter().chain(&last).cloned().collect());
                sequences.insert(last.iter().chain(&first).cloned().collect());
            }
        }
        let mut data = PersonalData {
            codes,
            dates,
            names: HashMap::new(),
            people,
            public_names: 0,
        };
        for s in sequences {
            data.names.entry(s[0].clone()).or_default().push(s);
        }
        // Full names that are part of a public name are not evidence of anything.
        let mut public_hits: HashSet<Vec<String>> = HashSet::new();
        for p in public {
            public_hits.extend(data.name_sequences_in(&words(p)));
        }
        data.public_names = public_hits.len();
        for list in data.names.values_mut() {
            list.retain(|s| !public_hits.contains(s));
        }
        data
    }

    /// The known full names found in `w` (a text's words).
    fn name_sequences_in(&self, w: &[String]) -> Vec<Vec<String>> {
        let mut found = Vec::new();
        for i in 0..w.len() {
            if let Some(candidates) = self.names.get(&w[i]) {
                for s in candidates {
                    if w.len() - i >= s.len() && w[i..i + s.len()] == s[..] {
                        found.push(s.clone());
                    }
                }
            }
        }
        found
    }

    /// The first personal value `text` holds, by kind.
    pub fn find(&self, text: &str) -> Option<Found> {
        // Codes permanents: any 12-character window of a run of letters and digits.
        let upper = text.to_uppercase();
        for run in upper.split(|c: char| !c.is_ascii_alphanumeric()) {
            if run.len() >= 12 {
                for i in 0..=run.len() - 12 {
                    if self.codes.contains(&run[i..i + 12]) {
                        return Some(Found::CodePermanent);
                    }
                }
            }
        }
        // Birth dates: whole tokens, or the date of a timestamp.
        for token in text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '/')) {
            if token.len() < 8 {
                continue;
            }
            if self.dates.contains(token) {
                return Some(Found::BirthDate);
            }
            if token.len() > 11 && token.as_bytes()[10] == b'T' && self.dates.contains(&token[..10]) {
                return Some(Found::BirthDate);
            }
        }
        if !self.name_sequences_in(&words(text)).is_empty() {
            return Some(Found::FullName);
        }
        None
    }

    /// Sanity check of the search itself on a person of the list: each format is found.
    pub fn assert_finds_its_own_values(&self, truth: &Path) {
        let mut r = csv::Reader::from_path(truth.join("personal.csv")).unwrap();
        let mut checked = 0;
        for rec in r.deserialize::<std::collections::BTreeMap<String, String>>() {
            let rec = rec.unwrap();
            let (first, last) = (words(&rec["pnom"]), words(&rec["nom"]));
            let seq: Vec<String> = first.iter().chain(&last).cloned().collect();
            if first.is_empty() || last.is_empty() || !self.names.get(&seq[0]).is_some_and(|l| l.contains(&seq)) {
                continue;
            }
            let Ok(date) = chrono::NaiveDate::parse_from_str(rec["date_naiss"].trim(), "%Y-%m-%d") else {
                continue;
            };
            let code = rec["code_perm"].trim().to_lowercase();
            assert_eq!(self.find(&format!("x{code}y")), Some(Found::CodePermanent));
            for f in ["%Y-%m-%d", "%Y%m%d", "%d/%m/%Y", "%Y-%m-%dT00:00:00"] {
                assert_eq!(
                    self.find(&format!("né le {}.", date.format(f))),
                    Some(Found::BirthDate),
                    "format {f}"
                );
            }
            let (p, n) = (rec["pnom"].to_uppercase(), rec["nom"].to_lowercase());
            assert_eq!(self.find(&format!("élève: {n}, {p}")), Some(Found::FullName));
            assert_eq!(self.find(&format!("{p} {n}")), Some(Found::FullName));
            // Inside a hex key, an 8-digit date is not a token.
            assert_eq!(
                self.find(&format!("2a3f9c0e{}ab12cd34ef56ab", date.format("%Y%m%d"))),
                None
            );
            checked += 1;
            if checked == 20 {
                break;
            }
        }
        assert_eq!(checked, 20, "too few people to check the search on");
    }
}
