//! `tier3 seed --scale N [--seed S]`: a large, realistic, deterministic data set for
//! benchmarks, written straight to the tables (the demo seed goes through the domain services
//! instead) with explicit ids, so references need no lookups.
//!
//! At scale 1 (counts scale linearly; fractions allowed, at least one of each):
//!
//! - 200 organizations `org-0001` … `org-0200`, Zipf-sized (weight `1/(rank+1)`): `org-0001`
//!   has about 10% of the tickets, the ten largest about 40%.
//! - 20,000 users. The `sub`s are predictable so a benchmark can mint tokens for them (`tier3
//!   token --sub … --role … [--org …]`; leave out `--name`/`--email`, or the first request
//!   rewrites the stored ones):
//!   `admin-{n}` (0.25%), `agent-{n}` (4%), `dev-{n}` (1.5%), `triage-{n}` (0.25%), and
//!   customers `cust-{org:04}-{n}` (the rest), e.g. `cust-0001-1` is the first customer of
//!   `org-0001`. The first customer of every organization holds organization scope (granted by
//!   `admin-1`); about a tenth of the others do too, some of those grants expired or revoked.
//! - 200,000 tickets over the two years before 2026-11-01 (a fixed "now", so the same seed
//!   gives the same rows), in every status and priority: old ones mostly closed, recent ones
//!   mostly new or open.
//! - About 1,000,000 comments, skewed per ticket (most have a few, some dozens): customers
//!   write public ones, agents public answers and internal notes, and escalated tickets carry
//!   the workflow's own public comments (escalated, on hold, solved at triage or by release,
//!   relayed public hotfix updates).
//! - 20,000 escalations (every tenth ticket) on every track and status, consistent with the
//!   domain rules: hotfixes are `IN_PROGRESS`, or scheduled into / released with a `HOTFIX`
//!   release; planning and feature requests are `UNDER_REVIEW`, `DECLINED`, or scheduled into
//!   / released with a `QUARTERLY` one; a few more tickets are linked to them; linked tickets
//!   are on hold or solved as the track says; `open_ticket_id` is set while the escalation
//!   is open. Tier 3 updates on triaged ones.
//! - 60 hotfix and 10 quarterly releases (one shipped every two weeks and every quarter),
//!   every status of both kinds (the last ones are imminent or planned); a release note with
//!   votes for each shipped one; a few followers and their notifications, and "what you asked
//!   for shipped" notifications.
//! - One `TICKET_CREATED` event per ticket. The rest of the history is not replayed into the
//!   event log: subscriptions and `Ticket.events` show what happens after the seed.
//!
//! PostgreSQL gets `COPY` in one transaction, then its id sequences and the ticket-number
//! counter are moved past the seeded rows and it is `VACUUM ANALYZE`d; SQLite gets multi-row
//! INSERTs. The rows depend only on the scale and the seed (rand's `StdRng`, so a future
//! rand release may change them).

mod people;
mod releases;
mod sink;
mod text;
mod tickets;

use std::{fmt, time::Duration as StdDuration, time::Instant};

use chrono::{DateTime, Duration, TimeZone, Utc};
use entity::{organization, release, ticket};
use rand::{Rng, SeedableRng, rngs::StdRng};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, PaginatorTrait, Statement,
};

pub use sink::TableStat;

/// How many of each thing a scale asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizes {
    pub organizations: usize,
    pub users: usize,
    pub tickets: usize,
    pub hotfix_releases: usize,
    pub quarterly_releases: usize,
}

impl Sizes {
    /// Counts at `scale` (1 = 200 organizations, 20,000 users, 200,000 tickets).
    pub fn at(scale: f64) -> Sizes {
        let n = |base: f64| ((base * scale).round() as usize).max(1);
        Sizes {
            organizations: n(200.0),
            users: n(20_000.0),
            tickets: n(200_000.0),
            // Enough of each kind for a shipped, an imminent and a planned one.
            hotfix_releases: n(60.0).max(3),
            quarterly_releases: n(10.0).max(3),
        }
    }

