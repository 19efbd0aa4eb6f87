//! Tickets with their comments, escalations, links, Tier 3 updates, creation events and
//! "what you asked for shipped" notifications.
//!
//! Tickets come in blocks of ten in time order: the first of each block is escalated, and the
//! other nine may be linked to its escalation (the same problem reported again). Each
//! escalation's story is decided first (track, release, when things happened), and every
//! linked ticket is then written the way the workflow would have left it. Blocks are written
//! in batches so memory stays flat at any scale.

use std::borrow::Cow;

use chrono::{DateTime, Duration, Utc};
use entity::{
    EscalationPriority, EscalationStatus, EscalationTrack, EventKind, ReleaseKind, ReleaseStatus,
    SolvedBy, TicketPriority, TicketStatus,
};
use sea_orm::Value;

use super::{
    Gen, SPAN_DAYS,
    people::People,
    releases::{Notification, Release, Releases, notification_rows, push_notification},
    sink::{Rows, Sink},
    text,
};

/// Tickets per block; the first of each is escalated.
pub const BLOCK: usize = 10;
/// Tickets per write batch (a multiple of [`BLOCK`]).
const BATCH: usize = 5_000;
/// Chance that another ticket of the block reports the same problem and is linked.
const LINK_CHANCE: f64 = 0.03;
/// Mean number of conversation comments on a ticket (the workflow adds its own).
const CONVERSATION_MEAN: f64 = 3.9;
/// How fast "recent" fades: tickets and escalations older than a few weeks are mostly done.
const RECENT_DAYS: f64 = 20.0;

/// Next ids per table, carried across batches.
struct Ids {
    comment: i64,
    escalation: i64,
    link: i64,
    update: i64,
    notification: i64,
}

/// Shared inputs of the generators below.
struct Ctx<'a> {
    g: &'a mut Gen,
    people: &'a People,
    releases: &'a Releases,
    count: usize,
}

/// Generates and writes `count` tickets and everything hanging off them.
pub async fn generate(
    g: &mut Gen,
    people: &People,
    releases: &Releases,
    count: usize,
    sink: &mut Sink<'_>,
) -> anyhow::Result<()> {
    let mut cx = Ctx {
        g,
        people,
        releases,
        count,
    };
    let mut ids = Ids {
        comment: 0,
        escalation: 0,
        link: 0,
        update: 0,
        notification: releases.notifications,
    };
    for start in (0..count).step_by(BATCH) {
        let end = (start + BATCH).min(count);
        let mut batch = Batch::new();
        for first in (start..end).step_by(BLOCK) {
            block(
                &mut cx,
                &mut ids,
                &mut batch,
                first,
                (first + BLOCK).min(end),
            );
        }
        batch.write(sink).await?;
    }
    Ok(())
}

/// One batch of rows per table.
struct Batch {
    tickets: Rows,
    events: Rows,
    escalations: Rows,
    links: Rows,
    updates: Rows,
    comments: Rows,
    notifications: Rows,
}

impl Batch {
    fn new() -> Batch {
        Batch {
            tickets: Rows::new(
                "ticket",
                &[
                    "id",
                    "number",
                    "subject",
                    "description",
                    "status",
                    "priority",
                    "solved_by",
                    "requester_id",
                    "org_id",
                    "assignee_id",
                    "lock_version",
                    "created_at",
                    "updated_at",
                ],
            ),
            events: Rows::new(
                "event",
                &[
                    "id",
                    "kind",
                    "public",
                    "actor_id",
                    "org_id",
                    "ticket_id",
                    "to_status",
                    "created_at",
                ],
            ),
            escalations: Rows::new(
                "escalation",
                &[
                    "id",
                    "title",
                    "details",
                    "status",
                    "track",
                    "priority",
                    "assignee_id",
                    "release_id",
                    "created_by_id",
                    "decline_reason",
                    "lock_version",
                    "triaged_at",
                    "created_at",
                    "updated_at",
                ],
            ),
            links: Rows::new(
                "escalation_ticket",
                &[
                    "id",
                    "escalation_id",
                    "ticket_id",
                    "open_ticket_id",
                    "linked_by_id",
                    "created_at",
                ],
            ),
            updates: Rows::new(
                "escalation_update",
                &[
                    "id",
                    "escalation_id",
                    "author_id",
                    "body",
                    "public",
                    "created_at",
                ],
            ),
            comments: Rows::new(
                "comment",
                &[
                    "id",
                    "ticket_id",
                    "author_id",
                    "body",
                    "public",
                    "created_at",
                ],
            ),
            notifications: notification_rows(),
        }
    }

