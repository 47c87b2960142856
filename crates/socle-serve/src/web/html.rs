//! The page's frame, the sign-in form, error pages and the style sheet. maud escapes every
//! value it prints, so nothing read from the warehouse or a request can become markup.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};

use super::Viewer;

/// The style sheet, served at `/style.css` (no inline style: the content policy forbids it).
pub const STYLE: &str = r#"
:root { --bleu: #1f4e79; --gris: #f3f4f6; --rouge: #a4262c; font-family: system-ui, sans-serif; }
body { margin: 0; color: #1b1b1b; background: #fff; line-height: 1.45; }
header.barre { background: var(--bleu); color: #fff; padding: .6rem 1.2rem; display: flex; gap: 1rem; align-items: center; flex-wrap: wrap; }
header.barre a { color: #fff; }
header.barre .qui { margin-left: auto; }
main { padding: 1rem 1.2rem; max-width: 80rem; }
a:focus, button:focus, select:focus, input:focus, .marque:focus { outline: 3px solid #ffbf47; outline-offset: 2px; }
table { border-collapse: collapse; margin: .8rem 0; font-size: .92rem; }
th, td { border: 1px solid #c8c8c8; padding: .25rem .5rem; text-align: left; vertical-align: top; }
th { background: var(--gris); }
td.nombre { text-align: right; font-variant-numeric: tabular-nums; }
td.supprime { color: #555; font-style: italic; }
form.filtres { display: flex; flex-wrap: wrap; gap: .6rem 1.2rem; align-items: flex-end; background: var(--gris); padding: .6rem; }
form.filtres label { display: flex; flex-direction: column; font-size: .9rem; }
.definition { background: #f8f8f2; border-left: 4px solid var(--bleu); padding: .4rem .8rem; }
.disposition { display: grid; grid-template-columns: minmax(0, 3fr) minmax(14rem, 1fr); gap: 1.2rem; }
@media (max-width: 60rem) { .disposition { grid-template-columns: 1fr; } }
figure.graphique { margin: .5rem 0; }
.marque { fill: var(--bleu); }
.marque.vide { stroke: #888; stroke-dasharray: 2 2; }
.ligne { stroke: var(--bleu); stroke-width: 2; }
.axe { stroke: #666; }
.graduation { font-size: 11px; fill: #444; }
.erreur { color: var(--rouge); font-weight: bold; }
.pages { display: flex; gap: 1rem; align-items: center; }
ul.tableaux li { margin: .5rem 0; }
.lignage svg { max-width: 100%; }
.lignage .noeud rect { fill: #fff; stroke: var(--bleu); }
.lignage .noeud.courant rect { fill: #dbe8f4; }
.lignage .lien { stroke: #888; fill: none; }
.lignage text { font-size: 12px; }
"#;

/// A whole page: header with the account and sign-out, then `body`.
pub fn page(title: &str, viewer: Option<&Viewer>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="fr" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " — Socle" }
                link rel="stylesheet" href="/style.css";
            }
            body {
                header.barre {
                    strong { a href="/" { "Socle" } }
                    @if let Some(v) = viewer {
                        nav aria-label="Navigation principale" {
                            a href="/" { "Tableaux de bord" } " · "
                            a href="/documentation" { "Documentation" }
                            @if v.account.role == crate::access::Role::Admin {
                                " · " a href="/audit" { "Journal d'audit" }
                            }
                        }
                        span.qui {
                            (v.name) " (" (v.account.role.label())
                            @if let Some(c) = &v.account.css { ", CSS " (c) }
                            ")"
                        }
                        form method="post" action="/deconnexion" {
                            input type="hidden" name="csrf" value=(v.csrf);
                            button type="submit" { "Se déconnecter" }
                        }
                    }
                }
                main id="contenu" { (body) }
            }
        }
    }
}

/// The sign-in page, with an optional message.
pub fn sign_in(csrf: &str, message: Option<&str>) -> Html<String> {
    Html(
        page(
            "Connexion",
            None,
            html! {
                h1 { "Connexion" }
                @if let Some(m) = message { p.erreur role="alert" { (m) } }
                form method="post" action="/connexion" {
                    input type="hidden" name="csrf" value=(csrf);
                    p {
                        label for="utilisateur" { "Utilisateur" } br;
                        input id="utilisateur" name="utilisateur" type="text" autocomplete="username" required autofocus;
                    }
                    p {
                        label for="mot_de_passe" { "Mot de passe" } br;
                        input id="mot_de_passe" name="mot_de_passe" type="password" autocomplete="current-password" required;
                    }
                    button type="submit" id="se-connecter" { "Se connecter" }
                }
            },
        )
        .into_string(),
    )
}

/// An error page with its status.
pub fn error(status: StatusCode, title: &str, detail: &str) -> Response {
    (
        status,
        Html(
            page(
                title,
                None,
                html! {
                    h1 { (title) }
                    p { (detail) }
                    p { a href="/" { "Retour à l'accueil" } }
                },
            )
            .into_string(),
        ),
    )
        .into_response()
}

/// Text as paragraphs (a YAML definition is one long text).
pub fn paragraphs(text: &str) -> Markup {
    html! {
        @for p in text.split("\n\n").filter(|p| !p.trim().is_empty()) {
            p { (p.trim()) }
        }
    }
}