    /// Every tenth ticket is escalated (the first of each ten).
    pub fn escalations(&self) -> usize {
        self.tickets.div_ceil(tickets::BLOCK)
    }
}

/// What a scale seed wrote, table by table.
#[derive(Debug, Clone)]
pub struct Summary {
    pub scale: f64,
    pub seed: u64,
    /// Rows and write time per table, in the order they were first written; entries in
    /// parentheses are steps (commit, vacuum) with no rows.
    pub tables: Vec<TableStat>,
    pub elapsed: StdDuration,
}

impl Summary {
    /// Rows written to `table` (0 if none).
    pub fn rows(&self, table: &str) -> usize {
        self.tables
            .iter()
            .find(|s| s.table == table)
            .map_or(0, |s| s.rows)
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "seeded at scale {} (seed {}) in {:.1?}",
            self.scale, self.seed, self.elapsed
        )?;
        writeln!(
            f,
            "{:<22} {:>10} {:>9} {:>11}",
            "table", "rows", "seconds", "rows/s"
        )?;
        let mut written = StdDuration::ZERO;
        for s in &self.tables {
            written += s.elapsed;
            let secs = s.elapsed.as_secs_f64();
            let rate = if s.rows > 0 && secs > 0.0 {
                format!("{:.0}", s.rows as f64 / secs)
            } else {
                String::new()
            };
            writeln!(
                f,
                "{:<22} {:>10} {:>9.2} {:>11}",
                s.table, s.rows, secs, rate
            )?;
        }
        // Whatever was not spent writing was spent making the rows.
        let generating = self.elapsed.saturating_sub(written);
        write!(
            f,
            "{:<22} {:>10} {:>9.2}",
            "(generating rows)",
            "",
            generating.as_secs_f64()
        )
    }
}

/// Generates the data set into an empty (migrated) database.
pub async fn run(db: &DatabaseConnection, scale: f64, seed: u64) -> anyhow::Result<Summary> {
    anyhow::ensure!(
        scale.is_finite() && scale > 0.0 && scale <= 100.0,
        "--scale must be in (0, 100]"
    );
    ensure_empty(db).await?;
    let started = Instant::now();
    let sizes = Sizes::at(scale);
    let mut g = Gen::new(seed);
    let cache = sqlite_cache(db, Some(-262_144)).await?;
    let mut sink = sink::Sink::open(db).await?;
    let people = people::generate(&mut g, &sizes, &mut sink).await?;
    let releases = releases::generate(&mut g, &sizes, &people, &mut sink).await?;
    tickets::generate(&mut g, &people, &releases, sizes.tickets, &mut sink).await?;
    let tables = sink.finish(sizes.tickets as i64).await?;
    sqlite_cache(db, cache).await?;
    let summary = Summary {
        scale,
        seed,
        tables,
        elapsed: started.elapsed(),
    };
    tracing::info!(elapsed = ?summary.elapsed, tickets = sizes.tickets, "scale seed written");
    Ok(summary)
}

/// Refuses a database that already has data: seeded ids would collide with its rows, and a
/// benchmark on a mix would measure neither.
async fn ensure_empty(db: &DatabaseConnection) -> anyhow::Result<()> {
    let tickets = ticket::Entity::find().count(db).await?;
    anyhow::ensure!(
        tickets == 0,
        "the database already has {tickets} tickets; `seed --scale` needs a fresh database"
    );
    let others = organization::Entity::find().count(db).await?
        + entity::app_user::Entity::find().count(db).await?
        + release::Entity::find().count(db).await?;
    anyhow::ensure!(
        others == 0,
        "the database already has users, organizations or releases; `seed --scale` needs a \
         fresh database"
    );
    Ok(())
}

