//! Four sources into one canonical model: small inline exports of GPI, Mozaïk, JADE and Dofin,
//! read by the real connectors against the real contracts, then normalised together.
//! - a GPI school and a Mozaïk school with the same facts give the same canonical rows (apart
//!   from the source's own ids and the source system);
//! - JADE: the latest copy of a ministry result, sessions, keys of youth students, sanction
//!   years, attendance spells checked against the registry;
//! - Dofin: the finance mapping with a per-CSS override (longest prefix), unmapped codes
//!   quarantined, sums by field exact to the cent.

use datafusion::arrow::array::{Array, BooleanArray, Decimal128Array, RecordBatch, StringArray};
use datafusion::arrow::util::display::array_value_to_string;
use socle_connect::{Extract, ReadOptions};
use socle_core::{KeySource, Pseudonymiser, Registry};
use socle_dictionary::Dictionary;
use socle_transform::{NormaliseContext, Normalised, normalise};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const CSS: &str = "751000";

fn schemas() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas")
}

fn pseudo() -> Pseudonymiser {
    Pseudonymiser::new(&[7u8; 32], KeySource::Environment).unwrap()
}

fn write(dir: &Path, name: &str, lines: &[&str]) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join(name), lines.join("\n") + "\n").unwrap();
}

// ---------------------------------------------------------------------------------------------
// The same facts, once as GPI and once as Mozaïk.
// Students 1 (valid code permanent, secondary 1, EHDAA) and 2 (malformed code, left in January),
// 3 (kindergarten 5 years). Legend LET (A pass 90, E fail 40, NR not evaluated), numeric legend
// N70 (pass mark 70). Results: student 1 in 132108 (A, E, 69, 70), student 2 in the retake
// group R1 of 063414 (NR, blank, 78,5, ABS), student 1 in 063414 group 02 (ZZ and B unknown, 150
// out of domain, EX exempted).
// ---------------------------------------------------------------------------------------------

fn gpi_export(dir: &Path) {
    write(
        dir,
        "gpm_t_eco.csv",
        &[
            "id_eco;org;annee;eco;eco_off;nom_eco;indic_eco_bidon",
            "10;751000;2024;001;751006;Polyvalente;0",
        ],
    );
    write(
        dir,
        "gpm_e_ele.csv",
        &[
            "fiche;code_perm;nom;pnom;sexe;date_naiss",
            "1;TREM12345678;Tremblay;Léa;F;2012-03-04",
            "2;BAD;Roy;Max;M;2012-05-06",
            "3;GAGN19031999;Gagnon;Zoé;F;2019-03-19",
        ],
    );
    write(
        dir,
        "gpm_e_dan.csv",
        &[
            "fiche;id_eco;statut_don_an;ordre_ens;classe;grp_rep;plan_interv_ehdaa;difficulte;date_deb;date_depart;motif_depart",
            "1;10;A;4;1;101;1;12;2024-08-28;;",
            "2;10;I;4;1;101;0;;2024-08-28;2025-01-15;DEM",
            "3;10;A;2;5;M51;0;;2024-08-28;;",
        ],
    );
    write(
        dir,
        "gpm_t_mat.csv",
        &[
            "id_eco;mat;descr;unites",
            "10;132108;Français;8",
            "10;063414;Mathématique;4",
        ],
    );
    write(
        dir,
        "gpm_t_mat_grp.csv",
        &[
            "id_mat_grp;id_eco;mat;grp;leg_etape_01;leg_etape_02;leg_etape_03;leg_som",
            "1;10;132108;01;LET;LET;N70;N70",
            "2;10;063414;R1;LET;LET;N70;N70",
            "3;10;063414;02;LET;LET;N70;N70",
        ],
    );
    write(
        dir,
        "gpm_t_leg.csv",
        &["id_eco;leg;seuil_reus", "10;LET;60", "10;N70;70"],
    );
    write(
        dir,
        "gpm_t_cotes.csv",
        &[
            "id_eco;leg;cote;note_equiv;indic_reus_echec",
            "10;LET;A;90;1",
            "10;LET;E;40;2",
            "10;LET;NR;;",
        ],
    );
    write(
        dir,
        "gpm_t_etape.csv",
        &[
            "id_eco;etape;date_deb;date_fin;nb_jours_classe",
            "10;1;2024-08-28;2024-11-15;55",
        ],
    );
    write(
        dir,
        "gpm_t_cal.csv",
        &[
            "id_eco;date_evenement;jour_cycle;nb_periodes",
            "10;2024-09-03;1;5",
            "10;2024-09-07;;",
        ],
    );
    write(
        dir,
        "gpm_e_abs.csv",
        &[
            "fiche;id_eco;date_abs;periode;motif_abs",
            "1;10;2024-09-03;1;MAL",
            "1;10;2024-09-03;2;RET",
        ],
    );
    write(
        dir,
        "gpm_t_motif_abs.csv",
        &["id_eco;motif_abs;descr;cpt_abs", "10;MAL;Maladie;1", "10;RET;Retard;3"],
    );
    write(
        dir,
        "gpm_e_mat_ele.csv",
        &[
            "id_mat_ele;id_mat_grp;fiche;id_eco;mat;grp;etat;res_etape_01;res_etape_02;res_etape_03;res_som;unites_ele",
            "100;1;1;10;132108;01;1;A;E;69;70;8",
            "101;2;2;10;063414;R1;8;NR;;78,5;ABS;",
            "102;3;1;10;063414;02;1;ZZ;B;150;EX;0",
        ],
    );
}

