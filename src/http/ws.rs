//! `/graphql/ws`: graphql-transport-ws with our own authentication at `connection_init`.
//!
//! async-graphql-axum's `GraphQLWebSocket` closes a failed `connection_init` with 1002; the
//! protocol wants 4401/4403, so this is the same loop with our close codes, plus the
//! token's expiry and server shutdown ending the connection.

use std::sync::{
    Arc,
    atomic::{AtomicU16, Ordering},
};

use async_graphql::{
    Data,
    http::{WebSocketProtocols, WsMessage},
};
use std::net::SocketAddr;

use axum::{
    Extension,
    extract::{
        ConnectInfo, State, WebSocketUpgrade,
        ws::{CloseFrame, Message, WebSocket},
    },
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use futures_util::{SinkExt, StreamExt, future};

use crate::{
    error::AppError,
    graphql::loaders::Loaders,
    http::{Edge, admission::ClientIp, identity},
    metrics::Metrics,
};

/// Close code for a missing or invalid token.
pub const CLOSE_UNAUTHORIZED: u16 = 4401;
/// Close code for a subscription the viewer may not open.
pub const CLOSE_FORBIDDEN: u16 = 4403;
/// Close code when the server goes away.
pub const CLOSE_GOING_AWAY: u16 = 1001;

/// Upgrades to a WebSocket speaking graphql-transport-ws (or the legacy protocol).
pub async fn graphql_ws(
    State(edge): State<Edge>,
    headers: HeaderMap,
    connect_info: Option<Extension<ConnectInfo<SocketAddr>>>,
    upgrade: WebSocketUpgrade,
) -> Response {
    let ip = connect_info.map(|Extension(ConnectInfo(addr))| ClientIp(addr.ip()));
    use std::str::FromStr as _;
    let protocol = headers
        .get(header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.split(',')
                .find_map(|p| WebSocketProtocols::from_str(p.trim()).ok())
        });
    let Some(protocol) = protocol else {
        return (
            StatusCode::BAD_REQUEST,
            "Sec-WebSocket-Protocol must name graphql-transport-ws",
        )
            .into_response();
    };
    upgrade
        .protocols(async_graphql::http::ALL_WEBSOCKET_PROTOCOLS)
        // Small buffers: thousands of mostly idle subscribers per process.
        .read_buffer_size(1024)
        .write_buffer_size(0)
        .on_upgrade(move |socket| serve(edge, socket, protocol, ip))
}

async fn serve(edge: Edge, socket: WebSocket, protocol: WebSocketProtocols, ip: Option<ClientIp>) {
    let app = edge.app.clone();
    app.metrics.websocket(1);
    let _open = OpenSocket(app.metrics.clone());
    let _tracked = edge.sockets.token();
    let (mut sink, stream) = socket.split();
    let input = stream
        .take_while(|res| future::ready(res.is_ok()))
        .filter_map(|msg| {
            future::ready(match msg {
                Ok(m @ (Message::Text(_) | Message::Binary(_))) => Some(m.into_data()),
                _ => None,
            })
        });

    let refused = Arc::new(AtomicU16::new(0));
    // Seconds since the epoch when the viewer's token expires (0: anonymous, never).
    let expiry = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let init = {
        let (app, admission) = (app.clone(), edge.admission.clone());
        let (refused, expiry) = (refused.clone(), expiry.clone());
        move |payload: serde_json::Value| {
            let (app, admission) = (app.clone(), admission.clone());
            let (refused, expiry) = (refused.clone(), expiry.clone());
            async move {
                match identity::viewer_from_init(&app, &payload).await {
                    Ok(viewer) => {
                        if let Some(actor) = viewer.actor() {
                            expiry.store(actor.expires_at, Ordering::SeqCst);
                        }
                        let mut data = Data::default();
                        data.insert(Arc::new(Loaders::new(&app, &viewer)));
                        data.insert(viewer);
                        data.insert(app);
                        data.insert(admission);
                        if let Some(ip) = ip {
                            data.insert(ip);
                        }
                        Ok(data)
                    }
                    Err(err) => {
                        let code = match err {
                            AppError::Unauthenticated(_) => CLOSE_UNAUTHORIZED,
                            AppError::Forbidden(_) => CLOSE_FORBIDDEN,
                            _ => 1011,
                        };
                        refused.store(code, Ordering::SeqCst);
                        Err(err.into())
                    }
                }
            }
        }
    };
    let messages =
        async_graphql::http::WebSocket::new(edge.schemas.socket.clone(), input, protocol)
            .on_connection_init(init)
            .map(|msg| match msg {
                WsMessage::Text(text) => Message::Text(text.into()),
                WsMessage::Close(code, reason) => {
                    let mapped = refused.load(Ordering::SeqCst);
                    let code = if code == 1002 && mapped != 0 {
                        mapped
                    } else {
                        code
                    };
                    Message::Close(Some(CloseFrame {
                        code,
                        reason: reason.into(),
                    }))
                }
            });
    futures_util::pin_mut!(messages);

    let shutdown = app.shutdown.clone();
    loop {
        let expires = expiry.load(Ordering::SeqCst);
        let until_expiry = async {
            if expires == 0 {
                std::future::pending::<()>().await;
            }
            let now = jsonwebtoken::get_current_timestamp();
            tokio::time::sleep(std::time::Duration::from_secs(expires.saturating_sub(now))).await;
        };
        // Shutdown first: the socket closes with 1001 and subscriptions are not completed.
        let next = tokio::select! {
            biased;
            _ = shutdown.cancelled() => Some(close(CLOSE_GOING_AWAY, "server shutting down")),
            msg = messages.next() => msg,
            _ = until_expiry => Some(close(CLOSE_UNAUTHORIZED, "token expired")),
        };
        let Some(msg) = next else { break };
        let closing = matches!(msg, Message::Close(_));
        if sink.send(msg).await.is_err() || closing {
            break;
        }
    }
    let _ = sink.close().await;
}

/// Counts the socket as closed however `serve` ends.
struct OpenSocket(Arc<Metrics>);

impl Drop for OpenSocket {
    fn drop(&mut self) {
        self.0.websocket(-1);
    }
}

fn close(code: u16, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }))
}
