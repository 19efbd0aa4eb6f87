//! The delivery queue: rows the planner decided, claimed by workers under leases, and the
//! admins' view of it.
//!
//! A worker claims due rows by setting a lease (`lease_owner`, `lease_until`); on
//! PostgreSQL the claim skips rows another replica is claiming at that moment (`FOR UPDATE
//! SKIP LOCKED`), and a lease that runs out — its worker died — makes the row claimable
//! again. Every outcome is written only by the lease's holder, so a worker that lost its
//! lease cannot overwrite what the new holder recorded.

use chrono::{DateTime, Utc};
use entity::{DeliveryChannel, DeliveryStatus, MailCategory, delivery};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, Order, QueryFilter,
    QueryOrder, QuerySelect, Statement,
    sea_query::{Expr, OnConflict},
};

use crate::{
    auth::Viewer,
    domain::{
        page::{self, Page, PageArgs},
        policy,
    },
    error::{AppError, AppResult},
};

/// One message the planner decided to send.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    pub channel: DeliveryChannel,
    pub event_id: i64,
    pub kind: String,
    pub user_id: Option<i64>,
    pub endpoint_id: Option<i64>,
    pub target: String,
    pub category: Option<MailCategory>,
    pub payload: Option<String>,
}

impl Planned {
    /// The key that makes a second row for the same message impossible.
    pub fn dedupe_key(&self) -> String {
        let recipient = match (self.user_id, self.endpoint_id) {
            (Some(u), _) => format!("user:{u}"),
            (None, Some(e)) => format!("endpoint:{e}"),
            (None, None) => format!("to:{}", self.target),
        };
        format!("{}:{}:{recipient}", self.channel.as_str(), self.event_id)
    }
}

/// Rows per insert statement (PostgreSQL allows 65,535 bound values; a row has 13).
const INSERT_CHUNK: usize = 1_000;

/// Queues `planned` (in the caller's transaction); a message already queued is left as it
/// is. Returns how many rows were new.
pub async fn enqueue(db: &impl ConnectionTrait, planned: Vec<Planned>) -> AppResult<u64> {
    let now = Utc::now();
    let mut added = 0;
    for chunk in planned.chunks(INSERT_CHUNK) {
        let rows = chunk.iter().map(|p| delivery::ActiveModel {
            channel: Set(p.channel),
            dedupe_key: Set(p.dedupe_key()),
            event_id: Set(p.event_id),
            kind: Set(p.kind.clone()),
            user_id: Set(p.user_id),
            endpoint_id: Set(p.endpoint_id),
            target: Set(p.target.clone()),
            category: Set(p.category),
            payload: Set(p.payload.clone()),
            status: Set(DeliveryStatus::Pending),
            attempts: Set(0),
            last_error: Set(None),
            next_attempt_at: Set(now),
            lease_owner: Set(None),
            lease_until: Set(None),
            created_at: Set(now),
            delivered_at: Set(None),
            ..Default::default()
        });
        let result = delivery::Entity::insert_many(rows)
            .on_conflict(
                OnConflict::column(delivery::Column::DedupeKey)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
        added += result;
    }
    Ok(added)
}

/// Claims up to `limit` due deliveries of `channel` for `owner` until `lease_until`, and
/// counts the attempt. Rows are due when pending, their time has come and nobody holds a
/// live lease on them.
pub async fn claim(
    db: &impl ConnectionTrait,
    channel: DeliveryChannel,
    owner: &str,
    lease_until: DateTime<Utc>,
    limit: u64,
) -> AppResult<Vec<delivery::Model>> {
    let now = Utc::now();
    let backend = db.get_database_backend();
    // Hand-written: SeaORM's update builder has no `FOR UPDATE SKIP LOCKED` subquery with
    // `RETURNING`, which is the whole point of the claim.
    let sql = match backend {
        // The due rows are picked in a CTE, which PostgreSQL runs exactly once: as an
        // `IN (subquery)` the planner may re-run the locking subquery for every row it
        // scans when its statistics still say the table is empty (seen: claims timing out
        // right after a large mailing was queued).
        DbBackend::Postgres => {
            "WITH due AS (
               SELECT id FROM delivery
               WHERE status = 'PENDING' AND channel = $3 AND next_attempt_at <= $4
                 AND (lease_until IS NULL OR lease_until < $5)
               ORDER BY next_attempt_at, id
               LIMIT $6
               FOR UPDATE SKIP LOCKED)
             UPDATE delivery SET lease_owner = $1, lease_until = $2, attempts = delivery.attempts + 1
             FROM due WHERE delivery.id = due.id
             RETURNING delivery.*"
        }
        // One writer at a time: the statement itself is the lock.
        _ => {
            "UPDATE delivery SET lease_owner = ?, lease_until = ?, attempts = attempts + 1
             WHERE id IN (
               SELECT id FROM delivery
               WHERE status = 'PENDING' AND channel = ? AND next_attempt_at <= ?
                 AND (lease_until IS NULL OR lease_until < ?)
               ORDER BY next_attempt_at, id
               LIMIT ?)
             RETURNING *"
        }
    };
    let stmt = Statement::from_sql_and_values(
        backend,
        sql,
        [
            owner.into(),
            lease_until.into(),
            channel.as_str().into(),
            now.into(),
            now.into(),
            (limit as i64).into(),
        ],
    );
    let mut rows = delivery::Entity::find().from_raw_sql(stmt).all(db).await?;
    rows.sort_by_key(|d| (d.next_attempt_at, d.id));
    Ok(rows)
}

/// The rows `owner` still holds: outcomes are written only through this.
fn held(id: i64, owner: &str) -> Condition {
    Condition::all()
        .add(delivery::Column::Id.eq(id))
        .add(delivery::Column::LeaseOwner.eq(owner))
        .add(delivery::Column::Status.eq(DeliveryStatus::Pending))
}

