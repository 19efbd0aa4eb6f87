//! The floor under S1: what it costs this machine to send one small frame to N idle
//! WebSockets on loopback, with nothing else to do — no GraphQL, no database, no policy.
//! A bare tokio-tungstenite server and the same kind of client as `examples/fanout.rs`
//! (one task per socket, arrivals timed by one collector), in two processes.
//!
//! ```sh
//! cargo run --release --example fanout_floor -- serve --port 18090 --mode tasks &
//! cargo run --release --example fanout_floor -- drive --port 18090 --sockets 10000 --changes 10
//! ```
//!
//! `--mode tasks`: each socket has its own task, woken through a `Notify` when a frame is
//! queued for it — how tier3 serves a socket. `--mode writer`: one task holds every
//! socket's sink and writes the frame to each in turn — the alternative of writing from the
//! dispatching task. BENCHMARKS.md records both.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use futures_util::{SinkExt, StreamExt, stream::SplitSink};
use tokio::{
    net::{TcpListener, TcpStream},
    sync::{Notify, mpsc},
};
use tokio_tungstenite::{WebSocketStream, tungstenite::Message};

/// About the size of one rendered `ticketStatusChanged` frame.
const FRAME: &str = r#"{"id":"s","type":"next","payload":{"data":{"ticketStatusChanged":{"toStatus":"PENDING","ticket":{"number":1}}}}}"#;

fn flag(args: &[String], name: &str, default: &str) -> String {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
        .unwrap_or_else(|| default.to_owned())
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let port: u16 = flag(&args, "--port", "18090").parse().expect("--port");
    match args.first().map(String::as_str) {
        Some("serve") => serve(port, &flag(&args, "--mode", "tasks")).await,
        Some("drive") => {
            let sockets = flag(&args, "--sockets", "10000")
                .parse()
                .expect("--sockets");
            let changes = flag(&args, "--changes", "10").parse().expect("--changes");
            let sources = flag(&args, "--sources", "1").parse().expect("--sources");
            drive(port, sockets, changes, sources).await
        }
        _ => panic!("usage: fanout_floor serve|drive …"),
    }
}

type Sink = SplitSink<WebSocketStream<TcpStream>, Message>;

/// One socket's waiting frame and the wake-up of its task.
type Slot = Arc<(Mutex<Option<Message>>, Notify)>;

/// Every socket's way in: a queue and a wake-up (`tasks`), or its sink (`writer`).
#[derive(Default)]
struct Sockets {
    queued: Mutex<Vec<Slot>>,
    sinks: tokio::sync::Mutex<Vec<Sink>>,
}

async fn serve(port: u16, mode: &str) {
    let writer = match mode {
        "tasks" => false,
        "writer" => true,
        other => panic!("--mode tasks|writer, not {other}"),
    };
    let listener = TcpListener::bind(("0.0.0.0", port)).await.expect("bind");
    let sockets = Arc::new(Sockets::default());
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        let sockets = sockets.clone();
        tokio::spawn(async move {
            let Ok(ws) = tokio_tungstenite::accept_async(tcp).await else {
                return;
            };
            let (mut sink, mut stream) = ws.split();
            if writer {
                sockets.sinks.lock().await.push(sink);
            } else {
                let slot: Slot = Arc::new((Mutex::new(None), Notify::new()));
                sockets.queued.lock().unwrap().push(slot.clone());
                tokio::spawn(async move {
                    loop {
                        slot.1.notified().await;
                        let frame = slot.0.lock().unwrap().take();
                        if let Some(frame) = frame
                            && sink.send(frame).await.is_err()
                        {
                            return;
                        }
                    }
                });
            }
            // Any text from a socket is the signal to send one frame to every socket.
            while let Some(Ok(msg)) = stream.next().await {
                if msg.is_text() {
                    broadcast(&sockets, writer).await;
                }
            }
        });
    }
}

async fn broadcast(sockets: &Sockets, writer: bool) {
    let frame = Message::text(FRAME);
    if writer {
        let mut sinks = sockets.sinks.lock().await;
        for sink in sinks.iter_mut() {
            let _ = sink.send(frame.clone()).await;
        }
    } else {
        for slot in sockets.queued.lock().unwrap().iter() {
            *slot.0.lock().unwrap() = Some(frame.clone());
            slot.1.notify_one();
        }
    }
}

async fn drive(port: u16, sockets: usize, changes: usize, sources: u8) {
    let (tx, mut rx) = mpsc::unbounded_channel::<(usize, Instant)>();
    let mut control = None;
    let opened = Instant::now();
    for i in 0..sockets {
        let source: std::net::IpAddr = [127, 0, 0, 2 + (i % sources as usize) as u8].into();
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket
            .bind(SocketAddr::new(source, 0))
            .expect("bind source");
        let tcp = socket
            .connect(SocketAddr::from(([127, 0, 0, 1], port)))
            .await
            .expect("connect");
        let (ws, _) = tokio_tungstenite::client_async(format!("ws://127.0.0.1:{port}/"), tcp)
            .await
            .expect("handshake");
        let (sink, mut stream) = ws.split();
        if i == 0 {
            control = Some(sink);
        }
        let tx = tx.clone();
        tokio::spawn(async move {
            while let Some(Ok(msg)) = stream.next().await {
                if msg.is_text() && tx.send((i, Instant::now())).is_err() {
                    return;
                }
            }
        });
    }
    println!(
        "{sockets} sockets open in {:.1}s",
        opened.elapsed().as_secs_f64()
    );
    let mut control = control.expect("at least one socket");
    let (mut p50s, mut p99s, mut alls) = (Vec::new(), Vec::new(), Vec::new());
    // The first change warms up (every server task has run once); not counted.
    for round in 0..=changes {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let sent = Instant::now();
        control.send(Message::text("go")).await.expect("go");
        let mut delays = Vec::with_capacity(sockets);
        while delays.len() < sockets {
            match tokio::time::timeout(Duration::from_secs(20), rx.recv()).await {
                Ok(Some((_, at))) => delays.push((at - sent).as_secs_f64() * 1e3),
                _ => panic!("only {} of {sockets} frames arrived", delays.len()),
            }
        }
        delays.sort_by(f64::total_cmp);
        let at = |p: f64| delays[((delays.len() - 1) as f64 * p).round() as usize];
        let (p50, p99, all) = (at(0.50), at(0.99), delays[delays.len() - 1]);
        println!("change {round:>2}: p50 {p50:.1} ms  p99 {p99:.1} ms  all {all:.1} ms");
        if round > 0 {
            p50s.push(p50);
            p99s.push(p99);
            alls.push(all);
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!(
        "SUMMARY sockets={sockets} median_p50_ms={:.1} median_p99_ms={:.1} median_all_ms={:.1}",
        median(&mut p50s),
        median(&mut p99s),
        median(&mut alls)
    );
}
