//! The home page and the dashboards: a mart's rows in the account's session, filtered, paged,
//! charted, with its definition beside it, and downloadable.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Instant;

use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::prelude::{DataFrame, SessionContext, col, lit};
use maud::{Markup, html};
use socle_marts::{ChartKind, Dashboard, Mart, Publication, SUPPRESSED_COLUMN};

use super::chart::{self, Mark};
use super::page_cache::{PageData, PageKey};
use super::{ClientAddr, Viewer, audit, html as page, viewer};
use crate::access::Role;
use crate::download::{Format, MartFile};
use crate::scope::{ETABLISSEMENT, ScopeTables};
use crate::server::Server;
use socle_warehouse::Zone;

/// Rows per page of a dashboard's table (and marks per chart).
pub const PAGE_ROWS: usize = 50;
/// Values offered by a filter's drop-down at most.
const MAX_FILTER_VALUES: usize = 500;
const CSS_COLUMN: &str = "code_css";

pub(super) fn internal_error(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "dashboard request failed");
    page::error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Erreur",
        "La page n'a pas pu être produite. L'erreur est consignée dans le journal du serveur.",
    )
}

/// The French label of a column of `mart` (its `libelle`), else its name.
pub fn label(mart: &Mart, column: &str) -> String {
    mart.published_columns()
        .into_iter()
        .find(|c| c.name == column)
        .and_then(|c| c.libelle)
        .unwrap_or_else(|| column.to_string())
}

/// `GET /`: the dashboards of the account's scope and the night each CSS is as of.
pub async fn home(
    State(server): State<Arc<Server>>,
    Extension(ClientAddr(client)): Extension<ClientAddr>,
    headers: HeaderMap,
) -> Response {
    let v = match viewer(&server, &headers, client) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let tables = match server.catalog.tables(&v.scope).await {
        Ok(t) => t,
        Err(e) => return internal_error(e),
    };
    let marts: Vec<&Mart> = server
        .catalog
        .project
        .marts
        .iter()
        .filter(|m| tables.has(&m.spec.name))
        .collect();
    let nights: Vec<(String, String)> = match server.catalog.warehouse.manifests() {
        Ok(ms) => ms
            .into_iter()
            .filter(|m| match v.scope.role {
                Role::Ministere => true,
                Role::Css | Role::Ecole => v.scope.css.as_deref() == Some(m.code_css.as_str()),
                Role::Admin => false,
            })
            .map(|m| (m.code_css, m.night))
            .collect(),
        Err(e) => return internal_error(e),
    };
    if let Err(r) = audit(&server, v.entry("page", "accueil")) {
        return r;
    }
    let body = html! {
        h1 { "Tableaux de bord" }
        @if v.account.role == Role::Admin {
            p { "Ce compte d'administration ne lit aucune donnée. " a href="/audit" { "Consulter le journal d'audit" } "." }
        } @else if marts.is_empty() {
            p { "Aucun tableau de bord n'est encore publié pour votre portée." }
        } @else {
            ul.tableaux {
                @for m in &marts {
                    li {
                        a href=(format!("/tableaux/{}", m.spec.name)) { (m.spec.title.fr) }
                        @if m.spec.publication == Publication::Css { " " small { "(nominatif)" } }
                        br; small { (m.spec.summary.fr) }
                    }
                }
            }
        }
        @if !nights.is_empty() {
            h2 { "Données à jour au" }
            table {
                caption { "Dernière nuit chargée de chaque centre de services scolaire" }
                thead { tr { th scope="col" { "CSS" } th scope="col" { "Nuit des exportations" } } }
                tbody {
                    @for (css, night) in &nights { tr { td { (css) } td { (night) } } }
                }
            }
        }
    };
    Html(page::page("Tableaux de bord", Some(&v), body).into_string()).into_response()
}

/// The filters of a request: the dashboard's filter columns given a non-empty value.
fn filters_of(d: &Dashboard, params: &[(String, String)]) -> BTreeMap<String, String> {
    let allowed: BTreeSet<&str> = d.filtres.iter().map(String::as_str).collect();
    params
        .iter()
        .filter(|(k, v)| allowed.contains(k.as_str()) && !v.trim().is_empty())
        .map(|(k, v)| (k.clone(), v.trim().to_string()))
        .collect()
}