fn mozaik_export(dir: &Path) {
    write(
        dir,
        "etablissements.jsonl",
        &[
            r#"{"etablissement_id": 7010, "code_organisme": "751006", "nom": "Polyvalente", "annee_scolaire": "2024-2025", "fictif": false}"#,
        ],
    );
    // Mozaïk numbers its students in its own way: 501, 502, 503 are GPI's 1, 2, 3.
    write(
        dir,
        "eleves.jsonl",
        &[
            r#"{"eleve_id": 501, "code_permanent": "TREM12345678", "nom": "Tremblay", "prenom": "Léa", "genre": "F", "date_naissance": "2012-03-04"}"#,
            r#"{"eleve_id": 502, "code_permanent": "BAD", "nom": "Roy", "prenom": "Max", "genre": "M", "date_naissance": "2012-05-06"}"#,
            r#"{"eleve_id": 503, "code_permanent": "GAGN19031999", "nom": "Gagnon", "prenom": "Zoé", "genre": "F", "date_naissance": "2019-03-19"}"#,
        ],
    );
    write(
        dir,
        "cours.jsonl",
        &[
            r#"{"etablissement_id": 7010, "code_cours": "132108", "description": "Français", "unites": 8}"#,
            r#"{"etablissement_id": 7010, "code_cours": "063414", "description": "Mathématique", "unites": 4}"#,
        ],
    );
    write(
        dir,
        "frequentations.jsonl",
        &[
            r#"{"eleve_id": 501, "etablissement_id": 7010, "annee_scolaire": "2024-2025", "ordre_enseignement": "secondaire", "niveau": 1, "groupe_repere": "101", "plan_intervention": true, "code_difficulte": "12", "date_debut": "2024-08-28", "date_fin": null, "active": true, "motif_depart": null}"#,
            r#"{"eleve_id": 502, "etablissement_id": 7010, "annee_scolaire": "2024-2025", "ordre_enseignement": "secondaire", "niveau": 1, "groupe_repere": "101", "plan_intervention": false, "code_difficulte": null, "date_debut": "2024-08-28", "date_fin": "2025-01-15", "active": false, "motif_depart": "DEM"}"#,
            r#"{"eleve_id": 503, "etablissement_id": 7010, "annee_scolaire": "2024-2025", "ordre_enseignement": "prescolaire", "niveau": 5, "groupe_repere": "M51", "plan_intervention": false, "date_debut": "2024-08-28", "active": true}"#,
        ],
    );
    let mut res = Vec::new();
    // (eleve_id, code_cours, groupe, reprise, etat, results of étapes 1, 2, 3 and sommaire,
    // unites_obtenues)
    type Row<'a> = (u32, &'a str, &'a str, bool, &'a str, [&'a str; 4], &'a str);
    let rows: [Row; 3] = [
        (501, "132108", "01", false, "actif", ["A", "E", "69", "70"], "8"),
        (502, "063414", "R1", true, "termine", ["NR", "", "78,5", "ABS"], "null"),
        (501, "063414", "02", false, "actif", ["ZZ", "B", "150", "EX"], "0"),
    ];
    for (eleve, cours, groupe, reprise, etat, results, unites) in rows {
        for (i, etape) in ["1", "2", "3", "sommaire"].iter().enumerate() {
            let legende = if i < 2 { "LET" } else { "N70" };
            let resultat = if results[i].is_empty() {
                "null".to_string()
            } else {
                format!("\"{}\"", results[i])
            };
            res.push(format!(
                r#"{{"eleve_id": {eleve}, "etablissement_id": 7010, "annee_scolaire": "2024-2025", "code_cours": "{cours}", "groupe": "{groupe}", "etape": "{etape}", "resultat": {resultat}, "legende": "{legende}", "unites_obtenues": {unites}, "reprise": {reprise}, "etat": "{etat}"}}"#
            ));
        }
    }
    let refs: Vec<&str> = res.iter().map(String::as_str).collect();
    write(dir, "resultats.jsonl", &refs);
    write(
        dir,
        "legendes.jsonl",
        &[
            r#"{"etablissement_id": 7010, "legende": "LET", "seuil_reussite": 60, "codes": [{"code": "A", "note_equivalente": 90, "reussite": true}, {"code": "E", "note_equivalente": 40, "reussite": false}, {"code": "NR", "note_equivalente": null, "reussite": null}]}"#,
            r#"{"etablissement_id": 7010, "legende": "N70", "seuil_reussite": 70, "codes": []}"#,
        ],
    );
    write(
        dir,
        "absences.jsonl",
        &[
            r#"{"eleve_id": 501, "etablissement_id": 7010, "date": "2024-09-03", "periode": 1, "motif": "MAL", "categorie": "motivee"}"#,
            r#"{"eleve_id": 501, "etablissement_id": 7010, "date": "2024-09-03", "periode": 2, "motif": "RET", "categorie": "retard"}"#,
        ],
    );
    write(
        dir,
        "calendrier.jsonl",
        &[
            r#"{"etablissement_id": 7010, "date": "2024-09-03", "jour_classe": true, "nb_periodes": 5}"#,
            r#"{"etablissement_id": 7010, "date": "2024-09-07", "jour_classe": false, "nb_periodes": null}"#,
        ],
    );
}

