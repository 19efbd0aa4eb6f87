//! A real SMTP server that counts what it receives, for the mail benchmark (BENCHMARKS.md):
//! listens on `--port`, and once `--expect` messages have arrived (or `--timeout` seconds
//! passed) prints one line `received=N first=<unix s> last=<unix s>` and exits.
//!
//! ```sh
//! cargo run --release --example smtp_sink -- --port 2525 --expect 10000
//! ```

use std::{
    net::TcpListener,
    sync::{Arc, Mutex},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use mailin_embedded::{Handler, Response, Server, response};

#[derive(Default)]
struct Tally {
    received: usize,
    first: Option<f64>,
    last: Option<f64>,
}

#[derive(Clone)]
struct Counter(Arc<Mutex<Tally>>);

impl Handler for Counter {
    fn data(&mut self, _buf: &[u8]) -> std::io::Result<()> {
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let mut t = self.0.lock().unwrap_or_else(|e| e.into_inner());
        t.received += 1;
        t.first.get_or_insert(now);
        t.last = Some(now);
        response::OK
    }
}

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let port = arg("--port", 2525);
    let expect = arg("--expect", 10_000) as usize;
    let timeout = Duration::from_secs(arg("--timeout", 600));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let listener = TcpListener::bind(("127.0.0.1", port as u16)).expect("bind the sink's port");
    let mut server = Server::new(Counter(tally.clone()));
    server
        .with_name("sink.bench")
        .with_num_threads(32)
        .with_tcp_listener(listener);
    std::thread::spawn(move || {
        if let Err(err) = server.serve() {
            eprintln!("smtp sink stopped: {err}");
        }
    });
    eprintln!("smtp sink listening on 127.0.0.1:{port}, expecting {expect}");
    let start = Instant::now();
    loop {
        std::thread::sleep(Duration::from_millis(50));
        let t = tally.lock().unwrap_or_else(|e| e.into_inner());
        if t.received >= expect || start.elapsed() > timeout {
            println!(
                "received={} first={:.3} last={:.3}",
                t.received,
                t.first.unwrap_or(0.0),
                t.last.unwrap_or(0.0)
            );
            return;
        }
    }
}
