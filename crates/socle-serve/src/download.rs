//! A mart as a file for people and tools: what the web page's downloads and `socle dashboards
//! export` write, so both give the same bytes. CSV with a BOM (Excel opens it with its
//! accents), Excel (typed cells, and a `Définition` sheet with the mart in words and what this
//! file holds), or Parquet (technical names and the Arrow types, and the same facts in its
//! footer). The formats themselves are `socle-export`'s.

use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use socle_export::{Cell, CsvOptions, DataSheet, Style, Workbook};
use socle_marts::{Mart, Publication};
use socle_warehouse::Zone;

/// The name of the sheet holding the definition.
pub const DEFINITION_SHEET: &str = "Définition";

/// A download format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Xlsx,
    Parquet,
}

impl Format {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "csv" => Some(Format::Csv),
            "xlsx" => Some(Format::Xlsx),
            "parquet" => Some(Format::Parquet),
            _ => None,
        }
    }

    /// The format a file name says by its extension (`.csv`, `.xlsx`, `.parquet`, any case).
    pub fn of_path(path: &std::path::Path) -> Option<Self> {
        Self::parse(&path.extension()?.to_str()?.to_ascii_lowercase())
    }

    /// `Format::parse` for a command-line value; the error lists the formats.
    pub fn from_arg(s: &str) -> Result<Self, String> {
        Self::parse(s).ok_or_else(|| "csv, xlsx or parquet".to_string())
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
            Format::Parquet => "parquet",
        }
    }

    pub fn mime(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Format::Parquet => "application/vnd.apache.parquet",
        }
    }
}

/// One mart written as a file: the mart, where its rows come from, and what the file says
/// about itself.
pub struct MartFile<'a> {
    pub mart: &'a Mart,
    pub zone: Zone,
    /// What the rows were restricted to, in words (`annee_scolaire=2024-2025`, filters of a
    /// page), or none.
    pub filters: Vec<(String, String)>,
    /// The small-cell threshold of the pipelines.
    pub threshold: i64,
    pub marts_run_id: String,
    pub marts_published_at: String,
    pub extracted_at: String,
    /// Column headings of the Excel sheet: the French `libelle`s (CSV and Parquet keep the
    /// technical names, for tools).
    pub french_headings: bool,
}

fn publication_fr(p: Publication) -> &'static str {
    match p {
        Publication::Shared => "agrégé: zone partagée (petites cellules supprimées) et zone de chaque CSS",
        Publication::Css => "nominatif: zone de chaque CSS seulement",
        Publication::Internal => "modèle intermédiaire: jamais publié",
    }
}

