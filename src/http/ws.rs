//! `/graphql/ws`: graphql-transport-ws with our own authentication at `connection_init`.
//!
//! async-graphql-axum's `GraphQLWebSocket` closes a failed `connection_init` with 1002; the
//! protocol wants 4401/4403, so this is the same loop with our close codes, plus the
//! token's expiry and server shutdown ending the connection.

use std::{
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicU16, AtomicU64, Ordering},
    },
    time::{Duration, SystemTime},
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
use futures_util::{Sink, SinkExt, Stream, StreamExt, future};
use tokio::time::Sleep;
use tokio_util::sync::CancellationToken;

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
    // The second (since the epoch) from which the viewer's token is refused; anonymous: never.
    let expiry = Arc::new(AtomicU64::new(NEVER));
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
                            let from = app.keys.refused_from(actor.expires_at);
                            expiry.store(from, Ordering::SeqCst);
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

    pump(
        messages,
        &mut sink,
        &expiry,
        &app.shutdown,
        jsonwebtoken::get_current_timestamp,
    )
    .await;
    let _ = sink.close().await;
}

/// Sends what the connection produces until it ends, the server shuts down, or the token
/// expires (`expiry`: the second it is refused from, by `now`, the wall clock in seconds).
async fn pump<K: Sink<Message> + Unpin>(
    messages: impl Stream<Item = Message>,
    sink: &mut K,
    expiry: &AtomicU64,
    shutdown: &CancellationToken,
    now: impl Fn() -> u64,
) {
    futures_util::pin_mut!(messages);
    // Armed once `connection_init` has told us the token's expiry.
    let mut timer: Option<Pin<Box<Sleep>>> = None;
    loop {
        let deadline = expiry.load(Ordering::SeqCst);
        if timer.is_none()
            && deadline != NEVER
            && let Some(wait) = until(deadline)
        {
            timer = Some(Box::pin(tokio::time::sleep(wait)));
        }
        // Shutdown first: the socket closes with 1001 and subscriptions are not completed.
        let step = tokio::select! {
            biased;
            _ = shutdown.cancelled() => Step::Send(close(CLOSE_GOING_AWAY, "server shutting down")),
            msg = messages.next() => msg.map_or(Step::End, Step::Send),
            // Reached only while no message is ready: an idle socket closes on time.
            _ = async {
                match timer.as_mut() {
                    Some(t) => t.as_mut().await,
                    None => std::future::pending().await,
                }
            } => Step::Expired,
        };
        let msg = match step {
            Step::End => break,
            Step::Send(msg) => msg,
            Step::Expired if now() >= deadline => close(CLOSE_UNAUTHORIZED, "token expired"),
            // The timer runs on the monotonic clock, the token on the wall clock: if they
            // disagree, wait again.
            Step::Expired => {
                timer = None;
                continue;
            }
        };
        // Checked before every send, not only by the timer: a replay keeps `messages`
        // ready, and the biased select would never reach the timer while it streams.
        let msg = match msg {
            Message::Close(_) => msg,
            _ if now() >= expiry.load(Ordering::SeqCst) => {
                close(CLOSE_UNAUTHORIZED, "token expired")
            }
            _ => msg,
        };
        let closing = matches!(msg, Message::Close(_));
        if sink.send(msg).await.is_err() || closing {
            break;
        }
    }
}

/// `deadline` for a socket whose viewer has no token to expire.
const NEVER: u64 = u64::MAX;

/// What the socket loop does next.
enum Step {
    Send(Message),
    Expired,
    End,
}

/// Time until the wall clock reaches `deadline` (seconds since the epoch), zero if it has;
/// `None` if the clock cannot reach it (a token that, in effect, never expires).
fn until(deadline: u64) -> Option<Duration> {
    let at = SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(deadline))?;
    Some(at.duration_since(SystemTime::now()).unwrap_or_default())
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

#[cfg(test)]
mod tests {
    use super::*;

    use std::sync::atomic::AtomicUsize;

    /// A stream that is always ready (a replay) still stops at the expiry: the clock is read
    /// before every send, so the sixth message, the first after it, becomes a 4401 close.
    #[tokio::test]
    async fn an_always_ready_stream_stops_at_the_expiry() {
        let deadline = jsonwebtoken::get_current_timestamp() + 3600;
        let expiry = AtomicU64::new(deadline);
        let reads = AtomicUsize::new(0);
        let now = || {
            if reads.fetch_add(1, Ordering::SeqCst) < 5 {
                deadline - 1
            } else {
                deadline
            }
        };
        let messages = futures_util::stream::repeat_with(|| Message::Text("{}".into())).take(100);
        let mut sent: Vec<Message> = Vec::new();
        pump(messages, &mut sent, &expiry, &CancellationToken::new(), now).await;
        assert_eq!(sent.len(), 6, "{sent:?}");
        assert!(sent[..5].iter().all(|m| matches!(m, Message::Text(_))));
        assert!(
            matches!(&sent[5], Message::Close(Some(f)) if f.code == CLOSE_UNAUTHORIZED),
            "{:?}",
            sent[5]
        );
    }

    /// Without a token nothing expires, and a closing message ends the loop.
    #[tokio::test]
    async fn without_a_token_everything_is_sent_until_the_close() {
        let expiry = AtomicU64::new(NEVER);
        let messages = futures_util::stream::iter([
            Message::Text("a".into()),
            close(1000, "bye"),
            Message::Text("never".into()),
        ]);
        let mut sent: Vec<Message> = Vec::new();
        pump(
            messages,
            &mut sent,
            &expiry,
            &CancellationToken::new(),
            || u64::MAX - 1,
        )
        .await;
        assert_eq!(sent.len(), 2, "{sent:?}");
    }
}
