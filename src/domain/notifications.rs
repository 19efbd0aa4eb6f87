//! A user's inbox: notifications about shipped requests and published release notes.

use entity::notification;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, Order, QueryFilter};

use crate::{
    auth::Viewer,
    domain::{
        page::{self, Page, PageArgs},
        policy,
    },
    error::{AppError, AppResult},
};

/// The viewer's inbox, newest first; `unread_only` narrows it.
pub async fn list(
    db: &impl ConnectionTrait,
    v: &Viewer,
    unread_only: bool,
    args: PageArgs,
) -> AppResult<Page<notification::Entity>> {
    let mut select = notification::Entity::find().filter(policy::notification_scope(v)?);
    if unread_only {
        select = select.filter(notification::Column::Read.eq(false));
    }
    page::fetch(db, select, notification::Column::Id, Order::Desc, args).await
}

/// One of the viewer's notifications.
pub async fn load_visible(
    db: &impl ConnectionTrait,
    v: &Viewer,
    id: i64,
) -> AppResult<notification::Model> {
    notification::Entity::find_by_id(id)
        .filter(policy::notification_scope(v)?)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

/// Marks one of the viewer's notifications read (idempotent).
pub async fn mark_read(
    db: &impl ConnectionTrait,
    v: &Viewer,
    id: i64,
) -> AppResult<notification::Model> {
    policy::signed_in(v)?;
    let n = load_visible(db, v, id).await?;
    if n.read {
        return Ok(n);
    }
    notification::Entity::update_many()
        .set(notification::ActiveModel {
            read: Set(true),
            ..Default::default()
        })
        .filter(notification::Column::Id.eq(n.id))
        .exec(db)
        .await?;
    load_visible(db, v, id).await
}