impl MartFile<'_> {
    fn suppressed(&self) -> bool {
        self.zone == Zone::Shared && self.mart.spec.publication == Publication::Shared
    }

    fn zone_fr(&self) -> String {
        match &self.zone {
            Zone::Shared => "zone partagée (tous les CSS)".to_string(),
            Zone::Css(code) => format!("zone du CSS {code} (ses propres lignes)"),
        }
    }

    fn suppression_fr(&self) -> String {
        let t = self.threshold;
        match (self.mart.spec.publication, &self.zone) {
            (Publication::Css, _) => {
                "sans objet: mart nominatif, publié seulement dans la zone de chaque CSS".to_string()
            }
            (Publication::Internal, _) => "sans objet: modèle intermédiaire, jamais publié".to_string(),
            (Publication::Shared, Zone::Shared) => format!(
                "oui: dans ce fichier, les comptes sous {t} (seuil des petites cellules) et les taux \
                 bâtis sur eux sont vides; cellule_supprimee = vrai sur ces lignes"
            ),
            (Publication::Shared, Zone::Css(_)) => format!(
                "non: comptes exacts de la zone du CSS; cellule_supprimee = vrai sur les lignes qui \
                 auraient des comptes sous {t} (seuil des petites cellules) cachés dans la zone partagée: \
                 ne pas les diffuser telles quelles"
            ),
        }
    }

    /// What the Parquet file says about itself, in its footer.
    pub fn parquet_metadata(&self) -> Vec<(String, String)> {
        let mut meta = vec![
            ("socle.mart".to_string(), self.mart.spec.name.clone()),
            (
                "socle.zone".to_string(),
                match &self.zone {
                    Zone::Shared => "shared".to_string(),
                    Zone::Css(c) => format!("css:{c}"),
                },
            ),
            (
                "socle.small_cells_suppressed".to_string(),
                self.suppressed().to_string(),
            ),
            ("socle.marts_run_id".to_string(), self.marts_run_id.clone()),
            ("socle.marts_published_at".to_string(), self.marts_published_at.clone()),
            ("socle.extracted_at".to_string(), self.extracted_at.clone()),
        ];
        for (k, v) in &self.filters {
            meta.push((format!("socle.filtre.{k}"), v.clone()));
        }
        meta
    }

    /// The (label, value) lines of the Définition sheet: the mart in words, then this file.
    pub fn definition_entries(&self, rows: usize) -> Vec<(&'static str, String)> {
        let spec = &self.mart.spec;
        let lines = |v: &[String]| {
            if v.is_empty() {
                "aucune".to_string()
            } else {
                v.iter().map(|s| format!("• {s}")).collect::<Vec<_>>().join("\n")
            }
        };
        let mut entries: Vec<(&str, String)> = vec![
            ("Mart", spec.name.clone()),
            ("Résumé", spec.summary.fr.trim().to_string()),
            ("Summary", spec.summary.en.trim().to_string()),
            ("Grain", spec.grain.trim().to_string()),
            ("Définition", spec.definition.fr.trim().to_string()),
            ("Definition", spec.definition.en.trim().to_string()),
        ];
        for (what, v) in [
            ("Population", &spec.population),
            ("Numérateur", &spec.numerator),
            ("Dénominateur", &spec.denominator),
        ] {
            if let Some(v) = v {
                entries.push((what, v.trim().to_string()));
            }
        }
        entries.push(("Exclusions", lines(&spec.excluded)));
        entries.push(("Notes", lines(&spec.notes)));
        if !spec.parameters.is_empty() {
            let params: Vec<String> = spec
                .parameters
                .iter()
                .map(|(n, p)| format!("{n} = {}: {}", p.value.to_sql(), p.description.trim()))
                .collect();
            entries.push(("Paramètres", lines(&params)));
        }
        entries.extend([
            ("Publication", publication_fr(spec.publication).to_string()),
            ("Petites cellules supprimées", self.suppression_fr()),
            ("Zone", self.zone_fr()),
            (
                "CSS",
                match &self.zone {
                    Zone::Shared => "tous".to_string(),
                    Zone::Css(c) => c.clone(),
                },
            ),
            (
                "Filtres",
                if self.filters.is_empty() {
                    "aucun".to_string()
                } else {
                    self.filters
                        .iter()
                        .map(|(k, v)| format!("{k} = {v}"))
                        .collect::<Vec<_>>()
                        .join("; ")
                },
            ),
            ("Lignes", rows.to_string()),
            ("Exécution des marts (run)", self.marts_run_id.clone()),
            ("Publiés le (UTC)", self.marts_published_at.clone()),
            ("Extrait le (UTC)", self.extracted_at.clone()),
        ]);
        entries
    }

    /// The file's bytes: `batches` are the mart's rows, already filtered and ordered.
    pub fn render(&self, format: Format, schema: &Schema, batches: &[RecordBatch]) -> anyhow::Result<Vec<u8>> {
        let mut out = Vec::new();
        self.write(&mut out, format, schema, batches, &CsvOptions::spreadsheet())?;
        Ok(out)
    }

    /// Writes the file of `schema` (its header even without a row) to `sink` (`csv`: the CSV's
    /// options; [`MartFile::render`] uses the spreadsheet's).
    pub fn write(
        &self,
        mut sink: impl std::io::Write + Send,
        format: Format,
        schema: &Schema,
        batches: &[RecordBatch],
        csv: &CsvOptions,
    ) -> anyhow::Result<()> {
        let schema = plain_schema(schema);
        let batches: Vec<RecordBatch> = batches
            .iter()
            .map(|b| plain_batch(b, &schema))
            .collect::<anyhow::Result<_>>()?;
        let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
        match format {
            Format::Csv => {
                socle_export::write_csv(&mut sink, &schema, &batches, csv)?;
            }
            Format::Parquet => {
                socle_export::write_parquet(&mut sink, &schema, &batches, &self.parquet_metadata())?;
            }
            Format::Xlsx => self.write_xlsx(&mut sink, &schema, &batches, rows)?,
        }
        Ok(())
    }

    fn write_xlsx(
        &self,
        sink: impl std::io::Write + Send,
        schema: &SchemaRef,
        batches: &[RecordBatch],
        rows: usize,
    ) -> anyhow::Result<()> {
        let mut book = Workbook::new();
        let spec = &self.mart.spec;
        let columns = self.mart.published_columns();
        let mut data = DataSheet::new(&spec.name, schema).avoiding(&[DEFINITION_SHEET]);
        if self.french_headings {
            let headings: Vec<String> = schema
                .fields()
                .iter()
                .map(|f| {
                    columns
                        .iter()
                        .find(|c| &c.name == f.name())
                        .and_then(|c| c.libelle.clone())
                        .unwrap_or_else(|| f.name().clone())
                })
                .collect();
            data = data.with_headings(headings)?;
        }
        book.add_data_sheet(data, batches)?;
        let entries = self.definition_entries(rows);
        let mut sheet: Vec<Vec<Cell>> = vec![
            vec![Cell::Text(&spec.title.fr, Style::Title)],
            vec![Cell::Text(&spec.title.en, Style::Wrapped)],
            vec![],
        ];
        sheet.extend(
            entries
                .iter()
                .map(|(what, value)| vec![Cell::Text(what, Style::Label), Cell::Text(value, Style::Wrapped)]),
        );
        sheet.push(vec![]);
        sheet.push(vec![
            Cell::Text("Colonne", Style::Label),
            Cell::Text("Libellé", Style::Label),
            Cell::Text("Description", Style::Label),
        ]);
        let described: Vec<(String, String, String)> = schema
            .fields()
            .iter()
            .map(|f| {
                let c = columns.iter().find(|c| &c.name == f.name());
                (
                    f.name().clone(),
                    c.and_then(|c| c.libelle.clone()).unwrap_or_default(),
                    c.map(|c| c.description.clone())
                        .unwrap_or_else(|| "(non documentée dans la définition actuelle du mart)".to_string()),
                )
            })
            .collect();
        sheet.extend(described.iter().map(|(n, l, d)| {
            vec![
                Cell::Text(n, Style::Wrapped),
                Cell::Text(l, Style::Wrapped),
                Cell::Text(d, Style::Wrapped),
            ]
        }));
        book.add_text_sheet(DEFINITION_SHEET, &[26.0, 30.0, 90.0], &sheet)?;
        book.save(sink)?;
        Ok(())
    }
}