/// A filter naming a CSS or an establishment outside the scope: refused, not just empty.
fn out_of_scope(v: &Viewer, filters: &BTreeMap<String, String>) -> Option<String> {
    if let (Some(css), Some(asked)) = (&v.scope.css, filters.get(CSS_COLUMN))
        && asked != css
    {
        return Some(format!("code_css={asked}"));
    }
    if v.scope.role == Role::Ecole
        && let Some(asked) = filters.get(ETABLISSEMENT)
        && !v.scope.etablissements.contains(asked)
    {
        return Some(format!("{ETABLISSEMENT}={asked}"));
    }
    None
}

fn filters_text(filters: &BTreeMap<String, String>) -> Option<String> {
    (!filters.is_empty()).then(|| {
        filters
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&")
    })
}

/// The mart's rows matching `filters`, in the dashboard's order.
async fn matching(
    ctx: &SessionContext,
    mart: &Mart,
    filters: &BTreeMap<String, String>,
) -> datafusion::error::Result<DataFrame> {
    let mut df = ctx.table(mart.spec.name.as_str()).await?;
    for (column, value) in filters {
        // Compared as text: a filter's value comes from a drop-down of the column's values.
        df = df.filter(datafusion::logical_expr::cast(col(column.as_str()), DataType::Utf8).eq(lit(value.as_str())))?;
    }
    let schema = df.schema().clone();
    let order: Vec<_> = mart
        .spec
        .sort_order()
        .iter()
        .filter(|c| schema.has_column_with_unqualified_name(c))
        .map(|c| col(c.as_str()).sort(true, true))
        .collect();
    if !order.is_empty() {
        df = df.sort(order)?;
    }
    Ok(df)
}

/// The distinct values of a filter column (as text), for its drop-down.
async fn filter_values(ctx: &SessionContext, mart: &str, column: &str) -> datafusion::error::Result<Vec<String>> {
    let df = ctx
        .table(mart)
        .await?
        .select(vec![
            datafusion::logical_expr::cast(col(column), DataType::Utf8).alias("v"),
        ])?
        .distinct()?
        .sort(vec![col("v").sort(true, false)])?
        .limit(0, Some(MAX_FILTER_VALUES))?;
    let mut out = Vec::new();
    for b in df.collect().await? {
        let a = b.column(0).as_string::<i32>();
        out.extend(a.iter().flatten().map(str::to_string));
    }
    Ok(out)
}

/// Checks the request against the account and the mart; the mart, its dashboard, the scope's
/// tables and the filters, or the refusal (audited).
async fn prepare(
    server: &Server,
    v: &Viewer,
    name: &str,
    params: &[(String, String)],
    action: &'static str,
) -> Result<(Mart, Dashboard, Arc<ScopeTables>, BTreeMap<String, String>), Response> {
    let Some(mart) = server.catalog.project.mart(name).cloned() else {
        return Err(page::error(
            StatusCode::NOT_FOUND,
            "Tableau introuvable",
            "Ce tableau de bord n'existe pas.",
        ));
    };
    let refuse = |why: String| -> Response {
        let mut e = v.entry(action, name);
        e.outcome = format!("refusé: {why}");
        if let Err(r) = audit(server, e) {
            return r;
        }
        page::error(
            StatusCode::FORBIDDEN,
            "Accès refusé",
            "Votre compte ne donne pas accès à ces données.",
        )
    };
    let tables = server.catalog.tables(&v.scope).await.map_err(internal_error)?;
    if !tables.has(name) {
        return Err(refuse("hors portée".to_string()));
    }
    let Some(dashboard) = mart.spec.tableau_de_bord.clone() else {
        return Err(internal_error(format!("mart {name} has no tableau_de_bord")));
    };
    let filters = filters_of(&dashboard, params);
    if let Some(asked) = out_of_scope(v, &filters) {
        return Err(refuse(format!("filtre hors portée {asked}")));
    }
    Ok((mart, dashboard, tables, filters))
}

/// A cell as the page shows it.
struct Cell {
    text: String,
    numeric: bool,
    suppressed: bool,
}

fn is_numeric(t: &DataType) -> bool {
    t.is_numeric()
}

