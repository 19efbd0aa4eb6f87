//! Reading the event log in its safe order.
//!
//! PostgreSQL: every row carries its writer's transaction id (`tx`). A row is *settled*
//! once its transaction is below `pg_snapshot_xmin(pg_current_snapshot())`, the oldest
//! transaction still running when the reading statement started: every transaction below
//! it has committed or rolled back, so every row it will ever have is visible now, and no
//! row can later appear at a position before one already read. Reading only settled rows,
//! in `(tx, id)` order, from a position, therefore never skips an event and never needs a
//! timeout: a transaction that stays open delays the rows of transactions that started
//! after it, and loses nothing. (The snapshot is the whole cluster's, so a long writing
//! transaction in *another* database on the same server delays delivery too.) This is the
//! technique of transactional-outbox readers such as Watermill's PostgreSQL adapter.
//!
//! SQLite: one writer at a time holds the database from its first write until commit, so
//! every committed row is settled and `id` order is commit order; `tx` is 0.

use entity::event;
use sea_orm::{
    Condition, ConnectionTrait, EntityTrait, Order, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, ExprTrait},
};

use crate::{error::AppResult, events::Position};

/// Rows read per statement, by the publisher and by each replay.
pub const BATCH: u64 = 500;

/// Rows below the oldest running transaction (PostgreSQL); every row on SQLite.
fn settled(db: &impl ConnectionTrait) -> Condition {
    if db.get_database_backend() == sea_orm::DbBackend::Postgres {
        Condition::all().add(Expr::cust(
            r#""event"."tx" < pg_snapshot_xmin(pg_current_snapshot())::text::bigint"#,
        ))
    } else {
        Condition::all()
    }
}

/// `(tx, id)` of an event row, and of a position, for row comparison (both backends
/// compare row values lexicographically).
fn tuple_of_row() -> Expr {
    Expr::tuple([
        Expr::col((event::Entity, event::Column::Tx)),
        Expr::col((event::Entity, event::Column::Id)),
    ])
}

fn tuple_of(p: Position) -> Expr {
    Expr::tuple([Expr::val(p.tx), Expr::val(p.id)])
}

/// Rows after `p`.
fn after(p: Position) -> Condition {
    Condition::all().add(tuple_of_row().gt(tuple_of(p)))
}

/// Rows at or before `p`.
fn upto(p: Position) -> Condition {
    Condition::all().add(tuple_of_row().lte(tuple_of(p)))
}

/// The next settled rows after `from`, in log order, at most [`BATCH`].
pub async fn settled_after(
    db: &impl ConnectionTrait,
    from: Position,
) -> AppResult<Vec<event::Model>> {
    Ok(event::Entity::find()
        .filter(after(from))
        .filter(settled(db))
        .order_by(event::Column::Tx, Order::Asc)
        .order_by(event::Column::Id, Order::Asc)
        .limit(BATCH)
        .all(db)
        .await?)
}

/// Whether any committed row lies after `from`. Asked right after reading the settled
/// rows up to `from`: a row found is held back behind a transaction still running (or
/// committed since, which is as good a reason to read again). Not asked for whether it is
/// settled *now*: the transaction holding it may have ended between the two statements.
/// Always false on SQLite, where every committed row is settled and its writer wakes us.
pub async fn any_after(db: &impl ConnectionTrait, from: Position) -> AppResult<bool> {
    if db.get_database_backend() != sea_orm::DbBackend::Postgres {
        return Ok(false);
    }
    let any: Option<i64> = event::Entity::find()
        .select_only()
        .column(event::Column::Id)
        .filter(after(from))
        .limit(1)
        .into_tuple()
        .one(db)
        .await?;
    Ok(any.is_some())
}

/// Rows in `(from, through]` that also satisfy `only` (a replay's visibility and interest),
/// in log order, at most [`BATCH`]. `through` is a position already read by the publisher,
/// so everything up to it is settled.
pub async fn between(
    db: &impl ConnectionTrait,
    from: Position,
    through: Position,
    only: Condition,
) -> AppResult<Vec<event::Model>> {
    Ok(event::Entity::find()
        .filter(after(from))
        .filter(upto(through))
        .filter(only)
        .order_by(event::Column::Tx, Order::Asc)
        .order_by(event::Column::Id, Order::Asc)
        .limit(BATCH)
        .all(db)
        .await?)
}

/// The last settled position: nothing will ever be written at or before it.
pub async fn last_settled(db: &impl ConnectionTrait) -> AppResult<Position> {
    let last: Option<(i64, i64)> = event::Entity::find()
        .select_only()
        .column(event::Column::Tx)
        .column(event::Column::Id)
        .filter(settled(db))
        .order_by(event::Column::Tx, Order::Desc)
        .order_by(event::Column::Id, Order::Desc)
        .limit(1)
        .into_tuple()
        .one(db)
        .await?;
    Ok(last.map_or(Position::START, |(tx, id)| Position { tx, id }))
}

/// Most rows [`committed_unsettled`] reads.
pub const MAX_UNSETTLED: u64 = 10_000;

/// Ids of rows after `from` that are committed but not yet settled (PostgreSQL: their
/// transaction is at or above the oldest one still running), at most [`MAX_UNSETTLED`].
/// Always empty on SQLite.
pub async fn committed_unsettled(db: &impl ConnectionTrait, from: Position) -> AppResult<Vec<i64>> {
    if db.get_database_backend() != sea_orm::DbBackend::Postgres {
        return Ok(Vec::new());
    }
    Ok(event::Entity::find()
        .select_only()
        .column(event::Column::Id)
        .filter(after(from))
        .order_by(event::Column::Tx, Order::Asc)
        .order_by(event::Column::Id, Order::Asc)
        .limit(MAX_UNSETTLED)
        .into_tuple()
        .all(db)
        .await?)
}

/// The position of the event with this id, for cursors that name only an id (those
/// issued before the log recorded transactions). `None` if there is no such event.
pub async fn position_of(db: &impl ConnectionTrait, id: i64) -> AppResult<Option<Position>> {
    let tx: Option<i64> = event::Entity::find_by_id(id)
        .select_only()
        .column(event::Column::Tx)
        .into_tuple()
        .one(db)
        .await?;
    Ok(tx.map(|tx| Position { tx, id }))
}
