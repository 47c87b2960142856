//! The JADE contract as the data dictionary loads it: valid, consistent with formats/jade.md and
//! with the connector.

use socle_connect_jade::SYSTEM;
use socle_dictionary::{Dictionary, FieldType, PersonalClass};

fn dictionary() -> Dictionary {
    Dictionary::load(concat!(env!("CARGO_MANIFEST_DIR"), "/../../schemas")).expect("load the dictionary")
}

#[test]
fn the_contract_has_no_problem() {
    let d = dictionary();
    let source = d.source(SYSTEM).expect("jade source contract");
    let problems: Vec<String> = d
        .validate()
        .into_iter()
        .filter(|p| p.file == source.file)
        .map(|p| p.to_string())
        .collect();
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(source.folder, SYSTEM);
}

#[test]
fn tables_keys_and_types_follow_the_format() {
    let d = dictionary();
    let source = d.source(SYSTEM).expect("jade source contract");
    let keys: Vec<(&str, &str, Vec<&str>)> = source
        .tables
        .iter()
        .map(|t| {
            (
                t.name.as_str(),
                t.file.as_str(),
                t.key.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        keys,
        vec![
            ("e_ele", "e_ele.csv", vec!["fiche"]),
            (
                "e_freq",
                "e_freq.csv",
                vec!["fiche", "annee", "ecocen", "prog", "datedeb"]
            ),
            (
                "e_ri_resultats",
                "e_ri_resultats.csv",
                vec!["codeperm", "matcharl", "annee", "moissanct", "datehrerecup"]
            ),
            (
                "e_ri_mentions",
                "e_ri_mentions.csv",
                vec!["codeperm", "progcharl", "typediplomecharl"]
            ),
            ("t_ecocen", "t_ecocen.csv", vec!["ecocen"]),
        ]
    );
    let typ = |t: &str, c: &str| source.table(t).and_then(|t| t.column(c)).map(|c| c.column_type);
    assert_eq!(typ("e_ri_resultats", "datehrerecup"), Some(FieldType::Timestamp));
    for c in ["annee", "moissanct", "nbunitecharl"] {
        assert_eq!(typ("e_ri_resultats", c), Some(FieldType::Int), "{c}");
    }
    for c in [
        "resecobrute",
        "resecomod",
        "resoffbrute",
        "resofffinal",
        "ecocenoff",
        "matcharl",
    ] {
        assert_eq!(typ("e_ri_resultats", c), Some(FieldType::Text), "{c}");
    }
    assert_eq!(typ("e_ri_mentions", "dateobtmention"), Some(FieldType::Date));
    assert_eq!(typ("e_freq", "datedeb"), Some(FieldType::Date));
    assert_eq!(typ("e_freq", "datefin"), Some(FieldType::Date));
    // Every table quarantines repeated keys: copies of a result differ by their timestamp.
    assert!(
        source
            .tables
            .iter()
            .all(|t| t.duplicates == socle_dictionary::DuplicatePolicy::Quarantine)
    );
}

#[test]
fn personal_columns_are_marked_and_feed_protected_fields() {
    let d = dictionary();
    let source = d.source(SYSTEM).expect("jade source contract");
    let personal: Vec<String> = source
        .tables
        .iter()
        .flat_map(|t| {
            t.columns
                .iter()
                .filter(|c| c.personal)
                .map(move |c| format!("{}.{}", t.name, c.name))
        })
        .collect();
    assert_eq!(
        personal,
        [
            "e_ele.codeperm",
            "e_ele.nom",
            "e_ele.pnom",
            "e_ele.datenaiss",
            "e_ri_resultats.codeperm",
            "e_ri_mentions.codeperm"
        ]
    );
    // A personal column never feeds a field of the shared zone as is.
    for t in &source.tables {
        for c in t.columns.iter().filter(|c| c.personal) {
            for target in &c.maps_to {
                let (e, f) = target.split_once('.').expect("entity.field");
                let class = d.entity(e).and_then(|e| e.field(f)).map(|f| f.personal);
                assert!(
                    class.is_some_and(|k| k != PersonalClass::None),
                    "{}.{} -> {target} ({class:?})",
                    t.name,
                    c.name
                );
            }
        }
    }
}