    /// Writes in foreign-key order.
    async fn write(self, sink: &mut Sink<'_>) -> anyhow::Result<()> {
        for rows in [
            self.tickets,
            self.events,
            self.escalations,
            self.links,
            self.updates,
            self.comments,
            self.notifications,
        ] {
            sink.write(rows).await?;
        }
        Ok(())
    }
}

/// What every ticket starts with.
struct Base {
    id: i64,
    created: DateTime<Utc>,
    org: usize,
    requester: i64,
    priority: TicketPriority,
    subject: String,
    area: usize,
}

/// A comment before it gets its id.
struct Comment {
    at: DateTime<Utc>,
    author: i64,
    body: Cow<'static, str>,
    public: bool,
}

/// Where a ticket ended up.
struct Story {
    status: TicketStatus,
    solved_by: Option<SolvedBy>,
    assignee: Option<i64>,
    comments: Vec<Comment>,
    /// The last thing that happened to it.
    last: DateTime<Utc>,
}

/// A Tier 3 update before it gets its id.
struct Update {
    author: i64,
    body: &'static str,
    public: bool,
    at: DateTime<Utc>,
}

/// An escalation's whole story.
struct Escalation<'a> {
    id: i64,
    title: String,
    area: usize,
    track: Option<EscalationTrack>,
    status: EscalationStatus,
    priority: EscalationPriority,
    creator: i64,
    lead: i64,
    assignee: Option<i64>,
    created: DateTime<Utc>,
    triaged: Option<DateTime<Utc>>,
    scheduled: Option<DateTime<Utc>>,
    release: Option<&'a Release>,
    /// When the release solved its hotfix tickets, if it has.
    solved: Option<DateTime<Utc>>,
    /// Released or declined: no links or updates after this.
    closed: Option<DateTime<Utc>>,
    updates: Vec<Update>,
}

impl Escalation<'_> {
    fn is_hotfix(&self) -> bool {
        self.track == Some(EscalationTrack::Hotfix)
    }

    fn is_open(&self) -> bool {
        !matches!(
            self.status,
            EscalationStatus::Released | EscalationStatus::Declined
        )
    }
}

/// A ticket's link to the escalation.
#[derive(Clone, Copy)]
struct Link {
    at: DateTime<Utc>,
    by: i64,
}

/// Tickets `first..end`: the first escalated, the others maybe linked.
fn block(cx: &mut Ctx, ids: &mut Ids, batch: &mut Batch, first: usize, end: usize) {
    let bases: Vec<Base> = (first..end).map(|i| base(cx, i)).collect();
    ids.escalation += 1;
    let e = plan_escalation(cx, ids.escalation, &bases[0]);
    let mut linked = Vec::new();
    for (k, b) in bases.iter().enumerate() {
        let link = if k == 0 {
            Some(Link {
                at: e.created,
                by: e.creator,
            })
        } else {
            extra_link(cx, &e, b)
        };
        let story = match link {
            Some(link) => {
                linked.push((b, link));
                linked_story(cx, b, &e, link)
            }
            None => plain_story(cx, b),
        };
        push_ticket(cx, ids, batch, b, story);
    }
    push_escalation(ids, batch, &e, &linked);
    notify_shipped(cx, ids, batch, &e, &linked);
}

fn base(cx: &mut Ctx, i: usize) -> Base {
    let g = &mut *cx.g;
    // Evenly spread, oldest first, so ids and numbers follow creation time.
    let created = g.days_ago(SPAN_DAYS * (1.0 - i as f64 / cx.count as f64));
    let org = cx.people.org(g);
    let requester = *pick(&cx.people.customers[org], g);
    let priority = g.weighted(&[
        (TicketPriority::Urgent, 5.0),
        (TicketPriority::High, 20.0),
        (TicketPriority::Normal, 60.0),
        (TicketPriority::Low, 15.0),
    ]);
    let (subject, area) = text::subject(&mut g.rng);
    Base {
        id: i as i64 + 1,
        created,
        org,
        requester,
        priority,
        subject,
        area,
    }
}