/// The rows of `batches` as text (French decimal comma), with suppressed cells marked.
fn cells(
    batches: &[RecordBatch],
    suppressible: &BTreeSet<String>,
) -> Result<Vec<Vec<Cell>>, datafusion::arrow::error::ArrowError> {
    let options = FormatOptions::default().with_null("");
    let mut rows = Vec::new();
    for b in batches {
        let schema = b.schema();
        let flag = b
            .column_by_name(SUPPRESSED_COLUMN)
            .and_then(|c| c.as_boolean_opt().cloned());
        let formatters: Vec<_> = b
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
            .collect::<Result<_, _>>()?;
        for r in 0..b.num_rows() {
            let hidden_row = flag.as_ref().is_some_and(|f| f.is_valid(r) && f.value(r));
            let mut row = Vec::with_capacity(b.num_columns());
            for (i, f) in formatters.iter().enumerate() {
                let field = schema.field(i);
                let numeric = is_numeric(field.data_type());
                let null = b.column(i).is_null(r);
                let suppressed = hidden_row && null && suppressible.contains(field.name());
                let text = if suppressed {
                    "supprimée".to_string()
                } else if field.name() == SUPPRESSED_COLUMN {
                    if hidden_row { "oui" } else { "non" }.to_string()
                } else {
                    let t = f.value(r).to_string();
                    if numeric { t.replace('.', ",") } else { t }
                };
                row.push(Cell {
                    text,
                    numeric,
                    suppressed,
                });
            }
            rows.push(row);
        }
    }
    Ok(rows)
}

/// The value column of each row as a number (none when null or suppressed).
fn values(batches: &[RecordBatch], column: &str) -> Vec<Option<f64>> {
    let mut out = Vec::new();
    for b in batches {
        match b.column_by_name(column).map(|c| cast(c, &DataType::Float64)) {
            Some(Ok(a)) => {
                let a = a.as_primitive::<Float64Type>();
                out.extend((0..a.len()).map(|i| a.is_valid(i).then(|| a.value(i))));
            }
            _ => out.extend(std::iter::repeat_n(None, b.num_rows())),
        }
    }
    out
}

fn query_string(filters: &BTreeMap<String, String>, extra: &[(&str, String)]) -> String {
    let mut pairs: Vec<(String, String)> = filters.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    pairs.extend(extra.iter().map(|(k, v)| (k.to_string(), v.clone())));
    serde_urlencoded::to_string(&pairs).unwrap_or_default()
}

/// Runs a page's queries: the count of matching rows, the page's rows, each filter's values.
async fn page_data(
    server: &Server,
    v: &Viewer,
    tables: &ScopeTables,
    mart: &Mart,
    dashboard: &Dashboard,
    filters: &BTreeMap<String, String>,
    page_no: usize,
) -> Result<PageData, Box<dyn std::error::Error + Send + Sync>> {
    let ctx = server.catalog.session_over(&v.scope, tables)?;
    let df = matching(&ctx, mart, filters).await?;
    let total = df.clone().count().await?;
    let batches = df.limit((page_no - 1) * PAGE_ROWS, Some(PAGE_ROWS))?.collect().await?;
    let mut options = Vec::new();
    for f in &dashboard.filtres {
        options.push((f.clone(), filter_values(&ctx, &mart.spec.name, f).await?));
    }
    Ok(PageData {
        total,
        batches,
        options,
    })
}

