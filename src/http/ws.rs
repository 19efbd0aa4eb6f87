//! `/graphql/ws`: graphql-transport-ws with our own authentication at `connection_init`.
//!
//! async-graphql-axum's `GraphQLWebSocket` closes a failed `connection_init` with 1002; the
//! protocol wants 4401/4403, so this is the same loop with our close codes, plus the
//! token's expiry and server shutdown ending the connection, and the socket limits: per
//! address at the upgrade (HTTP 429), per user at `connection_init` (close 4429), and per
//! socket for each `subscribe` (an `error` message for that operation alone).

use std::{
    net::SocketAddr,
    pin::Pin,
    sync::{
        Arc, OnceLock,
        atomic::{AtomicU16, AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, SystemTime},
};

use async_graphql::{
    Data,
    http::{ClientMessage, WebSocketProtocols, WsMessage},
};

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
use serde_json::json;
use tokio::{
    sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel},
    time::Sleep,
};
use tokio_util::sync::CancellationToken;

use crate::{
    error::{AppError, ErrorCode},
    graphql::loaders::Loaders,
    http::{
        Edge,
        admission::{ClientIp, Limit, LimitExceeded},
        identity,
    },
    metrics::Metrics,
    ratelimit::{Caller, SocketSlot, TooManySockets},
};

/// Close code for a missing or invalid token.
pub const CLOSE_UNAUTHORIZED: u16 = 4401;
/// Close code for a subscription the viewer may not open.
pub const CLOSE_FORBIDDEN: u16 = 4403;
/// Close code when the server goes away.
pub const CLOSE_GOING_AWAY: u16 = 1001;
/// Close code for a user over their socket limit (graphql-transport-ws's "too many").
pub const CLOSE_TOO_MANY: u16 = 4429;

/// `Retry-After` on an upgrade refused for its address. A slot frees whenever any socket
/// from that address closes, which cannot be foreseen: this spaces retries out without
/// keeping a person waiting long.
const RETRY_AFTER_SECS: u64 = 10;

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
    // Refused before the upgrade rather than closed after it: the address is known now, a
    // refusal holds no socket, task or buffers, and a client's reconnect logic treats a
    // failed handshake as worth retrying (graphql-ws never retries after a 4429 close),
    // which suits a limit other people's sockets may be filling.
    let address_slot = match ip.map(|ip| edge.app.open_sockets.open(Caller::Ip(ip.0))) {
        Some(Err(TooManySockets { max })) => {
            edge.app.metrics.refused(Limit::SocketsPerAddress.as_str());
            return too_many_from_address(&over(Limit::SocketsPerAddress, max));
        }
        Some(Ok(slot)) => slot,
        None => None,
    };
    upgrade
        .protocols(async_graphql::http::ALL_WEBSOCKET_PROTOCOLS)
        // Small buffers: thousands of mostly idle subscribers per process.
        .read_buffer_size(1024)
        .write_buffer_size(0)
        // An upgrade that never completes drops this closure, and the slot with it.
        .on_upgrade(move |socket| serve(edge, socket, protocol, ip, address_slot))
}

