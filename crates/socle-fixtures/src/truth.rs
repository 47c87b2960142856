//! Ground-truth files about students across CSS and the JADE facts: `movers.csv`,
//! `sanctions.csv` and `ministere.csv` (the others are written by `lib.rs`).

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use crate::css::CssOutput;
use crate::{GenerateError, write_err};

fn writer(path: &Path) -> Result<csv::Writer<BufWriter<File>>, GenerateError> {
    let f = File::create(path).map_err(|e| write_err(path, e))?;
    Ok(csv::Writer::from_writer(BufWriter::new(f)))
}

fn record<const N: usize>(
    w: &mut csv::Writer<BufWriter<File>>,
    path: &Path,
    rec: [&str; N],
) -> Result<(), GenerateError> {
    w.write_record(rec).map_err(|e| write_err(path, e))
}

/// `movers.csv`: code permanent, then the CSS where the student appears, comma-joined in the
/// order of the years. Personal data: the truth folder is never committed.
pub(crate) fn write_movers(truth: &Path, movers: &[(String, Vec<String>)]) -> Result<(), GenerateError> {
    let path = truth.join("movers.csv");
    let mut w = writer(&path)?;
    record(&mut w, &path, ["code_permanent", "css"])?;
    let mut rows: Vec<&(String, Vec<String>)> = movers.iter().filter(|(_, p)| p.len() >= 2).collect();
    rows.sort();
    for (cp, path_css) in rows {
        record(&mut w, &path, [cp.as_str(), path_css.join(",").as_str()])?;
    }
    w.flush().map_err(|e| write_err(&path, e))
}

/// `sanctions.csv`: obtained diplomas (clean `e_ri_mentions` rows with `indreussanctcharl` O)
/// by CSS, school year of `dateobtmention` (July 1 to June 30) and diploma type.
pub(crate) fn write_sanctions(truth: &Path, outputs: &[CssOutput]) -> Result<(), GenerateError> {
    let path = truth.join("sanctions.csv");
    let mut w = writer(&path)?;
    record(
        &mut w,
        &path,
        ["code_css", "annee_scolaire", "type_diplome", "nb_obtenus"],
    )?;
    for o in outputs {
        for ((annee, kind), n) in &o.jade.sanctions {
            record(
                &mut w,
                &path,
                [o.code.as_str(), annee.as_str(), kind, n.to_string().as_str()],
            )?;
        }
    }
    w.flush().map_err(|e| write_err(&path, e))
}

/// `ministere.csv`: per CSS, school year (`annee`) and course, June session (`moissanct` 6),
/// youth and adults: students whose latest copy (`datehrerecup`) has a numeric final result
/// (`resofffinal`), and of them those who passed (`indreuscharl` R).
pub(crate) fn write_ministere(truth: &Path, outputs: &[CssOutput]) -> Result<(), GenerateError> {
    let path = truth.join("ministere.csv");
    let mut w = writer(&path)?;
    record(
        &mut w,
        &path,
        ["code_css", "annee_scolaire", "code_cours", "nb_eleves", "nb_reussites"],
    )?;
    for o in outputs {
        for ((annee, course), (n, ok)) in &o.jade.ministere {
            if *n == 0 {
                continue;
            }
            record(
                &mut w,
                &path,
                [
                    o.code.as_str(),
                    annee.as_str(),
                    course.as_str(),
                    n.to_string().as_str(),
                    ok.to_string().as_str(),
                ],
            )?;
        }
    }
    w.flush().map_err(|e| write_err(&path, e))
}
