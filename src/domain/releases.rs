//! Releases: `PLANNED → IMMINENT → RELEASED`, hotfix or quarterly, and what each step does
//! to the escalations and tickets they carry.

use chrono::{NaiveDate, Utc};
use entity::{
    EscalationStatus, ReleaseKind, ReleaseStatus, escalation, escalation_ticket, notification,
    release, ticket,
};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, Order, QueryFilter, QueryOrder,
    QuerySelect, TransactionTrait,
    sea_query::{LockType, Query},
};

use crate::{
    auth::{Actor, Viewer},
    domain::{
        linked_tickets,
        page::{self, Page, PageArgs},
        policy, rows, transitions,
        write::{required_text, retrying},
    },
    error::{AppError, AppResult},
    events::{self, EventBus, EventKind, NewEvent},
};

/// Longest version string.
const MAX_VERSION: usize = 50;

/// One release through the viewer's scope.
pub async fn load_visible(
    db: &impl ConnectionTrait,
    v: &Viewer,
    id: i64,
) -> AppResult<release::Model> {
    rows::one_visible::<release::Entity>(db, id, policy::release_scope(db, v).await?).await
}

/// [`load_visible`], locked for the caller's write transaction (`rows::one_visible_for_update`).
pub async fn load_for_update(
    db: &impl ConnectionTrait,
    v: &Viewer,
    id: i64,
) -> AppResult<release::Model> {
    rows::one_visible_for_update::<release::Entity>(db, id, policy::release_scope(db, v).await?)
        .await
}

/// Many releases by id (DataLoader), through the viewer's scope.
pub async fn load_many(
    db: &impl ConnectionTrait,
    v: &Viewer,
    ids: &[i64],
) -> AppResult<Vec<release::Model>> {
    rows::many_visible::<release::Entity>(
        db,
        release::Column::Id,
        ids,
        policy::release_scope(db, v).await?,
    )
    .await
}

/// Releases the viewer sees, newest first.
pub async fn list(
    db: &impl ConnectionTrait,
    v: &Viewer,
    args: PageArgs,
) -> AppResult<Page<release::Entity>> {
    let select = release::Entity::find().filter(policy::release_scope(db, v).await?);
    page::fetch(db, select, release::Column::Id, Order::Desc, args).await
}

/// Bumps a release's lock version if nobody changed it since it was read.
pub async fn touch(db: &impl ConnectionTrait, r: &release::Model) -> AppResult<bool> {
    Ok(save(db, r, release::ActiveModel::default())
        .await?
        .is_some())
}

async fn save(
    db: &impl ConnectionTrait,
    r: &release::Model,
    mut am: release::ActiveModel,
) -> AppResult<Option<release::Model>> {
    am.lock_version = Set(r.lock_version + 1);
    am.updated_at = Set(Utc::now());
    rows::update_unchanged::<release::Entity>(
        db,
        am,
        (release::Column::Id, r.id),
        (release::Column::LockVersion, r.lock_version),
    )
    .await
}

/// What `createRelease` asks for.
#[derive(Debug, Clone)]
pub struct NewRelease {
    pub version: String,
    pub kind: ReleaseKind,
    pub quarter: Option<String>,
    pub planned_for: Option<NaiveDate>,
}

/// Validates a quarter like `2026-Q3`.
fn check_quarter(q: &str) -> AppResult<String> {
    let q = q.trim().to_ascii_uppercase();
    // Bytes, not string slices: a multi-byte character must be refused, not split.
    let b = q.as_bytes();
    let ok = b.len() == 7
        && b[..4].iter().all(u8::is_ascii_digit)
        && &b[4..6] == b"-Q"
        && matches!(b[6], b'1'..=b'4');
    if ok {
        Ok(q)
    } else {
        Err(AppError::bad_input("`quarter` must look like 2026-Q3"))
    }
}

