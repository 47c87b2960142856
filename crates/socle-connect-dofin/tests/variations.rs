//! What varies from one CSS to the next (formats/README.md): every variation must load, and
//! amounts stay exact to the cent.

mod common;

use common::*;
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::compute::sum;
use datafusion::arrow::datatypes::{DataType, Decimal128Type};
use socle_connect_dofin::{Extract, ReadOptions, SYSTEM, read_dofin};
use socle_dictionary::Encoding;

const ECR: &str = "exer_fin;no_piece;no_ligne;date_ecriture;fonds;activite;objet;unite_adm;montant;descr";

/// The exact sum of a table's `montant`, in cents.
fn cents(x: &Extract, table: &str) -> i128 {
    let b = batch(x, table);
    let idx = b.schema().index_of("montant").expect("montant");
    let a = b.column(idx).as_primitive::<Decimal128Type>();
    assert_eq!(a.data_type(), &DataType::Decimal128(18, 2));
    sum(a).unwrap_or(0)
}

#[tokio::test]
async fn utf8_lf_semicolon() {
    let dir = folder();
    let text = format!(
        "{ECR}\n2024;000123;1;2024-09-15;1;11000;521;001;1234,56;Manuels scolaires\n\
         2024;000123;2;2024-09-15;1;11000;911;001;-1234,56;Revenu élèves\n"
    );
    write(dir.path(), "fin_ecriture.csv", text.as_bytes());
    let x = read(dir.path()).await;
    assert_eq!(x.system, SYSTEM);
    assert!(x.rejects.is_empty(), "{:#?}", x.rejects);
    assert_eq!((x.tables.len(), x.files.len()), (5, 5));
    let t = &x.tables["fin_ecriture"];
    assert_eq!((t.rows_read, t.rows_loaded), (2, 2));
    assert_eq!(col(&x, "fin_ecriture", "no_piece"), vec![s("000123"), s("000123")]);
    assert_eq!(col(&x, "fin_ecriture", "montant"), vec![s("1234.56"), s("-1234.56")]);
    assert_eq!(
        col(&x, "fin_ecriture", "descr"),
        vec![s("Manuels scolaires"), s("Revenu élèves")]
    );
    assert_eq!(col(&x, "fin_ecriture", "_line"), vec![s("2"), s("3")]);
    assert_eq!(cents(&x, "fin_ecriture"), 0);
    let info = x.files.iter().find(|f| f.table == "fin_ecriture").expect("info");
    assert_eq!(
        (info.encoding.as_str(), info.delimiter, info.rows_read),
        ("utf-8", ';', 2)
    );
    assert_eq!(info.bytes, text.len() as u64);
}

#[tokio::test]
async fn typed_schemas_follow_the_contract() {
    let dir = folder();
    let x = read(dir.path()).await;
    assert!(x.rejects.is_empty(), "{:#?}", x.rejects);
    assert!(x.tables.values().all(|t| t.rows_read == 0 && t.rows_loaded == 0));
    let names: Vec<&str> = x.tables.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "fin_budget",
            "fin_ecriture",
            "fin_nomen_activite",
            "fin_nomen_objet",
            "fin_nomen_unit_adm"
        ]
    );
    let ecr = &x.tables["fin_ecriture"].schema;
    let types: Vec<(&str, &DataType)> = ecr
        .fields()
        .iter()
        .map(|f| (f.name().as_str(), f.data_type()))
        .collect();
    assert_eq!(
        types,
        [
            ("exer_fin", &DataType::Int64),
            ("no_piece", &DataType::Utf8),
            ("no_ligne", &DataType::Int64),
            ("date_ecriture", &DataType::Date32),
            ("fonds", &DataType::Utf8),
            ("activite", &DataType::Utf8),
            ("objet", &DataType::Utf8),
            ("unite_adm", &DataType::Utf8),
            ("montant", &DataType::Decimal128(18, 2)),
            ("descr", &DataType::Utf8),
            ("_file", &DataType::Utf8),
            ("_line", &DataType::Int64),
        ]
    );
    let bud = &x.tables["fin_budget"].schema;
    let montant = bud.field_with_name("montant").expect("montant");
    assert_eq!(
        (montant.data_type(), montant.is_nullable()),
        (&DataType::Decimal128(18, 2), false)
    );
}

