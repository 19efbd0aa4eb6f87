//! Organizations, users in every role, organization-scope grants and release-note followers.

use chrono::{DateTime, Duration, Utc};
use entity::Role;
use rand::{Rng, seq::IndexedRandom};

use super::{
    Gen, Sizes,
    sink::{Rows, Sink},
    text,
};

/// Shares of all users by staff role; customers are the rest.
const ADMINS: f64 = 0.0025;
const AGENTS: f64 = 0.04;
const DEVELOPERS: f64 = 0.015;
const TRIAGE_LEADS: f64 = 0.0025;
/// Customers (besides each organization's first) with organization scope.
const SCOPED: f64 = 0.1;
/// Users who follow release notes.
const FOLLOWERS: f64 = 0.01;

/// Who exists, for the later generators to pick from.
pub struct People {
    /// Cumulative ticket share per organization (index = org id - 1), for weighted picks.
    org_weights: Vec<f64>,
    /// Customer ids per organization (index = org id - 1); the first has organization scope.
    pub customers: Vec<Vec<i64>>,
    pub agents: Vec<i64>,
    pub developers: Vec<i64>,
    pub leads: Vec<i64>,
    pub admins: Vec<i64>,
    pub users: usize,
    /// Release-note followers and since when.
    pub followers: Vec<(i64, DateTime<Utc>)>,
    /// When accounts were created: before any ticket.
    pub epoch: DateTime<Utc>,
}

impl People {
    /// An organization index (id - 1), weighted by size.
    pub fn org(&self, g: &mut Gen) -> usize {
        let x: f64 = g.rng.random();
        self.org_weights
            .partition_point(|w| *w < x)
            .min(self.org_weights.len() - 1)
    }

    pub fn agent(&self, g: &mut Gen) -> i64 {
        pick(&self.agents, g)
    }

    pub fn developer(&self, g: &mut Gen) -> i64 {
        pick(&self.developers, g)
    }

    pub fn lead(&self, g: &mut Gen) -> i64 {
        pick(&self.leads, g)
    }
}

fn pick(ids: &[i64], g: &mut Gen) -> i64 {
    *ids.choose(&mut g.rng).expect("at least one user per role")
}

/// Generates and writes organizations, users, grants and followers.
pub async fn generate(g: &mut Gen, sizes: &Sizes, sink: &mut Sink<'_>) -> anyhow::Result<People> {
    let epoch = g.days_ago(super::SPAN_DAYS + 60.0);
    let mut people = People {
        org_weights: zipf(sizes.organizations),
        customers: vec![Vec::new(); sizes.organizations],
        agents: Vec::new(),
        developers: Vec::new(),
        leads: Vec::new(),
        admins: Vec::new(),
        users: 0,
        followers: Vec::new(),
        epoch,
    };
    sink.write(organizations(g, sizes.organizations, epoch))
        .await?;
    sink.write(users(g, &mut people, sizes)).await?;
    sink.write(grants(g, &people)).await?;
    sink.write(followers(g, &mut people)).await?;
    Ok(people)
}

/// Cumulative Zipf–Mandelbrot weights `1/(rank+1)`: about 10% for the largest of 200, 40%
/// for the ten largest, and every organization gets some.
fn zipf(n: usize) -> Vec<f64> {
    let weights: Vec<f64> = (1..=n).map(|r| 1.0 / (r as f64 + 1.0)).collect();
    let total: f64 = weights.iter().sum();
    let mut acc = 0.0;
    weights
        .iter()
        .map(|w| {
            acc += w / total;
            acc
        })
        .collect()
}

fn organizations(g: &mut Gen, n: usize, epoch: DateTime<Utc>) -> Rows {
    let mut rows = Rows::new("organization", &["id", "key", "name", "created_at"]);
    for id in 1..=n as i64 {
        let created = epoch - g.hours(0.0, 24.0 * 365.0);
        rows.push([
            id.into(),
            format!("org-{id:04}").into(),
            text::organization(&mut g.rng).into(),
            created.into(),
        ]);
    }
    rows
}

