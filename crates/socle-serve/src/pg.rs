//! The SQL endpoint (Postgres wire), read-only by construction.
//!
//! Built on datafusion-postgres's `DfSessionService` (its Postgres-compatible parser, `pg_catalog`
//! and the hooks that answer clients' `SET`/`SHOW`/`BEGIN`), with Socle's own handlers around it:
//!
//! - **Authentication**: SCRAM-SHA-256 against the account's `scram` form (pgwire verifies the
//!   client's proof; the password never crosses the wire). Roles `css` and `ministere` only. At
//!   most five failed sign-ins per minute per account and per address, as on the web; every
//!   sign-in, success or failure, is audited.
//! - **One DataFusion session per connection**, built for the account's scope
//!   ([`crate::scope`]): a `css` account's session has no other CSS's table to name. Rebuilt
//!   when the warehouse publishes a new night; a statement already running keeps its files.
//! - **Read-only**: every statement of every query (simple or extended protocol) goes through
//!   [`socle_warehouse::check_read_only`] (queries, `EXPLAIN` of a query, harmless `SET`/`SHOW`
//!   and transaction statements; no COPY, DDL, DML, `SET datafusion.*` nor file-reading table
//!   function) before anything is planned; the session itself has no file to read but the
//!   warehouse's.
//! - **Limits**: the configured `statement_timeout_seconds` (whatever the client `SET`s) and
//!   `max_rows` (a longer result is refused, never cut silently).
//! - **Audit**: one line per statement: the text with literals replaced by `?`, a hash of the full
//!   text, rows sent, duration, outcome, client address.
//!
//! The accept loop is Socle's own rather than `serve_with_handlers`: that helper falls back to
//! clear text when the certificate cannot be loaded (Socle refuses to start instead, see
//! [`crate::server::load_tls`]) and binds its own port (tests bind port 0 first).

use std::fmt::Debug;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use datafusion::logical_expr::LogicalPlan;
use datafusion::sql::sqlparser;
use datafusion_postgres::DfSessionService;
use datafusion_postgres::datafusion_pg_catalog::pg_catalog::context::EmptyContextProvider;
use futures::{Sink, StreamExt};
use pgwire::api::auth::sasl::SASLAuthStartupHandler;
use pgwire::api::auth::sasl::scram::ScramAuth;
use pgwire::api::auth::{AuthSource, DefaultServerParameterProvider, LoginInfo, Password, StartupHandler};
use pgwire::api::portal::{Format, Portal};
use pgwire::api::query::{ExtendedQueryHandler, SimpleQueryHandler};
use pgwire::api::results::{DescribePortalResponse, DescribeStatementResponse, FieldInfo, Response};
use pgwire::api::stmt::{QueryParser, StoredStatement};
use pgwire::api::store::PortalStore;
use pgwire::api::{ClientInfo, ClientPortalStore, METADATA_USER, PgWireConnectionState, PgWireServerHandlers, Type};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use crate::access::{Account, ScramVerifier};
use crate::audit::{Entry, normalise_sql};
use crate::scope::Scope;
use crate::server::Server;

type Statement = (String, Option<(sqlparser::ast::Statement, LogicalPlan)>);

/// Serves the SQL endpoint on `listener` until `stop` turns true.
pub async fn serve_pg(
    server: Arc<Server>,
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let (socket, addr) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "sql: accept failed");
                    continue;
                }
            },
            _ = stop.changed() => break,
        };
        let handlers = Arc::new(Connection::new(Arc::clone(&server), addr));
        let tls = tls.clone();
        tokio::spawn(async move {
            if let Err(e) = pgwire::tokio::process_socket(socket, tls, handlers).await {
                tracing::debug!(error = %e, %addr, "sql: connection ended with an error");
            }
        });
    }
}

fn user_error(code: &str, message: impl Into<String>) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "ERROR".to_string(),
        code.to_string(),
        message.into(),
    )))
}

/// The account a connection signed in as, if it may use SQL now.
fn sql_account(server: &Server, name: &str) -> Option<Account> {
    let access = server.access.current();
    let a = access.accounts.get(name)?;
    (a.role.has_sql() && !a.expired(chrono::Utc::now().date_naive())).then(|| a.clone())
}

/// Passwords for pgwire's SCRAM exchange.
#[derive(Debug)]
struct Verifiers {
    server: Arc<Server>,
}

impl Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Server")
    }
}

