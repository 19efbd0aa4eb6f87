//! `tier3 seed --scale N`: a large, realistic, deterministic data set for benchmarks.
//!
//! Written straight to the tables in multi-row inserts (the demo seed goes through the domain
//! services instead), with explicit ids so that references need no lookups. At scale 1: 200
//! organizations with Zipf-skewed sizes, 20,000 users in every role, 200,000 tickets in every
//! status, about 1,000,000 comments (public and internal), 20,000 escalations on every track
//! and status with their updates, and releases with notes. The same `--seed` gives the same
//! rows. Seeded history is not replayed into the event log: subscriptions start from what
//! happens after the seed.

use std::time::Instant;

use chrono::{DateTime, Duration, TimeZone, Utc};
use entity::{
    EscalationPriority, EscalationStatus, EscalationTrack, ReleaseKind, ReleaseStatus, Role,
    SolvedBy, TicketPriority, TicketStatus, app_user, comment, counter, escalation,
    escalation_ticket, escalation_update, org_scope_grant, organization, release, release_note,
    ticket,
};
use rand::{Rng, SeedableRng, rngs::StdRng, seq::IndexedRandom};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, Set,
    Statement, TransactionTrait,
};

/// Rows per INSERT statement (well under both databases' bound-parameter limits).
const CHUNK: usize = 1_000;

/// Counts at scale 1.
const ORGS: f64 = 200.0;
const USERS: f64 = 20_000.0;
const TICKETS: f64 = 200_000.0;
const COMMENTS_PER_TICKET: u32 = 10; // uniform 0..=10: about 5 on average
const ESCALATION_EVERY: usize = 10; // every 10th ticket is escalated
const HOTFIX_RELEASES: f64 = 60.0;
const QUARTERLY_RELEASES: f64 = 12.0;

const WORDS: &[&str] = &[
    "export",
    "invoice",
    "login",
    "checkout",
    "report",
    "sync",
    "webhook",
    "upload",
    "search",
    "dashboard",
    "payment",
    "email",
    "calendar",
    "billing",
    "API",
    "import",
    "timeout",
    "PDF",
    "mobile",
    "SSO",
    "permissions",
    "CSV",
    "filter",
    "notification",
    "currency",
    "locale",
];
const SYMPTOMS: &[&str] = &[
    "fails",
    "is blank",
    "returns 502",
    "is slow",
    "shows the wrong total",
    "times out",
    "duplicates rows",
    "crashes",
    "ignores the filter",
    "loses changes",
    "never arrives",
];

/// What was written, for the command's report and the tests.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Counts {
    pub organizations: usize,
    pub users: usize,
    pub grants: usize,
    pub tickets: usize,
    pub comments: usize,
    pub releases: usize,
    pub notes: usize,
    pub escalations: usize,
    pub updates: usize,
}

/// Generates the data set into an empty database.
pub async fn run(db: &DatabaseConnection, scale: f64, seed: u64) -> anyhow::Result<Counts> {
    anyhow::ensure!(scale > 0.0 && scale <= 100.0, "--scale must be in (0, 100]");
    let existing = ticket::Entity::find().count(db).await?;
    anyhow::ensure!(
        existing == 0,
        "the database already has {existing} tickets; seed a fresh one"
    );
    let n = |base: f64| ((base * scale).round() as usize).max(1);
    let mut g = Gen {
        rng: StdRng::seed_from_u64(seed),
        now: Utc.with_ymd_and_hms(2026, 11, 1, 12, 0, 0).unwrap(),
        counts: Counts::default(),
    };
    let started = Instant::now();
    let plan = g.people(n(ORGS), n(USERS));
    write(db, "organization", plan.orgs.clone()).await?;
    write(db, "app_user", plan.users.clone()).await?;
    write(db, "org_scope_grant", plan.grants.clone()).await?;
    // At least three of each kind, so there are shipped, imminent and planned ones.
    let releases = g.releases(
        &plan,
        n(HOTFIX_RELEASES).max(3),
        n(QUARTERLY_RELEASES).max(3),
    );
    write(db, "release", releases.rows.clone()).await?;
    write(db, "release_note", releases.notes.clone()).await?;
    g.tickets(db, &plan, &releases, n(TICKETS)).await?;
    finish(db, g.counts.tickets as i64).await?;
    tracing::info!(elapsed = ?started.elapsed(), counts = ?g.counts, "scale seed written");
    Ok(g.counts)
}

