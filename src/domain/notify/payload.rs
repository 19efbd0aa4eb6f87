//! What an event is about, loaded once, and the webhook body made of it.
//!
//! Webhooks are a staff integration: the body carries internal comments too (with
//! `"public": false`). It uses the API's field names and global ids, so an integration can
//! ask the API about anything it was told.

use entity::{
    EventKind, WebhookEventType, app_user, comment, escalation, escalation_update, event,
    organization, release, release_note, ticket,
};
use sea_orm::{ConnectionTrait, EntityTrait};
use serde_json::{Value, json};

use crate::{domain::global_id, error::AppResult};

/// The rows an event names, as they are when it is read.
#[derive(Debug, Clone, Default)]
pub struct EventContext {
    pub ticket: Option<ticket::Model>,
    pub organization: Option<organization::Model>,
    pub actor: Option<app_user::Model>,
    pub comment: Option<comment::Model>,
    pub escalation: Option<escalation::Model>,
    pub update: Option<escalation_update::Model>,
    pub release: Option<release::Model>,
    pub note: Option<release_note::Model>,
}

async fn by_id<E>(db: &impl ConnectionTrait, id: Option<i64>) -> AppResult<Option<E::Model>>
where
    E: EntityTrait,
    <E::PrimaryKey as sea_orm::PrimaryKeyTrait>::ValueType: From<i64>,
{
    Ok(match id {
        Some(id) => E::find_by_id(id).one(db).await?,
        None => None,
    })
}

impl EventContext {
    pub async fn load(db: &impl ConnectionTrait, e: &event::Model) -> AppResult<Self> {
        let ticket = by_id::<ticket::Entity>(db, e.ticket_id).await?;
        let organization =
            by_id::<organization::Entity>(db, ticket.as_ref().map(|t| t.org_id)).await?;
        let note = by_id::<release_note::Entity>(db, e.release_note_id).await?;
        let release_id = e.release_id.or(note.as_ref().map(|n| n.release_id));
        Ok(EventContext {
            organization,
            actor: by_id::<app_user::Entity>(db, e.actor_id).await?,
            comment: by_id::<comment::Entity>(db, e.comment_id).await?,
            escalation: by_id::<escalation::Entity>(db, e.escalation_id).await?,
            update: by_id::<escalation_update::Entity>(db, e.escalation_update_id).await?,
            release: by_id::<release::Entity>(db, release_id).await?,
            note,
            ticket,
        })
    }
}

/// The webhook type an event is sent as, if any.
pub fn webhook_type(kind: EventKind) -> Option<WebhookEventType> {
    use WebhookEventType as W;
    Some(match kind {
        EventKind::TicketCreated => W::TicketCreated,
        EventKind::StatusChanged => W::TicketStatusChanged,
        EventKind::CommentAdded => W::CommentAdded,
        EventKind::Escalated => W::TicketEscalated,
        EventKind::Triaged => W::EscalationTriaged,
        EventKind::EscalationUpdatePosted
        | EventKind::EscalationAssigned
        | EventKind::EscalationScheduled
        | EventKind::EscalationDeclined
        | EventKind::EscalationReleased => W::EscalationUpdated,
        EventKind::ReleaseImminent => W::ReleaseImminent,
        EventKind::ReleaseShipped => W::ReleaseShipped,
        EventKind::ReleaseNotePublished => W::ReleaseNotePublished,
        _ => return None,
    })
}

/// The Standard Webhooks body: `{"type", "timestamp", "data"}`.
pub fn webhook_body(t: WebhookEventType, e: &event::Model, cx: &EventContext) -> String {
    let mut data = serde_json::Map::new();
    if let Some(tk) = &cx.ticket {
        data.insert(
            "ticket".into(),
            json!({
                "id": global_id::encode("Ticket", tk.id),
                "number": tk.number,
                "subject": tk.subject,
                "status": tk.status.as_str(),
                "organization": cx.organization.as_ref().map(|o| json!({
                    "id": global_id::encode("Organization", o.id),
                    "key": o.key,
                })),
            }),
        );
    }
    data.insert(
        "actor".into(),
        cx.actor.as_ref().map_or(
            Value::Null,
            |a| json!({ "id": global_id::encode("User", a.id), "name": a.name }),
        ),
    );
    if let Some(c) = &cx.comment {
        data.insert(
            "comment".into(),
            json!({
                "id": global_id::encode("Comment", c.id),
                "body": c.body,
                "public": c.public,
            }),
        );
    }
    if let Some(x) = &cx.escalation {
        data.insert(
            "escalation".into(),
            json!({
                "id": global_id::encode("Escalation", x.id),
                "title": x.title,
                "status": x.status.as_str(),
                "track": x.track.map(|t| t.as_str()),
                "priority": x.priority.as_str(),
            }),
        );
    }
    if let Some(u) = &cx.update {
        data.insert(
            "update".into(),
            json!({
                "id": global_id::encode("EscalationUpdate", u.id),
                "body": u.body,
                "public": u.public,
            }),
        );
    }
    if let Some(r) = &cx.release {
        data.insert(
            "release".into(),
            json!({
                "id": global_id::encode("Release", r.id),
                "version": r.version,
                "kind": r.kind.as_str(),
                "status": r.status.as_str(),
            }),
        );
    }
    if let Some(n) = &cx.note {
        data.insert(
            "releaseNote".into(),
            json!({ "id": global_id::encode("ReleaseNote", n.id), "title": n.title }),
        );
    }
    if let (Some(from), Some(to)) = (&e.from_status, &e.to_status) {
        data.insert("fromStatus".into(), json!(from));
        data.insert("toStatus".into(), json!(to));
    }
    json!({
        "type": t.wire(),
        "timestamp": e.created_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "data": data,
    })
    .to_string()
}