#[async_trait]
impl AuthSource for Verifiers {
    async fn get_password(&self, login: &LoginInfo) -> PgWireResult<Password> {
        let verifier = login
            .user()
            .and_then(|u| sql_account(&self.server, u))
            .and_then(|a| a.password.scram)
            .and_then(|s| ScramVerifier::parse(&s).ok());
        Ok(match verifier {
            Some(v) => Password::new(Some(v.salt), v.salted_password),
            // Unknown account, no SQL for its role, expired, or no password set: a random
            // verifier no proof can match, so the exchange fails like a wrong password.
            None => {
                let mut salt = [0u8; 16];
                let mut salted = [0u8; 32];
                use argon2::password_hash::rand_core::{OsRng, RngCore};
                OsRng.fill_bytes(&mut salt);
                OsRng.fill_bytes(&mut salted);
                Password::new(Some(salt.to_vec()), salted.to_vec())
            }
        })
    }
}

/// One connection: its sign-in, its session, its statements.
struct Connection {
    server: Arc<Server>,
    client: SocketAddr,
    startup: Arc<Startup>,
    queries: Arc<Queries>,
}

impl Connection {
    fn new(server: Arc<Server>, client: SocketAddr) -> Self {
        let mut params = DefaultServerParameterProvider::default();
        params.is_superuser = false;
        params.default_transaction_read_only = true;
        let mut scram = ScramAuth::new(Arc::new(Verifiers {
            server: Arc::clone(&server),
        }));
        scram.set_iterations(crate::access::SCRAM_ITERATIONS as usize);
        let inner = SASLAuthStartupHandler::new(Arc::new(params)).with_scram(scram);
        Connection {
            startup: Arc::new(Startup {
                inner,
                server: Arc::clone(&server),
                client,
                started: Instant::now(),
            }),
            queries: Arc::new(Queries {
                server: Arc::clone(&server),
                client,
                session: Arc::new(Mutex::new(None)),
            }),
            server,
            client,
        }
    }
}

impl PgWireServerHandlers for Connection {
    fn simple_query_handler(&self) -> Arc<impl SimpleQueryHandler> {
        Arc::clone(&self.queries)
    }
    fn extended_query_handler(&self) -> Arc<impl ExtendedQueryHandler> {
        Arc::clone(&self.queries)
    }
    fn startup_handler(&self) -> Arc<impl StartupHandler> {
        let _ = (&self.server, self.client);
        Arc::clone(&self.startup)
    }
}

/// pgwire's SCRAM sign-in, with the failure limit and the audit around it.
struct Startup {
    inner: SASLAuthStartupHandler<DefaultServerParameterProvider>,
    server: Arc<Server>,
    client: SocketAddr,
    started: Instant,
}

impl Startup {
    fn audit(&self, who: &str, outcome: &str) -> PgWireResult<()> {
        let role = self
            .server
            .access
            .current()
            .accounts
            .get(who)
            .map(|a| a.role.as_str().to_string())
            .unwrap_or_default();
        self.server
            .auditor
            .record(Entry {
                who: who.to_string(),
                role,
                action: "connexion",
                zone: "none".to_string(),
                target: "sql".to_string(),
                client: Some(self.client),
                outcome: outcome.to_string(),
                duration: Some(self.started.elapsed()),
                ..Entry::default()
            })
            .map_err(|e| {
                tracing::error!(error = %e, "audit log not writable: sign-in refused");
                user_error(
                    "58030",
                    "journal d'audit indisponible: connexion refusée / audit log unavailable",
                )
            })
    }
}

#[async_trait]
impl StartupHandler for Startup {
    async fn on_startup<C>(&self, client: &mut C, message: PgWireFrontendMessage) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let is_password = matches!(message, PgWireFrontendMessage::PasswordMessageFamily(_));
        let user = client.metadata().get(METADATA_USER).cloned().unwrap_or_default();
        if is_password && self.server.limiter.blocked(&user, self.client.ip()) {
            self.audit(&user, "refusé: trop d'échecs")?;
            return Err(user_error(
                "28P01",
                "trop de tentatives échouées: réessayez dans une minute / too many failed sign-ins",
            ));
        }
        let result = self.inner.on_startup(client, message).await;
        let user = client.metadata().get(METADATA_USER).cloned().unwrap_or(user);
        match &result {
            Err(PgWireError::InvalidPassword(_)) | Err(PgWireError::InvalidScramMessage(_)) => {
                self.server.limiter.failed(&user, self.client.ip());
                self.audit(&user, "refusé: mot de passe")?;
                // pgwire's own message names no user (an empty one): say it plainly, French first.
                return Err(user_error(
                    "28P01",
                    format!("mot de passe refusé pour {user:?} / password authentication failed for user {user:?}"),
                ));
            }
            Ok(()) if is_password && matches!(client.state(), PgWireConnectionState::ReadyForQuery) => {
                // Signed in: the role may still not have SQL (then its verifier was random and
                // the proof failed above), so this is a real account with SQL.
                self.audit(&user, "ok")?;
            }
            _ => {}
        }
        result
    }
}

