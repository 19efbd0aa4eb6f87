//! Hotfix and quarterly releases in every status, notes with votes for the shipped ones, and
//! the notifications their followers got.

use chrono::{DateTime, Datelike, Duration, Utc};
use entity::{ReleaseKind, ReleaseStatus};
use rand::seq::index;
use sea_orm::Value;

use super::{
    Gen, SPAN_DAYS, Sizes,
    people::People,
    sink::{Rows, Sink},
};

/// A release the ticket generator can schedule escalations into.
pub struct Release {
    pub id: i64,
    pub kind: ReleaseKind,
    pub status: ReleaseStatus,
    pub version: String,
    /// When it shipped, or when it is due.
    pub due: DateTime<Utc>,
    pub imminent_at: Option<DateTime<Utc>>,
    pub released_at: Option<DateTime<Utc>>,
}

impl Release {
    /// When a hotfix release solves its tickets: imminent or released, whichever came first.
    pub fn solves_from(&self) -> Option<DateTime<Utc>> {
        self.imminent_at.or(self.released_at)
    }
}

/// Every release, in due order (ids follow it).
pub struct Releases {
    list: Vec<Release>,
    /// Notifications written so far (the next id is one more).
    pub notifications: i64,
}

impl Releases {
    /// The first release of `kind` due at or after `at`: the one a triage lead would pick.
    pub fn next(&self, kind: ReleaseKind, at: DateTime<Utc>) -> Option<&Release> {
        self.list.iter().find(|r| r.kind == kind && r.due >= at)
    }
}

/// Generates and writes releases, notes, votes and follower notifications.
pub async fn generate(
    g: &mut Gen,
    sizes: &Sizes,
    people: &People,
    sink: &mut Sink<'_>,
) -> anyhow::Result<Releases> {
    let mut list = slots(g, ReleaseKind::Hotfix, sizes.hotfix_releases);
    list.extend(slots(g, ReleaseKind::Quarterly, sizes.quarterly_releases));
    list.sort_by_key(|r| r.due);
    number(&mut list);
    let mut releases = Releases {
        list,
        notifications: 0,
    };
    sink.write(release_rows(g, &releases, people)).await?;
    let notes = notes(g, &releases, people);
    sink.write(notes.rows).await?;
    sink.write(notes.votes).await?;
    releases.notifications = notes.notifications.len() as i64;
    sink.write(notes.notifications).await?;
    Ok(releases)
}

/// `count` releases of one kind: shipped ones spread over the two years, then one imminent
/// and a few planned ones ahead of "now".
fn slots(g: &mut Gen, kind: ReleaseKind, count: usize) -> Vec<Release> {
    let planned = (count / 20).max(1);
    let shipped = count - planned - 1;
    let interval = match kind {
        ReleaseKind::Hotfix => 14,
        ReleaseKind::Quarterly => 91,
    };
    let mut out = Vec::with_capacity(count);
    let mut add = |status, due, imminent_at, released_at| {
        out.push(Release {
            id: 0,
            kind,
            status,
            version: String::new(),
            due,
            imminent_at,
            released_at,
        })
    };
    for i in 0..shipped {
        let due = g.days_ago(SPAN_DAYS * ((shipped - i) as f64 - 0.5) / shipped as f64);
        // Most are announced as imminent a day or two ahead; some ship straight away.
        let imminent = g.chance(0.8).then(|| due - g.hours(24.0, 72.0));
        add(ReleaseStatus::Released, due, imminent, Some(due));
    }
    let imminent = g.now - g.hours(6.0, 48.0);
    add(
        ReleaseStatus::Imminent,
        g.now + Duration::days(interval / 7 + 2),
        Some(imminent),
        None,
    );
    for j in 0..planned {
        let due = g.now + Duration::days(interval * (j as i64 + 1));
        add(ReleaseStatus::Planned, due, None, None);
    }
    out
}

/// Ids in due order and versions `6.{quarterly}.{hotfix}`: a quarterly release starts a new
/// minor version, hotfixes count patches on top of it.
fn number(list: &mut [Release]) {
    let (mut minor, mut patch) = (0, 0);
    for (i, r) in list.iter_mut().enumerate() {
        r.id = i as i64 + 1;
        match r.kind {
            ReleaseKind::Quarterly => (minor, patch) = (minor + 1, 0),
            ReleaseKind::Hotfix => patch += 1,
        }
        r.version = format!("6.{minor}.{patch}");
    }
}