struct Gen {
    rng: StdRng,
    now: DateTime<Utc>,
    counts: Counts,
}

/// Organizations, users and grants, with the indexes later steps pick from.
struct People {
    orgs: Vec<organization::ActiveModel>,
    users: Vec<app_user::ActiveModel>,
    grants: Vec<org_scope_grant::ActiveModel>,
    /// Cumulative ticket share per organization (Zipf), for weighted picks.
    org_weights: Vec<f64>,
    /// Customer ids per organization (index = org id - 1).
    customers: Vec<Vec<i64>>,
    agents: Vec<i64>,
    developers: Vec<i64>,
    leads: Vec<i64>,
    admins: Vec<i64>,
}

struct Releases {
    rows: Vec<release::ActiveModel>,
    notes: Vec<release_note::ActiveModel>,
    /// (id, kind, status) of every release.
    index: Vec<(i64, ReleaseKind, ReleaseStatus)>,
}

impl Gen {
    fn at(&mut self, days_ago: f64) -> DateTime<Utc> {
        self.now - Duration::seconds((days_ago * 86_400.0) as i64)
    }

    fn people(&mut self, orgs: usize, users: usize) -> People {
        let epoch = self.at(800.0);
        let mut p = People {
            orgs: Vec::with_capacity(orgs),
            users: Vec::with_capacity(users),
            grants: Vec::new(),
            org_weights: Vec::with_capacity(orgs),
            customers: vec![Vec::new(); orgs],
            agents: Vec::new(),
            developers: Vec::new(),
            leads: Vec::new(),
            admins: Vec::new(),
        };
        // Zipf(1.1): the largest organization has about a tenth of all tickets.
        let weights: Vec<f64> = (1..=orgs).map(|r| 1.0 / (r as f64).powf(1.1)).collect();
        let total: f64 = weights.iter().sum();
        let mut acc = 0.0;
        for (i, w) in weights.iter().enumerate() {
            acc += w / total;
            p.org_weights.push(acc);
            let id = i as i64 + 1;
            p.orgs.push(organization::ActiveModel {
                id: Set(id),
                key: Set(format!("org-{id:04}")),
                name: Set(format!(
                    "{} {}",
                    capitalize(WORDS[i % WORDS.len()]),
                    org_suffix(i)
                )),
                created_at: Set(epoch),
            });
        }
        let staff = |share: f64| ((users as f64 * share).round() as usize).max(1);
        let (agents, developers, leads, admins) =
            (staff(0.05), staff(0.02), staff(0.005), staff(0.005));
        let customers = users
            .saturating_sub(agents + developers + leads + admins)
            .max(orgs);
        let mut next_id = 1i64;
        let mut user = |p: &mut People, sub: String, role: Role, org: Option<i64>, name: String| {
            let id = next_id;
            next_id += 1;
            p.users.push(app_user::ActiveModel {
                id: Set(id),
                email: Set(Some(format!("{sub}@example.com"))),
                sub: Set(sub),
                role: Set(role),
                org_id: Set(org),
                name: Set(name),
                created_at: Set(epoch),
                updated_at: Set(epoch),
            });
            id
        };
        for n in 1..=admins {
            let id = user(
                &mut p,
                format!("admin-{n}"),
                Role::Admin,
                None,
                format!("Admin {n}"),
            );
            p.admins.push(id);
        }
        for n in 1..=agents {
            let id = user(
                &mut p,
                format!("agent-{n}"),
                Role::Agent,
                None,
                format!("Agent {n}"),
            );
            p.agents.push(id);
        }
        for n in 1..=developers {
            let id = user(
                &mut p,
                format!("dev-{n}"),
                Role::Developer,
                None,
                format!("Developer {n}"),
            );
            p.developers.push(id);
        }
        for n in 1..=leads {
            let id = user(
                &mut p,
                format!("triage-{n}"),
                Role::TriageLead,
                None,
                format!("Triage lead {n}"),
            );
            p.leads.push(id);
        }
        // Every organization gets a customer; the rest follow the organizations' sizes.
        for c in 0..customers {
            let org = if c < orgs {
                c
            } else {
                self.pick_org(&p.org_weights)
            };
            let n = p.customers[org].len() + 1;
            let sub = format!("cust-{:04}-{n}", org + 1);
            let id = user(
                &mut p,
                sub,
                Role::Customer,
                Some(org as i64 + 1),
                format!("Customer {n} of org {}", org + 1),
            );
            p.customers[org].push(id);
        }
        // The first customer of every organization (and a tenth of the rest) sees the
        // whole organization.
        let admin = p.admins[0];
        let mut grant_id = 1i64;
        for (org, members) in p.customers.iter().enumerate() {
            for (i, &user_id) in members.iter().enumerate() {
                if i == 0 || self.rng.random_bool(0.1) {
                    p.grants.push(org_scope_grant::ActiveModel {
                        id: Set(grant_id),
                        user_id: Set(user_id),
                        org_id: Set(org as i64 + 1),
                        granted_by_id: Set(admin),
                        granted_at: Set(epoch),
                        expires_at: Set(None),
                        revoked_at: Set(None),
                        revoked_by_id: Set(None),
                    });
                    grant_id += 1;
                }
            }
        }
        self.counts.organizations = p.orgs.len();
        self.counts.users = p.users.len();
        self.counts.grants = p.grants.len();
        p
    }