// ---------------------------------------------------------------------------------------------
// JADE: adult students 7 and 8 (no code permanent), two centres (C01 of this CSS, C02 of another
// CSS), ministry results of a youth student (empty fiche) with two copies of one result.
// ---------------------------------------------------------------------------------------------

fn jade_export(dir: &Path) {
    write(
        dir,
        "e_ele.csv",
        &[
            "fiche;codeperm;nom;pnom;datenaiss;sexe",
            "7;LAVO01020304;Lavoie;Éric;2001-02-03;M",
            "8;;Côté;Ana;1999-09-09;F",
        ],
    );
    write(
        dir,
        "t_ecocen.csv",
        &[
            "ecocen;ecooff;descr",
            "C01;751421;Centre de FP du Haut-Saint-François",
            "C02;881009;Centre d'une autre CSS",
        ],
    );
    write(
        dir,
        "e_freq.csv",
        &[
            "fiche;annee;ecocen;prog;datedeb;org;serviceenseign;typefreq;datefin;motifdep",
            "7;2024;C01;5321;2024-08-26;751000;FP;FIN;;",
            "8;2024;C01;5321;2024-08-26;751000;FP;FRE;2025-02-01;AB",
            "7;2024;C02;1234;2024-08-26;751000;FGA;FIN;;",
            "99;2024;C01;5321;2024-08-26;751000;FP;FIN;;",
        ],
    );
    write(
        dir,
        "e_ri_resultats.csv",
        &[
            "codeperm;fiche;ecocenoff;matcharl;annee;moissanct;resecobrute;resecomod;resoffbrute;resofffinal;indreuscharl;nbunitecharl;typeformcharl;secteurenseignfreq;datehrerecup",
            // The later copy comes first in the file: the copy date decides, not the line.
            "TREM12345678;;751006;132406;2024;6;80;78;70;72;R;6;FG;JE;2025-07-10 09:00:00",
            "TREM12345678;;751006;132406;2024;6;80;75;55;65;R;6;FG;JE;2025-07-05 10:00:00",
            "TREM12345678;;751006;063414;2024;6;ABS;ABS;ABS;ABS;E;4;FG;JE;2025-07-10 09:00:00",
            "TREM12345678;;751006;085404;2024;8;61,5;;;61,5;R;4;FG;JE;2025-08-30 09:00:00",
            "LAVO01020304;7;751421;132506;2024;1;;;XYZ;;E;6;FG;AD;2025-02-01 09:00:00",
            "BAD;;751006;132406;2024;6;;;;SUC;R;6;FG;JE;2025-07-10 09:00:00",
        ],
    );
    write(
        dir,
        "e_ri_mentions.csv",
        &[
            "codeperm;fiche;ecocenoff;progcharl;typediplomecharl;indreussanctcharl;dateobtmention",
            "TREM12345678;;751006;DES;DES;O;2025-06-30",
            "LAVO01020304;7;751421;5321;DEP;O;2025-07-01",
            "LAVO01020304;7;751421;1234;AFP;N;2024-12-15",
        ],
    );
}

// ---------------------------------------------------------------------------------------------
// Dofin: units U01 (school 751006), U90 (head office), U99 (an establishment of another CSS).
// ---------------------------------------------------------------------------------------------

