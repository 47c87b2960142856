//! Helpers shared by the tests: the contract, a minimal full folder, reading and cell access.
#![allow(dead_code, unused_imports)]

use std::path::Path;

pub use socle_connect::testing::{assert_cut_file, assert_empty_file, batch, col, s, write};
use socle_connect_mozaik::{ConnectError, Extract, ReadOptions, Reject, RejectKind, read_mozaik};
use socle_dictionary::Source;

/// The Mozaïk contract, from `schemas/sources/mozaik.yaml`.
pub fn source() -> Source {
    socle_connect::testing::contract("mozaik")
}

/// One good line per file (LF), as a Mozaïk export writes them.
pub const ELEVES: &str = r#"{"eleve_id": 1, "code_permanent": "TREM01020304", "nom": "Tremblay", "prenom": "Émilie", "genre": "F", "date_naissance": "2010-05-03"}"#;
pub const ETABLISSEMENTS: &str = r#"{"etablissement_id": 10, "code_organisme": "866012", "nom": "École des Pionniers", "annee_scolaire": "2024-2025", "fictif": false}"#;
pub const COURS: &str =
    r#"{"etablissement_id": 10, "code_cours": "MAT406", "description": "Mathématique", "unites": 6}"#;
pub const FREQUENTATIONS: &str = r#"{"eleve_id": 1, "etablissement_id": 10, "annee_scolaire": "2024-2025", "ordre_enseignement": "secondaire", "niveau": 4, "groupe_repere": "401", "plan_intervention": false, "code_difficulte": null, "date_debut": "2024-08-28", "date_fin": null, "active": true, "motif_depart": null}"#;
pub const RESULTATS: &str = r#"{"eleve_id": 1, "etablissement_id": 10, "annee_scolaire": "2024-2025", "code_cours": "MAT406", "groupe": "01", "etape": "1", "resultat": "78", "legende": "NUM", "unites_obtenues": null, "reprise": false, "etat": "actif"}"#;
pub const LEGENDES: &str = r#"{"etablissement_id": 10, "legende": "LET", "seuil_reussite": 60, "codes": [{"code": "A", "note_equivalente": 90, "reussite": true}, {"code": "E", "note_equivalente": 40, "reussite": false}, {"code": "ABS", "note_equivalente": null, "reussite": null}]}"#;
pub const ABSENCES: &str = r#"{"eleve_id": 1, "etablissement_id": 10, "date": "2024-10-01", "periode": 2, "motif": "MAL", "categorie": "motivee"}"#;
pub const CALENDRIER: &str = r#"{"etablissement_id": 10, "date": "2024-09-03", "jour_classe": true, "nb_periodes": 5}"#;

/// Every file of the contract with its one good line.
pub const FILES: [(&str, &str); 8] = [
    ("eleves.jsonl", ELEVES),
    ("etablissements.jsonl", ETABLISSEMENTS),
    ("cours.jsonl", COURS),
    ("frequentations.jsonl", FREQUENTATIONS),
    ("resultats.jsonl", RESULTATS),
    ("legendes.jsonl", LEGENDES),
    ("absences.jsonl", ABSENCES),
    ("calendrier.jsonl", CALENDRIER),
];

/// Writes every file of the contract with its one good line.
pub fn full_folder(dir: &Path) {
    for (file, line) in FILES {
        write(dir, file, format!("{line}\n").as_bytes());
    }
}

/// A tempdir holding a full folder.
pub fn folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    full_folder(dir.path());
    dir
}

/// Lines joined by `\n`, with a final `\n`.
pub fn lines(lines: &[&str]) -> String {
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

pub async fn try_read_with(dir: &Path, batch_size: usize) -> Result<Extract, ConnectError> {
    let opts = ReadOptions {
        batch_size,
        ..ReadOptions::default()
    };
    read_mozaik(dir, &source(), &opts).await
}

pub async fn try_read(dir: &Path) -> Result<Extract, ConnectError> {
    read_mozaik(dir, &source(), &ReadOptions::default()).await
}

pub async fn read(dir: &Path) -> Extract {
    try_read(dir).await.expect("read folder")
}

/// The rejects of a table.
pub fn rejects<'a>(x: &'a Extract, table: &str) -> Vec<&'a Reject> {
    x.rejects.iter().filter(|r| r.table == table).collect()
}

/// The single reject of a table, with its file, line, column and kind asserted.
pub fn assert_one(x: &Extract, table: &str, file: &str, line: u64, column: Option<&str>, kind: RejectKind) -> Reject {
    let r = rejects(x, table);
    assert_eq!(r.len(), 1, "rejects of {table}: {r:#?}");
    assert_eq!(
        (r[0].file.as_str(), r[0].line, r[0].column.as_deref(), r[0].kind),
        (file, line, column, kind),
        "{:#?}",
        r[0]
    );
    r[0].clone()
}

/// No reject of any table but `except`.
pub fn only_rejects_in(x: &Extract, except: &[&str]) {
    let others: Vec<&Reject> = x
        .rejects
        .iter()
        .filter(|r| !except.contains(&r.table.as_str()))
        .collect();
    assert!(others.is_empty(), "unexpected rejects: {others:#?}");
}

/// No message holds any of `values`.
pub fn no_message_holds(x: &Extract, values: &[&str]) {
    for r in &x.rejects {
        for v in values {
            assert!(!r.message.contains(v), "message holds {v:?}: {r:#?}");
        }
    }
}