    fn pick_org(&mut self, weights: &[f64]) -> usize {
        let x: f64 = self.rng.random();
        weights.partition_point(|w| *w < x).min(weights.len() - 1)
    }

    fn releases(&mut self, p: &People, hotfixes: usize, quarters: usize) -> Releases {
        let mut r = Releases {
            rows: Vec::new(),
            notes: Vec::new(),
            index: Vec::new(),
        };
        let lead = p.leads[0];
        let mut add = |g: &mut Gen, kind: ReleaseKind, i: usize, of: usize| {
            let id = r.rows.len() as i64 + 1;
            // Spread over two years; the last two of each kind are still to ship.
            let days_ago = 730.0 * (1.0 - (i as f64 + 1.0) / (of as f64 + 1.0));
            let status = if i + 2 < of {
                ReleaseStatus::Released
            } else if i + 1 < of {
                ReleaseStatus::Imminent
            } else {
                ReleaseStatus::Planned
            };
            let created = g.at(days_ago + 20.0);
            let shipped = g.at(days_ago);
            let (version, quarter) = match kind {
                ReleaseKind::Hotfix => (format!("5.{}.{}", i / 10, i % 10 + 1), None),
                ReleaseKind::Quarterly => {
                    let q = format!("{}-Q{}", 2025 + i / 4, i % 4 + 1);
                    (format!("6.{i}.0"), Some(q))
                }
            };
            r.rows.push(release::ActiveModel {
                id: Set(id),
                version: Set(version.clone()),
                kind: Set(kind),
                status: Set(status),
                quarter: Set(quarter),
                planned_for: Set(Some(shipped.date_naive())),
                imminent_at: Set(
                    (status != ReleaseStatus::Planned).then_some(shipped - Duration::days(2))
                ),
                released_at: Set((status == ReleaseStatus::Released).then_some(shipped)),
                created_by_id: Set(lead),
                lock_version: Set(0),
                created_at: Set(created),
                updated_at: Set(shipped.min(g.now)),
            });
            if status == ReleaseStatus::Released {
                r.notes.push(release_note::ActiveModel {
                    id: Set(r.notes.len() as i64 + 1),
                    release_id: Set(id),
                    title: Set(format!("What's new in {version}")),
                    body: Set(format!(
                        "Fixes for {} and {}, and faster {}.",
                        WORDS[i % WORDS.len()],
                        WORDS[(i * 7 + 3) % WORDS.len()],
                        WORDS[(i * 5 + 1) % WORDS.len()]
                    )),
                    published_by_id: Set(lead),
                    published_at: Set(shipped),
                });
            }
            r.index.push((id, kind, status));
        };
        for i in 0..hotfixes {
            add(self, ReleaseKind::Hotfix, i, hotfixes);
        }
        for i in 0..quarters {
            add(self, ReleaseKind::Quarterly, i, quarters);
        }
        self.counts.releases = r.rows.len();
        self.counts.notes = r.notes.len();
        r
    }