fn dofin_export(dir: &Path) {
    write(
        dir,
        "fin_nomen_unit_adm.csv",
        &[
            "exer_fin;code;descr;eco_off",
            "2024;U01;Polyvalente Montignac;751006",
            "2024;U90;Siège social;",
            "2024;U99;Unité mal codée;881009",
        ],
    );
    write(dir, "fin_nomen_activite.csv", &["code;descr", "11000;Enseignement"]);
    write(dir, "fin_nomen_objet.csv", &["code;descr", "110;Salaires"]);
    write(
        dir,
        "fin_ecriture.csv",
        &[
            "exer_fin;no_piece;no_ligne;date_ecriture;fonds;activite;objet;unite_adm;montant;descr",
            "2024;P1;1;2024-09-15;1;11000;110;U01;1000.10;Paie de Léa Tremblay",
            "2024;P1;2;2024-09-15;1;11000;210;U01;0,20;Avantages",
            "2024;P1;3;2024-09-15;1;12000;110;U01;0.01;Paie",
            "2024;P2;1;2024-10-01;1;26100;520;U90;250.05;Portables",
            "2024;P2;2;2024-10-01;1;27105;520;U90;99.99;Licences",
            "2024;P3;1;2024-10-02;1;41000;910;U90;-500.00;Subvention",
            "2024;P4;1;2024-10-03;1;91000;110;U90;12.34;Activité inconnue",
            "2024;P4;2;2024-10-03;1;11000;810;U01;3.21;Objet inconnu",
            "2024;P5;1;2024-10-04;1;11000;110;U99;7.77;Unité mal codée",
        ],
    );
    write(
        dir,
        "fin_budget.csv",
        &[
            "exer_fin;version;fonds;activite;objet;unite_adm;montant",
            "2024;INITIAL;1;11000;110;U01;5000,00",
            "2024;REVISE;1;11000;110;U01;5100.00",
            "2024;INITIAL;1;27105;520;U90;100.00",
            "2024;INITIAL;1;91000;110;U90;1.00",
        ],
    );
}

/// Writes each export into `<tmp>/<system>/` and reads it with its connector and contract.
async fn read(dict: &Dictionary, tmp: &Path, system: &str) -> Extract {
    let dir = tmp.join(system);
    let source = dict.source(system).unwrap_or_else(|| panic!("no contract {system}"));
    let opts = ReadOptions::default();
    let extract = match system {
        "gpi" => {
            gpi_export(&dir);
            socle_connect_gpi::read_gpi(&dir, source, &opts).await
        }
        "mozaik" => {
            mozaik_export(&dir);
            socle_connect_mozaik::read_mozaik(&dir, source, &opts).await
        }
        "jade" => {
            jade_export(&dir);
            socle_connect::read_delimited(&dir, source, &opts).await
        }
        "dofin" => {
            dofin_export(&dir);
            socle_connect::read_delimited(&dir, source, &opts).await
        }
        other => panic!("unknown system {other}"),
    }
    .unwrap();
    assert!(extract.rejects.is_empty(), "{system}: {:?}", extract.rejects);
    extract
}

async fn load_with(dict: &Dictionary, systems: &[&str]) -> Normalised {
    let tmp = tempfile::tempdir().unwrap();
    let mut extracts = Vec::new();
    for s in systems {
        extracts.push(read(dict, tmp.path(), s).await);
    }
    let registry = Registry::embedded().unwrap();
    let pseudo = pseudo();
    let cx = NormaliseContext {
        code_css: CSS,
        dictionary: dict,
        registry: &registry,
        pseudonymiser: &pseudo,
    };
    normalise(&cx, extracts).await.unwrap()
}

async fn load(systems: &[&str]) -> Normalised {
    let dict = Dictionary::load(schemas()).unwrap();
    load_with(&dict, systems).await
}

/// Every row of an entity as text, columns in the entity's order, without the excluded ones. A
/// local student key (from the source's own student number) shows as `<locale>`.
fn rows(n: &Normalised, entity: &str, filter: (&str, &str), exclude: &[&str]) -> Vec<Vec<String>> {
    let mut local = std::collections::BTreeSet::new();
    for b in &n.tables["eleve"] {
        let flag = b
            .column_by_name("cle_locale")
            .unwrap()
            .as_any()
            .downcast_ref::<BooleanArray>()
            .unwrap();
        let key = b
            .column_by_name("cle_eleve")
            .unwrap()
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        for i in 0..b.num_rows() {
            if flag.value(i) {
                local.insert(format!("cle_eleve={}", key.value(i)));
            }
        }
    }
    let mut out = Vec::new();
    for b in &n.tables[entity] {
        let keep = b.column_by_name(filter.0).unwrap();
        for i in 0..b.num_rows() {
            if array_value_to_string(keep, i).unwrap() != filter.1 {
                continue;
            }
            let row: Vec<String> = b
                .schema()
                .fields()
                .iter()
                .enumerate()
                .filter(|(_, f)| !exclude.contains(&f.name().as_str()))
                .map(|(c, f)| format!("{}={}", f.name(), array_value_to_string(b.column(c), i).unwrap()))
                .map(|v| {
                    if local.contains(&v) {
                        "cle_eleve=<locale>".to_string()
                    } else {
                        v
                    }
                })
                .collect();
            out.push(row);
        }
    }
    out.sort();
    out
}

fn col_strings(batches: &[RecordBatch], name: &str) -> Vec<Option<String>> {
    batches
        .iter()
        .flat_map(|b| {
            let a = b
                .column_by_name(name)
                .unwrap()
                .as_any()
                .downcast_ref::<StringArray>()
                .unwrap();
            a.iter().map(|v| v.map(str::to_string)).collect::<Vec<_>>()
        })
        .collect()
}

