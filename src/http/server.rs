//! The server: binds first (so port 0 works and callers learn the port), serves the routes,
//! and shuts down gracefully — in-flight requests get a grace period, sockets send 1001.

use std::net::SocketAddr;

use tokio::net::TcpListener;

use crate::{app::App, http::Edge};

/// A bound, not yet running server. Binding first lets callers learn the port (port 0).
pub struct Server {
    edge: Edge,
    listener: TcpListener,
}

impl Server {
    /// Binds the configured address.
    pub async fn bind(app: App) -> std::io::Result<Server> {
        let listener = TcpListener::bind(app.config.bind).await?;
        Ok(Server {
            edge: Edge::new(app),
            listener,
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `app.shutdown` is cancelled, then lets in-flight requests finish for
    /// at most the configured grace period.
    pub async fn run(self) -> std::io::Result<()> {
        let edge = self.edge.clone();
        let app = &edge.app;
        let token = app.shutdown.clone();
        let grace = app.config.shutdown_grace();
        if let Some(addr) = app.config.http.metrics_bind {
            let listener = TcpListener::bind(addr).await?;
            tracing::info!(%addr, "serving /metrics");
            let router = super::metrics_router(edge.clone());
            let token = token.clone();
            tokio::spawn(async move {
                let serve = axum::serve(listener, router)
                    .with_graceful_shutdown(async move { token.cancelled().await });
                if let Err(err) = serve.await {
                    tracing::error!(error = %err, "metrics listener failed");
                }
            });
        }
        let router = super::routes(edge.clone());
        let serve = axum::serve(
            self.listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown({
            let token = token.clone();
            async move { token.cancelled().await }
        });
        let serve = std::pin::pin!(async {
            let res = serve.into_future().await;
            // Upgraded sockets are not the HTTP server's any more: wait for them to send
            // their close frames (1001) before the process goes.
            edge.sockets.close();
            edge.sockets.wait().await;
            res
        });
        tokio::select! {
            res = serve => res,
            _ = async { token.cancelled().await; tokio::time::sleep(grace).await } => {
                tracing::warn!(?grace, "grace period over; dropping remaining connections");
                Ok(())
            }
        }
    }
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
