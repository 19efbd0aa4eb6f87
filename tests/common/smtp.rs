//! A real SMTP server for tests, and a reader for what it receives.
//!
//! [`SmtpServer`] is `mailin-embedded` (a real SMTP implementation) behind a TCP front on a
//! free port of 127.0.0.1 that the test controls: [`SmtpServer::stop`] closes the port and
//! every open connection (lettre's pooled ones included), so the next send is refused;
//! [`SmtpServer::resume`] listens on the same port again. Every message is kept with its
//! envelope recipients (`RCPT TO`) and its raw `DATA`.
//!
//! [`Parsed`] reads a message as a mail client would: top-level headers (unfolded on
//! request), RFC 2047 words decoded, and the MIME parts with their transfer encoding undone.

use std::{
    fmt,
    net::{SocketAddr, TcpListener as StdListener},
    sync::{Arc, Mutex},
};

use base64::{Engine as _, engine::general_purpose::STANDARD};
use mailin_embedded::{Handler, Response, Server, response};
use tokio::{
    net::{TcpSocket, TcpStream},
    task::JoinHandle,
};

/// One message as the server got it: the envelope recipients and the raw DATA.
#[derive(Debug, Clone)]
pub struct Received {
    pub rcpt: Vec<String>,
    pub data: String,
}

impl Received {
    /// Whether `address` is among the envelope recipients.
    pub fn is_to(&self, address: &str) -> bool {
        self.rcpt.iter().any(|r| {
            r.trim_matches(|c| c == '<' || c == '>')
                .eq_ignore_ascii_case(address)
        })
    }

    pub fn parsed(&self) -> Parsed {
        Parsed::new(&self.data)
    }
}

impl fmt::Display for Received {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "--- RCPT TO {:?} ---\n{}\n--- end ---",
            self.rcpt, self.data
        )
    }
}

pub type Inbox = Arc<Mutex<Vec<Received>>>;

/// Keeps every message; answers `RCPT` with `refuse` when set (to test 4xx and 5xx).
#[derive(Clone)]
struct Collector {
    inbox: Inbox,
    refuse: Option<u16>,
    rcpt: Vec<String>,
    data: Vec<u8>,
}

impl Handler for Collector {
    fn rcpt(&mut self, to: &str) -> Response {
        if let Some(code) = self.refuse {
            return Response::custom(code, "not today".into());
        }
        self.rcpt.push(to.to_owned());
        response::OK
    }

    fn data_start(
        &mut self,
        _domain: &str,
        _from: &str,
        _is8bit: bool,
        _to: &[String],
    ) -> Response {
        self.data.clear();
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let data = String::from_utf8_lossy(&std::mem::take(&mut self.data)).into_owned();
        let rcpt = std::mem::take(&mut self.rcpt);
        self.inbox.lock().unwrap().push(Received { rcpt, data });
        response::OK
    }
}

/// The listening front: its accept loop and the connections it relays.
struct Front {
    accept: JoinHandle<()>,
    conns: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

/// A real SMTP server on a port of its own; see the module docs. Needs a tokio runtime.
pub struct SmtpServer {
    port: u16,
    backend: SocketAddr,
    inbox: Inbox,
    front: Mutex<Option<Front>>,
}

impl SmtpServer {
    /// A server that accepts every message, listening on a free port.
    pub async fn start() -> SmtpServer {
        Self::with_refusal(None).await
    }

    /// A server that answers every `RCPT` with `code` (e.g. 550 or 451).
    pub async fn refusing(code: u16) -> SmtpServer {
        Self::with_refusal(Some(code)).await
    }