fn pick<'a, T>(items: &'a [T], g: &mut Gen) -> &'a T {
    use rand::seq::IndexedRandom;
    items.choose(&mut g.rng).expect("not empty")
}

/// How recent a moment is: 1 now, fading over a few weeks.
fn recency(g: &Gen, t: DateTime<Utc>) -> f64 {
    (-g.age_days(t) / RECENT_DAYS).exp()
}

/// Decides everything that happened to an escalation of `origin`.
fn plan_escalation<'a>(cx: &mut Ctx<'a>, id: i64, origin: &Base) -> Escalation<'a> {
    let g = &mut *cx.g;
    let created = g.later(origin.created, 1.0, 72.0);
    let mut e = Escalation {
        id,
        title: origin.subject.clone(),
        area: origin.area,
        track: None,
        status: EscalationStatus::AwaitingTriage,
        priority: EscalationPriority::P2,
        creator: cx.people.agent(g),
        lead: cx.people.lead(g),
        assignee: None,
        created,
        triaged: None,
        scheduled: None,
        release: None,
        solved: None,
        closed: None,
        updates: Vec::new(),
    };
    // Recent escalations are often still waiting; a few old ones were forgotten.
    if g.chance(0.03 + 0.6 * recency(g, created)) {
        e.priority = escalation_priority(g, None);
        return e;
    }
    let track = g.weighted(&[
        (EscalationTrack::Hotfix, 45.0),
        (EscalationTrack::ProductPlanning, 35.0),
        (EscalationTrack::FeatureRequest, 20.0),
    ]);
    let triaged = g.later(created, 2.0, 48.0);
    e.track = Some(track);
    e.triaged = Some(triaged);
    e.priority = escalation_priority(g, Some(track));
    e.assignee = Some(if g.chance(0.9) {
        cx.people.developer(g)
    } else {
        e.lead
    });
    match track {
        EscalationTrack::Hotfix => hotfix_outcome(cx, &mut e, triaged),
        _ => planning_outcome(cx, &mut e, triaged),
    }
    e.updates = updates(cx, &e, triaged);
    e
}

fn escalation_priority(g: &mut Gen, track: Option<EscalationTrack>) -> EscalationPriority {
    use EscalationPriority::*;
    let weights = match track {
        None => [8.0, 30.0, 40.0, 22.0],
        Some(EscalationTrack::Hotfix) => [15.0, 45.0, 35.0, 5.0],
        Some(_) => [0.0, 5.0, 45.0, 50.0],
    };
    g.weighted(&[
        (P0, weights[0]),
        (P1, weights[1]),
        (P2, weights[2]),
        (P3, weights[3]),
    ])
}

/// A hotfix is worked on (`IN_PROGRESS`) until it is scheduled into the next `HOTFIX`
/// release, then `SCHEDULED` or `RELEASED` with it.
fn hotfix_outcome<'a>(cx: &mut Ctx<'a>, e: &mut Escalation<'a>, triaged: DateTime<Utc>) {
    let g = &mut *cx.g;
    e.status = EscalationStatus::InProgress;
    let ready = triaged + g.hours(48.0, 24.0 * 15.0);
    let Some(r) = cx.releases.next(ReleaseKind::Hotfix, ready) else {
        return;
    };
    // Half of the fixes for upcoming releases are not scheduled yet; a few old ones stalled.
    let still_working = if r.status == ReleaseStatus::Released {
        0.03
    } else {
        0.5
    };
    if !g.chance(still_working) {
        schedule(g, e, r);
    }
}

