//! A graphql-transport-ws client over a real WebSocket, for the subscription tests.

use std::net::SocketAddr;

use serde_json::{Value, json};

use super::{TestApp, User};

/// A graphql-transport-ws client over a real WebSocket.
pub struct Ws {
    socket: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    /// The reason of the server's close frame, once one has arrived.
    pub close_reason: Option<String>,
}

/// An upgrade the server refused: its HTTP status, headers and body.
#[derive(Debug)]
pub struct Refused {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
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
    try_connect_ws(addr, init).await.expect("ws connect")
}

/// Opens `/graphql/ws` and sends `connection_init`, or says how the upgrade was refused.
pub async fn try_connect_ws(addr: SocketAddr, init: Value) -> Result<Ws, Refused> {
    use tokio_tungstenite::tungstenite::{Error, client::IntoClientRequest as _};
    let mut req = format!("ws://{addr}/graphql/ws")
        .into_client_request()
        .unwrap();
    req.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let socket = match tokio_tungstenite::connect_async(req).await {
        Ok((socket, _)) => socket,
        Err(Error::Http(resp)) => {
            let mut headers = reqwest::header::HeaderMap::new();
            for (name, value) in resp.headers() {
                if let (Ok(name), Ok(value)) = (
                    reqwest::header::HeaderName::from_bytes(name.as_str().as_bytes()),
                    reqwest::header::HeaderValue::from_bytes(value.as_bytes()),
                ) {
                    headers.insert(name, value);
                }
            }
            let body = resp.body().as_deref().unwrap_or_default();
            return Err(Refused {
                status: resp.status().as_u16(),
                headers,
                body: serde_json::from_slice(body).unwrap_or(Value::Null),
            });
        }
        Err(err) => panic!("ws connect: {err}"),
    };
    let mut ws = Ws {
        socket,
        close_reason: None,
    };
    ws.send(json!({ "type": "connection_init", "payload": init }))
        .await;
    Ok(ws)
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

    /// Asserts that nothing arrives on the socket for `quiet`.
    pub async fn stays_quiet(&mut self, quiet: std::time::Duration) {
        if let Ok(event) = tokio::time::timeout(quiet, self.next_event()).await {
            panic!("expected nothing, got {event:?}");
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

    /// Closes the socket from the client's side (a normal close) and waits for the server's
    /// answer, so the server has seen the close when this returns.
    pub async fn close(mut self) {
        use futures_util::StreamExt as _;
        let _ = self.socket.close(None).await;
        let wait = async { while let Some(Ok(_)) = self.socket.next().await {} };
        let _ = tokio::time::timeout(std::time::Duration::from_secs(10), wait).await;
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
                    self.close_reason = frame.as_ref().map(|f| f.reason.to_string());
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
