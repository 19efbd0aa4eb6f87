//! Webhook endpoints: what admins manage (create, change, delete, rotate the secret) and
//! what the planner and the courier read (who wants an event, which secrets sign).

use chrono::{Duration, Utc};
use entity::{
    DeliveryStatus, Role, WebhookEventType, app_user, delivery, notification, webhook_endpoint,
    webhook_secret,
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    Order, QueryFilter, QueryOrder, TransactionTrait, sea_query::Expr,
};

use crate::{
    auth::{Actor, Viewer},
    domain::{
        page::{self, Page, PageArgs},
        policy,
    },
    error::{AppError, AppResult},
    outbound::webhook,
};

/// Longest endpoint URL accepted.
pub const MAX_URL: usize = 2_000;
/// Longest description accepted.
pub const MAX_DESCRIPTION: usize = 500;
/// How long a replaced secret keeps signing beside the new one.
pub const ROTATION_OVERLAP: Duration = Duration::hours(24);

/// What an admin asks for when creating or changing an endpoint.
#[derive(Debug, Clone, Default)]
pub struct EndpointInput {
    pub url: Option<String>,
    pub events: Option<Vec<WebhookEventType>>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
}

/// The event types an endpoint receives, in a stable order; unknown stored names (from a
/// newer version) are skipped.
pub fn events_of(e: &webhook_endpoint::Model) -> Vec<WebhookEventType> {
    let mut types: Vec<_> = e
        .events
        .split(',')
        .filter_map(WebhookEventType::parse)
        .collect();
    types.sort();
    types.dedup();
    types
}

fn store_events(types: &[WebhookEventType]) -> AppResult<String> {
    if types.is_empty() {
        return Err(AppError::bad_input(
            "`events` must name at least one event type",
        ));
    }
    let mut types = types.to_vec();
    types.sort();
    types.dedup();
    Ok(types
        .iter()
        .map(|t| t.as_str())
        .collect::<Vec<_>>()
        .join(","))
}

async fn checked_url(url: &str, allow_private: bool) -> AppResult<String> {
    let url = url.trim();
    if url.chars().count() > MAX_URL {
        return Err(AppError::bad_input(format!(
            "`url` must be at most {MAX_URL} characters"
        )));
    }
    webhook::check_url(url, allow_private)
        .await
        .map_err(|e| AppError::bad_input(format!("`url`: {e}")))
}

fn checked_description(d: &str) -> AppResult<String> {
    let d = d.trim();
    if d.chars().count() > MAX_DESCRIPTION {
        return Err(AppError::bad_input(format!(
            "`description` must be at most {MAX_DESCRIPTION} characters"
        )));
    }
    Ok(d.to_owned())
}

fn admin(v: &Viewer) -> AppResult<&Actor> {
    let a = policy::signed_in(v)?;
    policy::can_manage_integrations(a)?;
    Ok(a)
}