    async fn with_refusal(refuse: Option<u16>) -> SmtpServer {
        // The SMTP implementation itself, on a port nobody else is told about; its threads
        // live as long as the test process.
        let listener = StdListener::bind("127.0.0.1:0").expect("bind a free port");
        let backend = listener.local_addr().unwrap();
        let inbox = Inbox::default();
        let mut server = Server::new(Collector {
            inbox: inbox.clone(),
            refuse,
            rcpt: Vec::new(),
            data: Vec::new(),
        });
        server
            .with_name("mx.test")
            .with_num_threads(16)
            .with_tcp_listener(listener);
        std::thread::spawn(move || {
            if let Err(err) = server.serve() {
                eprintln!("the test SMTP server stopped: {err}");
            }
        });
        let (front, port) = listen(backend, 0);
        SmtpServer {
            port,
            backend,
            inbox,
            front: Mutex::new(Some(front)),
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `smtp://127.0.0.1:<port>` (plain), for `notify.smtp_url`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Takes the server down: the port refuses connections and every open one is cut.
    pub async fn stop(&self) {
        let front = self.front.lock().unwrap().take();
        if let Some(front) = front {
            front.accept.abort();
            let _ = front.accept.await;
            let conns = std::mem::take(&mut *front.conns.lock().unwrap());
            for c in conns {
                c.abort();
                let _ = c.await;
            }
        }
    }

    /// Brings it up again on the same port (after [`stop`](Self::stop)).
    pub fn resume(&self) {
        let mut front = self.front.lock().unwrap();
        assert!(front.is_none(), "the SMTP server is running already");
        let (f, port) = listen(self.backend, self.port);
        assert_eq!(port, self.port);
        *front = Some(f);
    }

    /// What it has received so far, in order.
    pub fn messages(&self) -> Vec<Received> {
        self.inbox.lock().unwrap().clone()
    }

    /// The messages whose envelope names `address`.
    pub fn messages_to(&self, address: &str) -> Vec<Received> {
        self.messages()
            .into_iter()
            .filter(|m| m.is_to(address))
            .collect()
    }

    /// Forgets what it received.
    pub fn clear(&self) {
        self.inbox.lock().unwrap().clear();
    }

    /// The single message received so far (panics, showing them, if there are more or none).
    pub fn only_message(&self) -> Received {
        let got = self.messages();
        assert_eq!(got.len(), 1, "messages received: {got:#?}");
        got[0].clone()
    }
}

/// Opens a relaying front to `backend` on `port` of 127.0.0.1 (0: any free one).
fn listen(backend: SocketAddr, port: u16) -> (Front, u16) {
    let socket = TcpSocket::new_v4().expect("socket");
    // The port's earlier connections may linger in TIME_WAIT; bind anyway.
    socket.set_reuseaddr(true).expect("SO_REUSEADDR");
    socket
        .bind(SocketAddr::from(([127, 0, 0, 1], port)))
        .unwrap_or_else(|err| panic!("bind 127.0.0.1:{port}: {err}"));
    let listener = socket.listen(64).expect("listen");
    let port = listener.local_addr().unwrap().port();
    let conns: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
    let accept = tokio::spawn({
        let conns = conns.clone();
        async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    continue;
                };
                let relay = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(backend).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                let mut conns = conns.lock().unwrap();
                conns.retain(|c| !c.is_finished());
                conns.push(relay);
            }
        }
    });
    (Front { accept, conns }, port)
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        if let Some(front) = self.front.lock().unwrap().take() {
            front.accept.abort();
            for c in front.conns.lock().unwrap().drain(..) {
                c.abort();
            }
        }
    }
}

// ---- reading a message --------------------------------------------------------------------

/// A message's top-level headers as on the wire (value after the colon, folds kept) and
/// its body.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Parsed {
    /// Parses a message; panics on a header line over RFC 5322's 998 characters.
    pub fn new(raw: &str) -> Parsed {
        let (head, body) = raw
            .split_once("\r\n\r\n")
            .expect("a blank line after the headers");
        let mut headers: Vec<(String, String)> = Vec::new();
        for line in head.split("\r\n") {
            assert!(
                line.len() <= 998,
                "header line over 998 characters: {line:.80}…"
            );
            if line.starts_with([' ', '\t']) {
                let last = headers.last_mut().expect("a continuation after a header");
                last.1.push_str("\r\n");
                last.1.push_str(line);
            } else {
                let (name, value) = line.split_once(':').expect("`name: value`");
                headers.push((name.to_owned(), value.to_owned()));
            }
        }
        Parsed {
            headers,
            body: body.to_owned(),
        }
    }

    /// Every value of `name`, unfolded, whitespace runs as one space.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect()
    }

    /// The value of a header that must appear exactly once.
    pub fn one(&self, name: &str) -> String {
        let values = self.all(name);
        assert_eq!(values.len(), 1, "{name}: {values:?} in {:?}", self.names());
        values.into_iter().next().unwrap()
    }

    /// The value of a header that must appear exactly once, RFC 2047 words decoded.
    pub fn decoded(&self, name: &str) -> String {
        decode_words(&self.one(name))
    }

    pub fn names(&self) -> Vec<&str> {
        self.headers.iter().map(|(n, _)| n.as_str()).collect()
    }

    /// The leaf MIME parts (the message itself when it is not multipart), decoded.
    pub fn parts(&self) -> Vec<Part> {
        let content_type = self
            .all("Content-Type")
            .pop()
            .unwrap_or_else(|| "text/plain".into());
        let encoding = self.all("Content-Transfer-Encoding").pop();
        leaf_parts(&content_type, encoding.as_deref(), &self.body)
    }

    /// The decoded text of the only part of this MIME type (`text/plain`, `text/html`).
    pub fn part(&self, mime: &str) -> String {
        let found: Vec<Part> = self
            .parts()
            .into_iter()
            .filter(|p| p.mime() == mime)
            .collect();
        assert_eq!(
            found.len(),
            1,
            "one {mime} part, found {}: {:?}",
            found.len(),
            self.parts()
        );
        found.into_iter().next().unwrap().text
    }
}

