//! A user's inbox: notifications about shipped requests and published release notes.

use entity::notification;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, Order, QueryFilter,
};

use crate::{
    auth::Viewer,
    domain::page::{self, Page, PageArgs},
    error::{AppError, AppResult},
};

/// Notifications are their recipient's alone.
fn own(v: &Viewer) -> Condition {
    match v.user_id() {
        Some(id) => Condition::all().add(notification::Column::UserId.eq(id)),
        None => Condition::any(),
    }
}

/// The viewer's inbox, newest first; `unread_only` narrows it.
pub async fn list(
    db: &impl ConnectionTrait,
    v: &Viewer,
    unread_only: bool,
    args: PageArgs,
) -> AppResult<Page<notification::Entity>> {
    let mut select = notification::Entity::find().filter(own(v));
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
        .filter(own(v))
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
    crate::domain::policy::signed_in(v)?;
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
