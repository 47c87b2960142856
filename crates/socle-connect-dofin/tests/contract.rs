//! The Dofin contract as the data dictionary loads it: valid, consistent with formats/dofin.md and
//! with the connector.

use socle_connect_dofin::SYSTEM;
use socle_dictionary::{Dictionary, FieldType, PersonalClass};

fn dictionary() -> Dictionary {
    Dictionary::load(concat!(env!("CARGO_MANIFEST_DIR"), "/../../schemas")).expect("load the dictionary")
}

#[test]
fn the_contract_has_no_problem() {
    let d = dictionary();
    let source = d.source(SYSTEM).expect("dofin source contract");
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
    let source = d.source(SYSTEM).expect("dofin source contract");
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
            (
                "fin_ecriture",
                "fin_ecriture.csv",
                vec!["exer_fin", "no_piece", "no_ligne"]
            ),
            (
                "fin_budget",
                "fin_budget.csv",
                vec!["exer_fin", "version", "fonds", "activite", "objet", "unite_adm"]
            ),
            ("fin_nomen_unit_adm", "fin_nomen_unit_adm.csv", vec!["exer_fin", "code"]),
            ("fin_nomen_activite", "fin_nomen_activite.csv", vec!["code"]),
            ("fin_nomen_objet", "fin_nomen_objet.csv", vec!["code"]),
        ]
    );
    let typ = |t: &str, c: &str| source.table(t).and_then(|t| t.column(c)).map(|c| c.column_type);
    for t in ["fin_ecriture", "fin_budget"] {
        assert_eq!(typ(t, "montant"), Some(FieldType::Money), "{t}");
        assert_eq!(typ(t, "exer_fin"), Some(FieldType::Int), "{t}");
        // Codes are text: leading zeros are kept.
        for c in ["fonds", "activite", "objet", "unite_adm"] {
            assert_eq!(typ(t, c), Some(FieldType::Text), "{t}.{c}");
        }
    }
    assert_eq!(typ("fin_ecriture", "no_ligne"), Some(FieldType::Int));
    assert_eq!(typ("fin_ecriture", "date_ecriture"), Some(FieldType::Date));
}

#[test]
fn free_text_of_ledger_lines_is_personal() {
    let d = dictionary();
    let source = d.source(SYSTEM).expect("dofin source contract");
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
    assert_eq!(personal, ["fin_ecriture.descr"]);
    let class = d
        .entity("ecriture")
        .and_then(|e| e.field("description"))
        .map(|f| f.personal);
    assert!(class.is_some_and(|k| k != PersonalClass::None), "{class:?}");
}