    /// Tickets with their comments, escalations, links and updates, written in chunks so
    /// memory stays flat.
    async fn tickets(
        &mut self,
        db: &DatabaseConnection,
        p: &People,
        r: &Releases,
        count: usize,
    ) -> anyhow::Result<()> {
        let span = 730.0;
        let mut comment_id = 0i64;
        let mut escalation_id = 0i64;
        let mut update_id = 0i64;
        let pick_release = |g: &mut Gen, kind: ReleaseKind, shipped: bool| {
            let fits: Vec<i64> = r
                .index
                .iter()
                .filter(|(_, k, s)| *k == kind && (*s == ReleaseStatus::Released) == shipped)
                .map(|(id, _, _)| *id)
                .collect();
            fits.choose(&mut g.rng).copied()
        };
        for start in (0..count).step_by(CHUNK * 10) {
            let end = (start + CHUNK * 10).min(count);
            let mut tickets = Vec::with_capacity(end - start);
            let mut comments = Vec::new();
            let mut escalations = Vec::new();
            let mut links = Vec::new();
            let mut updates = Vec::new();
            for i in start..end {
                let id = i as i64 + 1;
                let created = self.at(span * (1.0 - i as f64 / count as f64));
                let org = self.pick_org(&p.org_weights);
                let requester = *p.customers[org]
                    .choose(&mut self.rng)
                    .expect("a customer per org");
                let agent = *p.agents.choose(&mut self.rng).expect("agents");
                // Escalated tickets: the escalation decides the ticket's state.
                let escalation = (i % ESCALATION_EVERY == 0).then(|| self.escalation_state());
                let (status, solved_by) = match escalation {
                    Some((s, Some(EscalationTrack::Hotfix))) if open(s) => {
                        (TicketStatus::OnHold, None)
                    }
                    Some((EscalationStatus::Released, Some(EscalationTrack::Hotfix))) => {
                        (TicketStatus::Solved, Some(SolvedBy::Release))
                    }
                    Some((s, Some(_))) if s != EscalationStatus::Declined => {
                        (TicketStatus::Solved, Some(SolvedBy::Triage))
                    }
                    Some(_) => (TicketStatus::Open, None),
                    None => self.ticket_state(),
                };
                let updated =
                    (created + Duration::hours(self.rng.random_range(1..24 * 30))).min(self.now);
                tickets.push(ticket::ActiveModel {
                    id: Set(id),
                    number: Set(id),
                    subject: Set(self.subject()),
                    description: Set(format!(
                        "Since this morning the {} {}. Steps: open it, wait, see the error.",
                        WORDS[i % WORDS.len()],
                        SYMPTOMS[i % SYMPTOMS.len()]
                    )),
                    status: Set(status),
                    priority: Set(self.ticket_priority()),
                    solved_by: Set(solved_by),
                    requester_id: Set(requester),
                    org_id: Set(org as i64 + 1),
                    assignee_id: Set(
                        (status != TicketStatus::New && self.rng.random_bool(0.7)).then_some(agent)
                    ),
                    lock_version: Set(0),
                    created_at: Set(created),
                    updated_at: Set(updated),
                });
                for k in 0..self.rng.random_range(0..=COMMENTS_PER_TICKET) {
                    comment_id += 1;
                    let by_customer = self.rng.random_bool(0.55);
                    let public = by_customer || self.rng.random_bool(0.7);
                    comments.push(comment::ActiveModel {
                        id: Set(comment_id),
                        ticket_id: Set(id),
                        author_id: Set(if by_customer { requester } else { agent }),
                        body: Set(format!(
                            "{} #{k}: the {} still {}.",
                            if public { "Update" } else { "Internal note" },
                            WORDS[(i + k as usize) % WORDS.len()],
                            SYMPTOMS[(i * 3 + k as usize) % SYMPTOMS.len()]
                        )),
                        public: Set(public),
                        created_at: Set(created + Duration::minutes(30 * (k as i64 + 1))),
                    });
                }
                if let Some((state, track)) = escalation {
                    escalation_id += 1;
                    let triaged = state != EscalationStatus::AwaitingTriage;
                    let release_id = match (state, track) {
                        (EscalationStatus::Scheduled, Some(t)) => {
                            pick_release(self, kind_for(t), false)
                        }
                        (EscalationStatus::Released, Some(t)) => {
                            pick_release(self, kind_for(t), true)
                        }
                        _ => None,
                    };
                    let at = created + Duration::hours(2);
                    escalations.push(escalation::ActiveModel {
                        id: Set(escalation_id),
                        title: Set(format!("{} (from #{id})", self.subject())),
                        details: Set("Reproduced on staging; logs attached.".into()),
                        status: Set(state),
                        track: Set(track),
                        priority: Set(self.escalation_priority()),
                        assignee_id: Set(triaged
                            .then(|| *p.developers.choose(&mut self.rng).expect("developers"))),
                        release_id: Set(release_id),
                        created_by_id: Set(agent),
                        decline_reason: Set((state == EscalationStatus::Declined)
                            .then(|| "Works as designed.".into())),
                        lock_version: Set(0),
                        triaged_at: Set(triaged.then_some(at + Duration::hours(4))),
                        created_at: Set(at),
                        updated_at: Set(updated.max(at)),
                    });
                    links.push(escalation_ticket::ActiveModel {
                        id: Set(escalation_id),
                        escalation_id: Set(escalation_id),
                        ticket_id: Set(id),
                        open_ticket_id: Set(open(state).then_some(id)),
                        linked_by_id: Set(agent),
                        created_at: Set(at),
                    });
                    if triaged {
                        for u in 0..self.rng.random_range(1..=3) {
                            update_id += 1;
                            updates.push(escalation_update::ActiveModel {
                                id: Set(update_id),
                                escalation_id: Set(escalation_id),
                                author_id: Set(*p
                                    .developers
                                    .choose(&mut self.rng)
                                    .expect("developers")),
                                body: Set(format!("Progress {u}: root cause narrowed down.")),
                                public: Set(self.rng.random_bool(0.5)),
                                created_at: Set(at + Duration::hours(6 * (u as i64 + 1))),
                            });
                        }
                    }
                }
            }
            self.counts.tickets += tickets.len();
            self.counts.comments += comments.len();
            self.counts.escalations += escalations.len();
            self.counts.updates += updates.len();
            let txn = db.begin().await?;
            insert(&txn, tickets).await?;
            insert(&txn, comments).await?;
            insert(&txn, escalations).await?;
            insert(&txn, links).await?;
            insert(&txn, updates).await?;
            txn.commit().await?;
        }
        Ok(())
    }

