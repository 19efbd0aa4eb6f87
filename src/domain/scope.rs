//! Organization scope: an admin's grant that lets a customer see every ticket of their
//! organization. Stored per user and organization, with who granted it and when; granting,
//! revoking, and who holds one now.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use entity::{Role, app_user, org_scope_grant};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, QueryFilter, TransactionTrait,
};

use crate::{
    auth::Viewer,
    domain::{policy, users},
    error::{AppError, AppResult},
    events::{self, EventBus, EventKind, NewEvent},
};

/// The grant row of a user in their organization, live or not.
pub async fn grant_of(
    db: &impl ConnectionTrait,
    user: &app_user::Model,
) -> AppResult<Option<org_scope_grant::Model>> {
    let Some(org_id) = user.org_id else {
        return Ok(None);
    };
    Ok(org_scope_grant::Entity::find()
        .filter(org_scope_grant::Column::UserId.eq(user.id))
        .filter(org_scope_grant::Column::OrgId.eq(org_id))
        .one(db)
        .await?)
}

/// Which of these users hold a live organization-scope grant for the organization they
/// belong to now (`User.hasOrganizationScope`), by `policy::live_grant`.
pub async fn live_among(db: &impl ConnectionTrait, user_ids: &[i64]) -> AppResult<HashSet<i64>> {
    let grants = org_scope_grant::Entity::find()
        .filter(org_scope_grant::Column::UserId.is_in(user_ids.iter().copied()))
        .filter(policy::live_grant())
        .all(db)
        .await?;
    let users = users::load_referenced(db, user_ids).await?;
    let org_of: HashMap<i64, Option<i64>> = users.iter().map(|u| (u.id, u.org_id)).collect();
    Ok(grants
        .into_iter()
        // A grant in an organization the user has since left counts for nothing.
        .filter(|g| org_of.get(&g.user_id) == Some(&Some(g.org_id)))
        .map(|g| g.user_id)
        .collect())
}

fn customer_org(user: &app_user::Model) -> AppResult<i64> {
    match (user.role, user.org_id) {
        (Role::Customer, Some(org)) => Ok(org),
        _ => Err(AppError::bad_input(
            "organization scope can only be granted to customers of an organization",
        )),
    }
}

/// Grants (or renews) organization scope; takes effect on the user's very next request.
#[tracing::instrument(skip_all)]
pub async fn grant(
    db: &DatabaseConnection,
    bus: &EventBus,
    v: &Viewer,
    user_id: i64,
    expires_at: Option<DateTime<Utc>>,
) -> AppResult<app_user::Model> {
    let actor = policy::signed_in(v)?;
    let txn = db.begin().await?;
    let user = users::load_visible(&txn, v, user_id).await?;
    policy::can_manage_scope(actor)?;
    let org_id = customer_org(&user)?;
    let now = Utc::now();
    if expires_at.is_some_and(|at| at <= now) {
        return Err(AppError::bad_input("`expiresAt` must be in the future"));
    }
    match grant_of(&txn, &user).await? {
        Some(existing) => {
            let mut am: org_scope_grant::ActiveModel = existing.into();
            am.granted_by_id = Set(actor.id);
            am.granted_at = Set(now);
            am.expires_at = Set(expires_at);
            am.revoked_at = Set(None);
            am.revoked_by_id = Set(None);
            am.update(&txn).await?;
        }
        None => {
            org_scope_grant::ActiveModel {
                user_id: Set(user.id),
                org_id: Set(org_id),
                granted_by_id: Set(actor.id),
                granted_at: Set(now),
                expires_at: Set(expires_at),
                revoked_at: Set(None),
                revoked_by_id: Set(None),
                ..Default::default()
            }
            .insert(&txn)
            .await?;
        }
    }
    let event = events::record(
        &txn,
        NewEvent::internal(EventKind::ScopeGranted)
            .actor(actor.id)
            .org(org_id)
            .data(serde_json::json!({ "userId": user.id, "expiresAt": expires_at })),
    )
    .await?;
    txn.commit().await?;
    bus.committed(&[event]);
    Ok(user)
}

/// Revokes organization scope at once. Revoking a scope that is not in force changes nothing.
#[tracing::instrument(skip_all)]
pub async fn revoke(
    db: &DatabaseConnection,
    bus: &EventBus,
    v: &Viewer,
    user_id: i64,
) -> AppResult<app_user::Model> {
    let actor = policy::signed_in(v)?;
    let txn = db.begin().await?;
    let user = users::load_visible(&txn, v, user_id).await?;
    policy::can_manage_scope(actor)?;
    let org_id = customer_org(&user)?;
    let Some(existing) = grant_of(&txn, &user)
        .await?
        .filter(|g| g.revoked_at.is_none())
    else {
        return Ok(user);
    };
    let mut am: org_scope_grant::ActiveModel = existing.into();
    am.revoked_at = Set(Some(Utc::now()));
    am.revoked_by_id = Set(Some(actor.id));
    am.update(&txn).await?;
    let event = events::record(
        &txn,
        NewEvent::internal(EventKind::ScopeRevoked)
            .actor(actor.id)
            .org(org_id)
            .data(serde_json::json!({ "userId": user.id })),
    )
    .await?;
    txn.commit().await?;
    bus.committed(&[event]);
    Ok(user)
}
