use std::fmt;

/// A school year, July 1 to June 30, shown as `2024-2025`. GPI stores its start year (`2024`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SchoolYear(i32);

impl SchoolYear {
    pub fn from_start_year(start: i32) -> Self {
        SchoolYear(start)
    }
    /// The school year containing a date given as (year, month): July starts a new year.
    pub fn containing(year: i32, month: u32) -> Self {
        if month >= 7 {
            SchoolYear(year)
        } else {
            SchoolYear(year - 1)
        }
    }
    pub fn start_year(self) -> i32 {
        self.0
    }
    /// First day of the year, July 1 of the start year, as (year, month, day).
    pub fn first_day(self) -> (i32, u32, u32) {
        (self.0, 7, 1)
    }
    /// Last day of the year, June 30 of the following calendar year, as (year, month, day).
    pub fn last_day(self) -> (i32, u32, u32) {
        (self.0 + 1, 6, 30)
    }
    /// The official count date of the year, September 30 of the start year, as (year, month,
    /// day): enrolment (effectif), cohorts and ages are all taken on this day. Every mart gets it
    /// from here, through the `annees_scolaires` reference table.
    pub fn census_day(self) -> (i32, u32, u32) {
        (self.0, 9, 30)
    }
    pub fn next(self) -> Self {
        SchoolYear(self.0 + 1)
    }
    pub fn previous(self) -> Self {
        SchoolYear(self.0 - 1)
    }
    /// [`SchoolYear::parse`] for a command-line value; the error says what is expected.
    pub fn from_arg(s: &str) -> Result<Self, String> {
        Self::parse(s).ok_or_else(|| format!("invalid school year {s:?}: expected 2024-2025 or 2024"))
    }

    /// Parses `2024-2025` (the canonical label) or `2024` (GPI's start year).
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        if let Some((a, b)) = s.split_once('-') {
            let a: i32 = a.parse().ok()?;
            let b: i32 = b.parse().ok()?;
            (b == a + 1).then_some(SchoolYear(a))
        } else {
            s.parse().ok().map(SchoolYear)
        }
    }
}

impl fmt::Display for SchoolYear {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.0, self.0 + 1)
    }
}

/// A 6-digit ministry organisation code. A CSS code ends in `000`; its establishments share its
/// first three digits.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OrgCode(String);

#[derive(Debug, thiserror::Error)]
#[error("invalid organisation code {0:?}: expected 6 digits")]
pub struct OrgCodeError(pub String);

impl OrgCode {
    pub fn parse(s: &str) -> Result<Self, OrgCodeError> {
        let t = s.trim();
        if t.len() == 6 && t.bytes().all(|b| b.is_ascii_digit()) {
            Ok(OrgCode(t.to_string()))
        } else {
            Err(OrgCodeError(t.to_string()))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn is_css(&self) -> bool {
        self.0.ends_with("000")
    }
}

impl fmt::Display for OrgCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn school_year_labels_and_parsing() {
        assert_eq!(SchoolYear::from_start_year(2024).to_string(), "2024-2025");
        assert_eq!(SchoolYear::parse("2024-2025"), Some(SchoolYear(2024)));
        assert_eq!(SchoolYear::parse("2024"), Some(SchoolYear(2024)));
        assert_eq!(SchoolYear::parse("2024-2026"), None);
        assert_eq!(SchoolYear::containing(2025, 6), SchoolYear(2024));
        assert_eq!(SchoolYear::containing(2025, 7), SchoolYear(2025));
    }

    #[test]
    fn org_codes() {
        assert!(OrgCode::parse("866000").unwrap().is_css());
        assert!(!OrgCode::parse(" 866123 ").unwrap().is_css());
        assert!(OrgCode::parse("86600").is_err());
        assert!(OrgCode::parse("86600A").is_err());
    }
}