/// (source, entite, fichier, colonne, raison) of every quarantined row.
fn quarantine(n: &Normalised) -> Vec<(String, String, String, String, String)> {
    let mut out = Vec::new();
    for b in &n.quarantine {
        let s = |c: &str| {
            b.column_by_name(c)
                .unwrap()
                .as_any()
                .downcast_ref::<StringArray>()
                .unwrap()
                .clone()
        };
        let (source, entite, fichier, colonne, raison) =
            (s("source"), s("entite"), s("fichier"), s("colonne"), s("raison"));
        for i in 0..b.num_rows() {
            let v = |a: &StringArray| {
                if a.is_valid(i) {
                    a.value(i).to_string()
                } else {
                    String::new()
                }
            };
            out.push((v(&source), v(&entite), v(&fichier), v(&colonne), v(&raison)));
        }
    }
    out.sort();
    out
}

#[tokio::test]
async fn a_gpi_school_and_a_mozaik_school_with_the_same_facts_give_the_same_rows() {
    // One call with both sources, as during a migration.
    let n = load(&["gpi", "mozaik"]).await;
    let ids = ["fiche", "id_eco", "eco", "systeme_source"];
    for entity in [
        "resultat",
        "inscription",
        "absence",
        "cours",
        "legende",
        "etablissement",
        "eleve",
    ] {
        let gpi = rows(&n, entity, ("systeme_source", "gpi"), &ids);
        let mozaik = rows(&n, entity, ("systeme_source", "mozaik"), &ids);
        assert!(!gpi.is_empty(), "{entity}: no GPI rows");
        assert_eq!(gpi, mozaik, "{entity}: GPI and Mozaïk differ");
    }
    assert_eq!(
        rows(&n, "resultat", ("systeme_source", "mozaik"), &[]).len(),
        9,
        "12 cells, 3 quarantined"
    );
    // The calendar has no cycle day nor étape in Mozaïk; the school days are the same.
    let cal = ["fiche", "id_eco", "eco", "systeme_source", "jour_cycle", "etape"];
    assert_eq!(
        rows(&n, "calendrier", ("systeme_source", "gpi"), &cal),
        rows(&n, "calendrier", ("systeme_source", "mozaik"), &cal)
    );
    let etapes = col_strings(&n.tables["calendrier"], "etape");
    assert_eq!(
        etapes.iter().filter(|e| e.is_some()).count(),
        2,
        "GPI's days carry their étape, Mozaïk's none"
    );

    // The same quarantine reasons, each with its source and file.
    let q: Vec<_> = quarantine(&n).into_iter().filter(|r| r.1 == "resultat").collect();
    let reasons = |src: &str| -> Vec<String> {
        let mut r: Vec<String> = q.iter().filter(|r| r.0 == src).map(|r| r.4.clone()).collect();
        r.sort();
        r
    };
    assert_eq!(
        reasons("gpi"),
        ["out_of_domain", "unknown_result_code", "unknown_result_code"]
    );
    assert_eq!(reasons("gpi"), reasons("mozaik"));
    assert!(
        q.iter()
            .filter(|r| r.0 == "mozaik")
            .all(|r| r.2 == "mozaik/resultats.jsonl" && r.3 == "resultat")
    );
    assert!(
        q.iter()
            .filter(|r| r.0 == "gpi")
            .all(|r| r.2 == "gpi/gpm_e_mat_ele.csv")
    );

    // Quality: per source table with its system, per entity and system, anomalies per system.
    let qr = &n.quality;
    assert_eq!(qr.systemes, ["gpi", "mozaik"]);
    assert_eq!(qr.sources["resultats"].systeme, "mozaik");
    assert_eq!(qr.sources["gpm_e_mat_ele"].systeme, "gpi");
    let res = &qr.entites["resultat"];
    assert_eq!(res.par_systeme["gpi"].lignes_chargees, 9);
    assert_eq!(res.par_systeme["mozaik"].lignes_chargees, 9);
    assert_eq!(res.lignes_chargees, 18);
    assert_eq!(res.quarantaine["unknown_result_code"], 4);
    assert_eq!(qr.anomaly("gpi", "cles_locales"), 1);
    assert_eq!(qr.anomaly("mozaik", "cles_locales"), 1);
}