/// What happened to one attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Delivered,
    /// Try again at `at`.
    Retry {
        error: String,
        at: DateTime<Utc>,
    },
    /// Give up.
    Failed {
        error: String,
    },
}

/// Records an attempt's outcome and lets go of the lease. `false` if the lease was lost
/// (another worker holds the row now, or an admin changed it).
pub async fn record(
    db: &impl ConnectionTrait,
    id: i64,
    owner: &str,
    outcome: &Outcome,
) -> AppResult<bool> {
    let mut update = delivery::Entity::update_many()
        .col_expr(
            delivery::Column::LeaseOwner,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            delivery::Column::LeaseUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        );
    update = match outcome {
        Outcome::Delivered => update
            .col_expr(
                delivery::Column::Status,
                Expr::value(DeliveryStatus::Delivered),
            )
            .col_expr(delivery::Column::DeliveredAt, Expr::value(Utc::now()))
            .col_expr(
                delivery::Column::LastError,
                Expr::value(Option::<String>::None),
            ),
        Outcome::Retry { error, at } => update
            .col_expr(delivery::Column::LastError, Expr::value(error.clone()))
            .col_expr(delivery::Column::NextAttemptAt, Expr::value(*at)),
        Outcome::Failed { error } => update
            .col_expr(
                delivery::Column::Status,
                Expr::value(DeliveryStatus::Failed),
            )
            .col_expr(delivery::Column::LastError, Expr::value(error.clone())),
    };
    let n = update.filter(held(id, owner)).exec(db).await?.rows_affected;
    Ok(n == 1)
}

/// What an admin filters the queue by.
#[derive(Debug, Clone, Copy, Default)]
pub struct Filter {
    pub channel: Option<DeliveryChannel>,
    pub status: Option<DeliveryStatus>,
}

/// The queue, newest first (admins only).
pub async fn list(
    db: &impl ConnectionTrait,
    v: &Viewer,
    filter: Filter,
    args: PageArgs,
) -> AppResult<Page<delivery::Entity>> {
    policy::can_manage_integrations(policy::signed_in(v)?)?;
    let mut select = delivery::Entity::find();
    if let Some(c) = filter.channel {
        select = select.filter(delivery::Column::Channel.eq(c));
    }
    if let Some(s) = filter.status {
        select = select.filter(delivery::Column::Status.eq(s));
    }
    page::fetch(db, select, delivery::Column::Id, Order::Desc, args).await
}

/// One delivery (admins only).
pub async fn load(db: &impl ConnectionTrait, v: &Viewer, id: i64) -> AppResult<delivery::Model> {
    policy::can_manage_integrations(policy::signed_in(v)?)?;
    delivery::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

/// Puts a delivery back in the queue, due now (admins only): a failed one is tried again
/// from its next attempt; a pending one is moved up; a delivered one is `CONFLICT` (sending
/// it again would be a duplicate, not a retry).
pub async fn retry(db: &impl ConnectionTrait, v: &Viewer, id: i64) -> AppResult<delivery::Model> {
    let d = load(db, v, id).await?;
    if d.status == DeliveryStatus::Delivered {
        return Err(AppError::Conflict(
            "this delivery was delivered already".into(),
        ));
    }
    delivery::Entity::update_many()
        .col_expr(
            delivery::Column::Status,
            Expr::value(DeliveryStatus::Pending),
        )
        .col_expr(delivery::Column::NextAttemptAt, Expr::value(Utc::now()))
        .filter(delivery::Column::Id.eq(d.id))
        .filter(delivery::Column::Status.ne(DeliveryStatus::Delivered))
        .exec(db)
        .await?;
    load(db, v, id).await
}

/// When the oldest pending delivery was decided, if any (the metric of a stuck queue).
pub async fn oldest_pending(db: &impl ConnectionTrait) -> AppResult<Option<DateTime<Utc>>> {
    Ok(delivery::Entity::find()
        .select_only()
        .column(delivery::Column::CreatedAt)
        .filter(delivery::Column::Status.eq(DeliveryStatus::Pending))
        .order_by(delivery::Column::CreatedAt, Order::Asc)
        .limit(1)
        .into_tuple()
        .one(db)
        .await?)
}

/// When the next pending delivery of `channel` is due, if any (how long a worker may sleep).
pub async fn next_due(
    db: &impl ConnectionTrait,
    channel: DeliveryChannel,
) -> AppResult<Option<DateTime<Utc>>> {
    Ok(delivery::Entity::find()
        .select_only()
        .column(delivery::Column::NextAttemptAt)
        .filter(delivery::Column::Status.eq(DeliveryStatus::Pending))
        .filter(delivery::Column::Channel.eq(channel))
        .order_by(delivery::Column::NextAttemptAt, Order::Asc)
        .limit(1)
        .into_tuple()
        .one(db)
        .await?)
}

/// Whether `endpoint_id` has delivered nothing since `since` (with a delivery failing since
/// then, the "failing for a day" rule).
pub async fn endpoint_failing_since(
    db: &impl ConnectionTrait,
    endpoint_id: i64,
    since: DateTime<Utc>,
) -> AppResult<bool> {
    let recent_success: Option<i64> = delivery::Entity::find()
        .select_only()
        .column(delivery::Column::Id)
        .filter(delivery::Column::EndpointId.eq(endpoint_id))
        .filter(delivery::Column::Status.eq(DeliveryStatus::Delivered))
        .filter(delivery::Column::DeliveredAt.gt(since))
        .limit(1)
        .into_tuple()
        .one(db)
        .await?;
    Ok(recent_success.is_none())
}
