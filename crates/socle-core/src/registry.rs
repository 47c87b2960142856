//! The ministry registry (real reference data under `schemas/reference/`), embedded in the
//! binary so that organisation codes are always checked against it, never invented.

use std::collections::BTreeMap;

const ORGANISMES: &str = include_str!("../../../schemas/reference/organismes_meq.csv");
const ETABLISSEMENTS: &str = include_str!("../../../schemas/reference/etablissements_meq.csv");
const COURS: &str = include_str!("../../../schemas/reference/cours_meq.csv");

#[derive(Debug, thiserror::Error)]
#[error("reference file {file}: {message}")]
pub struct RegistryError {
    pub file: &'static str,
    pub message: String,
}

/// A school organisation (CSS / CS).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Organisation {
    #[serde(rename = "CD_CS")]
    pub code: String,
    #[serde(rename = "NOM_CS")]
    pub name: String,
    #[serde(rename = "TYPE_CS")]
    pub kind: String,
}

/// One establishment (distinct `CD_ORGNS`; the registry has one row per building).
#[derive(Debug, Clone)]
pub struct Establishment {
    pub code: String,
    pub name: String,
    pub short_name: String,
    pub css: String,
    pub order: String,
    pub preschool: bool,
    pub primary: bool,
    pub secondary: bool,
    pub vocational: bool,
    pub adult: bool,
    pub municipality: String,
}

#[derive(Debug, Clone, serde::Deserialize)]
struct EstablishmentRow {
    #[serde(rename = "CD_ORGNS")]
    code: String,
    #[serde(rename = "NOM_OFFCL_ORGNS")]
    name: String,
    #[serde(rename = "NOM_COURT_ORGNS")]
    short_name: String,
    #[serde(rename = "CD_CS")]
    css: String,
    #[serde(rename = "ORDRE_ENS")]
    order: String,
    #[serde(rename = "PRESC")]
    preschool: u8,
    #[serde(rename = "PRIM")]
    primary: u8,
    #[serde(rename = "SEC")]
    secondary: u8,
    #[serde(rename = "FORM_PRO")]
    vocational: u8,
    #[serde(rename = "ADULTE")]
    adult: u8,
    #[serde(rename = "NOM_MUNCP_GDUNO_ORGNS")]
    municipality: String,
}

/// A ministry course code (sample in `cours_meq.csv`).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Course {
    pub code_cours: String,
    pub matiere: String,
    pub libelle: String,
    pub annee_secondaire: u8,
    pub unites: u8,
    pub epreuve_ministerielle: bool,
    pub volet_de: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Registry {
    pub organisations: BTreeMap<String, Organisation>,
    pub establishments: BTreeMap<String, Establishment>,
    pub courses: BTreeMap<String, Course>,
}

impl Registry {
    /// The registry embedded from `schemas/reference/`.
    pub fn embedded() -> Result<Self, RegistryError> {
        let mut organisations = BTreeMap::new();
        for row in csv::Reader::from_reader(ORGANISMES.as_bytes()).deserialize::<Organisation>() {
            let o = row.map_err(|e| RegistryError {
                file: "organismes_meq.csv",
                message: e.to_string(),
            })?;
            organisations.insert(o.code.clone(), o);
        }
        let mut establishments = BTreeMap::new();
        for row in csv::Reader::from_reader(ETABLISSEMENTS.as_bytes()).deserialize::<EstablishmentRow>() {
            let r = row.map_err(|e| RegistryError {
                file: "etablissements_meq.csv",
                message: e.to_string(),
            })?;
            // One row per building: merge the flags of an establishment's buildings.
            let e = establishments.entry(r.code.clone()).or_insert_with(|| Establishment {
                code: r.code.clone(),
                name: r.name.clone(),
                short_name: r.short_name.clone(),
                css: r.css.clone(),
                order: r.order.clone(),
                preschool: false,
                primary: false,
                secondary: false,
                vocational: false,
                adult: false,
                municipality: r.municipality.clone(),
            });
            e.preschool |= r.preschool == 1;
            e.primary |= r.primary == 1;
            e.secondary |= r.secondary == 1;
            e.vocational |= r.vocational == 1;
            e.adult |= r.adult == 1;
        }
        let mut courses = BTreeMap::new();
        for row in csv::Reader::from_reader(COURS.as_bytes()).deserialize::<Course>() {
            let c = row.map_err(|e| RegistryError {
                file: "cours_meq.csv",
                message: e.to_string(),
            })?;
            courses.insert(c.code_cours.clone(), c);
        }
        Ok(Registry {
            organisations,
            establishments,
            courses,
        })
    }

    pub fn organisation(&self, code: &str) -> Option<&Organisation> {
        self.organisations.get(code)
    }

    /// Establishments of one CSS, in code order.
    pub fn establishments_of<'a>(&'a self, css: &'a str) -> impl Iterator<Item = &'a Establishment> + 'a {
        self.establishments.values().filter(move |e| e.css == css)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_registry_has_the_72_organisations_and_distinct_establishments() {
        let r = Registry::embedded().unwrap();
        assert_eq!(r.organisations.len(), 72);
        assert_eq!(r.organisation("761000").unwrap().name, "CSS de la Pointe-de-l'Île");
        // Establishments are distinct codes, fewer than the 5,358 building rows.
        assert!(r.establishments.len() < 5358 && r.establishments.len() > 2000);
        assert!(r.establishments_of("866000").all(|e| e.code.starts_with("866")));
        assert!(r.courses["132406"].unites == 6);
        assert_eq!(r.courses["132520"].volet_de.as_deref(), Some("132506"));
    }
}
