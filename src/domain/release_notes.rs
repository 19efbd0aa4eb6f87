//! Release notes (the "Release Information" section): publishing, following, voting.

use chrono::Utc;
use entity::{
    EscalationStatus, escalation, notification, release, release_note, release_note_follow,
    release_note_vote,
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, Order,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait, sea_query::OnConflict,
};

use crate::{
    auth::Viewer,
    domain::{
        page::{self, Page, PageArgs},
        policy, releases, transitions,
        write::{MAX_BODY, MAX_SUBJECT, required_text},
    },
    error::{AppError, AppResult},
    events::{self, EventBus, EventKind, NewEvent},
};

/// Notifications written per statement (8 values a row).
const NOTIFICATION_CHUNK: usize = 1_000;

/// A published note by id. Published notes are public: anyone, signed in or not, reads them.
pub async fn load(db: &impl ConnectionTrait, id: i64) -> AppResult<release_note::Model> {
    release_note::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

/// Many published notes by id.
pub async fn load_many(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> AppResult<Vec<release_note::Model>> {
    Ok(release_note::Entity::find()
        .filter(release_note::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?)
}

/// Notes of many releases (DataLoader for `Release.note`).
pub async fn for_releases(
    db: &impl ConnectionTrait,
    release_ids: &[i64],
) -> AppResult<Vec<release_note::Model>> {
    Ok(release_note::Entity::find()
        .filter(release_note::Column::ReleaseId.is_in(release_ids.iter().copied()))
        .all(db)
        .await?)
}

/// Published notes, newest first.
pub async fn list(
    db: &impl ConnectionTrait,
    args: PageArgs,
) -> AppResult<Page<release_note::Entity>> {
    page::fetch(
        db,
        release_note::Entity::find(),
        release_note::Column::Id,
        Order::Desc,
        args,
    )
    .await
}

/// The note's items: the public titles of the escalations its release ships, in queue
/// order. Never a customer's name, organization or ticket text.
pub async fn items(
    db: &impl ConnectionTrait,
    release_ids: &[i64],
) -> AppResult<Vec<(i64, String)>> {
    Ok(escalation::Entity::find()
        .select_only()
        .column(escalation::Column::ReleaseId)
        .column(escalation::Column::Title)
        .filter(escalation::Column::ReleaseId.is_in(release_ids.iter().copied()))
        .filter(
            escalation::Column::Status
                .is_in([EscalationStatus::Scheduled, EscalationStatus::Released]),
        )
        .order_by(escalation::Column::Priority, Order::Asc)
        .order_by(escalation::Column::Id, Order::Asc)
        .into_tuple::<(i64, String)>()
        .all(db)
        .await?)
}

/// (helpful, total) votes for each of many notes.
pub async fn vote_counts(
    db: &impl ConnectionTrait,
    note_ids: &[i64],
) -> AppResult<Vec<(i64, bool, i64)>> {
    Ok(release_note_vote::Entity::find()
        .select_only()
        .column(release_note_vote::Column::ReleaseNoteId)
        .column(release_note_vote::Column::Helpful)
        .column_as(release_note_vote::Column::Id.count(), "n")
        .filter(release_note_vote::Column::ReleaseNoteId.is_in(note_ids.iter().copied()))
        .group_by(release_note_vote::Column::ReleaseNoteId)
        .group_by(release_note_vote::Column::Helpful)
        .into_tuple::<(i64, bool, i64)>()
        .all(db)
        .await?)
}

/// The viewer's own votes on many notes.
pub async fn votes_of(
    db: &impl ConnectionTrait,
    user_id: i64,
    note_ids: &[i64],
) -> AppResult<Vec<release_note_vote::Model>> {
    Ok(release_note_vote::Entity::find()
        .filter(release_note_vote::Column::UserId.eq(user_id))
        .filter(release_note_vote::Column::ReleaseNoteId.is_in(note_ids.iter().copied()))
        .all(db)
        .await?)
}

/// Publishes a release's note (triage lead), once, for an imminent or released release;
/// every follower gets one notification, nobody else does.
#[tracing::instrument(skip_all)]
pub async fn publish(
    db: &DatabaseConnection,
    bus: &EventBus,
    v: &Viewer,
    release_id: i64,
    title: &str,
    body: &str,
) -> AppResult<release_note::Model> {
    let actor = policy::signed_in(v)?;
    let title = required_text("title", title, MAX_SUBJECT)?;
    let body = required_text("body", body, MAX_BODY)?;
    let txn = db.begin().await?;
    let r: release::Model = releases::load_visible(&txn, v, release_id).await?;
    policy::can_triage(actor)?;
    transitions::publish_note(r.status)?;
    let existing = release_note::Entity::find()
        .filter(release_note::Column::ReleaseId.eq(r.id))
        .one(&txn)
        .await?;
    if existing.is_some() {
        return Err(AppError::InvalidTransition {
            item: "release",
            from: r.status.as_str(),
            action: "publish a second note (it already has one)".into(),
        });
    }
    // Serializes with a concurrent publish of the same release (unique release_id backs it).
    if !releases::touch(&txn, &r).await? {
        return Err(AppError::Conflict(
            "the release changed meanwhile; try again".into(),
        ));
    }
    let now = Utc::now();
    let note = release_note::Entity::insert(release_note::ActiveModel {
        release_id: Set(r.id),
        title: Set(title),
        body: Set(body),
        published_by_id: Set(actor.id),
        published_at: Set(now),
        ..Default::default()
    })
    .exec_with_returning(&txn)
    .await?;
    let followers = release_note_follow::Entity::find()
        .order_by(release_note_follow::Column::UserId, Order::Asc)
        .all(&txn)
        .await?;
    let rows: Vec<notification::ActiveModel> = followers
        .into_iter()
        .map(|f| notification::ActiveModel {
            user_id: Set(f.user_id),
            kind: Set("RELEASE_NOTE_PUBLISHED".into()),
            message: Set(format!("Release {}: {}", r.version, note.title)),
            read: Set(false),
            ticket_id: Set(None),
            escalation_id: Set(None),
            release_note_id: Set(Some(note.id)),
            created_at: Set(now),
            ..Default::default()
        })
        .collect();
    // In chunks: one statement binds at most 65,535 values (PostgreSQL), and a note can
    // have tens of thousands of followers.
    for chunk in rows.chunks(NOTIFICATION_CHUNK) {
        notification::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(&txn)
            .await?;
    }
    let id = events::record(
        &txn,
        NewEvent::public(EventKind::ReleaseNotePublished)
            .actor(actor.id)
            .release(r.id)
            .release_note(note.id),
    )
    .await?;
    txn.commit().await?;
    bus.committed(&[id]);
    Ok(note)
}

/// Whether the user follows release notes.
pub async fn is_following(db: &impl ConnectionTrait, user_id: i64) -> AppResult<bool> {
    Ok(release_note_follow::Entity::find()
        .filter(release_note_follow::Column::UserId.eq(user_id))
        .count(db)
        .await?
        > 0)
}

/// Follows (or unfollows) release notes; idempotent. Returns whether the user now follows.
#[tracing::instrument(skip_all)]
pub async fn set_following(
    db: &DatabaseConnection,
    bus: &EventBus,
    v: &Viewer,
    follow: bool,
) -> AppResult<bool> {
    let actor = policy::signed_in(v)?;
    let txn = db.begin().await?;
    let was = is_following(&txn, actor.id).await?;
    if was == follow {
        return Ok(follow);
    }
    if follow {
        release_note_follow::Entity::insert(release_note_follow::ActiveModel {
            user_id: Set(actor.id),
            created_at: Set(Utc::now()),
            ..Default::default()
        })
        .on_conflict_do_nothing_on([release_note_follow::Column::UserId])
        .exec_without_returning(&txn)
        .await?;
    } else {
        release_note_follow::Entity::delete_many()
            .filter(release_note_follow::Column::UserId.eq(actor.id))
            .exec(&txn)
            .await?;
    }
    let kind = if follow {
        EventKind::ReleaseNotesFollowed
    } else {
        EventKind::ReleaseNotesUnfollowed
    };
    let id = events::record(&txn, NewEvent::internal(kind).actor(actor.id)).await?;
    txn.commit().await?;
    bus.committed(&[id]);
    Ok(follow)
}

/// Records (or changes) the viewer's vote on a note: one vote per user and note.
#[tracing::instrument(skip_all)]
pub async fn vote(
    db: &DatabaseConnection,
    bus: &EventBus,
    v: &Viewer,
    note_id: i64,
    helpful: bool,
) -> AppResult<release_note::Model> {
    let actor = policy::signed_in(v)?;
    let txn = db.begin().await?;
    let note = load(&txn, note_id).await?;
    let now = Utc::now();
    release_note_vote::Entity::insert(release_note_vote::ActiveModel {
        release_note_id: Set(note.id),
        user_id: Set(actor.id),
        helpful: Set(helpful),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::columns([
            release_note_vote::Column::ReleaseNoteId,
            release_note_vote::Column::UserId,
        ])
        .update_columns([
            release_note_vote::Column::Helpful,
            release_note_vote::Column::UpdatedAt,
        ])
        .to_owned(),
    )
    .exec_without_returning(&txn)
    .await?;
    let id = events::record(
        &txn,
        NewEvent::internal(EventKind::ReleaseNoteVoted)
            .actor(actor.id)
            .release_note(note.id)
            .data(serde_json::json!({ "helpful": helpful })),
    )
    .await?;
    txn.commit().await?;
    bus.committed(&[id]);
    Ok(note)
}
