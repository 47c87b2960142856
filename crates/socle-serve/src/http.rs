//! The web listener's accept loop: TLS when configured, HTTP/1.1, the client's address given to
//! every request (audit lines, the sign-in limit).

use std::sync::Arc;

use axum::Extension;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use crate::server::Server;
use crate::web::{ClientAddr, router};

/// Serves the web page on `listener` until `stop` turns true.
pub async fn serve_web(
    server: Arc<Server>,
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    mut stop: watch::Receiver<bool>,
) {
    let app = router(server);
    loop {
        let (socket, addr) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "web: accept failed");
                    continue;
                }
            },
            _ = stop.changed() => break,
        };
        let service = TowerToHyperService::new(app.clone().layer(Extension(ClientAddr(addr))));
        let tls = tls.clone();
        tokio::spawn(async move {
            let http = hyper::server::conn::http1::Builder::new();
            let result = match tls {
                Some(acceptor) => match acceptor.accept(socket).await {
                    Ok(stream) => http.serve_connection(TokioIo::new(stream), service).await,
                    Err(e) => {
                        tracing::debug!(error = %e, %addr, "web: TLS handshake failed");
                        return;
                    }
                },
                None => http.serve_connection(TokioIo::new(socket), service).await,
            };
            if let Err(e) = result {
                tracing::debug!(error = %e, %addr, "web: connection ended with an error");
            }
        });
    }
}
