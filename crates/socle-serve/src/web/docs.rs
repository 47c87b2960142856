//! The documentation section (open to every signed-in role, like dbt's docs site): the data
//! dictionary (entities, fields, personal-data classes, each CSS's own codes) and every
//! intermediate model and mart with its definition, columns and lineage, generated from the
//! same `schemas/` and `pipelines/` the night runs. Plus the audit log page of `admin`.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;
use socle_marts::{Mart, Publication};

use super::{ClientAddr, audit, html as page, viewer};
use crate::access::Role;
use crate::server::Server;

fn kind(m: &Mart) -> &'static str {
    match m.spec.publication {
        Publication::Internal => "modèle intermédiaire",
        Publication::Shared => "mart agrégé (zone partagée et zones des CSS)",
        Publication::Css => "mart nominatif (zone du CSS seulement)",
    }
}

/// `GET /documentation`.
pub async fn index(
    State(server): State<Arc<Server>>,
    Extension(ClientAddr(client)): Extension<ClientAddr>,
    headers: HeaderMap,
) -> Response {
    let v = match viewer(&server, &headers, client) {
        Ok(v) => v,
        Err(r) => return r,
    };
    if let Err(r) = audit(&server, v.entry("documentation", "index")) {
        return r;
    }
    let dict = &server.catalog.dictionary;
    let project = &server.catalog.project;
    let body = html! {
        h1 { "Documentation" }
        p { "Générée des fichiers " code { "schemas/" } " et " code { "pipelines/" } " que la nuit exécute: les mêmes définitions que le SQL." }
        h2 { "Marts" }
        ul { @for m in &project.marts { li { a href=(format!("/documentation/{}", m.spec.name)) { (m.spec.name) } " — " (m.spec.title.fr) " (" (kind(m)) ")" } } }
        h2 { "Modèles intermédiaires" }
        ul { @for m in &project.intermediates { li { a href=(format!("/documentation/{}", m.spec.name)) { (m.spec.name) } } } }
        h2 { "Dictionnaire de données (version " (dict.version) ")" }
        @for e in &dict.entities {
            section aria-labelledby=(format!("entite-{}", e.name)) {
                h3 id=(format!("entite-{}", e.name)) { (e.name) }
                p { (e.description.fr) } p { small { "Grain: " (e.grain) } }
                table {
                    caption { "Champs de " (e.name) }
                    thead { tr { th scope="col" { "Champ" } th scope="col" { "Type" } th scope="col" { "Renseignement personnel" } th scope="col" { "Zone partagée" } th scope="col" { "Description" } } }
                    tbody {
                        @for f in &e.fields {
                            tr {
                                td { code { (f.name) } }
                                td { (f.field_type.as_str()) }
                                td { (f.personal.as_str()) }
                                td { @if f.personal.allowed_in_shared_zone() { "oui" } @else { "jamais" } }
                                td { (f.description.fr) }
                            }
                        }
                    }
                }
            }
        }
        h2 { "Codes propres à chaque CSS" }
        @for (code, p) in &dict.css {
            section {
                h3 { "CSS " (code) }
                @if let Some(d) = &p.description { p { (d) } }
                @if !p.cours.is_empty() {
                    table { caption { "Cours: code local → code canonique" }
                        thead { tr { th scope="col" { "Code local" } th scope="col" { "Code canonique" } } }
                        tbody { @for (l, c) in &p.cours { tr { td { (l) } td { (c) } } } } }
                }
                @if !p.valeurs_speciales_resultat.is_empty() {
                    table { caption { "Valeurs spéciales de résultat" }
                        thead { tr { th scope="col" { "Valeur locale" } th scope="col" { "Statut canonique" } } }
                        tbody { @for (l, c) in &p.valeurs_speciales_resultat { tr { td { (l) } td { (c) } } } } }
                }
                @if !p.categories_absence.is_empty() {
                    table { caption { "Catégories d'absence" }
                        thead { tr { th scope="col" { "Compteur local" } th scope="col" { "Catégorie canonique" } } }
                        tbody { @for (l, c) in &p.categories_absence { tr { td { (l) } td { (c) } } } } }
                }
            }
        }
    };
    Html(page::page("Documentation", Some(&v), body).into_string()).into_response()
}

