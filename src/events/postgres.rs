//! PostgreSQL fan-out between replicas: after commits, each replica sends a coalesced
//! `NOTIFY` of its own; every replica LISTENs and wakes its publisher, which re-reads the
//! log, so a notification missed while reconnecting loses nothing (and the publisher polls
//! besides).

use std::time::Duration;

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use tokio_util::sync::CancellationToken;

use crate::events::EventBus;

/// The channel tier3 notifies on.
pub const CHANNEL: &str = "tier3_events";

/// Sends one `NOTIFY` each time commits ask for it (several commits while one is being
/// sent make one more), until `shutdown`. Outside any business transaction on purpose: a
/// transaction that notifies takes one cluster-wide lock at commit to keep the queue in
/// commit order, which would serialize every writing request behind it. Listeners only
/// re-read the log, which says what is new.
pub async fn hint(db: DatabaseConnection, bus: EventBus, shutdown: CancellationToken) {
    // The payload names this process, whose own listener then ignores it: the commit
    // already woke this process's publisher.
    let notify = Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT pg_notify($1, $2)",
        [CHANNEL.into(), bus.origin().into()],
    );
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = bus.hint_requested() => {}
        }
        // A lost hint costs the other replicas one poll interval, never an event.
        if let Err(err) = db.execute_raw(notify.clone()).await {
            tracing::warn!(error = %err, "could not notify the other replicas");
        }
    }
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
                    Ok(Some(n)) if n.payload() == bus.origin() => {}
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