/// The account's session service of a connection and the publication stamp it was built on.
type SharedSession = Arc<Mutex<Option<(String, Arc<DfSessionService>)>>>;

/// The statements of one connection.
struct Queries {
    server: Arc<Server>,
    client: SocketAddr,
    /// The session service of the account, with the publication stamp it was built on; shared
    /// with the connection's extended-protocol parser.
    session: SharedSession,
}

/// What a statement is run as.
struct Caller {
    name: String,
    scope: Scope,
    role: String,
    service: Arc<DfSessionService>,
}

impl Queries {
    /// The account's session service, rebuilt when a new night has been published.
    async fn caller<C: ClientInfo + ?Sized>(&self, client: &C) -> PgWireResult<Caller> {
        let name = client.metadata().get(METADATA_USER).cloned().unwrap_or_default();
        let Some(account) = sql_account(&self.server, &name) else {
            return Err(user_error(
                "28000",
                "compte inconnu, expiré ou sans accès SQL / no SQL access",
            ));
        };
        let scope = Scope::of(&account);
        let stamp = self
            .server
            .catalog
            .warehouse
            .publication_stamp()
            .map_err(|e| PgWireError::ApiError(Box::new(e)))?;
        let cached = self.session.lock().ok().and_then(|s| {
            s.as_ref()
                .filter(|(st, _)| *st == stamp)
                .map(|(_, svc)| Arc::clone(svc))
        });
        let service = match cached {
            Some(s) => s,
            None => {
                let (mut ctx, _) = self
                    .server
                    .catalog
                    .session(&scope)
                    .await
                    .map_err(|e| PgWireError::ApiError(Box::new(e)))?;
                datafusion_postgres::datafusion_pg_catalog::setup_pg_catalog(&ctx, "datafusion", EmptyContextProvider)
                    .map_err(|e| PgWireError::ApiError(e))?;
                datafusion_postgres::datafusion_pg_functions::register_all(&mut ctx);
                let svc = Arc::new(DfSessionService::new(Arc::new(ctx)));
                if let Ok(mut s) = self.session.lock() {
                    *s = Some((stamp, Arc::clone(&svc)));
                }
                svc
            }
        };
        Ok(Caller {
            name,
            role: account.role.as_str().to_string(),
            scope,
            service,
        })
    }

    fn entry(&self, caller: &Caller, sql: &str) -> Entry {
        Entry {
            who: caller.name.clone(),
            role: caller.role.clone(),
            action: "sql",
            zone: caller.scope.label(),
            target: socle_warehouse::sql_target(sql),
            statement: Some(normalise_sql(sql)),
            client: Some(self.client),
            outcome: "ok".to_string(),
            ..Entry::default()
        }
    }

    /// Refuses anything but reads; the refusal is audited.
    fn guard(&self, caller: &Caller, sql: &str) -> PgWireResult<()> {
        if let Err(refusal) = socle_warehouse::check_read_only(sql) {
            let mut e = self.entry(caller, sql);
            e.outcome = format!("refusé: {}", refusal.kind());
            self.record(e)?;
            return Err(user_error("42501", refusal.to_string()));
        }
        Ok(())
    }

    fn record(&self, e: Entry) -> PgWireResult<()> {
        self.server.auditor.record(e).map_err(|e| {
            tracing::error!(error = %e, "audit log not writable: statement refused");
            user_error(
                "58030",
                "journal d'audit indisponible: requête refusée / audit log unavailable",
            )
        })
    }

    fn limits(&self) -> (Duration, usize) {
        let s = &self.server.access.current().settings;
        (
            Duration::from_secs(s.statement_timeout_seconds.max(1)),
            s.max_rows.max(1),
        )
    }