/// The lineage of `m`: the source tables and models it reads, and the models that read it,
/// drawn as a three-column graph (inputs, the model, its readers), each node a link.
fn lineage(server: &Server, m: &Mart) -> Markup {
    let project = &server.catalog.project;
    let models: BTreeSet<String> = project.models().map(|x| x.spec.name.clone()).collect();
    let read = socle_marts::tables_read(&m.sql).unwrap_or_default();
    let inputs: Vec<(String, bool)> = read
        .into_iter()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .map(|t| {
            let is_model = models.contains(&t);
            (t, is_model)
        })
        .collect();
    let readers: Vec<String> = project
        .models()
        .filter(|x| x.depends_on.iter().any(|d| d == &m.spec.name))
        .map(|x| x.spec.name.clone())
        .collect();
    const W: f64 = 760.0;
    const ROW: f64 = 30.0;
    const BOX_W: f64 = 200.0;
    let rows = inputs.len().max(readers.len()).max(1) as f64;
    let h = rows * ROW + 20.0;
    let y = |i: usize| 10.0 + i as f64 * ROW;
    let mid_y = (h - 24.0) / 2.0;
    let (x_in, x_mid, x_out) = (10.0, (W - BOX_W) / 2.0, W - BOX_W - 10.0);
    let node = |x: f64, y: f64, name: &str, link: bool, current: bool| -> Markup {
        let class = if current { "noeud courant" } else { "noeud" };
        html! {
            @if link {
                a href=(format!("/documentation/{name}")) {
                    g class=(class) { rect x=(x) y=(y) width=(BOX_W) height="24" rx="4" {} text x=(x + 8.0) y=(y + 16.0) { (name) } }
                }
            } @else {
                g class=(class) { rect x=(x) y=(y) width=(BOX_W) height="24" rx="4" {} text x=(x + 8.0) y=(y + 16.0) { (name) " (table)" } }
            }
        }
    };
    let described = format!(
        "Lignage de {}: lit {}; lu par {}",
        m.spec.name,
        if inputs.is_empty() {
            "aucune table".to_string()
        } else {
            inputs.iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>().join(", ")
        },
        if readers.is_empty() {
            "aucun modèle".to_string()
        } else {
            readers.join(", ")
        }
    );
    html! {
        figure.lignage {
            svg role="img" aria-label=(described) viewBox=(format!("0 0 {W} {h}")) xmlns="http://www.w3.org/2000/svg" {
                @for i in 0..inputs.len() {
                    path.lien d=(format!("M{} {} L{} {}", x_in + BOX_W, y(i) + 12.0, x_mid, mid_y + 12.0)) {}
                }
                @for i in 0..readers.len() {
                    path.lien d=(format!("M{} {} L{} {}", x_mid + BOX_W, mid_y + 12.0, x_out, y(i) + 12.0)) {}
                }
                @for (i, (t, is_model)) in inputs.iter().enumerate() { (node(x_in, y(i), t, *is_model, false)) }
                (node(x_mid, mid_y, &m.spec.name, false, true))
                @for (i, r) in readers.iter().enumerate() { (node(x_out, y(i), r, true, false)) }
            }
            figcaption { (described) }
        }
    }
}

