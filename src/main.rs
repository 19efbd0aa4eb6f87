use clap::Parser as _;
use tier3::config::LogFormat;
use tracing_subscriber::EnvFilter;

// glibc's malloc took ~20 % of the CPU under load (arena locks, consolidation); mimalloc's
// thread-local free lists cut that (BENCHMARKS.md, Q1–Q3).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = tier3::cli::Cli::parse();
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match cli.config.log_format {
        LogFormat::Json => logs.json().init(),
        LogFormat::Text => logs.init(),
    }
    tier3::cli::run(cli).await
}
