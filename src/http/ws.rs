//! `/graphql/ws`: graphql-transport-ws (and the legacy graphql-ws) with our own
//! authentication at `connection_init`.
//!
//! Our own loop rather than async-graphql's `WebSocket`: that one closes a failed
//! `connection_init` with 1002 where the protocol wants 4401/4403, and runs every
//! subscription as a stream of its own, where a subscription that only goes live is served
//! here from the process's shared live stream (`graphql::live`). Operations themselves still
//! run on the schema (admission and error codes ride along as extensions). Beside the
//! protocol: the token's expiry and server shutdown end the connection, and the socket
//! limits apply: per address at the upgrade (HTTP 429), per user at `connection_init` (close
//! 4429), and per socket for each `subscribe` (an `error` message for that operation alone).

use std::{
    collections::HashMap,
    net::SocketAddr,
    pin::Pin,
    sync::Arc,
    time::{Duration, SystemTime},
};

use async_graphql::{
    Data, Request, Variables,
    http::{ClientMessage, WebSocketProtocols},
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
use futures_util::{
    SinkExt, StreamExt,
    stream::{AbortHandle, Abortable, BoxStream, SelectAll},
};
use serde_json::json;
use tokio::time::Sleep;

use crate::{
    auth::Viewer,
    error::{AppError, ErrorCode},
    graphql::{
        live::{Frame, Outbox, Subscribe},
        loaders::Loaders,
        subscription::{Plan, Planned},
    },
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
    edge.app.metrics.websocket(1);
    let _open = OpenSocket(edge.app.metrics.clone());
    let _tracked = edge.sockets.token();
    let mut conn = Connection {
        edge: &edge,
        protocol,
        ip,
        init_seen: false,
        viewer: None,
        expiry: NEVER,
        _address_slot: address_slot,
        _user_slot: None,
        ops: HashMap::new(),
        streams: None,
        live: Vec::new(),
        outbox: Arc::default(),
    };
    conn.run(socket).await;
}

/// One socket's state: who it is, and its running operations.
struct Connection<'e> {
    edge: &'e Edge,
    protocol: WebSocketProtocols,
    ip: Option<ClientIp>,
    init_seen: bool,
    /// Set once `connection_init` has been accepted.
    viewer: Option<Viewer>,
    /// The second (since the epoch) from which the viewer's token is refused; anonymous:
    /// never.
    expiry: u64,
    // Held until the socket ends, however it ends.
    _address_slot: Option<SocketSlot>,
    _user_slot: Option<SocketSlot>,
    /// Operations running as streams of their own (queries, mutations, replays, and
    /// subscriptions while they start), by id.
    ops: HashMap<String, Op>,
    /// Their streams; `None` while there are none, so an idle socket holds nothing here.
    streams: Option<SelectAll<Abortable<BoxStream<'static, OpItem>>>>,
    /// Subscriptions on the shared live stream: (operation id, its id there).
    live: Vec<(String, u64)>,
    /// What the shared live stream has for this socket.
    outbox: Arc<Outbox>,
}

struct Op {
    abort: AbortHandle,
    /// Where a subscription that only goes live says so.
    plan: Plan,
    /// The request's document, for the shared live stream to render.
    query: String,
    operation_name: Option<String>,
    variables: Variables,
}

enum OpItem {
    Response(String, Box<async_graphql::Response>),
    Ended(String),
}

/// What the socket loop does next.
enum Step {
    Client(Message),
    Outbox,
    Op(OpItem),
    Expired,
    Close(u16, String),
    End,
}

/// Why a socket stops after handling a message.
enum Stop {
    /// With this close frame.
    Close(u16, String),
    /// The client is gone, or asked to end.
    Quiet,
}

type Flow = Result<(), Stop>;

