//! The drop guard: a bad night never replaces good data silently.
//!
//! Before anything of a CSS is written, each canonical entity the night would publish is
//! compared with the night already loaded (the current manifest's rows per school year). When
//! its rows **for a school year** fall by more than the entity's `baisse_max` (default 0.5; see
//! [`socle_dictionary::Dictionary::baisse_max`]), or fall to zero, the sources feeding it are
//! held: their tables keep their previous state, the run exits 2 and says which entity, year,
//! rows before and now, and the command that accepts the drop ([`accept_drop_command`]).
//!
//! **The years compared are the years the night holds**: the school years with at least one row
//! in a table the night would publish for that CSS. They are exactly the partitions the commit
//! replaces (a night with only 2025-2026 keeps 2024-2025 as it was, so 2024-2025 is not a drop;
//! but a night whose `inscription` has 2024-2025 rows and whose `absence` has none of 2024-2025
//! would empty `absence` 2024-2025: that is a fall to zero). An entity without school year
//! (`eleve`) is compared whole. An entity or year the loaded night did not have (or had with no
//! row) is never a drop. Holding only shrinks what is written, so the years of what is finally
//! published are a subset of those compared: nothing published escapes the guard.

use std::collections::{BTreeMap, BTreeSet};

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::error::DataFusionError;
use socle_dictionary::{Dictionary, Partitioning};
use socle_warehouse::{DropRecord, Manifest};

use crate::PipelineError;

/// The school-year column of partitioned entities.
const YEAR_COLUMN: &str = "annee_scolaire";

/// The command that accepts a held drop of `entity` for `code_css`.
pub fn accept_drop_command(code_css: &str, entity: &str) -> String {
    format!("socle run --accept-drop {code_css}:{entity}")
}

/// A recorded drop in words: entity, year, rows before and now, and the night.
pub fn describe_drop_record(d: &DropRecord) -> String {
    format!(
        "{} (night {})",
        describe_drop(
            &d.entity,
            d.annee_scolaire.as_deref(),
            d.rows_before,
            d.rows_now,
            d.baisse_max
        ),
        d.night
    )
}

/// The held and accepted drops of a CSS, one line each (ending with a newline), each held one
/// with the command that accepts it: what the night's summary and `socle status` print.
pub fn drop_lines(code_css: &str, held: &[DropRecord], accepted: &[DropRecord], indent: &str) -> String {
    let mut out = String::new();
    for d in held {
        out.push_str(&format!(
            "{indent}HELD {}; sources {} keep their previous state; if the drop is real: {}\n",
            describe_drop_record(d),
            d.sources.join(", "),
            accept_drop_command(code_css, &d.entity)
        ));
    }
    for d in accepted {
        out.push_str(&format!(
            "{indent}accepted drop (--accept-drop): {}\n",
            describe_drop_record(d)
        ));
    }
    out
}

/// Parses an `--accept-drop` value, `CSS:ENTITY` (`866000:absence`), checking the entity
/// against the dictionary. The error says what is expected.
pub fn parse_accept_drop(value: &str, dictionary: &Dictionary) -> Result<(String, String), String> {
    let Some((css, entity)) = value.split_once(':') else {
        return Err(format!(
            "--accept-drop {value}: expected CSS:ENTITY, e.g. 866000:absence"
        ));
    };
    if css.len() != 6 || !css.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("--accept-drop {value}: {css:?} is not a CSS code (6 digits)"));
    }
    if dictionary.entity(entity).is_none() {
        let names: Vec<&str> = dictionary.entities.iter().map(|e| e.name.as_str()).collect();
        return Err(format!(
            "--accept-drop {value}: no entity {entity:?} in the dictionary ({})",
            names.join(", ")
        ));
    }
    Ok((css.to_string(), entity.to_string()))
}

/// Rows of one entity per school year (`Some(year)`), or in all (`None`) for an entity without
/// school year. Rows with a null year are not counted (the write refuses them anyway).
pub type RowsByYear = BTreeMap<Option<String>, u64>;

