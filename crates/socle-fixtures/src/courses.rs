//! Course catalogue: canonical primary codes (`FRA400`...) and ministry secondary codes taken
//! from the registry sample (volets skipped), with the choices a student makes per grade.

use std::collections::BTreeMap;

use rand::Rng;
use socle_core::Registry;

use crate::rng;

#[derive(Debug, Clone)]
pub(crate) struct CourseDef {
    /// Canonical code (ministry code, or canonical primary code).
    pub canon: String,
    pub descr: String,
    pub unites: u8,
    pub secondary: bool,
    /// Uses the letter legend at a letter-legend school.
    pub lettered: bool,
    /// A sec 4 or sec 5 course with a ministry exam (`epreuve_ministerielle` in the registry
    /// sample): its final result goes to the ministry (JADE's `e_ri_resultats`).
    pub ministry: bool,
    /// Valid for school years starting in `from_year..to_year`.
    pub from_year: i32,
    pub to_year: i32,
}

/// Alternatives of which a student takes exactly one (e.g. the three math sequences of sec 4).
#[derive(Debug, Clone)]
pub(crate) struct ChoiceGroup {
    pub options: Vec<(usize, f64)>,
}

#[derive(Debug, Clone)]
pub(crate) struct Catalog {
    pub courses: Vec<CourseDef>,
    /// Per grade index (0 = primary 1 ... 10 = secondary 5).
    pub grades: Vec<Vec<ChoiceGroup>>,
}

fn ordinal(n: u8) -> String {
    if n == 1 { "1re".to_string() } else { format!("{n}e") }
}

const PRIMARY_SUBJECTS: [(&str, &str, u8); 5] = [
    ("FRA", "Français, langue d'enseignement", 1),
    ("MAT", "Mathématique", 1),
    ("ANG", "Anglais, langue seconde", 3),
    ("SCI", "Science et technologie", 3),
    ("EPS", "Éducation physique et à la santé", 1),
];

/// First school year of Culture et citoyenneté québécoise, which replaces Éthique et culture
/// religieuse.
const CCQ_FROM: i32 = 2024;

impl Catalog {
    pub(crate) fn build(registry: &Registry) -> Self {
        let mut courses = Vec::new();
        let mut grades: Vec<Vec<ChoiceGroup>> = vec![Vec::new(); 11];
        for grade in 1..=6u8 {
            for (subject, descr, from_grade) in PRIMARY_SUBJECTS {
                if grade < from_grade {
                    continue;
                }
                courses.push(CourseDef {
                    canon: format!("{subject}{grade}00"),
                    descr: format!("{descr}, {} année", ordinal(grade)),
                    unites: 0,
                    secondary: false,
                    lettered: true,
                    ministry: false,
                    from_year: i32::MIN,
                    to_year: i32::MAX,
                });
                grades[usize::from(grade) - 1].push(ChoiceGroup {
                    options: vec![(courses.len() - 1, 1.0)],
                });
            }
        }
        // Secondary: registry courses, grouped by (year, subject); ECR and CCQ are one choice.
        let mut groups: BTreeMap<(u8, String), Vec<usize>> = BTreeMap::new();
        for c in registry.courses.values() {
            if c.volet_de.as_deref().is_some_and(|v| !v.trim().is_empty()) {
                continue;
            }
            if !(1..=5).contains(&c.annee_secondaire) {
                continue;
            }
            let (from_year, to_year) = match c.matiere.as_str() {
                "ECR" => (i32::MIN, CCQ_FROM),
                "CCQ" => (CCQ_FROM, i32::MAX),
                _ => (i32::MIN, i32::MAX),
            };
            let key = match c.matiere.as_str() {
                "ECR" | "CCQ" => "ETH".to_string(),
                m => m.to_string(),
            };
            courses.push(CourseDef {
                canon: c.code_cours.clone(),
                descr: c.libelle.clone(),
                unites: c.unites,
                secondary: true,
                lettered: c.unites <= 2,
                ministry: c.epreuve_ministerielle && (4..=5).contains(&c.annee_secondaire),
                from_year,
                to_year,
            });
            groups
                .entry((c.annee_secondaire, key))
                .or_default()
                .push(courses.len() - 1);
        }
        for ((year, _), members) in groups {
            let options = members
                .iter()
                .enumerate()
                .map(|(k, &c)| (c, if k == 0 { 3.0 } else { 1.0 }))
                .collect();
            grades[5 + usize::from(year)].push(ChoiceGroup { options });
        }
        Catalog { courses, grades }
    }

    /// The courses a student of grade index `grade` takes in the school year starting `year`.
    pub(crate) fn choose<R: Rng>(&self, rng: &mut R, grade: usize, year: i32) -> Vec<usize> {
        let mut out = Vec::new();
        for group in self.grades.get(grade).map(Vec::as_slice).unwrap_or(&[]) {
            let valid: Vec<(usize, f64)> = group
                .options
                .iter()
                .copied()
                .filter(|(c, _)| {
                    let d = &self.courses[*c];
                    year >= d.from_year && year < d.to_year
                })
                .collect();
            if valid.is_empty() {
                continue;
            }
            if valid.len() == 1 {
                out.push(valid[0].0);
            } else {
                let w: Vec<f64> = valid.iter().map(|v| v.1).collect();
                out.push(valid[rng::weighted(rng, &w)].0);
            }
        }
        out
    }
}