/// Creates a planned release (triage lead).
#[tracing::instrument(skip_all)]
pub async fn create(
    db: &DatabaseConnection,
    bus: &EventBus,
    v: &Viewer,
    input: NewRelease,
) -> AppResult<release::Model> {
    let actor = policy::signed_in(v)?;
    policy::can_triage(actor)?;
    let version = required_text("version", &input.version, MAX_VERSION)?;
    let quarter = input.quarter.as_deref().map(check_quarter).transpose()?;
    let txn = db.begin().await?;
    let taken = release::Entity::find()
        .filter(release::Column::Version.eq(version.as_str()))
        .one(&txn)
        .await?;
    if taken.is_some() {
        return Err(AppError::Conflict(format!(
            "a release with version {version} already exists"
        )));
    }
    let now = Utc::now();
    let r = release::Entity::insert(release::ActiveModel {
        version: Set(version),
        kind: Set(input.kind),
        status: Set(ReleaseStatus::Planned),
        quarter: Set(quarter),
        planned_for: Set(input.planned_for),
        imminent_at: Set(None),
        released_at: Set(None),
        created_by_id: Set(actor.id),
        lock_version: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
    .exec_with_returning(&txn)
    .await?;
    let id = events::record(
        &txn,
        NewEvent::internal(EventKind::ReleaseCreated)
            .actor(actor.id)
            .release(r.id)
            .status(None, r.status.as_str()),
    )
    .await?;
    txn.commit().await?;
    bus.committed(&[id]);
    Ok(r)
}

/// Marks a planned release imminent (triage lead). For a hotfix release this is when its
/// tickets are solved: a hotfix ticket is solved when its release becomes imminent or
/// ships, whichever comes first.
#[tracing::instrument(skip_all)]
pub async fn mark_imminent(
    db: &DatabaseConnection,
    bus: &EventBus,
    v: &Viewer,
    release_id: i64,
) -> AppResult<release::Model> {
    let actor = policy::signed_in(v)?;
    retrying(|| async {
        let txn = db.begin().await?;
        let r = load_for_update(&txn, v, release_id).await?;
        policy::can_triage(actor)?;
        let to = transitions::release_imminent(r.status)?;
        let am = release::ActiveModel {
            status: Set(to),
            imminent_at: Set(Some(Utc::now())),
            ..Default::default()
        };
        let Some(saved) = save(&txn, &r, am).await? else {
            return Ok(None);
        };
        let mut ids = vec![release_event(&txn, EventKind::ReleaseImminent, actor, &r, to).await?];
        if saved.kind == ReleaseKind::Hotfix {
            let Some(more) = linked_tickets::solve_hotfix_tickets(&txn, actor, saved.id).await?
            else {
                return Ok(None);
            };
            ids.extend(more);
        }
        txn.commit().await?;
        bus.committed(&ids);
        Ok(Some(saved))
    })
    .await
}

async fn release_event(
    db: &impl ConnectionTrait,
    kind: EventKind,
    actor: &Actor,
    r: &release::Model,
    to: ReleaseStatus,
) -> AppResult<i64> {
    events::record(
        db,
        NewEvent::public(kind)
            .actor(actor.id)
            .release(r.id)
            .status(Some(r.status.as_str()), to.as_str()),
    )
    .await
}

/// Ships a release, once (triage lead): its escalations become `RELEASED`, hotfix tickets
/// not yet solved are solved, and the requesters of a quarterly release's tickets are told
/// that what they asked for shipped.
#[tracing::instrument(skip_all)]
pub async fn ship(
    db: &DatabaseConnection,
    bus: &EventBus,
    v: &Viewer,
    release_id: i64,
) -> AppResult<release::Model> {
    let actor = policy::signed_in(v)?;
    retrying(|| async {
        let txn = db.begin().await?;
        let r = load_for_update(&txn, v, release_id).await?;
        policy::can_triage(actor)?;
        let to = transitions::ship(r.status)?;
        let am = release::ActiveModel {
            status: Set(to),
            released_at: Set(Some(Utc::now())),
            ..Default::default()
        };
        let Some(saved) = save(&txn, &r, am).await? else {
            return Ok(None);
        };
        // Its escalations locked before any of their tickets, in id order: release, then
        // escalations, then tickets, the order every escalation command takes too.
        let shipped = escalation::Entity::find()
            .filter(escalation::Column::ReleaseId.eq(saved.id))
            .filter(escalation::Column::Status.eq(EscalationStatus::Scheduled))
            .order_by(escalation::Column::Id, Order::Asc)
            .lock(LockType::NoKeyUpdate)
            .all(&txn)
            .await?;
        let mut ids = vec![release_event(&txn, EventKind::ReleaseShipped, actor, &r, to).await?];
        if saved.kind == ReleaseKind::Hotfix && r.imminent_at.is_none() {
            let Some(more) = linked_tickets::solve_hotfix_tickets(&txn, actor, saved.id).await?
            else {
                return Ok(None);
            };
            ids.extend(more);
        }
        for e in shipped {
            let am = escalation::ActiveModel {
                status: Set(EscalationStatus::Released),
                ..Default::default()
            };
            let Some(done) = linked_tickets::save_escalation(&txn, &e, am).await? else {
                return Ok(None);
            };
            linked_tickets::close_links(&txn, done.id).await?;
            ids.extend(
                linked_tickets::record_on_linked(
                    &txn,
                    EventKind::EscalationReleased,
                    actor,
                    &done,
                    true,
                    |b| {
                        b.release(saved.id)
                            .status(Some(e.status.as_str()), done.status.as_str())
                    },
                )
                .await?,
            );
            if saved.kind == ReleaseKind::Quarterly {
                notify_requesters(&txn, &saved, &done).await?;
            }
        }
        txn.commit().await?;
        bus.committed(&ids);
        Ok(Some(saved))
    })
    .await
}

/// One notification per requester of the escalation's linked tickets.
async fn notify_requesters(
    db: &impl ConnectionTrait,
    r: &release::Model,
    e: &escalation::Model,
) -> AppResult<()> {
    let linked = Query::select()
        .column(escalation_ticket::Column::TicketId)
        .from(escalation_ticket::Entity)
        .and_where(escalation_ticket::Column::EscalationId.eq(e.id))
        .to_owned();
    let tickets = ticket::Entity::find()
        .filter(ticket::Column::Id.in_subquery(linked))
        .order_by(ticket::Column::Id, Order::Asc)
        .all(db)
        .await?;
    let mut told = std::collections::HashSet::new();
    let now = Utc::now();
    let rows: Vec<notification::ActiveModel> = tickets
        .into_iter()
        .filter(|t| told.insert(t.requester_id))
        .map(|t| notification::ActiveModel {
            user_id: Set(t.requester_id),
            kind: Set("REQUEST_SHIPPED".into()),
            message: Set(format!(
                "What you asked for in ticket #{} shipped in release {}: {}",
                t.number, r.version, e.title
            )),
            read: Set(false),
            ticket_id: Set(Some(t.id)),
            escalation_id: Set(Some(e.id)),
            release_note_id: Set(None),
            created_at: Set(now),
            ..Default::default()
        })
        .collect();
    // In chunks, like a note's followers: a statement binds at most 65,535 values.
    for chunk in rows.chunks(1_000) {
        notification::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_quarter;

    #[test]
    fn quarters_are_checked_without_splitting_characters() {
        assert_eq!(check_quarter(" 2026-q3 ").unwrap(), "2026-Q3");
        for bad in [
            "202é-Q",
            "2026-Qé",
            "é026-Q1",
            "2026-Q5",
            "2026Q3",
            "",
            "2026-Q33",
            "２０２６-Q1",
        ] {
            assert!(check_quarter(bad).is_err(), "{bad}");
        }
    }
}