/// Counts the rows of an entity's batches per school year (`partitioned`), or in all.
pub fn rows_by_year(batches: &[RecordBatch], partitioned: bool) -> Result<RowsByYear, PipelineError> {
    let mut out = RowsByYear::new();
    for b in batches.iter().filter(|b| b.num_rows() > 0) {
        let column = if partitioned {
            b.column_by_name(YEAR_COLUMN)
        } else {
            None
        };
        let Some(column) = column else {
            *out.entry(None).or_default() += b.num_rows() as u64;
            continue;
        };
        let years = datafusion::arrow::compute::cast(column, &DataType::Utf8).map_err(DataFusionError::from)?;
        let years = years.as_string::<i32>();
        for i in 0..years.len() {
            if years.is_valid(i) {
                *out.entry(Some(years.value(i).to_string())).or_default() += 1;
            }
        }
    }
    Ok(out)
}

/// A fall of one entity's rows caught by the guard.
#[derive(Debug, Clone, PartialEq)]
pub struct Fall {
    pub entity: String,
    /// `None` for an entity without school year.
    pub annee_scolaire: Option<String>,
    pub rows_before: u64,
    pub rows_now: u64,
    pub baisse_max: f64,
}

impl Fall {
    /// `absence 2025-2026: 15932 rows loaded, 0 in the new night (-100%, more than the 50% allowed)`.
    pub fn describe(&self) -> String {
        describe_drop(
            &self.entity,
            self.annee_scolaire.as_deref(),
            self.rows_before,
            self.rows_now,
            self.baisse_max,
        )
    }
}

/// One line for a person: the entity, the year, the rows before and now, and the threshold.
pub fn describe_drop(entity: &str, year: Option<&str>, before: u64, now: u64, baisse_max: f64) -> String {
    let share = if before == 0 {
        0.0
    } else {
        before.saturating_sub(now) as f64 * 100.0 / before as f64
    };
    format!(
        "{entity} {}: {before} rows loaded, {now} in the new night (-{share:.0}%, more than the {:.0}% allowed{})",
        year.unwrap_or("(all years)"),
        baisse_max * 100.0,
        if now == 0 { ", or none left" } else { "" }
    )
}

/// Whether going from `before` to `now` rows is a drop beyond `baisse_max` (or to zero).
fn is_drop(before: u64, now: u64, baisse_max: f64) -> bool {
    before > 0 && now < before && (now == 0 || (before - now) as f64 / before as f64 > baisse_max)
}

/// The falls of a CSS's night against the loaded state `previous`. `night` holds the rows of each
/// entity the night would publish ([`rows_by_year`]); the years compared are those with a row in
/// any of them (see the module's documentation).
pub fn find_falls(
    dictionary: &Dictionary,
    code_css: &str,
    previous: &Manifest,
    night: &BTreeMap<String, RowsByYear>,
) -> Vec<Fall> {
    let night_years: BTreeSet<&str> = night
        .values()
        .flat_map(|rows| rows.iter())
        .filter(|(_, n)| **n > 0)
        .filter_map(|(y, _)| y.as_deref())
        .collect();
    let mut falls = Vec::new();
    for (entity, rows) in night {
        let Some(loaded) = previous.tables.get(entity) else {
            continue;
        };
        let baisse_max = dictionary.baisse_max(code_css, entity);
        let partitioned = dictionary
            .entity(entity)
            .is_some_and(|e| e.partitioning == Partitioning::AnneeScolaire);
        if partitioned {
            for year in &night_years {
                let before = loaded.partition_rows.get(*year).copied().unwrap_or(0);
                let now = rows.get(&Some(year.to_string())).copied().unwrap_or(0);
                if is_drop(before, now, baisse_max) {
                    falls.push(Fall {
                        entity: entity.clone(),
                        annee_scolaire: Some(year.to_string()),
                        rows_before: before,
                        rows_now: now,
                        baisse_max,
                    });
                }
            }
        } else {
            let now: u64 = rows.values().sum();
            if is_drop(loaded.rows, now, baisse_max) {
                falls.push(Fall {
                    entity: entity.clone(),
                    annee_scolaire: None,
                    rows_before: loaded.rows,
                    rows_now: now,
                    baisse_max,
                });
            }
        }
    }
    falls
}

