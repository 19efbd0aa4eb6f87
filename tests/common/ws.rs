//! A graphql-transport-ws client over a real WebSocket, for the subscription tests.

use std::net::SocketAddr;

use serde_json::{Value, json};

use super::{TestApp, User};

/// A graphql-transport-ws client over a real WebSocket.
pub struct Ws {
    socket: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
}

/// How a WebSocket session ended or what it produced next.
#[derive(Debug)]
pub enum WsEvent {
    /// A `next` payload for subscription `id`.
    Next(String, Value),
    /// An `error` message for subscription `id`.
    Error(String, Value),
    /// `complete` for subscription `id`.
    Complete(String),
    /// The server closed the socket with this code.
    Closed(u16),
}

impl TestApp {
    /// Opens `/graphql/ws` and sends `connection_init` with this payload; does not wait for
    /// the ack (see [`Ws::ack`]).
    pub async fn ws_raw(&self, init: Value) -> Ws {
        connect_ws(self.addr, init).await
    }

    /// Opens a WebSocket as `user` (or anonymously) and waits for `connection_ack`.
    pub async fn ws(&self, user: Option<&User>) -> Ws {
        let init = match user {
            Some(u) => json!({ "token": u.token }),
            None => json!({}),
        };
        let mut ws = self.ws_raw(init).await;
        ws.ack().await;
        ws
    }
}

/// Opens `/graphql/ws` on any server and sends `connection_init` with this payload.
pub async fn connect_ws(addr: SocketAddr, init: Value) -> Ws {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
    let mut req = format!("ws://{addr}/graphql/ws")
        .into_client_request()
        .unwrap();
    req.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (socket, _) = tokio_tungstenite::connect_async(req)
        .await
        .expect("ws connect");
    let mut ws = Ws { socket };
    ws.send(json!({ "type": "connection_init", "payload": init }))
        .await;
    ws
}

impl Ws {
    async fn send(&mut self, msg: Value) {
        use futures_util::SinkExt as _;
        self.socket
            .send(tokio_tungstenite::tungstenite::Message::Text(
                msg.to_string().into(),
            ))
            .await
            .expect("ws send");
    }

    /// Waits for `connection_ack`.
    pub async fn ack(&mut self) {
        let msg = self.raw_next().await;
        match msg {
            Some(m) if m["payload"]["type"] == "connection_ack" => {}
            other => panic!("expected connection_ack, got {other:?}"),
        }
    }

    /// Starts a subscription with this id.
    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        self.send(json!({
            "id": id, "type": "subscribe",
            "payload": { "query": query, "variables": variables },
        }))
        .await;
    }

    /// Stops a subscription.
    pub async fn stop(&mut self, id: &str) {
        self.send(json!({ "id": id, "type": "complete" })).await;
    }

    /// The next protocol message as JSON (`None` once closed), within 10 s.
    async fn raw_next(&mut self) -> Option<Value> {
        match self.next_event().await {
            WsEvent::Closed(_) => None,
            WsEvent::Next(id, p) => Some(json!({ "type": "next", "id": id, "payload": p })),
            WsEvent::Error(id, p) => Some(json!({ "type": "error", "id": id, "payload": p })),
            WsEvent::Complete(id) => Some(json!({ "type": "complete", "id": id })),
        }
    }

    /// The next thing that happens on the socket, within 10 s (pings are answered).
    pub async fn next_event(&mut self) -> WsEvent {
        use futures_util::StreamExt as _;
        use tokio_tungstenite::tungstenite::Message;
        loop {
            let msg = tokio::time::timeout(std::time::Duration::from_secs(10), self.socket.next())
                .await
                .expect("no WebSocket message within 10 s");
            let text = match msg {
                None | Some(Err(_)) => return WsEvent::Closed(1006),
                Some(Ok(Message::Close(frame))) => {
                    return WsEvent::Closed(frame.map(|f| u16::from(f.code)).unwrap_or(1005));
                }
                Some(Ok(Message::Text(t))) => t.to_string(),
                Some(Ok(_)) => continue,
            };
            let v: Value = serde_json::from_str(&text).expect("json message");
            let id = v["id"].as_str().unwrap_or_default().to_owned();
            match v["type"].as_str() {
                Some("next") => return WsEvent::Next(id, v["payload"].clone()),
                Some("error") => return WsEvent::Error(id, v["payload"].clone()),
                Some("complete") => return WsEvent::Complete(id),
                Some("ping") => self.send(json!({ "type": "pong" })).await,
                Some("connection_ack") => {
                    return WsEvent::Next("".into(), json!({ "type": "connection_ack" }));
                }
                _ => continue,
            }
        }
    }

    /// The next `next` payload's data for any subscription, panicking on anything else.
    pub async fn next_data(&mut self) -> (String, Value) {
        match self.next_event().await {
            WsEvent::Next(id, payload) => {
                assert!(payload["errors"].is_null(), "subscription error: {payload}");
                (id, payload["data"].clone())
            }
            other => panic!("expected a next message, got {other:?}"),
        }
    }
}
