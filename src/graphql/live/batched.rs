//! One read for every caller that arrived while the previous read ran: how subscriptions
//! starting together learn where "now" is in the event log.
//!
//! A burst of sockets (a deploy, a reconnect storm) starts thousands of subscriptions at
//! once, and each used to read the log's position on its own: thousands of identical reads
//! queued on the database, each holding its query's state (about 15 KB on SQLite) while it
//! waited — three times the memory of the idle sockets themselves at the peak.
//!
//! Not a single-flight crate: those let a caller join a read already under way, whose answer
//! may predate the caller, and a subscription's "now" must not be earlier than its start.
//! Here a caller joins only a read that has not begun; that read begins once the one before
//! it has ended, so at most one runs and one waits, however many callers there are.

use std::{
    future::Future,
    sync::{Arc, Mutex},
};

use futures_util::{
    FutureExt,
    future::{BoxFuture, Shared},
};

/// A read shared by the callers who joined it before it began.
type Flight<T> = Shared<BoxFuture<'static, Result<T, Arc<str>>>>;

/// Batches calls of one read; see the module.
pub struct Batched<T: Clone> {
    /// The read still open to callers (it has not begun), if there is one.
    next: Arc<Mutex<Option<Flight<T>>>>,
    /// Held by the read that is running, so the next waits for it.
    turn: Arc<tokio::sync::Mutex<()>>,
}

impl<T: Clone> Default for Batched<T> {
    fn default() -> Self {
        Batched {
            next: Arc::default(),
            turn: Arc::default(),
        }
    }
}

impl<T: Clone + Send + Sync + 'static> Batched<T> {
    /// The answer of a `read` that begins after this call: the one not yet begun if there is
    /// one (then `read` is not called), else a new one.
    pub async fn get<F, Fut>(&self, read: F) -> Result<T, Arc<str>>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, Arc<str>>> + Send + 'static,
    {
        let flight = {
            let mut next = self.lock();
            match next.as_ref() {
                Some(open) => open.clone(),
                None => {
                    let (slot, turn) = (self.next.clone(), self.turn.clone());
                    let flight = async move {
                        let _turn = turn.lock().await;
                        // Closed to newcomers from here: they open the next one.
                        slot.lock().unwrap_or_else(|p| p.into_inner()).take();
                        read().await
                    }
                    .boxed()
                    .shared();
                    *next = Some(flight.clone());
                    flight
                }
            }
        };
        flight.await
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Flight<T>>> {
        self.next.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::sync::Notify;

    /// A read that counts its runs and, when `hold` is given, waits on it before answering.
    fn read(
        runs: &Arc<AtomicUsize>,
        hold: Option<Arc<Notify>>,
    ) -> impl FnOnce() -> BoxFuture<'static, Result<usize, Arc<str>>> + Send + 'static {
        let runs = runs.clone();
        move || {
            async move {
                let n = runs.fetch_add(1, Ordering::SeqCst) + 1;
                if let Some(hold) = hold {
                    hold.notified().await;
                }
                Ok(n)
            }
            .boxed()
        }
    }

    #[tokio::test]
    async fn callers_during_a_read_share_the_next_one_and_nobody_gets_an_earlier_one() {
        let batched = Arc::new(Batched::<usize>::default());
        let runs = Arc::new(AtomicUsize::new(0));
        let hold = Arc::new(Notify::new());

        // The first read begins at once and is held.
        let first = tokio::spawn({
            let (b, r, h) = (batched.clone(), runs.clone(), hold.clone());
            async move { b.get(read(&r, Some(h))).await }
        });
        while runs.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        // Ten callers arrive while it runs: none of them may have its answer.
        let later: Vec<_> = (0..10)
            .map(|_| {
                let (b, r) = (batched.clone(), runs.clone());
                tokio::spawn(async move { b.get(read(&r, None)).await })
            })
            .collect();
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        assert_eq!(
            runs.load(Ordering::SeqCst),
            1,
            "the second read waits its turn"
        );

        hold.notify_one();
        assert_eq!(first.await.unwrap().unwrap(), 1);
        for caller in later {
            assert_eq!(caller.await.unwrap().unwrap(), 2, "one read for all ten");
        }
        assert_eq!(runs.load(Ordering::SeqCst), 2);

        // Nothing open now: the next caller reads afresh.
        assert_eq!(batched.get(read(&runs, None)).await.unwrap(), 3);
    }

    #[tokio::test]
    async fn a_failed_read_fails_its_callers_and_the_next_read_runs() {
        let batched = Batched::<usize>::default();
        let err = batched
            .get(|| async { Err::<usize, _>(Arc::from("no database")) })
            .await;
        assert_eq!(err.unwrap_err().as_ref(), "no database");
        assert_eq!(batched.get(|| async { Ok(7) }).await.unwrap(), 7);
    }
}