#[cfg(test)]
mod tests {
    use super::*;
    use socle_warehouse::TableFiles;
    use std::path::Path;

    fn dictionary() -> Dictionary {
        let schemas = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas");
        Dictionary::load(&schemas).expect("the repository's dictionary loads")
    }

    fn loaded(tables: &[(&str, &[(&str, u64)])], eleve: u64) -> Manifest {
        let mut m: Manifest = serde_json::from_value(serde_json::json!({
            "format": socle_warehouse::MANIFEST_FORMAT, "code_css": "751000", "run_id": "r1",
            "night": "2025-11-20", "published_at": "2025-11-20T03:00:00Z", "dictionary_version": "2",
            "key_fingerprint": "k", "demo_key": true, "inputs": [], "tables": {},
            "quarantine": {"rows": 0}, "quality": null
        }))
        .expect("a manifest");
        for (name, years) in tables {
            let partition_rows: BTreeMap<String, u64> = years.iter().map(|(y, n)| (y.to_string(), *n)).collect();
            m.tables.insert(
                name.to_string(),
                TableFiles {
                    rows: partition_rows.values().sum(),
                    partition_rows,
                    ..Default::default()
                },
            );
        }
        m.tables.insert(
            "eleve".into(),
            TableFiles {
                rows: eleve,
                ..Default::default()
            },
        );
        m
    }

