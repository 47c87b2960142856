//! A Québec-like school calendar: 180 school days from late August to late June, statutory
//! holidays, Christmas and spring breaks, pedagogical days, and three étapes.

use std::collections::BTreeSet;

use chrono::{Datelike, Days, NaiveDate, Weekday};
use rand::Rng;

use crate::rng::{self, SALT_CALENDAR};

pub(crate) const SCHOOL_DAYS: usize = 180;

pub(crate) fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or(NaiveDate::MIN)
}

fn nth(y: i32, m: u32, wd: Weekday, n: u8) -> NaiveDate {
    NaiveDate::from_weekday_of_month_opt(y, m, wd, n).unwrap_or(NaiveDate::MIN)
}

fn next_day(d: NaiveDate) -> NaiveDate {
    d.checked_add_days(Days::new(1)).unwrap_or(d)
}

fn easter(y: i32) -> NaiveDate {
    let a = y % 19;
    let b = y / 100;
    let c = y % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    ymd(y, month as u32, day as u32)
}

/// One weekday of the calendar.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Day {
    pub date: NaiveDate,
    /// Ordinal among school days (0-based), `None` for a weekday without class.
    pub school: Option<u32>,
    /// Half day (fewer periods).
    pub half: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct YearCalendar {
    pub days: Vec<Day>,
    /// Indices into `days` of the school days.
    pub school_days: Vec<usize>,
    /// Étapes as ranges of school-day ordinals.
    pub etapes: [(usize, usize); 3],
}

impl YearCalendar {
    pub(crate) fn build(seed: u64, css_label: u64, start_year: i32) -> Self {
        let mut r = rng::stream(seed, &[SALT_CALENDAR, css_label, start_year as u64]);
        let y = start_year;
        let mut off = BTreeSet::new();
        off.insert(nth(y, 9, Weekday::Mon, 1));
        off.insert(nth(y, 10, Weekday::Mon, 2));
        let xmas_start = ymd(y, 12, 20 + r.random_range(1..=3));
        let mut d = xmas_start;
        while d <= ymd(y + 1, 1, 3 + r.random_range(0..=3)) {
            off.insert(d);
            d = next_day(d);
        }
        let spring = nth(y + 1, 3, Weekday::Mon, 1);
        let mut d = spring;
        for _ in 0..5 {
            off.insert(d);
            d = next_day(d);
        }
        let e = easter(y + 1);
        if let Some(gf) = e.checked_sub_days(Days::new(2)) {
            off.insert(gf);
        }
        off.insert(next_day(e));
        let mut victoria = ymd(y + 1, 5, 24);
        while victoria.weekday() != Weekday::Mon {
            victoria = victoria.pred_opt().unwrap_or(victoria);
        }
        off.insert(victoria);
        // Pedagogical days: one in the third week of most months.
        for (yy, mm) in [(y, 9), (y, 10), (y, 11), (y + 1, 1), (y + 1, 2), (y + 1, 4), (y + 1, 5)] {
            let wd = if r.random_bool(0.8) { Weekday::Fri } else { Weekday::Mon };
            let n = r.random_range(2..=3u8);
            off.insert(nth(yy, mm, wd, n));
        }

        let first = ymd(y, 8, 20);
        let school_start = ymd(y, 8, 26 + r.random_range(0..=3));
        let mut days = Vec::with_capacity(230);
        let mut school_days = Vec::with_capacity(SCHOOL_DAYS);
        let mut d = first;
        let mut trailing = 0;
        while trailing < 3 && d.year() <= y + 1 {
            if !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) {
                let is_school = school_days.len() < SCHOOL_DAYS && d >= school_start && !off.contains(&d);
                if is_school {
                    school_days.push(days.len());
                    days.push(Day {
                        date: d,
                        school: Some(school_days.len() as u32 - 1),
                        half: false,
                    });
                } else {
                    if school_days.len() >= SCHOOL_DAYS {
                        trailing += 1;
                    }
                    days.push(Day {
                        date: d,
                        school: None,
                        half: false,
                    });
                }
            }
            d = next_day(d);
        }
        // Half days: the last class before the Christmas break and the last day of the year.
        if let Some(&i) = school_days.iter().rev().find(|&&i| days[i].date < xmas_start) {
            days[i].half = true;
        }
        if let Some(&i) = school_days.last() {
            days[i].half = true;
        }
        let n = school_days.len();
        let e1 = r.random_range(48..=54usize).min(n);
        let e2 = (e1 + r.random_range(58..=62usize)).min(n);
        YearCalendar {
            days,
            school_days,
            etapes: [(0, e1), (e1, e2), (e2, n)],
        }
    }

    /// (date_deb, date_fin, nb_jours_classe) of étape `e` (0-based).
    pub(crate) fn etape(&self, e: usize) -> (NaiveDate, NaiveDate, usize) {
        let (a, b) = self.etapes[e];
        let date = |k: usize| {
            self.school_days
                .get(k)
                .map(|&i| self.days[i].date)
                .unwrap_or(NaiveDate::MIN)
        };
        (date(a), date(b.saturating_sub(1).max(a)), b - a)
    }

    pub(crate) fn first_school_day(&self) -> NaiveDate {
        self.school_days
            .first()
            .map(|&i| self.days[i].date)
            .unwrap_or(NaiveDate::MIN)
    }

    pub(crate) fn school_day_date(&self, ordinal: usize) -> NaiveDate {
        self.school_days
            .get(ordinal)
            .map(|&i| self.days[i].date)
            .unwrap_or(NaiveDate::MIN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_has_180_days_and_three_etapes() {
        for y in 2015..2030 {
            let c = YearCalendar::build(1, 2, y);
            assert_eq!(c.school_days.len(), SCHOOL_DAYS, "{y}");
            let (d1, f1, n1) = c.etape(0);
            assert!(d1.month() == 8 || d1.month() == 9);
            assert!(f1 < ymd(y, 11, 20), "{y}: {f1}");
            assert!((48..=54).contains(&n1));
            let (_, f3, _) = c.etape(2);
            assert_eq!(f3.month(), 6, "{y}: {f3}");
            assert_eq!(easter(2024), ymd(2024, 3, 31));
            assert_eq!(easter(2025), ymd(2025, 4, 20));
        }
    }
}
