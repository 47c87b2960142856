//! `socle dashboards`: list, and export of a mart from the shared zone and a CSS's zone to CSV,
//! Excel and Parquet, on a warehouse built once from the committed fixtures.
//!
//! The warehouse is built with a copy of the pipelines holding only `taux_reussite` and the
//! marts it reads (other marts change while they are written), plus, for the nominative tests,
//! a small `publication: css` mart of our own.

use crate::common::{copy_dir, root, socle, text};

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;

const MART: &str = "taux_reussite";
const NOMINATIVE: &str = "liste_eleves_test";
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// A warehouse built by `socle run` with its pipelines.
struct Built {
    pipelines: PathBuf,
    warehouse: PathBuf,
}

impl Built {
    fn w(&self) -> &str {
        self.warehouse.to_str().unwrap()
    }
    fn p(&self) -> &str {
        self.pipelines.to_str().unwrap()
    }
    /// `socle dashboards export NAME --warehouse .. --pipelines .. ARGS`.
    fn export(&self, name: &str, args: &[&str]) -> Output {
        let mut all = vec![
            "dashboards",
            "export",
            name,
            "--warehouse",
            self.w(),
            "--pipelines",
            self.p(),
        ];
        all.extend_from_slice(args);
        socle(&all)
    }
    fn mart(&self, name: &str) -> socle_marts::Mart {
        let (project, _) = socle_marts::load(&self.pipelines).unwrap();
        project.mart(name).unwrap().clone()
    }
}

