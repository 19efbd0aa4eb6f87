//! Command line: `tier3 [serve|migrate|schema|token|seed]`.

use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};

use crate::{
    app::App,
    auth::{Claims, Keys, viewer::parse_role},
    config::Config,
    db,
    domain::notify::planner,
    graphql,
    http::{self, Server},
    seed,
};

/// tier3: a GraphQL API for support desks built around Tier 3 escalations.
#[derive(Debug, Parser)]
#[command(name = "tier3", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub config: Config,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// What to do (default: serve).
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API (migrates the database first).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the GraphQL schema (SDL).
    Schema,
    /// Mint a development token with the configured key.
    Token(TokenArgs),
    /// Load demo data (`--demo`, the default) or a benchmark data set (`--scale N`).
    Seed(SeedArgs),
}

/// Claims of a development token.
#[derive(Debug, Args)]
pub struct TokenArgs {
    /// Stable user key (`sub`).
    #[arg(long)]
    pub sub: String,
    /// customer | agent | developer | triage_lead | admin
    #[arg(long)]
    pub role: String,
    /// Organization key (required for customers).
    #[arg(long)]
    pub org: Option<String>,
    /// Display name.
    #[arg(long)]
    pub name: Option<String>,
    /// Email address.
    #[arg(long)]
    pub email: Option<String>,
    /// Lifetime, e.g. `30m`, `1h`, `7d`.
    #[arg(long, default_value = "1h", value_parser = humantime::parse_duration)]
    pub ttl: Duration,
}

/// What to seed: one of `--demo` (the default when neither is given) or `--scale`.
#[derive(Debug, Args)]
pub struct SeedArgs {
    /// A small realistic data set for trying the API in GraphiQL.
    #[arg(long, conflicts_with = "scale")]
    pub demo: bool,
    /// A benchmark data set into an empty database: at 1, 200 organizations, 20,000 users,
    /// 200,000 tickets, about a million comments, 20,000 escalations, releases with notes
    /// (counts scale linearly; fractions allowed, e.g. 0.01).
    #[arg(long)]
    pub scale: Option<f64>,
    /// Random seed of `--scale`: the same seed gives the same rows.
    #[arg(long, default_value_t = 1, requires = "scale")]
    pub seed: u64,
}

impl SeedArgs {
    /// The data set asked for.
    pub fn data_set(&self) -> DataSet {
        match self.scale {
            Some(scale) => DataSet::Scale {
                scale,
                seed: self.seed,
            },
            None => DataSet::Demo,
        }
    }
}

/// A data set `tier3 seed` can write.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DataSet {
    /// A few organizations, users and tickets in every status, for trying the API.
    Demo,
    /// The deterministic benchmark data set at a scale.
    Scale { scale: f64, seed: u64 },
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = cli.config;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config).await,
        Command::Migrate => {
            let conn = db::connect(&config).await?;
            db::migrate(&conn).await?;
            println!(
                "migrations applied to {}",
                db::redact_url(&config.database_url())
            );
            Ok(())
        }
        Command::Schema => {
            print!("{}", graphql::sdl());
            Ok(())
        }
        Command::Token(args) => {
            println!("{}", mint(&config, &args)?);
            Ok(())
        }
        Command::Seed(args) => seed_data(config, args.data_set()).await,
    }
}

async fn seed_data(config: Config, data: DataSet) -> anyhow::Result<()> {
    match data {
        DataSet::Scale { scale, seed } => {
            let conn = db::connect(&config).await?;
            db::migrate(&conn).await?;
            let summary = seed::scale::run(&conn, scale, seed).await?;
            // The seed's history is not news: nobody is mailed about it.
            planner::skip_to_end(&conn).await?;
            println!("{summary}");
            println!(
                "sign in as cust-0001-1 (org-0001, organization scope), agent-1, dev-1, \
                 triage-1 or admin-1: tier3 token --sub agent-1 --role agent"
            );
            Ok(())
        }
        DataSet::Demo => {
            let mut config = config;
            config.notify.delivery_worker = false;
            let app = App::build(config).await?;
            seed::demo(&app).await?;
            planner::skip_to_end(&app.db).await?;
            Ok(())
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let app = App::build(config).await?;
    let server = Server::bind(app.clone())
        .await
        .with_context(|| format!("binding {}", app.config.bind))?;
    let addr = server.local_addr()?;
    tracing::info!(%addr, "tier3 listening; GraphiQL at http://{addr}/graphql");
    let token = app.shutdown.clone();
    tokio::spawn(async move {
        http::shutdown_signal().await;
        tracing::info!("shutting down");
        token.cancel();
    });
    server.run().await?;
    tracing::info!("stopped");
    Ok(())
}

/// Signs a development token from command-line claims.
pub fn mint(config: &Config, args: &TokenArgs) -> anyhow::Result<String> {
    parse_role(&args.role).with_context(|| format!("unknown role `{}`", args.role))?;
    if args.role == "customer" && args.org.is_none() {
        anyhow::bail!("customer tokens need --org");
    }
    let keys = Keys::from_config(config)?;
    let exp = jsonwebtoken::get_current_timestamp() + args.ttl.as_secs();
    keys.sign(&Claims {
        sub: args.sub.clone(),
        role: args.role.clone(),
        org: args.org.clone(),
        email: args.email.clone(),
        name: args.name.clone(),
        exp,
        iss: config.jwt_issuer.clone(),
        aud: config.jwt_audience.as_deref().map(Into::into),
    })
}