/// Creates an endpoint and its first secret, which is returned this once.
pub async fn create(
    db: &DatabaseConnection,
    v: &Viewer,
    input: EndpointInput,
    allow_private: bool,
) -> AppResult<(webhook_endpoint::Model, String)> {
    let actor = admin(v)?;
    let events = store_events(input.events.as_deref().unwrap_or_default())?;
    let description = checked_description(input.description.as_deref().unwrap_or(""))?;
    let url = checked_url(input.url.as_deref().unwrap_or(""), allow_private).await?;
    let now = Utc::now();
    let txn = db.begin().await?;
    let endpoint = webhook_endpoint::Entity::insert(webhook_endpoint::ActiveModel {
        url: Set(url),
        events: Set(events),
        description: Set(description),
        enabled: Set(input.enabled.unwrap_or(true)),
        disabled_reason: Set(None),
        created_by: Set(Some(actor.id)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
    .exec_with_returning(&txn)
    .await?;
    let secret = add_secret(&txn, endpoint.id).await?;
    txn.commit().await?;
    Ok((endpoint, secret))
}

async fn add_secret(db: &impl ConnectionTrait, endpoint_id: i64) -> AppResult<String> {
    let secret = webhook::generate_secret();
    webhook_secret::Entity::insert(webhook_secret::ActiveModel {
        endpoint_id: Set(endpoint_id),
        secret: Set(secret.clone()),
        created_at: Set(Utc::now()),
        expires_at: Set(None),
        ..Default::default()
    })
    .exec_without_returning(db)
    .await?;
    Ok(secret)
}

/// One endpoint (admins only).
pub async fn load(
    db: &impl ConnectionTrait,
    v: &Viewer,
    id: i64,
) -> AppResult<webhook_endpoint::Model> {
    admin(v)?;
    webhook_endpoint::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

/// Every endpoint, oldest first (admins only).
pub async fn list(
    db: &impl ConnectionTrait,
    v: &Viewer,
    args: PageArgs,
) -> AppResult<Page<webhook_endpoint::Entity>> {
    admin(v)?;
    page::fetch(
        db,
        webhook_endpoint::Entity::find(),
        webhook_endpoint::Column::Id,
        Order::Asc,
        args,
    )
    .await
}

/// Changes what was given. Turning an endpoint back on clears why tier3 turned it off.
pub async fn update(
    db: &impl ConnectionTrait,
    v: &Viewer,
    id: i64,
    input: EndpointInput,
    allow_private: bool,
) -> AppResult<webhook_endpoint::Model> {
    let current = load(db, v, id).await?;
    let mut am = webhook_endpoint::ActiveModel {
        id: Set(current.id),
        updated_at: Set(Utc::now()),
        ..Default::default()
    };
    if let Some(url) = &input.url {
        am.url = Set(checked_url(url, allow_private).await?);
    }
    if let Some(events) = &input.events {
        am.events = Set(store_events(events)?);
    }
    if let Some(d) = &input.description {
        am.description = Set(checked_description(d)?);
    }
    if let Some(enabled) = input.enabled {
        am.enabled = Set(enabled);
        if enabled {
            am.disabled_reason = Set(None);
        }
    }
    Ok(webhook_endpoint::Entity::update(am).exec(db).await?)
}

/// Deletes an endpoint; what was still waiting to go there is given up.
pub async fn delete(db: &DatabaseConnection, v: &Viewer, id: i64) -> AppResult<i64> {
    let e = load(db, v, id).await?;
    let txn = db.begin().await?;
    give_up_pending(&txn, e.id, "the endpoint was deleted").await?;
    webhook_endpoint::Entity::delete_by_id(e.id)
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(e.id)
}

async fn give_up_pending(db: &impl ConnectionTrait, endpoint_id: i64, why: &str) -> AppResult<()> {
    delivery::Entity::update_many()
        .col_expr(
            delivery::Column::Status,
            Expr::value(DeliveryStatus::Failed),
        )
        .col_expr(delivery::Column::LastError, Expr::value(why))
        // The lease too: a row given up while a worker held it (the 410 that disables the
        // endpoint arrives in the middle of an attempt) must be claimable as soon as an
        // admin retries it, not when the dead lease runs out.
        .col_expr(
            delivery::Column::LeaseOwner,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            delivery::Column::LeaseUntil,
            Expr::value(Option::<chrono::DateTime<Utc>>::None),
        )
        .filter(delivery::Column::EndpointId.eq(endpoint_id))
        .filter(delivery::Column::Status.eq(DeliveryStatus::Pending))
        .exec(db)
        .await?;
    Ok(())
}

/// Issues a new secret; the ones it replaces keep signing for [`ROTATION_OVERLAP`], so
/// receivers can switch without losing a message.
pub async fn rotate(
    db: &DatabaseConnection,
    v: &Viewer,
    id: i64,
) -> AppResult<(webhook_endpoint::Model, String)> {
    let e = load(db, v, id).await?;
    let txn = db.begin().await?;
    let now = Utc::now();
    webhook_secret::Entity::update_many()
        .col_expr(
            webhook_secret::Column::ExpiresAt,
            Expr::value(now + ROTATION_OVERLAP),
        )
        .filter(webhook_secret::Column::EndpointId.eq(e.id))
        .filter(webhook_secret::Column::ExpiresAt.is_null())
        .exec(&txn)
        .await?;
    let secret = add_secret(&txn, e.id).await?;
    txn.commit().await?;
    Ok((e, secret))
}

/// The secrets that sign a message to the endpoint now, newest first.
pub async fn signing_secrets(
    db: &impl ConnectionTrait,
    endpoint_id: i64,
) -> AppResult<Vec<String>> {
    Ok(webhook_secret::Entity::find()
        .filter(webhook_secret::Column::EndpointId.eq(endpoint_id))
        .filter(
            Condition::any()
                .add(webhook_secret::Column::ExpiresAt.is_null())
                .add(webhook_secret::Column::ExpiresAt.gt(Utc::now())),
        )
        .order_by(webhook_secret::Column::Id, Order::Desc)
        .all(db)
        .await?
        .into_iter()
        .map(|s| s.secret)
        .collect())
}

/// One endpoint, for the courier (no viewer: it is tier3 itself asking).
pub async fn find(
    db: &impl ConnectionTrait,
    id: i64,
) -> AppResult<Option<webhook_endpoint::Model>> {
    Ok(webhook_endpoint::Entity::find_by_id(id).one(db).await?)
}

/// The enabled endpoints (the planner's list).
pub async fn enabled(db: &impl ConnectionTrait) -> AppResult<Vec<webhook_endpoint::Model>> {
    Ok(webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::Enabled.eq(true))
        .order_by(webhook_endpoint::Column::Id, Order::Asc)
        .all(db)
        .await?)
}

/// Turns an endpoint off on tier3's own account (the receiver answered 410, or it kept
/// failing for a day), gives up what was waiting for it, and tells every admin in their
/// inbox. Does nothing if it is already off.
pub async fn disable(db: &DatabaseConnection, endpoint_id: i64, why: &str) -> AppResult<()> {
    let txn = db.begin().await?;
    let changed = webhook_endpoint::Entity::update_many()
        .col_expr(webhook_endpoint::Column::Enabled, Expr::value(false))
        .col_expr(webhook_endpoint::Column::DisabledReason, Expr::value(why))
        .col_expr(webhook_endpoint::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(webhook_endpoint::Column::Id.eq(endpoint_id))
        .filter(webhook_endpoint::Column::Enabled.eq(true))
        .exec(&txn)
        .await?
        .rows_affected;
    if changed == 0 {
        txn.rollback().await?;
        return Ok(());
    }
    give_up_pending(&txn, endpoint_id, why).await?;
    let url = webhook_endpoint::Entity::find_by_id(endpoint_id)
        .one(&txn)
        .await?
        .map(|e| e.url)
        .unwrap_or_default();
    let admins = app_user::Entity::find()
        .filter(app_user::Column::Role.eq(Role::Admin))
        .all(&txn)
        .await?;
    let now = Utc::now();
    let rows: Vec<_> = admins
        .into_iter()
        .map(|a| notification::ActiveModel {
            user_id: Set(a.id),
            kind: Set("WEBHOOK_ENDPOINT_DISABLED".into()),
            message: Set(format!("Webhook endpoint {url} was turned off: {why}")),
            read: Set(false),
            created_at: Set(now),
            ..Default::default()
        })
        .collect();
    if !rows.is_empty() {
        notification::Entity::insert_many(rows)
            .exec_without_returning(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(())
}