/// The type a file gets for `t`: string views and dictionaries become plain strings (readable
/// by every Parquet and CSV reader).
fn plain_type(t: &DataType) -> DataType {
    match t {
        DataType::Utf8View | DataType::LargeUtf8 => DataType::Utf8,
        DataType::BinaryView | DataType::LargeBinary => DataType::Binary,
        DataType::Dictionary(_, v) => plain_type(v),
        other => other.clone(),
    }
}

/// `schema` with plain types (see [`plain_type`]).
pub fn plain_schema(schema: &Schema) -> SchemaRef {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| f.as_ref().clone().with_data_type(plain_type(f.data_type())))
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

/// `batch` cast to `schema` (from [`plain_schema`]).
pub fn plain_batch(batch: &RecordBatch, schema: &SchemaRef) -> anyhow::Result<RecordBatch> {
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(c, f)| {
            if c.data_type() == f.data_type() {
                Ok(c.clone())
            } else {
                cast(c, f.data_type()).map_err(anyhow::Error::from)
            }
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}

#[cfg(test)]
mod format_tests {
    use super::Format;
    use std::path::Path;

    #[test]
    fn formats_from_paths_and_arguments() {
        assert_eq!(Format::of_path(Path::new("a/b.XLSX")), Some(Format::Xlsx));
        assert_eq!(Format::of_path(Path::new("b.txt")), None);
        assert_eq!(Format::from_arg("parquet"), Ok(Format::Parquet));
        assert!(Format::from_arg("xls").is_err());
    }
}