/// `GET /tableaux/{mart}`.
pub async fn page(
    State(server): State<Arc<Server>>,
    Extension(ClientAddr(client)): Extension<ClientAddr>,
    Path(name): Path<String>,
    Query(params): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Response {
    let started = Instant::now();
    let v = match viewer(&server, &headers, client) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let (mart, dashboard, tables, filters) = match prepare(&server, &v, &name, &params, "page").await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let page_no: usize = params
        .iter()
        .find(|(k, _)| k == "page")
        .and_then(|(_, p)| p.parse().ok())
        .filter(|p| *p >= 1)
        .unwrap_or(1);
    let key = PageKey {
        scope: v.scope.clone(),
        mart: name.clone(),
        filters: filters.clone(),
        page: page_no,
    };
    let data = match server.pages.get(&tables.stamp, &key) {
        Some(d) => d,
        None => match page_data(&server, &v, &tables, &mart, &dashboard, &filters, page_no).await {
            Ok(d) => {
                let d = Arc::new(d);
                server.pages.put(&tables.stamp, key, Arc::clone(&d));
                d
            }
            Err(e) => return internal_error(e),
        },
    };
    let (total, batches, options) = (data.total, &data.batches, &data.options);
    let suppressible: BTreeSet<String> = mart
        .spec
        .suppression
        .iter()
        .flat_map(|r| std::iter::once(r.count.clone()).chain(r.hides.iter().cloned()))
        .collect();
    let rows = match cells(batches, &suppressible) {
        Ok(r) => r,
        Err(e) => return internal_error(e),
    };
    let columns: Vec<String> = batches
        .first()
        .map(|b| b.schema().fields().iter().map(|f| f.name().clone()).collect())
        .unwrap_or_else(|| mart.published_columns().into_iter().map(|c| c.name).collect());
    let index = |c: &str| columns.iter().position(|x| x == c);
    // The chart, unless the dashboard is a table only (`graphique: aucun`).
    let svg = dashboard.chart().map(|(kind, etiquette, valeur)| {
        let marks: Vec<Mark> = values(batches, valeur)
            .into_iter()
            .zip(&rows)
            .map(|(value, row)| {
                let label = etiquette
                    .iter()
                    .filter_map(|c| index(c).map(|i| row[i].text.clone()))
                    .collect::<Vec<_>>()
                    .join(" · ");
                let shown = index(valeur).map(|i| row[i].text.clone()).unwrap_or_default();
                let shown = if shown.is_empty() {
                    "aucune valeur".to_string()
                } else {
                    shown
                };
                Mark { label, value, shown }
            })
            .collect();
        let kind = match kind {
            ChartKind::Lignes => chart::Kind::Lines,
            ChartKind::Barres | ChartKind::Aucun => chart::Kind::Bars,
        };
        chart::render(kind, &mart.spec.title.fr, &label(&mart, valeur), &marks)
    });
    let pages = total.div_ceil(PAGE_ROWS).max(1);
    let mut entry = v.entry("page", &name);
    entry.filters = filters_text(&filters);
    entry.rows = rows.len() as u64;
    entry.duration = Some(started.elapsed());
    if let Err(r) = audit(&server, entry) {
        return r;
    }
    let body = html! {
        h1 { (mart.spec.title.fr) }
        p { (mart.spec.summary.fr) }
        div.disposition {
            section aria-labelledby="titre-donnees" {
                h2 id="titre-donnees" { "Données" }
                form.filtres method="get" action=(format!("/tableaux/{name}")) aria-label="Filtres" {
                    @for (column, values) in options {
                        @let id = format!("filtre-{column}");
                        label for=(id) {
                            (label(&mart, column))
                            select id=(id) name=(column) {
                                option value="" { "(tous)" }
                                @for value in values {
                                    @if filters.get(column) == Some(value) {
                                        option value=(value) selected { (value) }
                                    } @else {
                                        option value=(value) { (value) }
                                    }
                                }
                            }
                        }
                    }
                    button type="submit" id="filtrer" { "Filtrer" }
                }
                @if let Some(svg) = &svg { (svg) }
                p id="compte" { (total) " ligne(s); page " (page_no) " de " (pages) "." }
                (table(&mart, &columns, &rows))
                nav.pages aria-label="Pages" {
                    @if page_no > 1 {
                        a rel="prev" href=(format!("/tableaux/{name}?{}", query_string(&filters, &[("page", (page_no - 1).to_string())]))) { "← Page précédente" }
                    }
                    @if page_no < pages {
                        a rel="next" href=(format!("/tableaux/{name}?{}", query_string(&filters, &[("page", (page_no + 1).to_string())]))) { "Page suivante →" }
                    }
                }
                h2 { "Télécharger toutes les lignes filtrées" }
                ul {
                    @for (format, what) in [("csv", "CSV (UTF-8 avec BOM, pour Excel)"), ("xlsx", "Excel (avec la feuille de définition)"), ("parquet", "Parquet (pour les outils d'analyse)")] {
                        li { a id=(format!("telecharger-{format}")) href=(format!("/tableaux/{name}/telecharger?{}", query_string(&filters, &[("format", format.to_string())]))) { (what) } }
                    }
                }
            }
            aside.definition aria-labelledby="titre-definition" {
                h2 id="titre-definition" { "Définition" }
                (definition(&mart))
            }
        }
    };
    Html(page::page(&mart.spec.title.fr, Some(&v), body).into_string()).into_response()
}

fn table(mart: &Mart, columns: &[String], rows: &[Vec<Cell>]) -> Markup {
    html! {
        table id="donnees" {
            caption { (mart.spec.title.fr) }
            thead {
                tr { @for c in columns { th scope="col" title=(c) { (label(mart, c)) } } }
            }
            tbody {
                @for row in rows {
                    tr {
                        @for cell in row {
                            @if cell.suppressed {
                                td.supprime title="Petite cellule: valeur cachée dans la zone partagée" { (cell.text) }
                            } @else if cell.numeric {
                                td.nombre { (cell.text) }
                            } @else {
                                td { (cell.text) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The definition in words, from the mart's YAML.
pub fn definition(mart: &Mart) -> Markup {
    let s = &mart.spec;
    html! {
        (page::paragraphs(&s.definition.fr))
        dl {
            dt { "Grain" } dd { (s.grain) }
            @if let Some(p) = &s.population { dt { "Population" } dd { (p) } }
            @if let Some(n) = &s.numerator { dt { "Numérateur" } dd { (n) } }
            @if let Some(d) = &s.denominator { dt { "Dénominateur" } dd { (d) } }
        }
        @if !s.excluded.is_empty() {
            h3 { "Exclusions" }
            ul { @for e in &s.excluded { li { (e) } } }
        }
        @if !s.notes.is_empty() {
            h3 { "Notes" }
            ul { @for n in &s.notes { li { (n) } } }
        }
        p { a href=(format!("/documentation/{}", s.name)) { "Colonnes et lignage" } }
    }
}

/// `GET /tableaux/{mart}/telecharger?format=csv|xlsx|parquet&<filters>`.
pub async fn download(
    State(server): State<Arc<Server>>,
    Extension(ClientAddr(client)): Extension<ClientAddr>,
    Path(name): Path<String>,
    Query(params): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Response {
    let started = Instant::now();
    let v = match viewer(&server, &headers, client) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let format = params
        .iter()
        .find(|(k, _)| k == "format")
        .map(|(_, f)| f.as_str())
        .unwrap_or("csv");
    let Some(format) = Format::parse(format) else {
        return page::error(
            StatusCode::BAD_REQUEST,
            "Format inconnu",
            "Formats offerts: csv, xlsx, parquet.",
        );
    };
    let (mart, _dashboard, tables, filters) = match prepare(&server, &v, &name, &params, "telechargement").await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let ctx = match server.catalog.session_over(&v.scope, &tables) {
        Ok(c) => c,
        Err(e) => return internal_error(e),
    };
    let (schema, batches) = match matching(&ctx, &mart, &filters).await {
        Ok(df) => {
            // The schema too: a file of no row still has its header.
            let schema: datafusion::arrow::datatypes::SchemaRef = Arc::new(df.schema().as_arrow().clone());
            match df.collect().await {
                Ok(b) => (schema, b),
                Err(e) => return internal_error(e),
            }
        }
        Err(e) => return internal_error(e),
    };
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    let marts = match server.catalog.warehouse.marts_manifest() {
        Ok(m) => m,
        Err(e) => return internal_error(e),
    };
    let file = MartFile {
        mart: &mart,
        zone: v.scope.zone().unwrap_or(Zone::Shared),
        filters: filters.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        threshold: server.catalog.project.config.seuil_petites_cellules,
        marts_run_id: marts.as_ref().map(|m| m.run_id.clone()).unwrap_or_default(),
        marts_published_at: marts.as_ref().map(|m| m.published_at.clone()).unwrap_or_default(),
        extracted_at: chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        french_headings: true,
    };
    let body = match file.render(format, &schema, &batches) {
        Ok(b) => b,
        Err(e) => return internal_error(e),
    };
    let mut entry = v.entry("telechargement", &name);
    entry.filters = filters_text(&filters);
    entry.rows = rows as u64;
    entry.duration = Some(started.elapsed());
    entry.target = format!("{name}.{}", format.extension());
    if let Err(r) = audit(&server, entry) {
        return r;
    }
    let file = format!("{name}.{}", format.extension());
    (
        [
            (axum::http::header::CONTENT_TYPE, format.mime().to_string()),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
        ],
        body,
    )
        .into_response()
}