/// `GET /documentation/{name}`: a model or mart.
pub async fn model(
    State(server): State<Arc<Server>>,
    Extension(ClientAddr(client)): Extension<ClientAddr>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    let v = match viewer(&server, &headers, client) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some(m) = server.catalog.project.model(&name).cloned() else {
        return page::error(StatusCode::NOT_FOUND, "Modèle introuvable", "Ce modèle n'existe pas.");
    };
    if let Err(r) = audit(&server, v.entry("documentation", &name)) {
        return r;
    }
    let body = html! {
        h1 { (m.spec.name) }
        p { em { (kind(&m)) } }
        @if !m.is_intermediate() { p { (m.spec.title.fr) } }
        (super::dashboard::definition(&m))
        h2 { "Colonnes" }
        table {
            caption { "Colonnes de " (m.spec.name) }
            thead { tr { th scope="col" { "Colonne" } th scope="col" { "Libellé" } th scope="col" { "Description" } } }
            tbody {
                @for c in m.published_columns() {
                    tr { td { code { (c.name) } } td { (c.libelle.clone().unwrap_or_default()) } td { (c.description) } }
                }
            }
        }
        h2 { "Lignage" }
        (lineage(&server, &m))
        h2 { "SQL" }
        pre { code { (m.sql) } }
    };
    Html(page::page(&m.spec.name, Some(&v), body).into_string()).into_response()
}

#[derive(Deserialize)]
pub struct AuditQuery {
    utilisateur: Option<String>,
    depuis: Option<String>,
}

/// `GET /audit?utilisateur=U&depuis=YYYY-MM-DD`: `admin` only.
pub async fn audit_page(
    State(server): State<Arc<Server>>,
    Extension(ClientAddr(client)): Extension<ClientAddr>,
    Query(q): Query<AuditQuery>,
    headers: HeaderMap,
) -> Response {
    let v = match viewer(&server, &headers, client) {
        Ok(v) => v,
        Err(r) => return r,
    };
    if v.account.role != Role::Admin {
        let mut e = v.entry("audit", "journal");
        e.outcome = "refusé: rôle".to_string();
        if let Err(r) = audit(&server, e) {
            return r;
        }
        return page::error(
            StatusCode::FORBIDDEN,
            "Accès refusé",
            "Seul un compte d'administration lit le journal d'audit.",
        );
    }
    let since = q
        .depuis
        .filter(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_ok())
        .unwrap_or_else(|| (chrono::Utc::now().date_naive() - chrono::Days::new(7)).to_string());
    let user = q.utilisateur.filter(|u| !u.trim().is_empty());
    let events = match server.auditor.read(Some(&since), user.as_deref()) {
        Ok(e) => e,
        Err(e) => return super::dashboard::internal_error(e),
    };
    let mut e = v.entry("audit", "journal");
    e.rows = events.len() as u64;
    if let Err(r) = audit(&server, e) {
        return r;
    }
    let body = html! {
        h1 { "Journal d'audit" }
        form.filtres method="get" action="/audit" {
            label for="utilisateur" { "Utilisateur" input id="utilisateur" name="utilisateur" value=(user.clone().unwrap_or_default()); }
            label for="depuis" { "Depuis (AAAA-MM-JJ)" input id="depuis" name="depuis" value=(since); }
            button type="submit" { "Afficher" }
        }
        p { (events.len()) " ligne(s)." }
        table id="audit" {
            caption { "Lectures et connexions, les plus récentes en dernier" }
            thead { tr { @for h in ["Heure", "Compte", "Rôle", "Action", "Zone", "Cible", "Filtres", "Énoncé", "Lignes", "Durée (ms)", "Client", "Résultat"] { th scope="col" { (h) } } } }
            tbody {
                @for ev in events.iter().rev().take(1000) {
                    tr {
                        td { (ev.time) } td { (ev.who) } td { (ev.role.clone().unwrap_or_default()) } td { (ev.action) }
                        td { (ev.zone) } td { (ev.target) } td { (ev.filters.clone().unwrap_or_default()) }
                        td { code { (ev.statement.clone().unwrap_or_default()) } } td.nombre { (ev.rows) }
                        td.nombre { (ev.duration_ms.map(|d| d.to_string()).unwrap_or_default()) }
                        td { (ev.client.clone().unwrap_or_default()) } td { (ev.outcome.clone().unwrap_or_default()) }
                    }
                }
            }
        }
    };
    Html(page::page("Journal d'audit", Some(&v), body).into_string()).into_response()
}