    fn subject(&mut self) -> String {
        let w = WORDS.choose(&mut self.rng).expect("words");
        let s = SYMPTOMS.choose(&mut self.rng).expect("symptoms");
        format!("{} {s}", capitalize(w))
    }

    fn ticket_state(&mut self) -> (TicketStatus, Option<SolvedBy>) {
        let x: u32 = self.rng.random_range(0..100);
        let solved_by = |g: &mut Gen| {
            Some(match g.rng.random_range(0..10) {
                0..=5 => SolvedBy::Agent,
                6..=8 => SolvedBy::Customer,
                _ => SolvedBy::Triage,
            })
        };
        match x {
            0..=9 => (TicketStatus::New, None),
            10..=34 => (TicketStatus::Open, None),
            35..=44 => (TicketStatus::Pending, None),
            45..=49 => (TicketStatus::OnHold, None),
            50..=79 => (TicketStatus::Solved, solved_by(self)),
            _ => (TicketStatus::Closed, solved_by(self)),
        }
    }

    fn ticket_priority(&mut self) -> TicketPriority {
        match self.rng.random_range(0..100) {
            0..=4 => TicketPriority::Urgent,
            5..=24 => TicketPriority::High,
            25..=84 => TicketPriority::Normal,
            _ => TicketPriority::Low,
        }
    }

    fn escalation_priority(&mut self) -> EscalationPriority {
        match self.rng.random_range(0..100) {
            0..=4 => EscalationPriority::P0,
            5..=24 => EscalationPriority::P1,
            25..=69 => EscalationPriority::P2,
            _ => EscalationPriority::P3,
        }
    }