/// Sets SQLite's page cache (in KiB when negative) for the bulk load, returning the previous
/// setting to restore. The comment table's author index takes random inserts, which a cache of
/// the default 2 MB turns into disk reads. No-op elsewhere.
async fn sqlite_cache(db: &DatabaseConnection, size: Option<i64>) -> anyhow::Result<Option<i64>> {
    let Some(size) = size else {
        return Ok(None);
    };
    if db.get_database_backend() != DbBackend::Sqlite {
        return Ok(None);
    }
    let previous = db
        .query_one_raw(Statement::from_string(
            DbBackend::Sqlite,
            "PRAGMA cache_size",
        ))
        .await?
        .map(|row| row.try_get_by_index::<i64>(0))
        .transpose()?;
    db.execute_unprepared(&format!("PRAGMA cache_size = {size}"))
        .await?;
    Ok(previous)
}

/// The random source and the clock every generator shares.
struct Gen {
    rng: StdRng,
    /// The seed's fixed "now": everything happened before it.
    now: DateTime<Utc>,
}

/// Two years of tickets.
const SPAN_DAYS: f64 = 730.0;

impl Gen {
    fn new(seed: u64) -> Gen {
        Gen {
            rng: StdRng::seed_from_u64(seed),
            now: Utc
                .with_ymd_and_hms(2026, 11, 1, 12, 0, 0)
                .single()
                .expect("a valid date"),
        }
    }

    fn days_ago(&self, days: f64) -> DateTime<Utc> {
        self.now - secs(days * 86_400.0)
    }

    /// No seeded thing happens after "now".
    fn clamp(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        t.min(self.now)
    }

    /// `t` plus a uniformly random `[lo, hi)` hours, no later than "now".
    fn later(&mut self, t: DateTime<Utc>, lo: f64, hi: f64) -> DateTime<Utc> {
        let d = self.hours(lo, hi);
        self.clamp(t + d)
    }

    /// `t` plus an exponentially distributed delay, no later than "now".
    fn later_exp(&mut self, t: DateTime<Utc>, mean_hours: f64) -> DateTime<Utc> {
        let d = self.exp_hours(mean_hours);
        self.clamp(t + d)
    }

    fn age_days(&self, t: DateTime<Utc>) -> f64 {
        (self.now - t).num_seconds() as f64 / 86_400.0
    }

    fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p.clamp(0.0, 1.0))
    }

    /// A uniformly random duration in `[lo, hi)` hours.
    fn hours(&mut self, lo: f64, hi: f64) -> Duration {
        secs(self.rng.random_range(lo..hi) * 3_600.0)
    }

    /// An exponentially distributed duration (many short, a few long).
    fn exp_hours(&mut self, mean: f64) -> Duration {
        secs(self.exponential(mean) * 3_600.0)
    }

    /// A skewed count: exponential with this mean, rounded down, at most `cap`.
    fn count(&mut self, mean: f64, cap: usize) -> usize {
        // Rounding down loses half a unit on average; ask for half a unit more.
        (self.exponential(mean + 0.5) as usize).min(cap)
    }

    fn exponential(&mut self, mean: f64) -> f64 {
        let u: f64 = self.rng.random();
        -mean * (1.0 - u).ln()
    }

    /// A time between `from` and `to` (`from` if they are the wrong way round).
    fn between(&mut self, from: DateTime<Utc>, to: DateTime<Utc>) -> DateTime<Utc> {
        let span = (to - from).num_seconds();
        if span <= 0 {
            return from;
        }
        from + Duration::seconds(self.rng.random_range(0..=span))
    }

    /// Picks from `(item, weight)` pairs.
    fn weighted<T: Copy>(&mut self, choices: &[(T, f64)]) -> T {
        let total: f64 = choices.iter().map(|(_, w)| w).sum();
        let mut x = self.rng.random_range(0.0..total);
        for (item, w) in choices {
            if x < *w {
                return *item;
            }
            x -= w;
        }
        choices[choices.len() - 1].0
    }
}

fn secs(s: f64) -> Duration {
    Duration::seconds(s as i64)
}
