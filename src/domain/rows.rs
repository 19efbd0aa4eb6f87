//! Row access shared by every aggregate: loads through a visibility condition, and
//! optimistic-lock writes.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PrimaryKeyTrait,
    QueryFilter,
};

use crate::error::{AppError, AppResult};

/// One row by primary key through a visibility condition: absent and invisible are the same
/// `NOT_FOUND`.
pub async fn one_visible<E>(
    db: &impl ConnectionTrait,
    id: i64,
    scope: Condition,
) -> AppResult<E::Model>
where
    E: EntityTrait,
    <E::PrimaryKey as PrimaryKeyTrait>::ValueType: From<i64>,
{
    E::find_by_id(id)
        .filter(scope)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

/// Many rows by id (DataLoaders) through a visibility condition; invisible ones are absent.
pub async fn many_visible<E: EntityTrait>(
    db: &impl ConnectionTrait,
    id_col: E::Column,
    ids: &[i64],
    scope: Condition,
) -> AppResult<Vec<E::Model>> {
    Ok(E::find()
        .filter(id_col.is_in(ids.iter().copied()))
        .filter(scope)
        .all(db)
        .await?)
}

/// Writes `am` to the row `id` only if its lock version is still `version` (the caller sets
/// the new version in `am`). `None`: someone changed it first; reload and decide again.
pub async fn update_unchanged<E>(
    db: &impl ConnectionTrait,
    am: E::ActiveModel,
    (id_col, id): (E::Column, i64),
    (version_col, version): (E::Column, i32),
) -> AppResult<Option<E::Model>>
where
    E: EntityTrait,
    E::ActiveModel: ActiveModelTrait<Entity = E>,
    <E::PrimaryKey as PrimaryKeyTrait>::ValueType: From<i64>,
{
    let res = E::update_many()
        .set(am)
        .filter(id_col.eq(id))
        .filter(version_col.eq(version))
        .exec(db)
        .await?;
    if res.rows_affected == 0 {
        return Ok(None);
    }
    Ok(E::find_by_id(id).one(db).await?)
}