    /// An escalation's status with a track that fits it: hotfixes are worked on (IN_PROGRESS),
    /// planning and feature requests wait UNDER_REVIEW; scheduled and released ones of any.
    fn escalation_state(&mut self) -> (EscalationStatus, Option<EscalationTrack>) {
        let any_track = |g: &mut Gen| match g.rng.random_range(0..100) {
            0..=39 => EscalationTrack::Hotfix,
            40..=74 => EscalationTrack::ProductPlanning,
            _ => EscalationTrack::FeatureRequest,
        };
        match self.rng.random_range(0..100) {
            0..=14 => (EscalationStatus::AwaitingTriage, None),
            15..=34 => (EscalationStatus::InProgress, Some(EscalationTrack::Hotfix)),
            35..=49 => {
                let t = if self.rng.random_bool(0.6) {
                    EscalationTrack::ProductPlanning
                } else {
                    EscalationTrack::FeatureRequest
                };
                (EscalationStatus::UnderReview, Some(t))
            }
            50..=64 => (EscalationStatus::Scheduled, Some(any_track(self))),
            65..=89 => (EscalationStatus::Released, Some(any_track(self))),
            _ => (EscalationStatus::Declined, Some(any_track(self))),
        }
    }
}

fn open(s: EscalationStatus) -> bool {
    !matches!(s, EscalationStatus::Released | EscalationStatus::Declined)
}

fn kind_for(track: EscalationTrack) -> ReleaseKind {
    match track {
        EscalationTrack::Hotfix => ReleaseKind::Hotfix,
        _ => ReleaseKind::Quarterly,
    }
}

fn capitalize(w: &str) -> String {
    let mut c = w.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn org_suffix(i: usize) -> &'static str {
    [
        "Labs", "Works", "GmbH", "Ltd", "Inc", "Group", "Systems", "Partners",
    ][i % 8]
}

/// Inserts rows in chunks inside one transaction.
async fn write<A>(db: &DatabaseConnection, what: &str, rows: Vec<A>) -> anyhow::Result<()>
where
    A: ActiveModelTrait + Send,
{
    let started = Instant::now();
    let n = rows.len();
    let txn = db.begin().await?;
    insert(&txn, rows).await?;
    txn.commit().await?;
    tracing::debug!(what, rows = n, elapsed = ?started.elapsed(), "seeded");
    Ok(())
}

async fn insert<A, C>(db: &C, rows: Vec<A>) -> anyhow::Result<()>
where
    A: ActiveModelTrait + Send,
    C: ConnectionTrait,
{
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<A> = rows.by_ref().take(CHUNK).collect();
        <A::Entity as EntityTrait>::insert_many(chunk)
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// Moves PostgreSQL's id sequences past the explicit ids, and the ticket-number counter
/// past the seeded numbers, so the API's own inserts continue after them.
async fn finish(db: &DatabaseConnection, tickets: i64) -> anyhow::Result<()> {
    let backend = db.get_database_backend();
    if crate::db::is_postgres(db) {
        for table in [
            "organization",
            "app_user",
            "org_scope_grant",
            "release",
            "release_note",
            "ticket",
            "comment",
            "escalation",
            "escalation_ticket",
            "escalation_update",
        ] {
            db.execute_raw(Statement::from_string(
                backend,
                format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
                     (SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false)"
                ),
            ))
            .await?;
        }
        // Freshly bulk-loaded tables have no visibility map yet: without VACUUM every
        // index-only scan (counts!) visits the heap.
        db.execute_raw(Statement::from_string(backend, "VACUUM ANALYZE"))
            .await?;
    }
    let existing = counter::Entity::find_by_id("ticket_number".to_owned())
        .one(db)
        .await?;
    match existing {
        Some(c) => {
            let mut am: counter::ActiveModel = c.into();
            am.value = Set(tickets);
            am.update(db).await?;
        }
        None => {
            counter::Entity::insert(counter::ActiveModel {
                name: Set("ticket_number".into()),
                value: Set(tickets),
            })
            .exec_without_returning(db)
            .await?;
        }
    }
    Ok(())
}
