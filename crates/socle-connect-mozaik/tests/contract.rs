//! The contract `schemas/sources/mozaik.yaml` is valid in the whole dictionary: its `maps_to`
//! name canonical fields, its keys are columns, its domains are well formed.

use std::path::Path;

use socle_dictionary::Dictionary;

#[test]
fn the_mozaik_contract_validates_in_the_dictionary() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas");
    let dict = Dictionary::load(&root).expect("load the dictionary");
    let source = dict.source("mozaik").expect("the mozaik contract");
    assert_eq!(source.folder, "mozaik");
    assert_eq!(source.tables.len(), 9);
    let problems: Vec<String> = dict
        .validate()
        .into_iter()
        .filter(|p| p.file.ends_with("mozaik.yaml"))
        .map(|p| format!("{}: {}", p.path, p.message))
        .collect();
    assert!(problems.is_empty(), "{problems:#?}");
    // Personal keys are marked, so their values never reach a message.
    let eleves = source.table("eleves").expect("eleves");
    for column in ["code_permanent", "nom", "prenom", "date_naissance"] {
        assert!(eleves.column(column).is_some_and(|c| c.personal), "{column}");
    }
    let codes = source.table("legendes_codes").expect("legendes_codes");
    assert_eq!(
        (codes.file.as_str(), codes.unnest.as_deref()),
        ("legendes.jsonl", Some("codes"))
    );
}