/// This test process's scratch folder; those of test processes that are gone are removed.
fn scratch() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let base = Path::new(env!("CARGO_TARGET_TMPDIR"));
        if Path::new("/proc/self").exists()
            && let Ok(entries) = std::fs::read_dir(base)
        {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().to_string();
                if let Some(pid) = name.strip_prefix("dashboards-")
                    && !Path::new("/proc").join(pid).exists()
                {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
        let dir = base.join(format!("dashboards-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    })
}

/// A copy of the repository's pipelines with only `taux_reussite` and the marts it reads (and
/// the seeds and config).
fn minimal_pipelines(to: &Path) {
    let from = root().join("pipelines");
    std::fs::create_dir_all(to.join("marts")).unwrap();
    if from.join("config.yaml").exists() {
        std::fs::copy(from.join("config.yaml"), to.join("config.yaml")).unwrap();
    }
    if from.join("seeds").exists() {
        copy_dir(&from.join("seeds"), &to.join("seeds"));
    }
    let (project, _) = socle_marts::load(&from).unwrap();
    let marts = project.with_dependencies(MART);
    assert!(marts.iter().any(|m| m.spec.name == MART), "{MART} must load");
    for m in marts {
        // Intermediate models go back to `intermediate/`, marts to `marts/`.
        let dir = to.join(if m.is_intermediate() { "intermediate" } else { "marts" });
        std::fs::create_dir_all(&dir).unwrap();
        for f in [&m.sql_path, &m.yaml_path] {
            std::fs::copy(f, dir.join(f.file_name().unwrap())).unwrap();
        }
    }
}

fn build(dir: &Path, pipelines: PathBuf) -> Built {
    let warehouse = dir.join("warehouse");
    let o = socle(&[
        "run",
        "--exports",
        root().join("fixtures/exports").to_str().unwrap(),
        "--warehouse",
        warehouse.to_str().unwrap(),
        "--pipelines",
        pipelines.to_str().unwrap(),
        "--demo-key",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    Built { pipelines, warehouse }
}

/// The warehouse of the committed fixtures with `taux_reussite`, built once.
fn fixture() -> &'static Built {
    static BUILT: OnceLock<Built> = OnceLock::new();
    BUILT.get_or_init(|| {
        let dir = scratch().join("main");
        let pipelines = dir.join("pipelines");
        minimal_pipelines(&pipelines);
        build(&dir, pipelines)
    })
}

/// The same, plus a nominative mart (publication: css) listing students with their names.
fn nominative_fixture() -> &'static Built {
    static BUILT: OnceLock<Built> = OnceLock::new();
    BUILT.get_or_init(|| {
        let dir = scratch().join("nominative");
        let pipelines = dir.join("pipelines");
        minimal_pipelines(&pipelines);
        std::fs::write(
            pipelines.join("marts").join(format!("{NOMINATIVE}.sql")),
            "SELECT DISTINCT i.code_css, i.annee_scolaire, i.fiche, e.nom, e.prenom\n\
             FROM inscription i JOIN eleve e ON e.code_css = i.code_css AND e.cle_eleve = i.cle_eleve\n\
             ORDER BY i.code_css, i.annee_scolaire, i.fiche, e.nom, e.prenom\n",
        )
        .unwrap();
        std::fs::write(
            pipelines.join("marts").join(format!("{NOMINATIVE}.yaml")),
            format!(
                "name: {NOMINATIVE}\n\
                 title: {{fr: Liste d'élèves (test), en: Student list (test)}}\n\
                 summary: {{fr: Les élèves inscrits par année., en: Enrolled students by year.}}\n\
                 source: css\n\
                 publication: css\n\
                 execution: par_css\n\
                 grain: une ligne par CSS, année scolaire et élève\n\
                 unique_key: [code_css, annee_scolaire, fiche, nom, prenom]\n\
                 definition: {{fr: Les élèves inscrits (test du nominatif)., en: Enrolled students (nominative test).}}\n\
                 tableau_de_bord: {{graphique: barres, etiquette: [nom, prenom], valeur: fiche, filtres: [code_css, annee_scolaire]}}\n\
                 columns:\n\
                 \x20 - {{name: code_css, libelle: Code du CSS, description: Code du CSS}}\n\
                 \x20 - {{name: annee_scolaire, libelle: Année scolaire, description: Année scolaire}}\n\
                 \x20 - {{name: fiche, libelle: Fiche de l'élève, description: Fiche de l'élève}}\n\
                 \x20 - {{name: nom, libelle: Nom, description: Nom}}\n\
                 \x20 - {{name: prenom, libelle: Prénom, description: Prénom}}\n"
            ),
        )
        .unwrap();
        build(&dir, pipelines)
    })
}

/// Reads a CSV written by `export`: checks and strips its byte order mark, returns the header
/// and the rows.
fn read_csv(path: &Path, delimiter: u8) -> (Vec<String>, Vec<Vec<String>>) {
    let bytes = std::fs::read(path).unwrap();
    assert!(bytes.starts_with(BOM), "{} must start with a UTF-8 BOM", path.display());
    parse_csv(&bytes[BOM.len()..], delimiter)
}

fn parse_csv(bytes: &[u8], delimiter: u8) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::ReaderBuilder::new().delimiter(delimiter).from_reader(bytes);
    let header: Vec<String> = r.headers().unwrap().iter().map(str::to_string).collect();
    let rows = r
        .records()
        .map(|rec| rec.unwrap().iter().map(str::to_string).collect())
        .collect();
    (header, rows)
}

fn published_names(mart: &socle_marts::Mart) -> Vec<String> {
    mart.published_columns().into_iter().map(|c| c.name).collect()
}

fn index(header: &[String], name: &str) -> usize {
    header
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name} in {header:?}"))
}

/// Rows of `socle query --format csv SQL` (with `--css CODE` if given).
fn query_rows(b: &Built, css: Option<&str>, sql: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut args = vec!["query", "--warehouse", b.w(), "--format", "csv"];
    if let Some(c) = css {
        args.extend(["--css", c]);
    }
    args.push(sql);
    let o = socle(&args);
    assert!(o.status.success(), "{}", text(&o));
    parse_csv(&o.stdout, b',')
}

fn no_leftovers(dir: &Path) {
    let tmp: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(tmp.is_empty(), "temporary files left: {tmp:?}");
}

fn out_dir(test: &str) -> PathBuf {
    let d = scratch().join("out").join(test);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn list_shows_every_mart_with_its_publication_and_summary() {
    let b = fixture();
    let o = socle(&["dashboards", "list", "--pipelines", b.p()]);
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8(o.stdout.clone()).unwrap();
    let summary = b.mart(MART).spec.summary.fr.trim().to_string();
    let line = out
        .lines()
        .find(|l| l.starts_with(&format!("{MART} ")))
        .unwrap_or_else(|| panic!("no {MART} line: {out}"));
    assert!(line.contains("partagé + CSS") && line.ends_with(&summary), "{line}");
    // Sorted by name, columns aligned: the publication starts at the same place on every line.
    let names: Vec<&str> = out
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    let starts: Vec<usize> = out
        .lines()
        .map(|l| {
            let at = ["publication", "partagé + CSS", "CSS seulement"]
                .iter()
                .find_map(|p| l.find(p))
                .unwrap_or_else(|| panic!("no publication in {l:?}"));
            l[..at].chars().count()
        })
        .collect();
    assert!(starts.windows(2).all(|w| w[0] == w[1]), "{out}");

    // The nominative mart says so; a broken pipeline is a warning, the listing goes on.
    let n = nominative_fixture();
    let broken = out_dir("list").join("pipelines");
    copy_dir(&n.pipelines, &broken);
    std::fs::write(broken.join("marts/casse.yaml"), "name: casse\n").unwrap();
    let o = socle(&["dashboards", "list", "--pipelines", broken.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    let line = out
        .lines()
        .find(|l| l.starts_with(NOMINATIVE))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        line.contains("CSS seulement (nominatif)") && line.contains("Les élèves inscrits par année."),
        "{line}"
    );
    assert!(out.lines().any(|l| l.starts_with(&format!("{MART} "))), "{out}");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("WARN") && err.contains("casse.yaml"), "{}", text(&o));
}

#[test]
fn csv_export_of_the_shared_zone_matches_query() {
    let b = fixture();
    let dir = out_dir("csv");
    let file = dir.join("taux.csv");
    let o = b.export(MART, &["--output", file.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let (header, rows) = read_csv(&file, b',');
    assert_eq!(header, published_names(&b.mart(MART)));
    let (qheader, qrows) = query_rows(b, None, &format!("SELECT * FROM {MART}"));
    assert_eq!(header, qheader);
    assert_eq!(rows.len(), qrows.len());
    assert!(!rows.is_empty());
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        stdout.trim(),
        format!(
            "{} row(s) written to {} (shared zone, small cells suppressed)",
            rows.len(),
            file.display()
        )
    );
    // Same rows as the query, in the mart's order (its leading columns).
    let mut sorted = qrows.clone();
    sorted.sort();
    let mut mine = rows.clone();
    mine.sort();
    assert_eq!(mine, sorted);
    let keys: Vec<&[String]> = rows.iter().map(|r| &r[..5]).collect();
    assert!(
        keys.windows(2).all(|w| w[0] <= w[1]),
        "rows must be sorted by the leading columns"
    );
    // Booleans as true/false; CRLF line ends (RFC 4180).
    let flag = index(&header, "cellule_supprimee");
    assert!(rows.iter().all(|r| r[flag] == "true" || r[flag] == "false"));
    let bytes = std::fs::read(&file).unwrap();
    assert!(bytes.windows(2).any(|w| w == b"\r\n"));

    // Same file with `;` for Excel in French.
    let semi = dir.join("taux_fr.csv");
    let o = b.export(MART, &["--output", semi.to_str().unwrap(), "--delimiter", ";"]);
    assert!(o.status.success(), "{}", text(&o));
    let (h2, r2) = read_csv(&semi, b';');
    assert_eq!((h2, r2), (header, rows));
    no_leftovers(&dir);
}

/// A row hidden in the shared zone has its exact values in its CSS's own export.
#[test]
fn css_export_has_the_exact_counts_the_shared_zone_hides() {
    let b = fixture();
    let dir = out_dir("css");
    let shared = dir.join("shared.csv");
    let o = b.export(MART, &["--format", "csv", "--output", shared.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let (header, rows) = read_csv(&shared, b',');
    let (css_i, evalues, flag) = (
        index(&header, "code_css"),
        index(&header, "nb_evalues"),
        index(&header, "cellule_supprimee"),
    );
    let hidden = rows
        .iter()
        .find(|r| r[flag] == "true" && r[evalues].is_empty())
        .expect("the fixtures have a small cell hidden in the shared zone");
    let code = hidden[css_i].clone();

    let own = dir.join("own.csv");
    let o = b.export(MART, &["--css", &code, "--output", own.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains(&format!("(CSS {code} zone, exact counts)")),
        "{}",
        text(&o)
    );
    let (h2, own_rows) = read_csv(&own, b',');
    assert_eq!(h2, header);
    assert!(
        own_rows.iter().all(|r| r[css_i] == code),
        "a CSS's export has only its own rows"
    );
    let exact = own_rows
        .iter()
        .find(|r| r[..5] == hidden[..5])
        .unwrap_or_else(|| panic!("row {:?} must be in the CSS's export", &hidden[..5]));
    let n: i64 = exact[evalues]
        .parse()
        .unwrap_or_else(|_| panic!("exact count expected: {exact:?}"));
    assert!((0..5).contains(&n), "{exact:?}");
    assert_eq!(exact[flag], "true", "the flag says the row cannot be published as is");
    // The CSS's export has as many rows as its zone's query.
    let (_, q) = query_rows(b, Some(&code), &format!("SELECT * FROM {MART}"));
    assert_eq!(own_rows.len(), q.len());
    let shared_of_css = rows.iter().filter(|r| r[css_i] == code).count();
    assert_eq!(own_rows.len(), shared_of_css);
}

#[test]
fn year_filter_keeps_only_that_year() {
    let b = fixture();
    let dir = out_dir("year");
    let all = dir.join("all.csv");
    assert!(b.export(MART, &["--output", all.to_str().unwrap()]).status.success());
    let (header, rows) = read_csv(&all, b',');
    let y = index(&header, "annee_scolaire");
    let year = rows.iter().map(|r| r[y].clone()).max().unwrap();
    let start = year.split('-').next().unwrap().to_string();
    let expected = rows.iter().filter(|r| r[y] == year).count();
    assert!(expected > 0 && expected < rows.len());

    for given in [year.as_str(), start.as_str()] {
        let one = dir.join("one.csv");
        let o = b.export(MART, &["--year", given, "--output", one.to_str().unwrap()]);
        assert!(o.status.success(), "{}", text(&o));
        let (h, r) = read_csv(&one, b',');
        assert_eq!(h, header);
        assert_eq!(r.len(), expected);
        assert!(r.iter().all(|row| row[y] == year));
    }

    // A year without rows: a warning, and a file with the header only.
    let none = dir.join("none.csv");
    let o = b.export(MART, &["--year", "1999-2000", "--output", none.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("no rows of taux_reussite for year 1999-2000"),
        "{}",
        text(&o)
    );
    let (h, r) = read_csv(&none, b',');
    assert_eq!(h, header);
    assert!(r.is_empty());
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("0 row(s) written"));

    // Not a school year.
    let o = b.export(MART, &["--year", "2024-2026", "--output", none.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("invalid school year"),
        "{}",
        text(&o)
    );
}

/// The column letter of a 0-based index (up to ZZ).
fn column_letter(i: usize) -> String {
    let letters = |n: usize| char::from(b'A' + n as u8);
    if i < 26 {
        letters(i).to_string()
    } else {
        format!("{}{}", letters(i / 26 - 1), letters(i % 26))
    }
}

fn zip_entry(zip: &mut zip::ZipArchive<std::fs::File>, name: &str) -> String {
    let mut s = String::new();
    zip.by_name(name).unwrap().read_to_string(&mut s).unwrap();
    s
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

#[test]
fn xlsx_export_has_typed_cells_and_the_definition() {
    let b = fixture();
    let dir = out_dir("xlsx");
    let file = dir.join("taux.xlsx");
    let o = b.export(MART, &["--output", file.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let mart = b.mart(MART);
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&file).unwrap()).unwrap();
    let workbook = zip_entry(&mut zip, "xl/workbook.xml");
    let sheets: Vec<&str> = workbook
        .split("<sheet name=\"")
        .skip(1)
        .map(|s| s.split('"').next().unwrap())
        .collect();
    assert_eq!(sheets, vec![MART, "Définition"]);
    let strings = zip_entry(&mut zip, "xl/sharedStrings.xml");
    let columns = published_names(&mart);
    for c in &columns {
        assert!(strings.contains(&format!("<t>{c}</t>")), "header {c} missing");
    }
    let sheet = zip_entry(&mut zip, "xl/worksheets/sheet1.xml");
    assert!(sheet.contains("state=\"frozen\""), "frozen header");
    assert!(sheet.contains("<autoFilter ref=\"A1:"), "autofilter");
    // A count is a number (no t="s"), a rate has the percent style, a code is text.
    let cells = |col: usize| -> Vec<String> {
        let prefix = format!("<c r=\"{}", column_letter(col));
        sheet
            .split(&prefix)
            .skip(1)
            .filter(|c| c.as_bytes()[0].is_ascii_digit() && !c.starts_with("1\""))
            .map(|c| c.split("</c>").next().unwrap().to_string())
            .collect()
    };
    let counts = cells(index(&columns, "nb_evalues"));
    assert!(!counts.is_empty(), "nb_evalues has values");
    assert!(
        counts.iter().all(|c| !c.contains("t=\"s\"") && c.contains("<v>")),
        "{:?}",
        &counts[..3]
    );
    let rates = cells(index(&columns, "taux_reussite"));
    assert!(!rates.is_empty());
    let styles = zip_entry(&mut zip, "xl/styles.xml");
    assert!(styles.contains("formatCode=\"0.0%\""), "{styles}");
    assert!(rates.iter().all(|c| c.contains(" s=\"") && !c.contains("t=\"s\"")));
    let codes = cells(index(&columns, "code_css"));
    assert!(codes.iter().all(|c| c.contains("t=\"s\"")), "codes stay text");
    let flags = cells(index(&columns, "cellule_supprimee"));
    assert!(flags.iter().all(|c| c.contains("t=\"b\"")), "booleans");
    // The definition sheet: the mart's definition, its columns, the zone and the run.
    let definition = zip_entry(&mut zip, "xl/worksheets/sheet2.xml");
    assert!(definition.contains("<c r=\"B"), "{definition}");
    for s in [
        mart.spec.definition.fr.trim(),
        mart.spec.definition.en.trim(),
        mart.spec.grain.trim(),
        "agrégé: zone partagée (petites cellules supprimées) et zone de chaque CSS",
        "zone partagée (tous les CSS)",
        &mart.published_columns().last().unwrap().description,
    ] {
        assert!(strings.contains(&xml_escape(s)), "Définition lacks {s:?}");
    }
    let manifest = socle_warehouse::Warehouse::open(&b.warehouse)
        .unwrap()
        .marts_manifest()
        .unwrap()
        .unwrap();
    assert!(strings.contains(&manifest.run_id) && strings.contains(&manifest.published_at));
    no_leftovers(&dir);
}

#[test]
fn parquet_export_reads_back_with_arrow() {
    use datafusion::arrow::datatypes::DataType;
    use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let b = fixture();
    let dir = out_dir("parquet");
    let file = dir.join("taux.parquet");
    let o = b.export(MART, &["--css", "866000", "--output", file.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&file).unwrap()).unwrap();
    let meta = reader.metadata().file_metadata().clone();
    let kv = meta.key_value_metadata().cloned().unwrap_or_default();
    let get = |k: &str| kv.iter().find(|e| e.key == k).and_then(|e| e.value.clone());
    assert_eq!(get("socle.mart").as_deref(), Some(MART));
    assert_eq!(get("socle.zone").as_deref(), Some("css:866000"));
    let schema = reader.schema().clone();
    let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    assert_eq!(names, published_names(&b.mart(MART)));
    assert_eq!(schema.field_with_name("code_css").unwrap().data_type(), &DataType::Utf8);
    assert!(schema.field_with_name("nb_evalues").unwrap().data_type().is_integer());
    assert_eq!(
        schema.field_with_name("taux_reussite").unwrap().data_type(),
        &DataType::Float64
    );
    assert_eq!(
        schema.field_with_name("cellule_supprimee").unwrap().data_type(),
        &DataType::Boolean
    );
    let rows: usize = reader.build().unwrap().map(|b| b.unwrap().num_rows()).sum();
    let (_, q) = query_rows(b, Some("866000"), &format!("SELECT * FROM {MART}"));
    assert_eq!(rows, q.len());
    assert!(rows > 0);
}

#[test]
fn nominative_mart_only_from_a_css_zone() {
    let b = nominative_fixture();
    let dir = out_dir("nominative");
    let file = dir.join("liste.csv");
    let o = b.export(NOMINATIVE, &["--output", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("lists students") && err.contains("only in each CSS's own zone") && err.contains("--css"),
        "{err}"
    );
    assert!(!file.exists());

    let o = b.export(NOMINATIVE, &["--css", "866000", "--output", file.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("(CSS 866000 zone, nominative)"),
        "{}",
        text(&o)
    );
    let (header, rows) = read_csv(&file, b',');
    assert_eq!(header, published_names(&b.mart(NOMINATIVE)));
    assert_eq!(header, ["code_css", "annee_scolaire", "fiche", "nom", "prenom"]);
    assert!(!rows.is_empty() && rows.iter().all(|r| r[0] == "866000"));
    let (_, q) = query_rows(b, Some("866000"), &format!("SELECT * FROM {NOMINATIVE}"));
    assert_eq!(rows.len(), q.len());
    // Accents survive (UTF-8, read back as the query gives them).
    let accented: Vec<&Vec<String>> = rows
        .iter()
        .filter(|r| !r[3].is_ascii() && !r[3].contains(['\'', '"']))
        .collect();
    assert!(!accented.is_empty(), "the fixtures have accented names");
    let mut q = q;
    q.sort();
    let mut mine = rows.clone();
    mine.sort();
    assert_eq!(mine, q);

    // The xlsx says it is nominative and not suppressed.
    let xlsx = dir.join("liste.xlsx");
    let o = b.export(NOMINATIVE, &["--css", "866000", "--output", xlsx.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&xlsx).unwrap()).unwrap();
    let strings = zip_entry(&mut zip, "xl/sharedStrings.xml");
    assert!(strings.contains("nominatif: zone de chaque CSS seulement") && strings.contains("zone du CSS 866000"));
    assert!(strings.contains(&xml_escape(&accented[0][3])));
}

#[test]
fn errors_are_clear_and_leave_no_file() {
    let b = fixture();
    let dir = out_dir("errors");
    let file = dir.join("x.csv");
    let f = file.to_str().unwrap();
    let fails = |o: &Output, needles: &[&str]| {
        assert_eq!(o.status.code(), Some(1), "{}", text(o));
        let err = String::from_utf8_lossy(&o.stderr);
        for n in needles {
            assert!(err.contains(n), "{n:?} not in: {err}");
        }
    };
    fails(
        &b.export("pas_un_mart", &["--output", f]),
        &["unknown mart \"pas_un_mart\"", MART],
    );
    fails(
        &b.export(MART, &["--css", "999000", "--output", f]),
        &["unknown CSS \"999000\"", "866000"],
    );
    fails(
        &b.export(MART, &["--output", dir.join("x.txt").to_str().unwrap()]),
        &["--format csv|xlsx|parquet"],
    );
    // A mart of the pipelines that the warehouse does not have yet.
    let n = nominative_fixture();
    let o = socle(&[
        "dashboards",
        "export",
        NOMINATIVE,
        "--css",
        "866000",
        "--warehouse",
        b.w(),
        "--pipelines",
        n.p(),
        "--output",
        f,
    ]);
    fails(&o, &["not in the warehouse", "socle run"]);
    // No warehouse, and a warehouse without marts.
    let missing = dir.join("no_warehouse");
    fails(
        &socle(&[
            "dashboards",
            "export",
            MART,
            "--warehouse",
            missing.to_str().unwrap(),
            "--pipelines",
            b.p(),
            "--output",
            f,
        ]),
        &["run `socle run` first"],
    );
    assert!(!missing.exists(), "a failed export does not create a warehouse");
    let empty = dir.join("empty_warehouse");
    socle_warehouse::Warehouse::open(&empty).unwrap();
    fails(
        &socle(&[
            "dashboards",
            "export",
            MART,
            "--warehouse",
            empty.to_str().unwrap(),
            "--pipelines",
            b.p(),
            "--output",
            f,
        ]),
        &["no marts", "run `socle run` first"],
    );
    // Into a folder that does not exist.
    fails(
        &b.export(MART, &["--output", dir.join("nope/x.csv").to_str().unwrap()]),
        &["does not exist"],
    );
    assert!(!file.exists());
    no_leftovers(&dir);
}
