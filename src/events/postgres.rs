//! PostgreSQL fan-out between replicas: writers `pg_notify` inside their transaction (it
//! fires at commit); every replica LISTENs and wakes its publisher, which re-reads the table,
//! so a notification missed while reconnecting loses nothing.

use std::time::Duration;

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use tokio_util::sync::CancellationToken;

use crate::{error::AppResult, events::EventBus};

/// The channel tier3 notifies on.
pub const CHANNEL: &str = "tier3_events";

/// Announces an event id to every replica, at commit of the surrounding transaction.
pub async fn notify(db: &impl ConnectionTrait, event_id: i64) -> AppResult<()> {
    if db.get_database_backend() == DbBackend::Postgres {
        db.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_notify($1, $2)",
            [CHANNEL.into(), event_id.to_string().into()],
        ))
        .await?;
    }
    Ok(())
}

/// Listens until `shutdown`, reconnecting with backoff; wakes the publisher on every
/// notification and after every (re)connect, so it catches up from the table.
pub async fn listen(db: DatabaseConnection, bus: EventBus, shutdown: CancellationToken) {
    use sea_orm::sqlx::postgres::PgListener;
    let pool = db.get_postgres_connection_pool().clone();
    let mut backoff = Duration::from_millis(100);
    loop {
        let connected = async {
            let mut listener = PgListener::connect_with(&pool).await?;
            listener.listen(CHANNEL).await?;
            Ok::<_, sea_orm::sqlx::Error>(listener)
        };
        let mut listener = tokio::select! {
            _ = shutdown.cancelled() => return,
            res = connected => match res {
                Ok(l) => l,
                Err(err) => {
                    tracing::warn!(error = %err, "event listener cannot connect; retrying");
                    tokio::select! {
                        _ = shutdown.cancelled() => return,
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    continue;
                }
            }
        };
        backoff = Duration::from_millis(100);
        tracing::debug!("event listener connected");
        bus.wake(); // catch up on anything committed while we were away
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                msg = listener.try_recv() => match msg {
                    Ok(Some(_)) => bus.wake(),
                    // The connection dropped and was re-established: notifications may be lost.
                    Ok(None) => {
                        tracing::warn!("event listener reconnected; catching up from the table");
                        bus.wake();
                    }
                    Err(err) => {
                        tracing::warn!(error = %err, "event listener failed; reconnecting");
                        break;
                    }
                }
            }
        }
    }
}
