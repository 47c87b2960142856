//! The web page: French first, no script needed, every request checked against its account.
//!
//! | route | what |
//! |---|---|
//! | `GET /connexion`, `POST /connexion` | sign in |
//! | `POST /deconnexion` | sign out |
//! | `GET /` | the dashboards the account may see, and the as-of night of each CSS |
//! | `GET /tableaux/{mart}` | a dashboard: filters, a chart, a paged table, the definition |
//! | `GET /tableaux/{mart}/telecharger?format=csv\|xlsx\|parquet` | every row matching the filters |
//! | `GET /documentation[/{model}]` | the data dictionary, the models and marts, their lineage |
//! | `GET /audit` | the audit log (`admin` only) |
//!
//! Every data request opens a session built for its account ([`crate::scope`]): a mart outside
//! the scope is not in the session, and a filter naming a CSS or an establishment outside it is
//! refused with 403 before anything is read.

// The handlers' early exit is the answer itself (a refusal page, a redirect): an axum
// `Response`, returned as is; boxing it would allocate on every request for nothing.
#![allow(clippy::result_large_err)]

pub mod auth;
pub mod chart;
mod dashboard;
mod docs;
mod html;
pub mod page_cache;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::Extension;
use axum::Router;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use crate::access::{Account, verify_password};
use crate::audit::Entry;
use crate::scope::Scope;
use crate::server::Server;
use auth::{CSRF_COOKIE, SESSION_COOKIE, cookie, same_token, set_cookie};

/// The client's address, set per connection by the accept loop.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub SocketAddr);

/// The signed-in account of a request.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub name: String,
    pub account: Account,
    pub scope: Scope,
    pub csrf: String,
    pub client: SocketAddr,
}

impl Viewer {
    /// An audit entry for this viewer.
    pub fn entry(&self, action: &'static str, target: &str) -> Entry {
        Entry {
            who: self.name.clone(),
            role: self.account.role.as_str().to_string(),
            action,
            zone: self.scope.label(),
            target: target.to_string(),
            client: Some(self.client),
            outcome: "ok".to_string(),
            ..Entry::default()
        }
    }
}

/// The router of the web page.
pub fn router(server: Arc<Server>) -> Router {
    Router::new()
        .route("/", get(dashboard::home))
        .route("/connexion", get(sign_in_page).post(sign_in))
        .route("/deconnexion", post(sign_out))
        .route("/tableaux/{mart}", get(dashboard::page))
        .route("/tableaux/{mart}/telecharger", get(dashboard::download))
        .route("/documentation", get(docs::index))
        .route("/documentation/{name}", get(docs::model))
        .route("/audit", get(docs::audit_page))
        .route("/style.css", get(style))
        .fallback(not_found)
        .layer(axum::middleware::map_response(security_headers))
        .with_state(server)
}

/// Headers on every response: no framing, no sniffing, no referrer, and a content policy that
/// allows nothing from elsewhere (the page has no script and loads nothing but its own CSS).
async fn security_headers(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    r
}

async fn style() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        html::STYLE,
    )
        .into_response()
}

async fn not_found() -> Response {
    html::error(StatusCode::NOT_FOUND, "Page introuvable", "Cette page n'existe pas.")
}

/// The signed-in viewer of a request, or the response that sends it to sign in.
pub fn viewer(server: &Server, headers: &HeaderMap, client: SocketAddr) -> Result<Viewer, Response> {
    let to_sign_in = || Redirect::to("/connexion").into_response();
    let Some(token) = headers
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|c| cookie(c, SESSION_COOKIE))
    else {
        return Err(to_sign_in());
    };
    let Some(session) = server.sessions.get(token) else {
        return Err(to_sign_in());
    };
    let access = server.access.current();
    // The account may have been removed or may have expired since sign-in.
    let Some(account) = access.accounts.get(&session.account) else {
        server.sessions.close(token);
        return Err(to_sign_in());
    };
    if account.expired(chrono::Utc::now().date_naive()) {
        server.sessions.close(token);
        return Err(to_sign_in());
    }
    Ok(Viewer {
        name: session.account.clone(),
        scope: Scope::of(account),
        account: account.clone(),
        csrf: session.csrf,
        client,
    })
}

