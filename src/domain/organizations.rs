//! Organizations: provisioned from the `org` claim, read through the viewer's scope.

use chrono::Utc;
use entity::organization;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, Order, QueryFilter};

use crate::{
    auth::Viewer,
    domain::{
        page::{self, Page, PageArgs},
        policy, rows,
    },
    error::{AppError, AppResult},
};

/// Longest organization key accepted from a token.
const MAX_KEY: usize = 128;

/// Returns the id of the organization with this key, creating it on first sight.
pub async fn provision(db: &impl ConnectionTrait, key: &str) -> AppResult<i64> {
    let key = key.trim();
    if key.is_empty() || key.len() > MAX_KEY {
        return Err(AppError::Unauthenticated(
            "the token's `org` claim is empty or too long".into(),
        ));
    }
    if let Some(org) = find_by_key(db, key).await? {
        return Ok(org.id);
    }
    // Two first requests may race: the loser's insert does nothing and it reads the winner's.
    organization::Entity::insert(organization::ActiveModel {
        key: Set(key.to_owned()),
        name: Set(key.to_owned()),
        created_at: Set(Utc::now()),
        ..Default::default()
    })
    .on_conflict_do_nothing_on([organization::Column::Key])
    .exec_without_returning(db)
    .await?;
    find_by_key(db, key)
        .await?
        .map(|o| o.id)
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("organization vanished after insert")))
}

async fn find_by_key(
    db: &impl ConnectionTrait,
    key: &str,
) -> AppResult<Option<organization::Model>> {
    Ok(organization::Entity::find()
        .filter(organization::Column::Key.eq(key))
        .one(db)
        .await?)
}

/// One organization by id, if the viewer may see it.
pub async fn load_visible(
    db: &impl ConnectionTrait,
    v: &Viewer,
    id: i64,
) -> AppResult<organization::Model> {
    organization::Entity::find_by_id(id)
        .filter(policy::organization_scope(v)?)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

/// Organizations the viewer may see, oldest first.
pub async fn list(
    db: &impl ConnectionTrait,
    v: &Viewer,
    args: PageArgs,
) -> AppResult<Page<organization::Entity>> {
    let select = organization::Entity::find().filter(policy::organization_scope(v)?);
    page::fetch(db, select, organization::Column::Id, Order::Asc, args).await
}

/// Many organizations by id (DataLoader), filtered by the viewer's scope.
pub async fn load_many(
    db: &impl ConnectionTrait,
    v: &Viewer,
    ids: &[i64],
) -> AppResult<Vec<organization::Model>> {
    Ok(organization::Entity::find()
        .filter(rows::any_of(
            db.get_database_backend(),
            organization::Column::Id,
            ids,
        ))
        .filter(policy::organization_scope(v)?)
        .all(db)
        .await?)
}
