//! The CLI's own contract: check, dictionary, the demo run on the committed fixtures, query formats.

use crate::common::{copy_dir, load, query_csv, root, socle, text};

#[test]
fn check_accepts_the_committed_project_and_names_every_broken_file() {
    let o = socle(&["check"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("OK: dictionary"));

    let tmp = std::env::temp_dir().join(format!("socle-check-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    copy_dir(&root().join("schemas"), &tmp.join("schemas"));
    copy_dir(&root().join("pipelines"), &tmp.join("pipelines"));
    let css = tmp.join("schemas/css/866000.yaml");
    let t = std::fs::read_to_string(&css)
        .unwrap()
        .replace("AB: absent", "AB: absentee");
    std::fs::write(&css, t).unwrap();
    let mart = tmp.join("pipelines/marts/taux_reussite.sql");
    let t = std::fs::read_to_string(&mart)
        .unwrap()
        .replace("\nFROM reussite", ", nb_vides AS nb_blancs\nFROM reussite");
    assert!(t.contains("nb_blancs"), "the test's edit must apply: {t}");
    std::fs::write(&mart, t).unwrap();
    // A seed whose header no longer matches its YAML.
    let seed = tmp.join("pipelines/seeds/types_sanction.csv");
    let t = std::fs::read_to_string(&seed)
        .unwrap()
        .replacen("type_diplome", "type", 1);
    std::fs::write(&seed, t).unwrap();
    let o = socle(&[
        "check",
        "--schemas",
        tmp.join("schemas").to_str().unwrap(),
        "--pipelines",
        tmp.join("pipelines").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("866000.yaml: valeurs_speciales_resultat.AB: unknown status \"absentee\""),
        "{out}"
    );
    assert!(
        out.contains("taux_reussite.yaml: columns: column nb_blancs is produced by the SQL but not documented"),
        "{out}"
    );
    assert!(
        out.contains("types_sanction.csv") && out.contains("differs from the columns"),
        "{out}"
    );
    std::fs::remove_dir_all(&tmp).unwrap();
}

#[test]
fn dictionary_markdown_is_the_committed_documentation() {
    let o = socle(&["dictionary", "--format", "md"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        std::fs::read_to_string(root().join("schemas/README.md")).unwrap()
    );
}

/// The README's first command: a run on the committed fixtures with the default paths.
#[test]
fn demo_run_on_the_fixtures_then_query_in_every_format() {
    let tmp = std::env::temp_dir().join(format!("socle-demo-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let wh = tmp.join("warehouse");
    let o = socle(&["run", "--warehouse", wh.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("demo pseudonymisation key"),
        "the demo key must be announced: {err}"
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("3/3 CSS published") && out.contains("mart taux_reussite"),
        "{out}"
    );

    let w = wh.to_str().unwrap();
    let o = socle(&["query", "--warehouse", w, "SELECT count(*) AS n FROM taux_reussite"]);
    assert!(
        o.status.success() && String::from_utf8_lossy(&o.stdout).contains("1 row(s)"),
        "{}",
        text(&o)
    );
    let o = socle(&[
        "query",
        "--warehouse",
        w,
        "--format",
        "json",
        "SELECT code_css, count(*) AS n FROM resultat GROUP BY code_css ORDER BY code_css",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&o)));
    assert_eq!(v.as_array().unwrap().len(), 3);
    let pq = tmp.join("out.parquet");
    let o = socle(&[
        "query",
        "--warehouse",
        w,
        "--format",
        "parquet",
        "--output",
        pq.to_str().unwrap(),
        "SELECT * FROM taux_reussite",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let reader = datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
        std::fs::File::open(&pq).unwrap(),
    )
    .unwrap();
    assert!(reader.metadata().file_metadata().num_rows() > 0);
    // The shared zone has no code permanent; the CSS's own zone does.
    let o = socle(&["query", "--warehouse", w, "SELECT code_permanent FROM eleve"]);
    assert!(!o.status.success(), "code_permanent must not exist in the shared zone");
    let o = socle(&[
        "query",
        "--warehouse",
        w,
        "--css",
        "881000",
        "--format",
        "csv",
        "SELECT count(code_permanent) AS n FROM eleve",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    // A bad query is a clear error, not a panic.
    let o = socle(&["query", "--warehouse", w, "SELECT nope FROM resultat"]);
    assert_eq!(o.status.code(), Some(1));
    // On one line, each cause said once (DataFusion's errors repeat their source's message).
    let stderr = String::from_utf8_lossy(&o.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| l.contains("nope")).collect();
    assert_eq!(lines.len(), 1, "{}", text(&o));
    assert_eq!(lines[0].matches("No field named").count(), 1, "{}", text(&o));
    std::fs::remove_dir_all(&tmp).unwrap();
}

/// `socle test`: every case of the committed `pipelines/tests/` passes (exit 0, one `ok` line per
/// case and the summary); in a copy where one expected number is wrong, that case fails (exit 1)
/// and the output names the differing cell with both values.
#[test]
fn test_runs_the_mart_cases_and_shows_the_differing_cell() {
    let o = socle(&["test"]);
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(out.contains("ok     absenteisme::absenteisme_by_etape"), "{out}");
    assert!(out.contains(" en échec") && out.contains("0 en échec"), "{out}");

    // One case of one mart: `mart::case`.
    let o = socle(&["test", "absenteisme::absenteisme_by_etape"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("1 cas: 1 réussi(s), 0 en échec"),
        "{}",
        text(&o)
    );

    // A wrong expected number in a copy of the pipelines: exit 1, the cell shown.
    let dir = tempfile::tempdir().unwrap();
    let pipelines = dir.path().join("pipelines");
    copy_dir(&root().join("pipelines"), &pipelines);
    let file = pipelines.join("tests/absenteisme.yaml");
    let yaml = std::fs::read_to_string(&file).unwrap();
    let wrong = yaml.replacen("nb_jours_eleve: 58,", "nb_jours_eleve: 57,", 1);
    assert_ne!(wrong, yaml, "the case to break is not there any more");
    std::fs::write(&file, wrong).unwrap();
    let o = socle(&["test", "absenteisme", "--pipelines", pipelines.to_str().unwrap()]);
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(out.contains("ÉCHEC  absenteisme::absenteisme_by_etape\n"), "{out}");
    assert!(out.contains("nb_jours_eleve: attendu 57, obtenu 58"), "{out}");
    assert!(out.contains("1 en échec"), "{out}");

    // A name that selects nothing is an error.
    let o = socle(&["test", "pas_un_mart"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("aucun cas ne correspond à pas_un_mart"),
        "{}",
        text(&o)
    );
}

/// Every file under `dir`, relative, in order.
fn files_under(dir: &std::path::Path, base: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files_under(&p, base, out);
        } else {
            out.push(p.strip_prefix(base).unwrap().to_path_buf());
        }
    }
}

/// The committed fixtures are exactly what the generator writes with the command of
/// `fixtures/README.md`: regenerating them (after a change of the finance generator, say) leaves
/// every other file byte-identical, and a hand edit of a fixture is caught.
#[test]
fn the_committed_fixtures_are_what_the_generator_writes() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("exports");
    let o = socle(&[
        "generate",
        "--out",
        out.to_str().unwrap(),
        "--css",
        "866000,881000,751000",
        "--students",
        "300",
        "--years",
        "8",
        "--seed",
        "2025",
        "--night",
        "2025-11-20",
        "--bad-rate",
        "0.01",
        "--mozaik",
        "881000",
        "--seeds",
        dir.path().join("seeds").to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    // The PEVR targets of the fixtures' CSS are the generator's too.
    assert!(
        std::fs::read(dir.path().join("seeds/cibles_pevr.csv")).unwrap()
            == std::fs::read(root().join("pipelines/seeds/cibles_pevr.csv")).unwrap(),
        "pipelines/seeds/cibles_pevr.csv differs from the generator's: regenerate with the command of fixtures/README.md"
    );
    let committed = root().join("fixtures/exports");
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    files_under(&committed, &committed, &mut ours);
    files_under(&out, &out, &mut theirs);
    assert_eq!(
        ours, theirs,
        "the generator writes other files than the committed fixtures"
    );
    for f in &ours {
        let a = std::fs::read(committed.join(f)).unwrap();
        let b = std::fs::read(out.join(f)).unwrap();
        assert!(
            a == b,
            "fixtures/exports/{} differs from the generator's output: regenerate with the command of fixtures/README.md",
            f.display()
        );
    }
}

/// Time travel from the command line: a night reloads one CSS with fewer absences; `socle
/// history` lists both nights, `socle query --as-of` reads the first as it was (and the audit
/// line says which state was read), `socle vacuum --retain-days 0` deletes what only the first
/// night listed, after which `--as-of` it is refused; `socle migrate` has nothing to do.
#[test]
fn query_as_of_reads_a_past_night_until_vacuum_forgets_it() {
    let tmp = tempfile::tempdir().unwrap();
    let exports = tmp.path().join("exports");
    copy_dir(&root().join("fixtures/exports"), &exports);
    let wh = tmp.path().join("warehouse");
    let w = wh.to_str().unwrap();
    let keep = ["--retain-days", "7"];
    let o = load(&exports, &wh, &keep);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let sql = "SELECT count(*) AS n FROM absence";
    let before = query_csv(&wh, Some("866000"), sql)[0]["n"].clone();
    let abs = exports.join("866000/2025-11-20/gpi/gpm_e_abs.csv");
    // One absence in 30 gone, spread over the years (the drop guard holds larger falls).
    let kept: Vec<String> = std::fs::read_to_string(&abs)
        .unwrap()
        .lines()
        .enumerate()
        .filter(|(i, _)| i % 30 != 1)
        .map(|(_, l)| l.to_string())
        .collect();
    std::fs::write(&abs, kept.join("\n") + "\n").unwrap();
    let o = load(&exports, &wh, &keep);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let after = query_csv(&wh, Some("866000"), sql)[0]["n"].clone();
    assert_ne!(before, after, "the second night must change the absences");

    let o = socle(&["history", "--warehouse", w]);
    assert!(o.status.success(), "{}", text(&o));
    let runs: Vec<String> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter(|l| l.starts_with("20"))
        .map(|l| l.split_whitespace().next().unwrap_or_default().to_string())
        .collect();
    // A night's marts are published under its run id.
    assert_eq!(runs.len(), 2, "two nights: {}", text(&o));
    assert!(text(&o).contains("866000 881000 _marts"), "{}", text(&o));
    let o = socle(&["status", "--warehouse", w]);
    assert!(
        text(&o).contains("Voyage dans le temps : 2 publication(s) lisible(s)"),
        "{}",
        text(&o)
    );
    let night1 = &runs[0];
    let as_of = |run: &str| {
        socle(&[
            "query",
            "--warehouse",
            w,
            "--css",
            "866000",
            "--format",
            "csv",
            "--as-of",
            run,
            sql,
        ])
    };
    let o = as_of(night1);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(crate::common::read_csv(&o.stdout)[0]["n"], before);
    let audit_dir = wh.join("_socle/audit");
    let audit: String = std::fs::read_dir(&audit_dir)
        .unwrap()
        .flatten()
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .collect();
    let last = audit
        .lines()
        .rev()
        .find(|l| l.contains("\"query\""))
        .unwrap_or_default();
    assert!(last.contains(&format!("as_of:{night1}")), "{last}");
    // Past states are read-only: a date reads them too; a malformed one is a clear error.
    let o = as_of("hier");
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("--as-of `hier`"), "{}", text(&o));

    let o = socle(&["vacuum", "--warehouse", w, "--retain-days", "7"]);
    assert!(o.status.success() && text(&o).contains(" 0 fichier"), "{}", text(&o));
    assert!(as_of(night1).status.success());
    let o = socle(&["vacuum", "--warehouse", w, "--retain-days", "0"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(!text(&o).contains(" 0 fichier"), "{}", text(&o));
    let o = as_of(night1);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("supprimés"), "{}", text(&o));
    let o = as_of(&runs[1]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(crate::common::read_csv(&o.stdout)[0]["n"], after);

    let o = socle(&["migrate", "--warehouse", w]);
    assert!(o.status.success() && text(&o).contains("Déjà à jour"), "{}", text(&o));
}