impl Connection<'_> {
    async fn run(&mut self, mut socket: WebSocket) {
        let shutdown = self.edge.app.shutdown.clone();
        // Armed once `connection_init` has told us the token's expiry.
        let mut timer: Option<Pin<Box<Sleep>>> = None;
        loop {
            if timer.is_none()
                && self.expiry != NEVER
                && let Some(wait) = until(self.expiry)
            {
                timer = Some(Box::pin(tokio::time::sleep(wait)));
            }
            // Shutdown first: the socket closes with 1001 and subscriptions are not completed.
            let step = tokio::select! {
                biased;
                _ = shutdown.cancelled() => {
                    Step::Close(CLOSE_GOING_AWAY, "server shutting down".into())
                }
                msg = socket.next() => match msg {
                    Some(Ok(msg)) => Step::Client(msg),
                    _ => Step::End,
                },
                _ = self.outbox.ready() => Step::Outbox,
                Some(item) = next_item(&mut self.streams) => Step::Op(item),
                // Reached only while nothing else is ready: an idle socket closes on time.
                _ = async {
                    match timer.as_mut() {
                        Some(t) => t.as_mut().await,
                        None => std::future::pending().await,
                    }
                } => Step::Expired,
            };
            let flow = match step {
                Step::End => Err(Stop::Quiet),
                Step::Close(code, reason) => Err(Stop::Close(code, reason)),
                Step::Expired if now() >= self.expiry => {
                    Err(Stop::Close(CLOSE_UNAUTHORIZED, "token expired".into()))
                }
                // The timer runs on the monotonic clock, the token on the wall clock: if they
                // disagree, wait again.
                Step::Expired => {
                    timer = None;
                    Ok(())
                }
                // Each handler boxed: its state (the largest, `connection_init` and
                // `subscribe`, several KB) then lives only while it runs, and what an idle
                // socket's task keeps is the loop above. One allocation per message or
                // event is nothing beside serializing it.
                Step::Client(Message::Text(text)) => {
                    Box::pin(self.client(&mut socket, text.as_bytes())).await
                }
                Step::Client(Message::Binary(bytes)) => {
                    Box::pin(self.client(&mut socket, &bytes)).await
                }
                // Pings are answered and closes acknowledged by the WebSocket layer.
                Step::Client(_) => Ok(()),
                Step::Outbox => Box::pin(self.deliver(&mut socket)).await,
                Step::Op(item) => Box::pin(self.op_item(&mut socket, item)).await,
            };
            if let Err(stop) = flow {
                if let Stop::Close(code, reason) = stop {
                    let _ = socket.send(close(code, reason)).await;
                }
                break;
            }
        }
        for (_, sub) in self.live.drain(..) {
            self.edge.live.unsubscribe(sub);
        }
        let _ = socket.close().await;
    }

    async fn client(&mut self, socket: &mut WebSocket, bytes: &[u8]) -> Flow {
        let msg = match ClientMessage::from_bytes(bytes) {
            Ok(msg) => msg,
            Err(err) => return Err(Stop::Close(1002, err.to_string())),
        };
        match msg {
            ClientMessage::ConnectionInit { payload } => {
                if self.init_seen {
                    let why = "Too many initialisation requests.".to_owned();
                    return refuse_init(socket, self.protocol, CLOSE_TOO_MANY, why).await;
                }
                self.init_seen = true;
                self.init(socket, payload.unwrap_or_default()).await
            }
            ClientMessage::Start { id, payload } => self.start(socket, id, payload).await,
            ClientMessage::Stop { id } => {
                if let Some(op) = self.ops.remove(&id) {
                    op.abort.abort();
                } else if let Some(at) = self.live.iter().position(|(op, _)| *op == id) {
                    let (_, sub) = self.live.swap_remove(at);
                    self.edge.live.unsubscribe(sub);
                } else {
                    return Ok(());
                }
                send(socket, self.expiry, complete(&id)).await
            }
            ClientMessage::ConnectionTerminate => Err(Stop::Quiet),
            ClientMessage::Ping { .. } => {
                send(socket, self.expiry, json!({ "type": "pong" }).to_string()).await
            }
            ClientMessage::Pong { .. } => Ok(()),
        }
    }

    async fn init(&mut self, socket: &mut WebSocket, payload: serde_json::Value) -> Flow {
        let app = &self.edge.app;
        // Boxed: provisioning's state is large, and the loop's future lives as long as the
        // socket.
        let viewer = match Box::pin(identity::viewer_from_init(app, &payload)).await {
            Ok(viewer) => viewer,
            Err(err) => {
                let code = match err {
                    AppError::Unauthenticated(_) => CLOSE_UNAUTHORIZED,
                    AppError::Forbidden(_) => CLOSE_FORBIDDEN,
                    _ => 1011,
                };
                let err: async_graphql::Error = err.into();
                return refuse_init(socket, self.protocol, code, err.message).await;
            }
        };
        if let Some(actor) = viewer.actor() {
            match app.open_sockets.open(Caller::User(actor.id)) {
                Ok(slot) => self._user_slot = slot,
                Err(TooManySockets { max }) => {
                    app.metrics.refused(Limit::SocketsPerUser.as_str());
                    // The close frame's reason: the limit, in words.
                    let over = over(Limit::SocketsPerUser, max);
                    return refuse_init(socket, self.protocol, CLOSE_TOO_MANY, over.to_string())
                        .await;
                }
            }
            self.expiry = app.keys.refused_from(actor.expires_at);
        }
        self.viewer = Some(viewer);
        send(
            socket,
            self.expiry,
            json!({ "type": "connection_ack" }).to_string(),
        )
        .await
    }

    /// Starts operation `id`; one the socket has no room for gets an `error` message of its
    /// own, and the socket and its other operations carry on. A `subscribe` reusing a
    /// running id replaces that operation.
    async fn start(&mut self, socket: &mut WebSocket, id: String, mut request: Request) -> Flow {
        let Some(viewer) = self.viewer.clone() else {
            return Err(Stop::Close(1011, "The handshake is not completed.".into()));
        };
        let app = &self.edge.app;
        let max = app.config.sockets.max_subscriptions_per_socket;
        if max > 0 && self.ops.len() + self.live.len() >= max {
            app.metrics.refused(Limit::Subscriptions.as_str());
            let over = over(Limit::Subscriptions, max);
            return socket
                .send(refusal(self.protocol, &id, &over))
                .await
                .map_err(|_| Stop::Quiet);
        }
        if let Some(op) = self.ops.remove(&id) {
            op.abort.abort();
        }
        if let Some(at) = self.live.iter().position(|(op, _)| *op == id) {
            let (_, sub) = self.live.swap_remove(at);
            self.edge.live.unsubscribe(sub);
        }
        let plan = Plan::default();
        let (query, operation_name, variables) = (
            request.query.clone(),
            request.operation_name.clone(),
            request.variables.clone(),
        );
        request.data.insert(plan.clone());
        let mut data = Data::default();
        data.insert(Arc::new(Loaders::new(app, &viewer)));
        data.insert(viewer);
        data.insert(app.clone());
        data.insert(self.edge.admission.clone());
        if let Some(ip) = self.ip {
            data.insert(ip);
        }
        let responses = self
            .edge
            .schemas
            .socket
            .execute_stream_with_session_data(request, Arc::new(data));
        let (tagged, ended) = (id.clone(), id.clone());
        let items = responses
            .map(move |r| OpItem::Response(tagged.clone(), Box::new(r)))
            .chain(futures_util::stream::once(
                async move { OpItem::Ended(ended) },
            ))
            .boxed();
        let (abort, registration) = AbortHandle::new_pair();
        self.streams
            .get_or_insert_with(SelectAll::new)
            .push(Abortable::new(items, registration));
        self.ops.insert(
            id,
            Op {
                abort,
                plan,
                query,
                operation_name,
                variables,
            },
        );
        Ok(())
    }

    async fn op_item(&mut self, socket: &mut WebSocket, item: OpItem) -> Flow {
        let flow = match item {
            OpItem::Response(id, response) if self.ops.contains_key(&id) => {
                let payload = serde_json::to_string(&response).unwrap_or_default();
                send(socket, self.expiry, next(self.protocol, &id, &payload)).await
            }
            OpItem::Response(..) => Ok(()),
            OpItem::Ended(id) => match self.ops.remove(&id) {
                Some(op) => match (op.plan.taken(), &self.viewer) {
                    (Some(Planned::Live(interest)), Some(viewer)) => {
                        let subscribe = Subscribe {
                            viewer: viewer.clone(),
                            interest,
                            query: op.query,
                            operation_name: op.operation_name,
                            variables: op.variables,
                            outbox: self.outbox.clone(),
                        };
                        match Box::pin(self.edge.live.subscribe(subscribe)).await {
                            Ok(sub) => {
                                self.live.push((id, sub));
                                Ok(())
                            }
                            Err(err) => {
                                let err: async_graphql::Error = err.into();
                                let response = async_graphql::Response::from_errors(vec![
                                    err.into_server_error(Default::default()),
                                ]);
                                let payload = serde_json::to_string(&response).unwrap_or_default();
                                send(socket, self.expiry, next(self.protocol, &id, &payload))
                                    .await?;
                                send(socket, self.expiry, complete(&id)).await
                            }
                        }
                    }
                    _ => send(socket, self.expiry, complete(&id)).await,
                },
                None => Ok(()),
            },
        };
        if self.ops.is_empty() {
            self.streams = None;
        }
        flow
    }

    /// Sends what the shared live stream queued for this socket's subscriptions.
    async fn deliver(&mut self, socket: &mut WebSocket) -> Flow {
        while let Some(frame) = self.outbox.pop() {
            match frame {
                Frame::Next { sub, payload } => {
                    if let Some((id, _)) = self.live.iter().find(|(_, s)| *s == sub) {
                        send(socket, self.expiry, next(self.protocol, id, &payload)).await?;
                    }
                }
                Frame::End { sub, payload } => {
                    if let Some(at) = self.live.iter().position(|(_, s)| *s == sub) {
                        let (id, _) = self.live.swap_remove(at);
                        send(socket, self.expiry, next(self.protocol, &id, &payload)).await?;
                        send(socket, self.expiry, complete(&id)).await?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// Sends a text message, unless the token has expired (`expiry`): checked before every
/// send, not only by the timer, since a replay keeps the loop busy and the timer unreached.
async fn send(socket: &mut WebSocket, expiry: u64, text: String) -> Flow {
    if now() >= expiry {
        return Err(Stop::Close(CLOSE_UNAUTHORIZED, "token expired".into()));
    }
    socket
        .send(Message::Text(text.into()))
        .await
        .map_err(|_| Stop::Quiet)
}

/// Refuses the connection's start (or a second one): graphql-transport-ws closes with
/// `code`; the legacy protocol sends `connection_error` and ends.
async fn refuse_init(
    socket: &mut WebSocket,
    protocol: WebSocketProtocols,
    code: u16,
    message: String,
) -> Flow {
    match protocol {
        WebSocketProtocols::GraphQLWS => Err(Stop::Close(code, message)),
        WebSocketProtocols::SubscriptionsTransportWS => {
            let msg = json!({ "type": "connection_error", "payload": { "message": message } });
            let _ = socket.send(Message::Text(msg.to_string().into())).await;
            Err(Stop::Quiet)
        }
    }
}

/// The next item of any running operation; pending while none runs.
async fn next_item(
    streams: &mut Option<SelectAll<Abortable<BoxStream<'static, OpItem>>>>,
) -> Option<OpItem> {
    match streams {
        Some(streams) if !streams.is_empty() => streams.next().await,
        _ => std::future::pending().await,
    }
}

/// A result for operation `id`: `payload` is a serialized GraphQL response.
fn next(protocol: WebSocketProtocols, id: &str, payload: &str) -> String {
    let kind = match protocol {
        WebSocketProtocols::GraphQLWS => "next",
        WebSocketProtocols::SubscriptionsTransportWS => "data",
    };
    let id = serde_json::to_string(id).unwrap_or_default();
    format!(r#"{{"type":"{kind}","id":{id},"payload":{payload}}}"#)
}

fn complete(id: &str) -> String {
    json!({ "type": "complete", "id": id }).to_string()
}

/// The wall clock, in seconds since the epoch (what token expiry is stated in).
fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
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

fn close(code: u16, reason: impl Into<String>) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: reason.into().into(),
    }))
}