#[tokio::test]
async fn mozaik_orders_and_levels_become_gpi_codes() {
    let n = load(&["mozaik"]).await;
    let rows = rows(&n, "inscription", ("systeme_source", "mozaik"), &[]);
    let get = |fiche: &str| {
        rows.iter()
            .find(|r| r.contains(&format!("fiche={fiche}")))
            .unwrap()
            .clone()
    };
    assert!(
        get("503").contains(&"ordre_enseignement=2".to_string()),
        "prescolaire niveau 5"
    );
    assert!(get("503").contains(&"classe=5".to_string()));
    assert!(get("501").contains(&"ordre_enseignement=4".to_string()));
    assert!(get("502").contains(&"actif=false".to_string()));
    assert!(get("502").contains(&"date_depart=2025-01-15".to_string()));
    assert!(
        get("501").contains(&"eco=".to_string()),
        "Mozaïk has no local school number"
    );
    // The malformed code permanent gets the local key of (CSS, eleve_id), as in GPI.
    let keys = col_strings(&n.tables["eleve"], "cle_eleve");
    assert!(keys.contains(&Some(pseudo().local_key(CSS, "502"))));
    assert!(keys.contains(&Some(pseudo().student_key("TREM12345678"))));
    // Only Mozaïk ran: no JADE or Dofin entity.
    assert!(!n.tables.contains_key("ecriture") && !n.tables.contains_key("resultat_ministere"));
}

#[tokio::test]
async fn jade_keeps_the_latest_copy_of_a_ministry_result() {
    let n = load(&["jade"]).await;
    let p = pseudo();
    let youth = p.student_key("TREM12345678");
    let rm = &n.tables["resultat_ministere"];
    let keys = col_strings(rm, "cle_eleve");
    let courses = col_strings(rm, "code_cours");
    let finals = col_strings(rm, "resultat_final");
    let sessions = col_strings(rm, "session");
    let codes = col_strings(rm, "code_resultat");
    let notes: Vec<Option<f64>> = rm
        .iter()
        .flat_map(|b| {
            let a = b
                .column_by_name("note_finale")
                .unwrap()
                .as_any()
                .downcast_ref::<datafusion::arrow::array::Float64Array>()
                .unwrap();
            a.iter().collect::<Vec<_>>()
        })
        .collect();
    let find = |course: &str| {
        (0..courses.len())
            .find(|i| courses[*i].as_deref() == Some(course))
            .unwrap()
    };
    // French 132406: two copies, the later one (72, retrieved July 10) is kept.
    assert_eq!(
        courses.iter().filter(|c| c.as_deref() == Some("132406")).count(),
        2,
        "youth student and BAD"
    );
    let fr = (0..courses.len())
        .find(|i| courses[*i].as_deref() == Some("132406") && keys[*i].as_deref() == Some(youth.as_str()))
        .unwrap();
    assert_eq!(finals[fr].as_deref(), Some("72"));
    assert_eq!(notes[fr], Some(72.0));
    assert_eq!(sessions[fr].as_deref(), Some("2025-06"), "June of 2024-2025");
    assert_eq!(n.quality.anomaly("jade", "copies_remplacees"), 1);
    // A youth student (empty fiche) gets the shared key from the code permanent.
    assert_eq!(keys[fr].as_deref(), Some(youth.as_str()));
    // Codes are kept, their marks null; August of annee 2024 is 2024-08 (July 1 boundary).
    let abs = find("063414");
    assert_eq!(codes[abs].as_deref(), Some("ABS"));
    assert_eq!(notes[abs], None);
    let hist = find("085404");
    assert_eq!(sessions[hist].as_deref(), Some("2024-08"));
    assert_eq!(notes[hist], Some(61.5), "decimal comma");
    // A malformed code permanent without a fiche: a local key of its own, counted.
    let bad = (0..courses.len())
        .find(|i| courses[*i].as_deref() == Some("132406") && keys[*i].as_deref() != Some(youth.as_str()))
        .unwrap();
    assert_eq!(
        keys[bad].as_deref(),
        Some(p.local_key(CSS, "jade-codeperm:BAD").as_str())
    );
    assert_eq!(codes[bad].as_deref(), Some("SUC"));
    assert_eq!(n.quality.anomaly("jade", "cles_locales_resultats_ministere"), 1);
    // XYZ is neither a number nor a ministry code.
    let q = quarantine(&n);
    assert!(
        q.contains(&(
            "jade".into(),
            "resultat_ministere".into(),
            "jade/e_ri_resultats.csv".into(),
            "resoffbrute".into(),
            "unknown_result_code".into()
        )),
        "{q:?}"
    );
    assert_eq!(rm.iter().map(|b| b.num_rows()).sum::<usize>(), 4);
}