/// One leaf of a MIME tree: its content type and its decoded text.
#[derive(Debug, Clone)]
pub struct Part {
    pub content_type: String,
    pub text: String,
}

impl Part {
    /// The bare MIME type, lower-case (`text/plain`).
    pub fn mime(&self) -> String {
        self.content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    }
}

fn leaf_parts(content_type: &str, encoding: Option<&str>, body: &str) -> Vec<Part> {
    if content_type.to_ascii_lowercase().starts_with("multipart/") {
        let boundary = parameter(content_type, "boundary").expect("a multipart boundary");
        let delimiter = format!("--{boundary}");
        let mut out = Vec::new();
        for chunk in body.split(&delimiter).skip(1) {
            if chunk.starts_with("--") {
                break; // the closing delimiter
            }
            let chunk = chunk.strip_prefix("\r\n").unwrap_or(chunk);
            let (head, content) = chunk.split_once("\r\n\r\n").unwrap_or((chunk, ""));
            let part = Parsed::new(&format!("{head}\r\n\r\n"));
            let ct = part
                .all("Content-Type")
                .pop()
                .unwrap_or_else(|| "text/plain".into());
            let enc = part.all("Content-Transfer-Encoding").pop();
            let content = content.strip_suffix("\r\n").unwrap_or(content);
            out.extend(leaf_parts(&ct, enc.as_deref(), content));
        }
        out
    } else {
        vec![Part {
            content_type: content_type.to_owned(),
            text: decode_transfer(encoding, body),
        }]
    }
}

/// A `name=value` parameter of a header value (`boundary="…"`).
fn parameter(value: &str, name: &str) -> Option<String> {
    value.split(';').skip(1).find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().trim_matches('"').to_owned())
    })
}

/// Undoes a `Content-Transfer-Encoding`.
fn decode_transfer(encoding: Option<&str>, body: &str) -> String {
    match encoding.map(|e| e.trim().to_ascii_lowercase()).as_deref() {
        Some("base64") => {
            let compact: String = body.split_whitespace().collect();
            String::from_utf8(STANDARD.decode(compact).expect("base64 body")).expect("UTF-8")
        }
        Some("quoted-printable") => decode_quoted_printable(body),
        _ => body.to_owned(),
    }
}

/// RFC 2045 §6.7: soft line breaks dropped, `=XX` as bytes.
pub fn decode_quoted_printable(body: &str) -> String {
    let bytes = body.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' {
            if bytes[i + 1..].starts_with(b"\r\n") {
                i += 3;
                continue;
            }
            if bytes[i + 1..].starts_with(b"\n") {
                i += 2;
                continue;
            }
            if let Some(hex) = body.get(i + 1..i + 3)
                && let Ok(b) = u8::from_str_radix(hex, 16)
            {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).expect("UTF-8 in quoted-printable")
}

/// Decodes RFC 2047 `=?utf-8?b?…?=` and `=?utf-8?q?…?=` words, dropping the whitespace
/// between adjacent ones as §6.2 says.
pub fn decode_words(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    let mut after_word = false;
    loop {
        let lower = rest.to_ascii_lowercase();
        let Some(start) = lower.find("=?utf-8?") else {
            break;
        };
        let between = &rest[..start];
        if !(after_word && between.trim().is_empty()) {
            out.push_str(between);
        }
        let word = &rest[start + "=?utf-8?".len()..];
        let kind = word[..1].to_ascii_lowercase();
        let word = &word[2..];
        let end = word.find("?=").expect("a closed encoded word");
        let text = &word[..end];
        let decoded = if kind == "b" {
            String::from_utf8(STANDARD.decode(text).expect("base64 in the encoded word"))
                .expect("UTF-8 in the encoded word")
        } else {
            decode_quoted_printable(&text.replace('_', " "))
        };
        out.push_str(&decoded);
        rest = &word[end + 2..];
        after_word = true;
    }
    out.push_str(rest);
    out
}