#[tokio::test]
async fn amounts_are_exact() {
    let dir = folder();
    // 1 000 lines of 0,10 $: exactly 100,00 $ (a float sum would drift).
    let mut text = format!("{ECR}\n");
    for i in 1..=1000 {
        text.push_str(&format!("2024;P1;{i};2024-09-15;1;11000;521;001;0,10;\n"));
    }
    // And ten lines of 0.1 (point) in the budget: exactly 1,00 $.
    let mut budget = String::from("exer_fin;version;fonds;activite;objet;unite_adm;montant\n");
    for i in 0..10 {
        budget.push_str(&format!("2024;INITIAL;1;11000;521;U{i};0.1\n"));
    }
    write(dir.path(), "fin_ecriture.csv", text.as_bytes());
    write(dir.path(), "fin_budget.csv", budget.as_bytes());
    let x = read(dir.path()).await;
    assert!(x.rejects.is_empty(), "{:#?}", &x.rejects[..x.rejects.len().min(3)]);
    assert_eq!(x.tables["fin_ecriture"].rows_loaded, 1000);
    assert_eq!(cents(&x, "fin_ecriture"), 10_000);
    assert_eq!(cents(&x, "fin_budget"), 100);
    assert_ne!((0..10).map(|_| 0.1_f64).sum::<f64>(), 1.0, "floats would not be exact");
}

#[tokio::test]
async fn decimal_comma_and_point_and_signs() {
    let dir = folder();
    let text = format!(
        "{ECR}\n2024;P;1;2024-09-15;1;11000;521;001;1234,56;\n2024;P;2;2024-09-15;1;11000;521;001;1234.5;\n\
         2024;P;3;2024-09-15;1;11000;911;001;-0,10;\n2024;P;4;2024-09-15;1;11000;521;001;+12;\n\
         2024;P;5;2024-09-15;1;11000;521;001;,5;\n2024;P;6;2024-09-15;1;11000;521;001;  7,05  ;\n\
         2024;P;7;2024-09-15;2;11000;521;001;-1234567890123,99;\n"
    );
    write(dir.path(), "fin_ecriture.csv", text.as_bytes());
    // With `,` as the delimiter, a decimal comma is quoted.
    write(
        dir.path(),
        "fin_budget.csv",
        b"exer_fin,version,fonds,activite,objet,unite_adm,montant\n2024,INITIAL,1,11000,521,001,\"1500,25\"\n2024,REVISE,1,11000,521,001,1500.75\n",
    );
    let x = read(dir.path()).await;
    assert!(x.rejects.is_empty(), "{:#?}", x.rejects);
    assert_eq!(
        col(&x, "fin_ecriture", "montant"),
        vec![
            s("1234.56"),
            s("1234.50"),
            s("-0.10"),
            s("12.00"),
            s("0.50"),
            s("7.05"),
            s("-1234567890123.99")
        ]
    );
    assert_eq!(col(&x, "fin_budget", "montant"), vec![s("1500.25"), s("1500.75")]);
    assert_eq!(cents(&x, "fin_budget"), 300_100);
}

#[tokio::test]
async fn utf8_with_bom() {
    let dir = folder();
    let text = "code;descr\n11000;Enseignement préscolaire\n26100;Ressources informationnelles\n";
    let mut bytes = vec![0xEF, 0xBB, 0xBF];
    bytes.extend_from_slice(text.as_bytes());
    write(dir.path(), "fin_nomen_activite.csv", &bytes);
    for enc in [Encoding::Auto, Encoding::Utf8] {
        let x = try_read(dir.path(), enc).await.expect("read");
        assert!(x.rejects.is_empty(), "{:#?}", x.rejects);
        assert_eq!(col(&x, "fin_nomen_activite", "code"), vec![s("11000"), s("26100")]);
        assert_eq!(
            col(&x, "fin_nomen_activite", "descr"),
            vec![s("Enseignement préscolaire"), s("Ressources informationnelles")]
        );
        let info = x.files.iter().find(|f| f.table == "fin_nomen_activite").expect("info");
        assert_eq!((info.encoding.as_str(), info.bytes), ("utf-8", bytes.len() as u64));
    }
}