fn release_rows(g: &mut Gen, releases: &Releases, people: &People) -> Rows {
    let mut rows = Rows::new(
        "release",
        &[
            "id",
            "version",
            "kind",
            "status",
            "quarter",
            "planned_for",
            "imminent_at",
            "released_at",
            "created_by_id",
            "lock_version",
            "created_at",
            "updated_at",
        ],
    );
    for r in &releases.list {
        let lead_time = match r.kind {
            ReleaseKind::Hotfix => Duration::days(10),
            ReleaseKind::Quarterly => Duration::days(75),
        };
        let first_move = [r.imminent_at, r.released_at, Some(g.now)]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(g.now);
        let created = (r.due - lead_time).min(first_move);
        let updated = [Some(created), r.imminent_at, r.released_at]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(created);
        let planned_for = r.due.date_naive();
        let quarter = (r.kind == ReleaseKind::Quarterly).then(|| {
            format!(
                "{}-Q{}",
                planned_for.year(),
                (planned_for.month() - 1) / 3 + 1
            )
        });
        rows.push([
            r.id.into(),
            r.version.clone().into(),
            r.kind.as_str().into(),
            r.status.as_str().into(),
            quarter.into(),
            planned_for.into(),
            r.imminent_at.into(),
            r.released_at.into(),
            people.lead(g).into(),
            Value::Int(Some(0)),
            created.into(),
            updated.into(),
        ]);
    }
    rows
}

struct Notes {
    rows: Rows,
    votes: Rows,
    notifications: Rows,
}

/// A note for every shipped release, votes on it, and a notification for every follower who
/// followed before it was published.
fn notes(g: &mut Gen, releases: &Releases, people: &People) -> Notes {
    let mut out = Notes {
        rows: Rows::new(
            "release_note",
            &[
                "id",
                "release_id",
                "title",
                "body",
                "published_by_id",
                "published_at",
            ],
        ),
        votes: Rows::new(
            "release_note_vote",
            &[
                "id",
                "release_note_id",
                "user_id",
                "helpful",
                "created_at",
                "updated_at",
            ],
        ),
        notifications: notification_rows(),
    };
    for r in &releases.list {
        let Some(released) = r.released_at else {
            continue;
        };
        let id = out.rows.len() as i64 + 1;
        let published = g.later(released, 1.0, 6.0);
        let title = match r.kind {
            ReleaseKind::Hotfix => format!("Hotfix {}", r.version),
            ReleaseKind::Quarterly => format!("What's new in {}", r.version),
        };
        out.rows.push([
            id.into(),
            r.id.into(),
            title.clone().into(),
            format!(
                "Release {} is out. The escalations it ships are listed below; thank you for \
                 reporting them.",
                r.version
            )
            .into(),
            people.lead(g).into(),
            published.into(),
        ]);
        votes(g, &mut out.votes, id, published, people.users);
        for &(user, since) in &people.followers {
            if since < published {
                let next = out.notifications.len() as i64 + 1;
                let message = format!("Release {}: {title}", r.version);
                push_notification(
                    g,
                    &mut out.notifications,
                    next,
                    Notification {
                        user,
                        kind: "RELEASE_NOTE_PUBLISHED",
                        message,
                        ticket: None,
                        escalation: None,
                        note: Some(id),
                        at: published,
                    },
                );
            }
        }
    }
    out
}

/// Distinct voters on one note, mostly finding it helpful.
fn votes(g: &mut Gen, rows: &mut Rows, note: i64, published: DateTime<Utc>, users: usize) {
    let voters = g.count(12.0, 300).min(users);
    for i in index::sample(&mut g.rng, users, voters) {
        let at = g.later_exp(published, 48.0);
        rows.push([
            (rows.len() as i64 + 1).into(),
            note.into(),
            (i as i64 + 1).into(),
            g.chance(0.75).into(),
            at.into(),
            at.into(),
        ]);
    }
}

/// The notification table's columns.
pub fn notification_rows() -> Rows {
    Rows::new(
        "notification",
        &[
            "id",
            "user_id",
            "kind",
            "message",
            "read",
            "ticket_id",
            "escalation_id",
            "release_note_id",
            "created_at",
        ],
    )
}

/// One notification, before it gets its id.
pub struct Notification {
    pub user: i64,
    pub kind: &'static str,
    pub message: String,
    pub ticket: Option<i64>,
    pub escalation: Option<i64>,
    pub note: Option<i64>,
    pub at: DateTime<Utc>,
}

/// Appends a notification; old ones have mostly been read.
pub fn push_notification(g: &mut Gen, rows: &mut Rows, id: i64, n: Notification) {
    let read = g.chance(if g.age_days(n.at) > 14.0 { 0.8 } else { 0.2 });
    rows.push([
        id.into(),
        n.user.into(),
        n.kind.into(),
        n.message.into(),
        read.into(),
        n.ticket.into(),
        n.escalation.into(),
        n.note.into(),
        n.at.into(),
    ]);
}