    /// Wraps a response: rows counted against the cap, the deadline enforced while rows are
    /// produced, and the audit line written when the result ends (or is dropped).
    fn watch(&self, response: Response, mut entry: Entry, started: Instant) -> PgWireResult<Response> {
        let (timeout, max_rows) = self.limits();
        match response {
            Response::Query(mut q) => {
                let deadline = tokio::time::Instant::from_std(started + timeout);
                let rows = std::mem::replace(&mut q.data_rows, Box::pin(futures::stream::empty()));
                entry.outcome = "ok".to_string();
                let guard = AuditOnDrop {
                    auditor: self.server.auditor.clone(),
                    entry: Some(entry),
                    started,
                };
                let stream = futures::stream::unfold(
                    (rows, guard, 0usize, false),
                    move |(mut rows, mut guard, n, done)| async move {
                        if done {
                            return None;
                        }
                        match tokio::time::timeout_at(deadline, rows.next()).await {
                            Err(_) => {
                                guard.outcome("refusé: délai dépassé");
                                Some((
                                    Err(user_error(
                                        "57014",
                                        format!(
                                            "requête annulée: plus de {} s / canceling statement due to statement timeout",
                                            timeout.as_secs()
                                        ),
                                    )),
                                    (rows, guard, n, true),
                                ))
                            }
                            Ok(None) => None,
                            Ok(Some(Ok(_))) if n >= max_rows => {
                                guard.outcome("refusé: trop de lignes");
                                Some((
                                    Err(user_error(
                                        "54000",
                                        format!(
                                            "résultat refusé: plus de {max_rows} lignes; ajoutez un filtre ou LIMIT / result exceeds {max_rows} rows"
                                        ),
                                    )),
                                    (rows, guard, n, true),
                                ))
                            }
                            Ok(Some(Ok(row))) => {
                                guard.rows(n + 1);
                                Some((Ok(row), (rows, guard, n + 1, false)))
                            }
                            Ok(Some(Err(e))) => {
                                guard.outcome("erreur");
                                Some((Err(e), (rows, guard, n, true)))
                            }
                        }
                    },
                );
                q.data_rows = Box::pin(stream);
                Ok(Response::Query(q))
            }
            other => {
                entry.duration = Some(started.elapsed());
                self.record(entry)?;
                Ok(other)
            }
        }
    }
}

/// Writes a statement's audit line when its result stream ends or is dropped (a client that
/// disconnects mid-result is still audited, with the rows sent so far).
struct AuditOnDrop {
    auditor: crate::audit::Auditor,
    entry: Option<Entry>,
    started: Instant,
}

impl AuditOnDrop {
    fn rows(&mut self, n: usize) {
        if let Some(e) = &mut self.entry {
            e.rows = n as u64;
        }
    }
    fn outcome(&mut self, o: &str) {
        if let Some(e) = &mut self.entry {
            e.outcome = o.to_string();
        }
    }
}

impl Drop for AuditOnDrop {
    fn drop(&mut self) {
        if let Some(mut e) = self.entry.take() {
            e.duration = Some(self.started.elapsed());
            if let Err(err) = self.auditor.record(e) {
                tracing::error!(error = %err, "audit log not writable after a statement");
            }
        }
    }
}

/// The statements of a simple query's text (for one audit line each), or the whole text.
fn split_statements(sql: &str) -> Vec<String> {
    match sqlparser::parser::Parser::parse_sql(&sqlparser::dialect::PostgreSqlDialect {}, sql) {
        Ok(s) if !s.is_empty() => s.iter().map(ToString::to_string).collect(),
        _ => vec![sql.to_string()],
    }
}