/// Records an audit line; a failure to record refuses the request (reads fail closed).
pub fn audit(server: &Server, entry: Entry) -> Result<(), Response> {
    server.auditor.record(entry).map_err(|e| {
        tracing::error!(error = %e, "audit log not writable: request refused");
        html::error(
            StatusCode::SERVICE_UNAVAILABLE,
            "Journal d'audit indisponible",
            "La requête est refusée tant que le journal d'audit ne peut pas être écrit.",
        )
    })
}

async fn sign_in_page(State(server): State<Arc<Server>>, headers: HeaderMap) -> Response {
    // Reuse the pre-session token if the browser has one (two tabs), else a new one.
    let existing = headers
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|c| cookie(c, CSRF_COOKIE))
        .filter(|t| t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(str::to_string);
    let csrf = existing.unwrap_or_else(auth::token);
    let mut r = html::sign_in(&csrf, None).into_response();
    if let Ok(v) = HeaderValue::from_str(&set_cookie(CSRF_COOKIE, &csrf, server.secure, None)) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

#[derive(Deserialize)]
struct SignInForm {
    utilisateur: String,
    mot_de_passe: String,
    csrf: String,
}

async fn sign_in(
    State(server): State<Arc<Server>>,
    Extension(ClientAddr(client)): Extension<ClientAddr>,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Response {
    let pre = headers
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|c| cookie(c, CSRF_COOKIE))
        .unwrap_or("");
    if pre.is_empty() || !same_token(pre, &form.csrf) {
        return html::error(
            StatusCode::FORBIDDEN,
            "Jeton de formulaire invalide",
            "Rechargez la page de connexion et réessayez.",
        );
    }
    let name = form.utilisateur.trim().to_string();
    let started = Instant::now();
    let entry = |outcome: &str, role: &str| Entry {
        who: name.clone(),
        role: role.to_string(),
        action: "connexion",
        zone: "none".to_string(),
        target: "web".to_string(),
        client: Some(client),
        outcome: outcome.to_string(),
        duration: Some(started.elapsed()),
        ..Entry::default()
    };
    if server.limiter.blocked(&name, client.ip()) {
        let _ = audit(&server, entry("refusé: trop d'échecs", ""));
        return (
            StatusCode::TOO_MANY_REQUESTS,
            html::sign_in(
                &form.csrf,
                Some("Trop de tentatives échouées. Réessayez dans une minute."),
            ),
        )
            .into_response();
    }
    let access = server.access.current();
    let account = access.accounts.get(&name);
    let ok = match account {
        Some(a) => verify_password(a, &form.mot_de_passe),
        None => {
            crate::access::dummy_verify(&form.mot_de_passe);
            false
        }
    };
    let expired = account.is_some_and(|a| a.expired(chrono::Utc::now().date_naive()));
    let role = account.map(|a| a.role.as_str()).unwrap_or("");
    if !ok || expired {
        server.limiter.failed(&name, client.ip());
        let outcome = if ok {
            "refusé: compte expiré"
        } else {
            "refusé: mot de passe"
        };
        if let Err(r) = audit(&server, entry(outcome, role)) {
            return r;
        }
        return (
            StatusCode::UNAUTHORIZED,
            html::sign_in(
                &form.csrf,
                Some("Utilisateur ou mot de passe invalide, ou compte expiré."),
            ),
        )
            .into_response();
    }
    if let Err(r) = audit(&server, entry("ok", role)) {
        return r;
    }
    let token = server.sessions.open(&name);
    let mut r = Redirect::to("/").into_response();
    if let Ok(v) = HeaderValue::from_str(&set_cookie(SESSION_COOKIE, &token, server.secure, None)) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn sign_out(
    State(server): State<Arc<Server>>,
    Extension(ClientAddr(client)): Extension<ClientAddr>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    let viewer = match viewer(&server, &headers, client) {
        Ok(v) => v,
        Err(r) => return r,
    };
    if !same_token(&viewer.csrf, &form.csrf) {
        return html::error(
            StatusCode::FORBIDDEN,
            "Jeton de formulaire invalide",
            "Rechargez la page.",
        );
    }
    if let Some(t) = headers
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|c| cookie(c, SESSION_COOKIE))
    {
        server.sessions.close(t);
    }
    let _ = audit(&server, viewer.entry("deconnexion", "web"));
    let mut r = Redirect::to("/connexion").into_response();
    if let Ok(v) = HeaderValue::from_str(&set_cookie(SESSION_COOKIE, "", server.secure, Some(0))) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}
