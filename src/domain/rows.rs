//! Row access shared by every aggregate: loads through a visibility condition (plain, or
//! locked for a write), and optimistic-lock writes.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait,
    PrimaryKeyTrait, QueryFilter, QuerySelect,
    sea_query::{Expr, LockType, SimpleExpr},
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
    one_through::<E>(db, id, scope, None).await
}

/// [`one_visible`] for a write that decides on what it reads: on PostgreSQL the row is
/// locked until the transaction ends, so concurrent writers of one row queue in order
/// instead of racing, and each decides on the version the one before it committed. Without
/// it a busy row (four agents commenting on one ticket) can make a writer lose the
/// optimistic-lock race again and again until it runs out of retries.
///
/// `FOR NO KEY UPDATE` rather than `FOR UPDATE`: the writes change no key, and the weaker
/// lock does not wait for transactions that merely reference the row (an open transaction
/// inserting an event or a comment for this ticket holds `KEY SHARE` on it). SQLite has no
/// row locks and needs none: its single writer connection already serializes writes.
pub async fn one_visible_for_update<E>(
    db: &impl ConnectionTrait,
    id: i64,
    scope: Condition,
) -> AppResult<E::Model>
where
    E: EntityTrait,
    <E::PrimaryKey as PrimaryKeyTrait>::ValueType: From<i64>,
{
    one_through::<E>(db, id, scope, Some(LockType::NoKeyUpdate)).await
}

async fn one_through<E>(
    db: &impl ConnectionTrait,
    id: i64,
    scope: Condition,
    lock: Option<LockType>,
) -> AppResult<E::Model>
where
    E: EntityTrait,
    <E::PrimaryKey as PrimaryKeyTrait>::ValueType: From<i64>,
{
    let mut select = E::find_by_id(id).filter(scope);
    if let Some(lock) = lock {
        select = select.lock(lock);
    }
    select.one(db).await?.ok_or(AppError::NotFound)
}

/// `col` is one of `ids`. On PostgreSQL one array parameter (`= ANY($1)`), so a batch of
/// any size is the same statement text: prepared once per connection and planned
/// generically, where an `IN ($1, …, $n)` list is a new statement for every batch size.
/// SQLite plans in-process and keeps the plain `IN` list.
pub fn any_of(backend: DbBackend, col: impl ColumnTrait, ids: &[i64]) -> SimpleExpr {
    match backend {
        DbBackend::Postgres => {
            let mut array = String::with_capacity(ids.len() * 8 + 2);
            array.push('{');
            for (i, id) in ids.iter().enumerate() {
                if i > 0 {
                    array.push(',');
                }
                array.push_str(&id.to_string());
            }
            array.push('}');
            // `$1` is renumbered to the statement's next parameter.
            Expr::cust_with_values(
                format!(
                    r#""{}"."{}" = ANY(CAST($1 AS BIGINT[]))"#,
                    col.entity_name(),
                    col.as_str()
                ),
                [array],
            )
        }
        _ => col.is_in(ids.iter().copied()),
    }
}

/// Many rows by id (DataLoaders) through a visibility condition; invisible ones are absent.
pub async fn many_visible<E: EntityTrait>(
    db: &impl ConnectionTrait,
    id_col: E::Column,
    ids: &[i64],
    scope: Condition,
) -> AppResult<Vec<E::Model>> {
    Ok(E::find()
        .filter(any_of(db.get_database_backend(), id_col, ids))
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

#[cfg(test)]
mod tests {
    use super::*;
    use entity::app_user;
    use sea_orm::{QueryTrait, Statement};

    #[test]
    fn any_of_is_one_array_parameter_on_postgres() {
        let sql = |backend, ids: &[i64]| -> Statement {
            app_user::Entity::find()
                .filter(any_of(backend, app_user::Column::Id, ids))
                .build(backend)
        };
        let pg = sql(DbBackend::Postgres, &[3, 1, 2]);
        assert!(
            pg.sql
                .ends_with(r#"WHERE "app_user"."id" = ANY(CAST($1 AS BIGINT[]))"#),
            "{}",
            pg.sql
        );
        assert_eq!(
            pg.sql,
            sql(DbBackend::Postgres, &[7]).sql,
            "same text for any size"
        );
        assert_eq!(pg.values.unwrap().0, vec![sea_orm::Value::from("{3,1,2}")]);
        let after = app_user::Entity::find()
            .filter(app_user::Column::Name.eq("x"))
            .filter(any_of(DbBackend::Postgres, app_user::Column::Id, &[1]))
            .build(DbBackend::Postgres);
        assert!(
            after.sql.ends_with(r#"= ANY(CAST($2 AS BIGINT[])))"#),
            "{}",
            after.sql
        );
        let lite = sql(DbBackend::Sqlite, &[3, 1]);
        assert!(lite.sql.ends_with(r#"IN (?, ?)"#), "{}", lite.sql);
    }
}