#[async_trait]
impl SimpleQueryHandler for Queries {
    async fn do_query<C>(&self, client: &mut C, query: &str) -> PgWireResult<Vec<Response>>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let started = Instant::now();
        let caller = self.caller(client).await?;
        // Every statement of the text is checked before any runs.
        self.guard(&caller, query)?;
        let (timeout, _) = self.limits();
        let planned = crate::compat::rewrite(query);
        let responses = match tokio::time::timeout(
            timeout,
            SimpleQueryHandler::do_query(caller.service.as_ref(), client, planned.as_ref()),
        )
        .await
        {
            Ok(r) => r,
            Err(_) => {
                let mut e = self.entry(&caller, query);
                e.outcome = "refusé: délai dépassé".to_string();
                self.record(e)?;
                return Err(user_error("57014", "canceling statement due to statement timeout"));
            }
        };
        let responses = match responses {
            Ok(r) => r,
            Err(err) => {
                let mut e = self.entry(&caller, query);
                e.outcome = "erreur".to_string();
                e.duration = Some(started.elapsed());
                self.record(e)?;
                return Err(err);
            }
        };
        let statements = split_statements(query);
        let mut out = Vec::with_capacity(responses.len());
        for (i, r) in responses.into_iter().enumerate() {
            let sql = if statements.len() > 1 {
                statements.get(i).map(String::as_str).unwrap_or(query)
            } else {
                query
            };
            out.push(self.watch(r, self.entry(&caller, sql), started)?);
        }
        Ok(out)
    }
}

/// The extended protocol's parser: the read-only guard before datafusion-postgres's parser.
struct GuardedParser {
    queries: Arc<Queries>,
}

#[async_trait]
impl QueryParser for GuardedParser {
    type Statement = Statement;

    async fn parse_sql<C>(&self, client: &C, sql: &str, types: &[Option<Type>]) -> PgWireResult<Option<Self::Statement>>
    where
        C: ClientInfo + Unpin + Send + Sync,
    {
        let caller = self.queries.caller(client).await?;
        self.queries.guard(&caller, sql)?;
        let planned = crate::compat::rewrite(sql);
        caller
            .service
            .query_parser()
            .parse_sql(client, planned.as_ref(), types)
            .await
    }

    fn get_parameter_types(&self, stmt: &Self::Statement) -> PgWireResult<Vec<Type>> {
        self.inner()?.get_parameter_types(stmt)
    }

    fn get_result_schema(
        &self,
        stmt: &Self::Statement,
        column_format: Option<&Format>,
    ) -> PgWireResult<Vec<FieldInfo>> {
        self.inner()?.get_result_schema(stmt, column_format)
    }
}

impl GuardedParser {
    /// The parser of the connection's current session (statements are already planned: the
    /// parser only reads their plans here).
    fn inner(&self) -> PgWireResult<Arc<datafusion_postgres::Parser>> {
        self.queries
            .session
            .lock()
            .ok()
            .and_then(|s| s.as_ref().map(|(_, svc)| svc.query_parser()))
            .ok_or_else(|| user_error("08003", "session SQL absente / no session"))
    }
}

#[async_trait]
impl ExtendedQueryHandler for Queries {
    type Statement = Statement;
    type QueryParser = GuardedParser;

    fn query_parser(&self) -> Arc<Self::QueryParser> {
        Arc::new(GuardedParser {
            queries: Arc::new(Queries {
                server: Arc::clone(&self.server),
                client: self.client,
                session: Arc::clone(&self.session),
            }),
        })
    }

    async fn do_describe_statement<C>(
        &self,
        client: &mut C,
        target: &StoredStatement<Self::Statement>,
    ) -> PgWireResult<DescribeStatementResponse>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let caller = self.caller(client).await?;
        caller.service.do_describe_statement(client, target).await
    }

    async fn do_describe_portal<C>(
        &self,
        client: &mut C,
        target: &Portal<Self::Statement>,
    ) -> PgWireResult<DescribePortalResponse>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let caller = self.caller(client).await?;
        caller.service.do_describe_portal(client, target).await
    }

    async fn do_query<C>(
        &self,
        client: &mut C,
        portal: &Portal<Self::Statement>,
        max_rows: usize,
    ) -> PgWireResult<Response>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let started = Instant::now();
        let caller = self.caller(client).await?;
        let sql = portal.statement.statement.0.clone();
        // Parsed through the guard already; checked again: a portal outlives a new night.
        self.guard(&caller, &sql)?;
        let (timeout, _) = self.limits();
        let response = match tokio::time::timeout(
            timeout,
            ExtendedQueryHandler::do_query(caller.service.as_ref(), client, portal, max_rows),
        )
        .await
        {
            Ok(r) => r,
            Err(_) => Err(user_error("57014", "canceling statement due to statement timeout")),
        };
        match response {
            Ok(r) => self.watch(r, self.entry(&caller, &sql), started),
            Err(err) => {
                let mut e = self.entry(&caller, &sql);
                e.outcome = "erreur".to_string();
                e.duration = Some(started.elapsed());
                self.record(e)?;
                Err(err)
            }
        }
    }
}