#[tokio::test]
async fn windows_1252_with_accents_declared_and_detected() {
    let dir = folder();
    let objets = "code;descr\n521;Matériel didactique\n911;Revenus de taxe scolaire — élèves\n";
    let unites = "exer_fin;code;descr;eco_off\n2024;001;École Sainte-Thérèse;063414\n2024;900;Siège social;\n";
    for (file, text) in [("fin_nomen_objet.csv", objets), ("fin_nomen_unit_adm.csv", unites)] {
        let (bytes, _, bad) = encoding_rs::WINDOWS_1252.encode(text);
        assert!(!bad);
        assert!(std::str::from_utf8(&bytes).is_err());
        write(dir.path(), file, &bytes);
    }
    for enc in [Encoding::Windows1252, Encoding::Auto] {
        let x = try_read(dir.path(), enc).await.expect("read");
        assert!(x.rejects.is_empty(), "{:#?}", x.rejects);
        assert_eq!(
            col(&x, "fin_nomen_objet", "descr"),
            vec![s("Matériel didactique"), s("Revenus de taxe scolaire — élèves")]
        );
        assert_eq!(
            col(&x, "fin_nomen_unit_adm", "descr"),
            vec![s("École Sainte-Thérèse"), s("Siège social")]
        );
        // A unit that is not a school has no establishment.
        assert_eq!(col(&x, "fin_nomen_unit_adm", "eco_off"), vec![s("063414"), None]);
        let info = x.files.iter().find(|f| f.table == "fin_nomen_objet").expect("info");
        assert_eq!(info.encoding, "windows-1252");
    }
    let x = read(dir.path()).await;
    let ascii = x.files.iter().find(|f| f.table == "fin_ecriture").expect("info");
    assert_eq!(ascii.encoding, "utf-8");
}

#[tokio::test]
async fn every_delimiter_with_crlf_and_lf() {
    let rows = [
        vec![
            "exer_fin",
            "version",
            "fonds",
            "activite",
            "objet",
            "unite_adm",
            "montant",
        ],
        vec!["2024", "INITIAL", "1", "11000", "521", "001", "1000.00"],
        vec!["2024", "REVISE", "2", "51000", "611", "900", "-250.5"],
    ];
    for delim in [";", ",", "|", "\t"] {
        for eol in ["\n", "\r\n"] {
            let dir = folder();
            let text: String = rows.iter().map(|r| format!("{}{eol}", r.join(delim))).collect();
            write(dir.path(), "fin_budget.csv", text.as_bytes());
            let x = read(dir.path()).await;
            assert!(x.rejects.is_empty(), "{delim:?} {eol:?}: {:#?}", x.rejects);
            assert_eq!(col(&x, "fin_budget", "version"), vec![s("INITIAL"), s("REVISE")]);
            assert_eq!(col(&x, "fin_budget", "unite_adm"), vec![s("001"), s("900")]);
            // The `\r` of CRLF is not part of the amount.
            assert_eq!(
                col(&x, "fin_budget", "montant"),
                vec![s("1000.00"), s("-250.50")],
                "{delim:?} {eol:?}"
            );
            assert_eq!(col(&x, "fin_budget", "_line"), vec![s("2"), s("3")]);
            let info = x.files.iter().find(|f| f.table == "fin_budget").expect("info");
            assert_eq!(info.delimiter.to_string(), delim);
        }
    }
}

#[tokio::test]
async fn header_case_column_order_and_extra_columns() {
    let dir = folder();
    write(
        dir.path(),
        "fin_ecriture.csv",
        b"MONTANT;Descr;Utilisateur;OBJET;Activite;FONDS;unite_ADM;date_ecriture;No_Ligne;NO_PIECE;Exer_Fin;Lot\n\
          99,99;Achat;jdoe;521;11000;1;001;2024-09-15;1;P1;2024;7\n",
    );
    let x = read(dir.path()).await;
    assert!(x.rejects.is_empty(), "{:#?}", x.rejects);
    assert_eq!(col(&x, "fin_ecriture", "exer_fin"), vec![s("2024")]);
    assert_eq!(col(&x, "fin_ecriture", "no_piece"), vec![s("P1")]);
    assert_eq!(col(&x, "fin_ecriture", "activite"), vec![s("11000")]);
    assert_eq!(col(&x, "fin_ecriture", "montant"), vec![s("99.99")]);
    let names: Vec<String> = x.tables["fin_ecriture"]
        .schema
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(
        names,
        [
            "exer_fin",
            "no_piece",
            "no_ligne",
            "date_ecriture",
            "fonds",
            "activite",
            "objet",
            "unite_adm",
            "montant",
            "descr",
            "_file",
            "_line"
        ]
    );
}