fn users(g: &mut Gen, p: &mut People, sizes: &Sizes) -> Rows {
    let mut rows = Rows::new(
        "app_user",
        &[
            "id",
            "sub",
            "role",
            "org_id",
            "email",
            "name",
            "created_at",
            "updated_at",
        ],
    );
    let staff = |share: f64| ((sizes.users as f64 * share).round() as usize).max(1);
    let epoch = p.epoch;
    let mut add = |g: &mut Gen, sub: String, role: Role, org: Option<i64>| {
        let id = rows.len() as i64 + 1;
        let created = epoch + g.hours(0.0, 24.0 * 30.0);
        let email = format!("{sub}@example.com");
        rows.push([
            id.into(),
            sub.into(),
            role.as_str().into(),
            org.into(),
            email.into(),
            text::person(&mut g.rng).into(),
            created.into(),
            created.into(),
        ]);
        id
    };
    // Staff first, so `admin-1` is user 1.
    for (role, share, prefix, ids) in [
        (Role::Admin, ADMINS, "admin", &mut p.admins),
        (Role::Agent, AGENTS, "agent", &mut p.agents),
        (Role::Developer, DEVELOPERS, "dev", &mut p.developers),
        (Role::TriageLead, TRIAGE_LEADS, "triage", &mut p.leads),
    ] {
        for n in 1..=staff(share) {
            ids.push(add(g, format!("{prefix}-{n}"), role, None));
        }
    }
    let staff_total = p.admins.len() + p.agents.len() + p.developers.len() + p.leads.len();
    let customers = sizes
        .users
        .saturating_sub(staff_total)
        .max(sizes.organizations);
    // Every organization gets a first customer; the rest follow the organizations' sizes.
    for c in 0..customers {
        let org = if c < sizes.organizations { c } else { p.org(g) };
        let n = p.customers[org].len() + 1;
        let sub = format!("cust-{:04}-{n}", org + 1);
        let id = add(g, sub, Role::Customer, Some(org as i64 + 1));
        p.customers[org].push(id);
    }
    p.users = rows.len();
    rows
}

/// What became of a grant.
#[derive(Clone, Copy)]
enum Fate {
    Live,
    Expiring,
    Expired,
    Revoked,
}

/// Organization scope for the first customer of every organization (always live: benchmarks
/// sign in as them) and for about a tenth of the others, a few of those since expired or
/// revoked.
fn grants(g: &mut Gen, p: &People) -> Rows {
    let mut rows = Rows::new(
        "org_scope_grant",
        &[
            "id",
            "user_id",
            "org_id",
            "granted_by_id",
            "granted_at",
            "expires_at",
            "revoked_at",
            "revoked_by_id",
        ],
    );
    for (org, members) in p.customers.iter().enumerate() {
        for (i, &user) in members.iter().enumerate() {
            let first = i == 0;
            if !first && !g.chance(SCOPED) {
                continue;
            }
            let admin = if first {
                p.admins[0]
            } else {
                pick(&p.admins, g)
            };
            let granted = p.epoch + g.hours(24.0 * 30.0, 24.0 * 400.0);
            let fate = if first {
                Fate::Live
            } else {
                g.weighted(&[
                    (Fate::Live, 85.0),
                    (Fate::Expiring, 5.0),
                    (Fate::Expired, 5.0),
                    (Fate::Revoked, 5.0),
                ])
            };
            let later = granted + g.hours(24.0, 24.0 * 200.0);
            let (expires, revoked, revoked_by) = match fate {
                Fate::Live => (None, None, None),
                // Far enough out to stay live for years after the seed's fixed "now".
                Fate::Expiring => (Some(g.now + Duration::days(3 * 365)), None, None),
                Fate::Expired => (Some(later), None, None),
                Fate::Revoked => (None, Some(later), Some(pick(&p.admins, g))),
            };
            rows.push([
                (rows.len() as i64 + 1).into(),
                user.into(),
                (org as i64 + 1).into(),
                admin.into(),
                granted.into(),
                expires.into(),
                revoked.into(),
                revoked_by.into(),
            ]);
        }
    }
    rows
}

/// A few users of every role follow release notes.
fn followers(g: &mut Gen, p: &mut People) -> Rows {
    let mut rows = Rows::new("release_note_follow", &["id", "user_id", "created_at"]);
    for user in 1..=p.users as i64 {
        if g.chance(FOLLOWERS) {
            let since = p.epoch + g.hours(24.0 * 30.0, 24.0 * 700.0);
            rows.push([(rows.len() as i64 + 1).into(), user.into(), since.into()]);
            p.followers.push((user, since));
        }
    }
    rows
}