async fn serve(
    edge: Edge,
    socket: WebSocket,
    protocol: WebSocketProtocols,
    ip: Option<ClientIp>,
    address_slot: Option<SocketSlot>,
) {
    let app = edge.app.clone();
    app.metrics.websocket(1);
    let _open = OpenSocket(app.metrics.clone());
    let _tracked = edge.sockets.token();
    // Held until `serve` returns, however the socket ends.
    let _address_slot = address_slot;
    let user_slot: Arc<OnceLock<SocketSlot>> = Arc::default();
    let (mut sink, stream) = socket.split();
    let (refuse, mut refusals) = unbounded_channel();
    let operations = Operations {
        running: Arc::default(),
        max: app.config.sockets.max_subscriptions_per_socket,
        protocol,
        refuse,
        metrics: app.metrics.clone(),
    };
    let input = stream
        .take_while(|res| future::ready(res.is_ok()))
        .filter_map(move |msg| {
            future::ready(match msg {
                Ok(m @ (Message::Text(_) | Message::Binary(_))) => {
                    operations.admit(ClientMessage::from_bytes(m.into_data()))
                }
                _ => None,
            })
        });

    let refused = Arc::new(AtomicU16::new(0));
    // The second (since the epoch) from which the viewer's token is refused; anonymous: never.
    let expiry = Arc::new(AtomicU64::new(NEVER));
    let init = {
        let (app, admission) = (app.clone(), edge.admission.clone());
        let (refused, expiry, user_slot) = (refused.clone(), expiry.clone(), user_slot.clone());
        move |payload: serde_json::Value| {
            let (app, admission) = (app.clone(), admission.clone());
            let (refused, expiry) = (refused.clone(), expiry.clone());
            async move {
                match identity::viewer_from_init(&app, &payload).await {
                    Ok(viewer) => {
                        if let Some(actor) = viewer.actor() {
                            match app.open_sockets.open(Caller::User(actor.id)) {
                                Ok(slot) => {
                                    if let Some(slot) = slot {
                                        let _ = user_slot.set(slot);
                                    }
                                }
                                Err(TooManySockets { max }) => {
                                    app.metrics.refused(Limit::SocketsPerUser.as_str());
                                    refused.store(CLOSE_TOO_MANY, Ordering::SeqCst);
                                    // The close frame's reason: the limit, in words.
                                    let over = over(Limit::SocketsPerUser, max);
                                    return Err(async_graphql::Error::new(over.to_string()));
                                }
                            }
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
    let messages = async_graphql::http::WebSocket::from_message_stream(
        edge.schemas.socket.clone(),
        input,
        protocol,
    )
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
        &mut refusals,
        &mut sink,
        &expiry,
        &app.shutdown,
        jsonwebtoken::get_current_timestamp,
    )
    .await;
    let _ = sink.close().await;
}

/// Sends what the connection produces (and the operations refused beside it) until it
/// ends, the server shuts down, or the token expires (`expiry`: the second it is refused
/// from, by `now`, the wall clock in seconds).
async fn pump<K: Sink<Message> + Unpin>(
    messages: impl Stream<Item = Message>,
    refusals: &mut UnboundedReceiver<Message>,
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
            Some(msg) = refusals.recv() => Step::Send(msg),
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

/// The operations running on one socket, against the per-socket limit.
struct Operations {
    running: Arc<AtomicUsize>,
    /// 0: no limit.
    max: usize,
    protocol: WebSocketProtocols,
    /// Where refusals go, to be sent beside what async-graphql sends.
    refuse: UnboundedSender<Message>,
    metrics: Arc<Metrics>,
}

/// One running operation's place, kept in its request's data: async-graphql drops that
/// with the operation's stream, so the place frees when the client completes it, when it
/// ends by itself (a query answered, a subscription failed), or with the socket.
struct OperationSlot(Arc<AtomicUsize>);

impl Drop for OperationSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Operations {
    /// Passes a client message on to async-graphql, unless it starts an operation the
    /// socket has no room for: that one gets an `error` message of its own instead, and
    /// the socket and its other operations carry on. (A `subscribe` reusing a running id
    /// counts as another operation, though async-graphql would replace the running one.)
    fn admit(
        &self,
        msg: serde_json::Result<ClientMessage>,
    ) -> Option<serde_json::Result<ClientMessage>> {
        let Ok(ClientMessage::Start { id, mut payload }) = msg else {
            return Some(msg);
        };
        let running = self.running.load(Ordering::SeqCst);
        if self.max > 0 && running >= self.max {
            self.metrics.refused(Limit::Subscriptions.as_str());
            let over = over(Limit::Subscriptions, self.max);
            let _ = self.refuse.send(refusal(self.protocol, &id, &over));
            return None;
        }
        self.running.fetch_add(1, Ordering::SeqCst);
        payload.data.insert(OperationSlot(self.running.clone()));
        Some(Ok(ClientMessage::Start { id, payload }))
    }
}

/// A socket limit of `max`, asked for one more.
fn over(limit: Limit, max: usize) -> LimitExceeded {
    LimitExceeded {
        limit,
        max,
        actual: max.saturating_add(1),
    }
}

/// A socket limit's refusal as a GraphQL error: `RATE_LIMITED` (too many at once, not a bad
/// request), naming the limit as the cost limits do.
fn limit_error(over: &LimitExceeded) -> serde_json::Value {
    json!({
        "message": over.to_string(),
        "extensions": {
            "code": ErrorCode::RateLimited.as_str(),
            "limit": over.limit.as_str(),
            "max": over.max,
            "actual": over.actual,
        },
    })
}

/// The `error` message refusing operation `id`: graphql-transport-ws sends a list of
/// errors, the legacy protocol one error.
fn refusal(protocol: WebSocketProtocols, id: &str, over: &LimitExceeded) -> Message {
    let payload = match protocol {
        WebSocketProtocols::GraphQLWS => json!([limit_error(over)]),
        WebSocketProtocols::SubscriptionsTransportWS => limit_error(over),
    };
    let msg = json!({ "type": "error", "id": id, "payload": payload });
    Message::Text(msg.to_string().into())
}

/// HTTP 429 for an upgrade refused for its address, with a GraphQL error body.
fn too_many_from_address(over: &LimitExceeded) -> Response {
    let body = json!({ "errors": [limit_error(over)] });
    (
        StatusCode::TOO_MANY_REQUESTS,
        [
            (
                header::CONTENT_TYPE,
                "application/json; charset=utf-8".to_owned(),
            ),
            (header::RETRY_AFTER, RETRY_AFTER_SECS.to_string()),
        ],
        body.to_string(),
    )
        .into_response()
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
        let (_refuse, mut refusals) = unbounded_channel();
        let shutdown = CancellationToken::new();
        pump(messages, &mut refusals, &mut sent, &expiry, &shutdown, now).await;
        assert_eq!(sent.len(), 6, "{sent:?}");
        assert!(sent[..5].iter().all(|m| matches!(m, Message::Text(_))));
        assert!(
            matches!(&sent[5], Message::Close(Some(f)) if f.code == CLOSE_UNAUTHORIZED),
            "{:?}",
            sent[5]
        );
    }

    /// Without a token nothing expires; refused operations go out beside the stream; a
    /// closing message ends the loop.
    #[tokio::test]
    async fn refusals_go_out_beside_the_stream_until_the_close() {
        let expiry = AtomicU64::new(NEVER);
        let messages = futures_util::stream::iter([
            Message::Text("a".into()),
            close(1000, "bye"),
            Message::Text("never".into()),
        ]);
        let (refuse, mut refusals) = unbounded_channel();
        refuse.send(Message::Text("refused".into())).unwrap();
        let mut sent: Vec<Message> = Vec::new();
        let shutdown = CancellationToken::new();
        let never = || u64::MAX - 1;
        pump(
            messages,
            &mut refusals,
            &mut sent,
            &expiry,
            &shutdown,
            never,
        )
        .await;
        let texts: Vec<_> = sent
            .iter()
            .map(|m| match m {
                Message::Text(t) => t.to_string(),
                Message::Close(Some(f)) => format!("close {}", f.code),
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!(texts, ["refused", "a", "close 1000"]);
    }
}