#[tokio::test]
async fn three_date_formats_one_per_file() {
    for (date, expected) in [
        ("2024-09-15", "2024-09-15"),
        ("20240229", "2024-02-29"),
        ("05/09/2024", "2024-09-05"),
    ] {
        let dir = folder();
        let text = format!("{ECR}\n2024;P;1;{date};1;11000;521;001;1;\n");
        write(dir.path(), "fin_ecriture.csv", text.as_bytes());
        let x = read(dir.path()).await;
        assert!(x.rejects.is_empty(), "{date}: {:#?}", x.rejects);
        assert_eq!(col(&x, "fin_ecriture", "date_ecriture"), vec![s(expected)]);
    }
}

#[tokio::test]
async fn spaces_trimmed_and_leading_zeros_kept() {
    let dir = folder();
    let text = format!("{ECR}\n 2024 ; 000123 ; 0001 ;2024-09-15; 1 ; 01000 ; 011 ; 001 ; 10,00 ;  Papeterie  \n");
    write(dir.path(), "fin_ecriture.csv", text.as_bytes());
    write(
        dir.path(),
        "fin_nomen_unit_adm.csv",
        b"exer_fin;code;descr;eco_off\n2024; 001 ;Ecole A; 063414 \n2024;0900;Siege;   \n",
    );
    let x = read(dir.path()).await;
    assert!(x.rejects.is_empty(), "{:#?}", x.rejects);
    assert_eq!(col(&x, "fin_ecriture", "no_piece"), vec![s("000123")]);
    assert_eq!(col(&x, "fin_ecriture", "no_ligne"), vec![s("1")]);
    assert_eq!(col(&x, "fin_ecriture", "fonds"), vec![s("1")]);
    assert_eq!(col(&x, "fin_ecriture", "activite"), vec![s("01000")]);
    assert_eq!(col(&x, "fin_ecriture", "objet"), vec![s("011")]);
    assert_eq!(col(&x, "fin_ecriture", "unite_adm"), vec![s("001")]);
    assert_eq!(col(&x, "fin_ecriture", "montant"), vec![s("10.00")]);
    assert_eq!(col(&x, "fin_ecriture", "descr"), vec![s("Papeterie")]);
    assert_eq!(col(&x, "fin_nomen_unit_adm", "code"), vec![s("001"), s("0900")]);
    assert_eq!(col(&x, "fin_nomen_unit_adm", "eco_off"), vec![s("063414"), None]);
}

#[tokio::test]
async fn rfc4180_quoting_and_no_final_line_break() {
    let dir = folder();
    write(
        dir.path(),
        "fin_nomen_objet.csv",
        b"code,descr\r\n\"521\",\"Fournitures, materiel\"\r\n611,\"Autres \"\"frais\"\"\r\nsuite\"\r\n911,Revenus",
    );
    let x = read(dir.path()).await;
    assert!(x.rejects.is_empty(), "{:#?}", x.rejects);
    assert_eq!(
        col(&x, "fin_nomen_objet", "descr"),
        vec![s("Fournitures, materiel"), s("Autres \"frais\"\r\nsuite"), s("Revenus")]
    );
    assert_eq!(col(&x, "fin_nomen_objet", "_line"), vec![s("2"), s("3"), s("5")]);
}

#[tokio::test]
async fn small_batches_keep_order_and_exact_sums() {
    let dir = folder();
    let mut text = format!("{ECR}\n");
    for i in 1..=25 {
        text.push_str(&format!("2024;P;{i};2024-09-15;1;11000;521;001;0,01;\n"));
    }
    write(dir.path(), "fin_ecriture.csv", text.as_bytes());
    let opts = ReadOptions {
        encoding: Encoding::Auto,
        batch_size: 10,
    };
    let x = read_dofin(dir.path(), &source(), &opts).await.expect("read");
    let t = &x.tables["fin_ecriture"];
    assert_eq!((t.rows_read, t.rows_loaded), (25, 25));
    assert!(t.batches.iter().all(|b| b.num_rows() <= 10));
    let expected: Vec<Option<String>> = (2..27).map(|l| Some(l.to_string())).collect();
    assert_eq!(col(&x, "fin_ecriture", "_line"), expected);
    assert_eq!(cents(&x, "fin_ecriture"), 25);
}