/// Planning and feature requests wait `UNDER_REVIEW`, are `DECLINED`, or are scheduled into
/// a later `QUARTERLY` release.
fn planning_outcome<'a>(cx: &mut Ctx<'a>, e: &mut Escalation<'a>, triaged: DateTime<Utc>) {
    #[derive(Clone, Copy)]
    enum Outcome {
        Review,
        Decline,
        Schedule,
    }
    let g = &mut *cx.g;
    let ready = triaged + g.hours(24.0 * 20.0, 24.0 * 200.0);
    let target = cx.releases.next(ReleaseKind::Quarterly, ready);
    let (review, decline) = match target {
        None => (70.0, 30.0),
        Some(r) if r.status == ReleaseStatus::Released => (15.0, 30.0),
        Some(_) => (50.0, 15.0),
    };
    let scheduled = if target.is_some() {
        100.0 - review - decline
    } else {
        0.0
    };
    let outcome = g.weighted(&[
        (Outcome::Review, review),
        (Outcome::Decline, decline),
        (Outcome::Schedule, scheduled),
    ]);
    match (outcome, target) {
        (Outcome::Schedule, Some(r)) => schedule(g, e, r),
        (Outcome::Decline, _) => {
            e.status = EscalationStatus::Declined;
            e.closed = Some(g.later(triaged, 24.0 * 3.0, 24.0 * 60.0));
        }
        _ => e.status = EscalationStatus::UnderReview,
    }
}

/// Schedules into `r` some time after triage and before it ships; a hotfix's tickets are
/// solved when the release turns imminent or ships (or at scheduling, if it already had).
fn schedule<'a>(g: &mut Gen, e: &mut Escalation<'a>, r: &'a Release) {
    let triaged = e.triaged.unwrap_or(e.created);
    let until = r.released_at.unwrap_or(g.now).min(g.now);
    let scheduled = g.between(triaged, until);
    e.scheduled = Some(scheduled);
    e.release = Some(r);
    e.status = if r.status == ReleaseStatus::Released {
        EscalationStatus::Released
    } else {
        EscalationStatus::Scheduled
    };
    e.closed = r.released_at;
    if e.is_hotfix() {
        e.solved = r
            .solves_from()
            .map(|s| s.max(scheduled))
            .filter(|s| *s <= g.now);
    }
}

/// Tier 3's updates between triage and the end (more on hotfixes), evenly spaced.
fn updates(cx: &mut Ctx, e: &Escalation, triaged: DateTime<Utc>) -> Vec<Update> {
    let g = &mut *cx.g;
    let hotfix = e.is_hotfix();
    let n = g.count(if hotfix { 2.0 } else { 0.7 }, 10);
    let span = (e.closed.unwrap_or(g.now) - triaged).num_seconds().max(0);
    (0..n)
        .map(|k| Update {
            author: match e.assignee {
                Some(a) if g.chance(0.8) => a,
                _ => cx.people.developer(g),
            },
            body: text::update(&mut g.rng),
            public: g.chance(if hotfix { 0.6 } else { 0.3 }),
            at: triaged + Duration::seconds(span * (k as i64 + 1) / (n as i64 + 1)),
        })
        .collect()
}

/// Now and then another ticket reports the same problem and an agent links it, while the
/// escalation is open.
fn extra_link(cx: &mut Ctx, e: &Escalation, b: &Base) -> Option<Link> {
    let g = &mut *cx.g;
    if !g.chance(LINK_CHANCE) {
        return None;
    }
    let at = b.created.max(e.created) + g.hours(1.0, 12.0);
    let open_then = e.closed.is_none_or(|closed| at < closed);
    (at <= g.now && open_then).then(|| Link {
        at,
        by: cx.people.agent(g),
    })
}

/// A ticket that was never escalated: status by age, a conversation, and who solved it.
fn plain_story(cx: &mut Ctx, b: &Base) -> Story {
    use TicketStatus::*;
    let g = &mut *cx.g;
    let r = recency(g, b.created);
    let status = g.weighted(&[
        (New, 2.0 + 30.0 * r),
        (Open, 6.0 + 30.0 * r),
        (Pending, 4.0 + 15.0 * r),
        (OnHold, 2.0 + 5.0 * r),
        (Solved, 16.0 + 15.0 * r),
        (Closed, 70.0 * (1.0 - r)),
    ]);
    let assignee = (status != New && g.chance(0.85)).then(|| cx.people.agent(g));
    let staff = assignee.unwrap_or_else(|| cx.people.agent(g));
    let (solved_by, until, last) = match status {
        New => (None, b.created, b.created),
        Open | Pending | OnHold => {
            let last = g.later_exp(b.created, 48.0);
            (None, last, last)
        }
        Solved | Closed => {
            let solved = g.later_exp(b.created, 72.0);
            let by = g.weighted(&[(SolvedBy::Agent, 65.0), (SolvedBy::Customer, 35.0)]);
            let last = if status == Closed {
                g.later(solved, 48.0, 240.0)
            } else {
                solved
            };
            (Some(by), solved, last)
        }
    };
    let mut comments = conversation(g, b.requester, staff, status == New, b.created, until);
    match solved_by {
        Some(SolvedBy::Customer) => {
            comments.push(public(until, b.requester, text::SOLVED_BY_CUSTOMER))
        }
        Some(_) => comments.push(public(until, staff, text::SOLVED_BY_AGENT)),
        None => {}
    }
    Story {
        status,
        solved_by,
        assignee,
        comments,
        last,
    }
}