#[tokio::test]
async fn jade_sanctions_spells_and_students() {
    let n = load(&["jade"]).await;
    let p = pseudo();
    let s = &n.tables["sanction"];
    let years = col_strings(s, "annee_scolaire");
    let kinds = col_strings(s, "type_diplome");
    let year_of = |kind: &str| years[kinds.iter().position(|k| k.as_deref() == Some(kind)).unwrap()].clone();
    assert_eq!(year_of("DES").as_deref(), Some("2024-2025"), "June 30 closes 2024-2025");
    assert_eq!(year_of("DEP").as_deref(), Some("2025-2026"), "July 1 opens 2025-2026");
    assert_eq!(year_of("AFP").as_deref(), Some("2024-2025"));
    let obtenu: Vec<bool> = s
        .iter()
        .flat_map(|b| {
            let a = b
                .column_by_name("obtenu")
                .unwrap()
                .as_any()
                .downcast_ref::<BooleanArray>()
                .unwrap();
            a.iter().map(|v| v.unwrap()).collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(obtenu.iter().filter(|o| **o).count(), 2);
    assert!(col_strings(s, "cle_eleve").contains(&Some(p.student_key("TREM12345678"))));

    // Students: JADE's local key never meets GPI's (CSS, fiche) namespace.
    let e = &n.tables["eleve"];
    assert_eq!(col_strings(e, "systeme_source"), vec![Some("jade".to_string()); 2]);
    let keys = col_strings(e, "cle_eleve");
    assert!(keys.contains(&Some(p.local_key(CSS, "jade:8"))));
    assert!(!keys.contains(&Some(p.local_key(CSS, "8"))));
    assert!(keys.contains(&Some(p.student_key("LAVO01020304"))));

    // Spells: the centre's establishment comes from t_ecocen and is checked in the registry.
    let f = &n.tables["frequentation_fga_fp"];
    assert_eq!(
        col_strings(f, "code_etablissement"),
        vec![Some("751421".to_string()); 2]
    );
    assert_eq!(col_strings(f, "annee_scolaire"), vec![Some("2024-2025".to_string()); 2]);
    let q: Vec<_> = quarantine(&n)
        .into_iter()
        .filter(|r| r.1 == "frequentation_fga_fp")
        .map(|r| (r.3, r.4))
        .collect();
    assert_eq!(
        q,
        [
            ("ecocen".to_string(), "unknown_establishment".to_string()),
            ("fiche".to_string(), "unknown_student".to_string())
        ]
    );
}

/// A copy of the committed schemas with `css/751000.yaml` giving its own finance codes.
fn dictionary_with_override(tmp: &Path) -> Dictionary {
    copy_dir(&schemas(), tmp);
    std::fs::write(
        tmp.join("css/751000.yaml"),
        "code_css: \"751000\"\nfinance:\n  activites:\n    - {prefixe: \"271\", champ: \"3\"}\n  ressources_informationnelles: [\"26\", \"46\", \"271\"]\n",
    )
    .unwrap();
    let d = Dictionary::load(tmp).unwrap();
    assert!(d.validate().is_empty(), "{:#?}", d.validate());
    d
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            if entry.file_name() != "reference" {
                copy_dir(&entry.path(), &target);
            }
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Sum of `montant` (cents, exact) by `champ`, and the IT total.
fn sums_by_champ(batches: &[RecordBatch]) -> (BTreeMap<String, i128>, i128) {
    let mut by = BTreeMap::new();
    let mut it = 0;
    for b in batches {
        let champ = b
            .column_by_name("champ")
            .unwrap()
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        let montant = b
            .column_by_name("montant")
            .unwrap()
            .as_any()
            .downcast_ref::<Decimal128Array>()
            .unwrap();
        let ri = b
            .column_by_name("ressources_informationnelles")
            .unwrap()
            .as_any()
            .downcast_ref::<BooleanArray>()
            .unwrap();
        assert_eq!(montant.scale(), 2);
        for i in 0..b.num_rows() {
            *by.entry(champ.value(i).to_string()).or_insert(0) += montant.value(i);
            if ri.value(i) {
                it += montant.value(i);
            }
        }
    }
    (by, it)
}

#[tokio::test]
async fn finance_codes_map_by_longest_prefix_with_a_css_override() {
    let tmp = tempfile::tempdir().unwrap();
    let dict = dictionary_with_override(tmp.path());
    let n = load_with(&dict, &["dofin"]).await;
    let (by, it) = sums_by_champ(&n.tables["ecriture"]);
    // 1000.10 + 0.20 + 0.01 (field 1), 250.05 (26100: field 2, IT), 99.99 (27105: field 3 by the
    // CSS's prefix 271, IT by its list), -500.00 (41000: field 4, a revenue).
    assert_eq!(
        by,
        BTreeMap::from([
            ("1".into(), 100031),
            ("2".into(), 25005),
            ("3".into(), 9999),
            ("4".into(), -50000)
        ])
    );
    assert_eq!(it, 25005 + 9999);
    let (budget, _) = sums_by_champ(&n.tables["budget"]);
    assert_eq!(budget, BTreeMap::from([("1".into(), 1010000), ("3".into(), 10000)]));

    // Labels, nature, category, establishment of the unit.
    let e = &n.tables["ecriture"];
    let activites = col_strings(e, "activite");
    let at = |a: &str| activites.iter().position(|x| x.as_deref() == Some(a)).unwrap();
    assert_eq!(
        col_strings(e, "champ_libelle")[at("27105")].as_deref(),
        Some("Services d'appoint (transport scolaire, services de garde)")
    );
    assert_eq!(col_strings(e, "nature")[at("41000")].as_deref(), Some("revenu"));
    assert_eq!(
        col_strings(e, "categorie_objet")[at("41000")].as_deref(),
        Some("revenus")
    );
    assert_eq!(
        col_strings(e, "code_etablissement")[at("11000")].as_deref(),
        Some("751006")
    );
    assert_eq!(col_strings(e, "code_etablissement")[at("26100")], None, "head office");
    assert_eq!(col_strings(e, "annee_scolaire")[0].as_deref(), Some("2024-2025"));
    // Free text stays in the CSS zone: its field is of class `name`.
    let schema = e[0].schema();
    assert_eq!(
        schema.field_with_name("description").unwrap().metadata()[socle_dictionary::PERSONAL_METADATA_KEY],
        "name"
    );

    // Unmapped codes and a unit of another CSS's establishment are quarantined, never dropped.
    let q: Vec<_> = quarantine(&n)
        .into_iter()
        .filter(|r| r.0 == "dofin")
        .map(|r| (r.1, r.3, r.4))
        .collect();
    let expect = |e: &str, c: &str, r: &str| (e.to_string(), c.to_string(), r.to_string());
    assert_eq!(
        q,
        [
            expect("budget", "activite", "unmapped_code"),
            expect("ecriture", "activite", "unmapped_code"),
            expect("ecriture", "objet", "unmapped_code"),
            expect("ecriture", "unite_adm", "unknown_unit"),
            expect("unite_administrative", "eco_off", "unknown_establishment"),
        ]
    );
    assert_eq!(n.quality.entites["ecriture"].quarantaine["unmapped_code"], 2);
    assert_eq!(n.quality.sources["fin_ecriture"].systeme, "dofin");

    // Without the override (the committed dictionary), 27105 is field 2 and not IT.
    let n = load(&["dofin"]).await;
    let (by, it) = sums_by_champ(&n.tables["ecriture"]);
    assert_eq!(by.get("2"), Some(&(25005 + 9999)));
    assert_eq!(by.get("3"), None);
    assert_eq!(it, 25005);
}

#[tokio::test]
async fn four_sources_in_one_call() {
    let n = load(&["dofin", "jade", "mozaik", "gpi"]).await;
    assert_eq!(
        n.quality.systemes,
        ["gpi", "mozaik", "jade", "dofin"],
        "a fixed order, whatever the input's"
    );
    for entity in [
        "eleve",
        "etablissement",
        "inscription",
        "resultat",
        "frequentation_fga_fp",
        "resultat_ministere",
        "sanction",
        "ecriture",
        "budget",
        "unite_administrative",
    ] {
        assert!(
            n.tables[entity].iter().map(|b| b.num_rows()).sum::<usize>() > 0,
            "{entity}"
        );
    }
    let systems: std::collections::BTreeSet<_> = col_strings(&n.tables["eleve"], "systeme_source")
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(systems.into_iter().collect::<Vec<_>>(), ["gpi", "jade", "mozaik"]);
    // Each student key in eleve is the same across systems for the same code permanent.
    let key = pseudo().student_key("TREM12345678");
    let keys = col_strings(&n.tables["eleve"], "cle_eleve");
    assert_eq!(
        keys.iter().filter(|k| k.as_deref() == Some(key.as_str())).count(),
        2,
        "GPI and Mozaïk"
    );
    assert!(col_strings(&n.tables["resultat_ministere"], "cle_eleve").contains(&Some(key)));
    // Every quarantined row names its system.
    for (source, ..) in quarantine(&n) {
        assert!(["gpi", "mozaik", "jade", "dofin"].contains(&source.as_str()));
    }
    for (entity, q) in &n.quality.entites {
        let loaded: u64 = q.par_systeme.values().map(|s| s.lignes_chargees).sum();
        assert_eq!(loaded, q.lignes_chargees, "{entity}");
    }
}

#[tokio::test]
async fn an_unknown_or_repeated_system_is_refused() {
    let dict = Dictionary::load(schemas()).unwrap();
    let registry = Registry::embedded().unwrap();
    let pseudo = pseudo();
    let cx = NormaliseContext {
        code_css: CSS,
        dictionary: &dict,
        registry: &registry,
        pseudonymiser: &pseudo,
    };
    let empty = |system: &str| Extract {
        system: system.to_string(),
        tables: Default::default(),
        rejects: vec![],
        files: vec![],
    };
    let err = normalise(&cx, vec![empty("sifa")]).await.err().unwrap().to_string();
    assert!(err.contains("sifa"), "{err}");
    let err = normalise(&cx, vec![empty("gpi"), empty("gpi")])
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("two extracts"), "{err}");
    // An extract built by hand without its tables normalises to empty entities.
    let n = normalise(&cx, vec![empty("mozaik")]).await.unwrap();
    assert_eq!(n.tables["resultat"].iter().map(|b| b.num_rows()).sum::<usize>(), 0);
}