    /// One table of a night: its name and its rows per school year (`None`: no school year).
    type NightTable<'a> = (&'a str, &'a [(Option<&'a str>, u64)]);

    fn night(tables: &[NightTable<'_>]) -> BTreeMap<String, RowsByYear> {
        tables
            .iter()
            .map(|(name, rows)| {
                (
                    name.to_string(),
                    rows.iter().map(|(y, n)| (y.map(str::to_string), *n)).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn a_fall_beyond_the_threshold_or_to_zero_is_caught_in_the_years_the_night_holds() {
        let d = dictionary();
        let before = loaded(
            &[
                ("absence", &[("2024-2025", 1000), ("2025-2026", 400)]),
                ("resultat", &[("2024-2025", 800), ("2025-2026", 200)]),
                ("inscription", &[("2024-2025", 100), ("2025-2026", 100)]),
            ],
            300,
        );
        // 2025-2026 only: 2024-2025 is kept as it is, never a drop.
        let n = night(&[
            ("absence", &[(Some("2025-2026"), 199)]),
            ("resultat", &[(Some("2025-2026"), 100)]),
            ("inscription", &[(Some("2025-2026"), 100)]),
            ("eleve", &[(None, 300)]),
        ]);
        let falls = find_falls(&d, "751000", &before, &n);
        assert_eq!(
            falls,
            vec![Fall {
                entity: "absence".into(),
                annee_scolaire: Some("2025-2026".into()),
                rows_before: 400,
                rows_now: 199,
                baisse_max: 0.5,
            }],
            "exactly half (resultat 200 -> 100) is allowed, more (absence 400 -> 199) is not"
        );
        assert_eq!(
            falls[0].describe(),
            "absence 2025-2026: 400 rows loaded, 199 in the new night (-50%, more than the 50% allowed)"
        );

        // The night holds 2024-2025 (inscription) but absence has none of it: the commit would
        // empty that partition, a fall to zero. eleve falls whole.
        let n = night(&[
            ("absence", &[(Some("2025-2026"), 400)]),
            ("inscription", &[(Some("2024-2025"), 100), (Some("2025-2026"), 100)]),
            ("eleve", &[(None, 100)]),
        ]);
        let falls = find_falls(&d, "751000", &before, &n);
        let got: Vec<(String, Option<String>, u64, u64)> = falls
            .iter()
            .map(|f| (f.entity.clone(), f.annee_scolaire.clone(), f.rows_before, f.rows_now))
            .collect();
        assert_eq!(
            got,
            vec![
                ("absence".to_string(), Some("2024-2025".to_string()), 1000, 0),
                ("eleve".to_string(), None, 300, 100),
            ]
        );
        assert!(
            falls[0].describe().ends_with("or none left)"),
            "{}",
            falls[0].describe()
        );
        assert!(
            falls[1]
                .describe()
                .starts_with("eleve (all years): 300 rows loaded, 100")
        );
    }

    #[test]
    fn the_threshold_of_the_css_profile_applies() {
        let mut d = dictionary();
        let before = loaded(&[("absence", &[("2025-2026", 1000)])], 10);
        let n = night(&[("absence", &[(Some("2025-2026"), 300)])]);
        assert_eq!(find_falls(&d, "751000", &before, &n).len(), 1, "-70% > 50%");
        d.css
            .entry("751000".into())
            .or_default()
            .baisse_max
            .insert("absence".into(), 0.8);
        assert!(find_falls(&d, "751000", &before, &n).is_empty(), "-70% <= 80%");
        let zero = night(&[("absence", &[(Some("2025-2026"), 0)])]);
        d.css
            .entry("751000".into())
            .or_default()
            .baisse_max
            .insert("absence".into(), 1.0);
        assert_eq!(
            find_falls(&d, "751000", &before, &zero).len(),
            0,
            "no row of the year in any table: the night does not hold 2025-2026"
        );
        let zero = night(&[
            ("absence", &[(Some("2025-2026"), 0)]),
            ("resultat", &[(Some("2025-2026"), 5)]),
        ]);
        let falls = find_falls(&d, "751000", &before, &zero);
        assert_eq!(falls.len(), 1, "a fall to zero is held whatever the threshold");
        assert_eq!(
            (falls[0].rows_before, falls[0].rows_now, falls[0].baisse_max),
            (1000, 0, 1.0)
        );
    }

    #[test]
    fn new_entities_and_years_are_never_drops() {
        let d = dictionary();
        let before = loaded(&[("absence", &[("2024-2025", 10)])], 0);
        let n = night(&[
            ("absence", &[(Some("2024-2025"), 10), (Some("2025-2026"), 3)]),
            ("resultat", &[(Some("2025-2026"), 3)]),
            ("eleve", &[(None, 0)]),
        ]);
        assert!(find_falls(&d, "751000", &before, &n).is_empty());
    }

    #[test]
    fn rows_are_counted_per_school_year() -> Result<(), Box<dyn std::error::Error>> {
        use datafusion::arrow::array::StringArray;
        use datafusion::arrow::datatypes::{Field, Schema};
        use std::sync::Arc;
        let schema = Arc::new(Schema::new(vec![Field::new(YEAR_COLUMN, DataType::Utf8, true)]));
        let batch = RecordBatch::try_new(
            schema,
            vec![Arc::new(StringArray::from(vec![
                Some("2024-2025"),
                Some("2025-2026"),
                Some("2025-2026"),
                None,
            ]))],
        )?;
        let by_year = rows_by_year(&[batch.clone(), batch.clone()], true)?;
        let expected: RowsByYear = [(Some("2024-2025".to_string()), 2), (Some("2025-2026".to_string()), 4)].into();
        assert_eq!(by_year, expected);
        let whole = rows_by_year(&[batch], false)?;
        assert_eq!(whole, RowsByYear::from([(None, 4)]));
        Ok(())
    }

    #[test]
    fn accept_drop_values_are_checked() {
        let d = dictionary();
        assert_eq!(
            parse_accept_drop("866000:absence", &d),
            Ok(("866000".to_string(), "absence".to_string()))
        );
        let bad = ["866000", "86600:absence", "866000:absences"];
        let errors: Vec<String> = bad.iter().filter_map(|v| parse_accept_drop(v, &d).err()).collect();
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(errors[0].contains("expected CSS:ENTITY"), "{}", errors[0]);
        assert!(errors[1].contains("is not a CSS code"), "{}", errors[1]);
        assert!(errors[2].contains("no entity \"absences\""), "{}", errors[2]);
        assert_eq!(
            accept_drop_command("866000", "absence"),
            "socle run --accept-drop 866000:absence"
        );
    }
}