fn public(at: DateTime<Utc>, author: i64, body: impl Into<Cow<'static, str>>) -> Comment {
    Comment {
        at,
        author,
        body: body.into(),
        public: true,
    }
}

/// Requester and agent talking between `from` and `to`: the customer publicly, the agent in
/// public answers and internal notes. Untouched (`NEW`) tickets have at most a nudge or two.
fn conversation(
    g: &mut Gen,
    requester: i64,
    staff: i64,
    untouched: bool,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<Comment> {
    let n = if untouched {
        g.count(0.4, 2)
    } else {
        g.count(CONVERSATION_MEAN, 60)
    };
    let span = (to - from).num_seconds().max(0);
    (0..n)
        .map(|k| {
            let at = from + Duration::seconds(span * (k as i64 + 1) / (n as i64 + 1));
            if untouched || g.chance(0.45) {
                public(at, requester, text::customer_comment(&mut g.rng))
            } else {
                let public = g.chance(0.65);
                Comment {
                    at,
                    author: staff,
                    body: text::agent_comment(&mut g.rng, public).into(),
                    public,
                }
            }
        })
        .collect()
}

/// A ticket linked to an escalation: a conversation until the link, then what the workflow
/// posted (as `domain::escalations` does: told when escalated or linked, on hold or solved at
/// triage, solved when the hotfix release goes out, public hotfix updates relayed), and the
/// status the track leaves it in.
fn linked_story(cx: &mut Ctx, b: &Base, e: &Escalation, link: Link) -> Story {
    use TicketStatus::*;
    let g = &mut *cx.g;
    let hotfix = e.is_hotfix();
    let mut comments = conversation(g, b.requester, link.by, false, b.created, link.at);
    let on_link = match e.triaged.filter(|t| *t <= link.at) {
        None => text::ESCALATED,
        Some(_) if hotfix && e.solved.is_some_and(|s| s <= link.at) => text::HOTFIX_SHIPPING,
        Some(_) if hotfix => text::HOTFIX,
        Some(_) => text::REVIEW,
    };
    comments.push(public(link.at, link.by, on_link));
    if let Some(t) = e.triaged.filter(|t| *t > link.at) {
        comments.push(public(
            t,
            e.lead,
            if hotfix { text::HOTFIX } else { text::REVIEW },
        ));
    }
    if let Some(s) = e.solved.filter(|s| *s > link.at) {
        comments.push(public(s, e.lead, text::HOTFIX_SHIPPING));
    }
    if hotfix {
        for u in e.updates.iter().filter(|u| u.public && u.at > link.at) {
            comments.push(public(
                u.at,
                u.author,
                format!("Update from Tier 3: {}", u.body),
            ));
        }
    }
    let (mut status, solved_by, solved_at) = match (e.track, e.solved, e.triaged) {
        (None, _, _) => {
            let s = g.weighted(&[(Open, 70.0), (Pending, 20.0), (OnHold, 10.0)]);
            (s, None, None)
        }
        (Some(EscalationTrack::Hotfix), Some(s), _) => (Solved, Some(SolvedBy::Release), Some(s)),
        (Some(EscalationTrack::Hotfix), None, _) => (OnHold, None, None),
        (Some(_), _, t) => (Solved, Some(SolvedBy::Triage), t.map(|t| t.max(link.at))),
    };
    let mut last = comments.iter().map(|c| c.at).max().unwrap_or(link.at);
    // Solved a while ago: most have been closed since.
    if let Some(s) = solved_at
        && g.age_days(s) > 30.0
        && g.chance(0.75)
    {
        status = Closed;
        last = last.max(g.later(s, 48.0, 240.0));
    }
    Story {
        status,
        solved_by,
        assignee: Some(link.by),
        comments,
        last,
    }
}

/// The ticket row, its creation event and its comments (in time order, so ids follow it).
fn push_ticket(cx: &mut Ctx, ids: &mut Ids, batch: &mut Batch, b: &Base, mut story: Story) {
    let g = &mut *cx.g;
    let org_id = b.org as i64 + 1;
    let updated = story
        .comments
        .iter()
        .map(|c| c.at)
        .fold(story.last, DateTime::max)
        .max(b.created);
    batch.tickets.push([
        b.id.into(),
        b.id.into(),
        b.subject.clone().into(),
        text::description(&mut g.rng, b.area).into(),
        story.status.as_str().into(),
        b.priority.as_str().into(),
        story.solved_by.map(|s| s.as_str().to_owned()).into(),
        b.requester.into(),
        org_id.into(),
        story.assignee.into(),
        Value::Int(Some(0)),
        b.created.into(),
        updated.into(),
    ]);
    batch.events.push([
        b.id.into(),
        EventKind::TicketCreated.as_str().into(),
        true.into(),
        b.requester.into(),
        org_id.into(),
        b.id.into(),
        TicketStatus::New.as_str().into(),
        b.created.into(),
    ]);
    story.comments.sort_by_key(|c| c.at);
    for c in story.comments {
        ids.comment += 1;
        batch.comments.push([
            ids.comment.into(),
            b.id.into(),
            c.author.into(),
            c.body.into_owned().into(),
            c.public.into(),
            c.at.into(),
        ]);
    }
}

/// The escalation row, its links and its updates.
fn push_escalation(ids: &mut Ids, batch: &mut Batch, e: &Escalation, linked: &[(&Base, Link)]) {
    let last_update = e.updates.iter().map(|u| u.at).max();
    let updated = [
        Some(e.created),
        e.triaged,
        e.scheduled,
        e.closed,
        last_update,
    ]
    .into_iter()
    .flatten()
    .max()
    .unwrap_or(e.created);
    batch.escalations.push([
        e.id.into(),
        e.title.clone().into(),
        format!(
            "Reproduced on staging; logs and a HAR file are on the first ticket. Area: {}.",
            text::AREAS[e.area]
        )
        .into(),
        e.status.as_str().into(),
        e.track.map(|t| t.as_str().to_owned()).into(),
        e.priority.as_str().into(),
        e.assignee.into(),
        e.release.map(|r| r.id).into(),
        e.creator.into(),
        (e.status == EscalationStatus::Declined)
            .then(|| text::DECLINED.to_owned())
            .into(),
        Value::Int(Some(0)),
        e.triaged.into(),
        e.created.into(),
        updated.into(),
    ]);
    for (b, link) in linked {
        ids.link += 1;
        batch.links.push([
            ids.link.into(),
            e.id.into(),
            b.id.into(),
            // Set only while the escalation is open: one open escalation per ticket.
            e.is_open().then_some(b.id).into(),
            link.by.into(),
            link.at.into(),
        ]);
    }
    for u in &e.updates {
        ids.update += 1;
        batch.updates.push([
            ids.update.into(),
            e.id.into(),
            u.author.into(),
            u.body.into(),
            u.public.into(),
            u.at.into(),
        ]);
    }
}

/// When a quarterly release shipped a planning or feature request, each requester of its
/// tickets was told.
fn notify_shipped(
    cx: &mut Ctx,
    ids: &mut Ids,
    batch: &mut Batch,
    e: &Escalation,
    linked: &[(&Base, Link)],
) {
    let Some(r) = e.release else {
        return;
    };
    let (Some(shipped), false) = (r.released_at, e.is_hotfix()) else {
        return;
    };
    let mut told = Vec::new();
    for (b, _) in linked {
        if told.contains(&b.requester) {
            continue;
        }
        told.push(b.requester);
        ids.notification += 1;
        push_notification(
            cx.g,
            &mut batch.notifications,
            ids.notification,
            Notification {
                user: b.requester,
                kind: "REQUEST_SHIPPED",
                message: format!(
                    "What you asked for in ticket #{} shipped in release {}: {}",
                    b.id, r.version, e.title
                ),
                ticket: Some(b.id),
                escalation: Some(e.id),
                note: None,
                at: shipped,
            },
        );
    }
}
