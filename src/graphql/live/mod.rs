//! The process's one live stream: every socket subscription that only goes live is served
//! from it, instead of each running a stream of its own.
//!
//! One task reads the event log once (a [`feed`] with no row condition) and, for each event:
//! finds the subscriptions that asked for it; asks the policy about every person among them
//! at once (`policy::receivers`: a few statements, not two per customer; never reused for
//! another event, so a revoked grant bites at the next one);
//! renders the event once per distinct (document, [`Audience`]) through the schema's own
//! resolvers, as one of the receivers the policy admitted; and queues the shared bytes on
//! each admitted socket's [`Outbox`]. A subscription keeps no stream, parsed document or
//! loaders of its own: a few pointers in the registry.
//!
//! Replays (`ticketUpdates(after:)`) still run as their own stream: they read the log through
//! the subscriber's own scope, which the shared stream cannot.

mod batched;
pub mod outbox;
mod selection;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, Weak},
    time::Instant,
};

use async_graphql::{Pos, Request, Response, Variables, parser::types::ExecutableDocument};
use futures_util::{StreamExt, future::join_all};
use sea_orm::Condition;

use self::batched::Batched;
use crate::{
    app::App,
    auth::Viewer,
    domain::{
        delivery::Interest,
        policy::{self, Audience, Reads},
    },
    error::{AppError, AppResult},
    events::{Envelope, Position, bus::FeedGuard, feed, feed::Item, log},
    graphql::{
        AppSchema,
        loaders::Loaders,
        subscription::{Render, fell_behind, replay_failed},
    },
};

pub use outbox::{Frame, Outbox};

/// A subscription document as the shared stream renders it: parsed once, however many
/// subscriptions use it.
#[derive(Debug)]
pub struct Document {
    query: String,
    operation_name: Option<String>,
    variables: Variables,
    parsed: ExecutableDocument,
    /// How much of the viewer it reads, which decides who shares a rendering.
    reads: Reads,
}

/// What a socket hands over to start a subscription on the shared stream.
pub struct Subscribe {
    pub viewer: Viewer,
    pub interest: Interest,
    pub query: String,
    pub operation_name: Option<String>,
    pub variables: Variables,
    pub outbox: Arc<Outbox>,
}

struct Subscriber {
    viewer: Viewer,
    interest: Interest,
    doc: Arc<Document>,
    audience: Audience,
    /// Events at or before this position were committed before it started...
    from: Position,
    /// ...and so were these, committed past it behind an older open transaction (emptied as
    /// they pass).
    before_now: Vec<i64>,
    outbox: Arc<Outbox>,
    _counted: FeedGuard,
}

#[derive(Default)]
struct Registry {
    next: u64,
    subs: HashMap<u64, Subscriber>,
    /// Whether the task reading the log runs.
    running: bool,
    /// Distinct documents in use, by their text, operation and variables.
    docs: HashMap<String, Weak<Document>>,
}

/// The shared live stream of one process.
#[derive(Clone)]
pub struct Live {
    inner: Arc<Inner>,
}

struct Inner {
    app: App,
    /// The schema renderings run on: the socket's types and error codes, without admission
    /// (the subscription was admitted when it started; an event is not a request).
    schema: AppSchema,
    registry: Mutex<Registry>,
    /// Where "now" is in the log, read once for all subscriptions starting together.
    now: Batched<Now>,
}

/// Where a subscription starting now begins: past `from`, and past `before_now`, the rows
/// committed beyond it behind an older open transaction.
#[derive(Clone)]
struct Now {
    from: Position,
    before_now: Vec<i64>,
}

impl Live {
    pub fn new(app: App, schema: AppSchema) -> Live {
        Live {
            inner: Arc::new(Inner {
                app,
                schema,
                registry: Mutex::default(),
                now: Batched::default(),
            }),
        }
    }

    /// Starts a subscription; its events arrive on its outbox tagged with the returned id.
    pub async fn subscribe(&self, s: Subscribe) -> AppResult<u64> {
        // From now on, as a feed of its own would start: past every settled row and past
        // what has been broadcast, but not past a row a transaction still open will commit
        // (it comes live); rows committed beyond the settled ones are from before now too.
        let app = &self.inner.app;
        let reader = app.clone();
        let Now { from, before_now } =
            self.inner
                .now
                .get(move || read_now(reader))
                .await
                .map_err(|err| {
                    AppError::internal(anyhow::anyhow!("reading the log's position: {err}"))
                })?;
        let key = format!(
            "{}\u{0}{}\u{0}{}",
            s.operation_name.as_deref().unwrap_or_default(),
            serde_json::to_string(&s.variables).unwrap_or_default(),
            s.query
        );
        let found = self.lock().docs.get(&key).and_then(Weak::upgrade);
        let doc = match found {
            Some(doc) => doc,
            None => {
                let parsed = async_graphql::parser::parse_query(&s.query)
                    .map_err(|err| AppError::Internal(err.into()))?;
                let reads = selection::reads(&parsed, s.operation_name.as_deref());
                let doc = Arc::new(Document {
                    query: s.query,
                    operation_name: s.operation_name,
                    variables: s.variables,
                    parsed,
                    reads,
                });
                let mut registry = self.lock();
                registry.docs.retain(|_, d| d.strong_count() > 0);
                registry.docs.insert(key, Arc::downgrade(&doc));
                doc
            }
        };
        let audience = policy::audience(&s.viewer, doc.reads);
        let sub = Subscriber {
            viewer: s.viewer,
            interest: s.interest,
            doc,
            audience,
            from,
            before_now,
            outbox: s.outbox,
            _counted: app.bus.feed_guard(),
        };
        let mut registry = self.lock();
        registry.next += 1;
        let id = registry.next;
        registry.subs.insert(id, sub);
        if !registry.running {
            registry.running = true;
            tokio::spawn(run(self.inner.clone(), from));
        }
        Ok(id)
    }

    /// Ends a subscription (completed by the client, or its socket closed).
    pub fn unsubscribe(&self, sub: u64) {
        self.lock().subs.remove(&sub);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.inner.lock()
    }
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, Registry> {
        // A panic while holding it leaves plain data behind; keep serving.
        self.registry.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Where a subscription starting now begins (see [`Live::subscribe`]); the error as text,
/// whole, since every caller that shared the read gets it.
async fn read_now(app: App) -> Result<Now, Arc<str>> {
    let read = async {
        let watermark = app.bus.started_watermark().await;
        let from = log::last_settled(&app.db).await?.max(watermark);
        let before_now = log::committed_unsettled(&app.db, from).await?;
        AppResult::Ok(Now { from, before_now })
    };
    read.await
        .map_err(|err| Arc::from(format!("{:#}", anyhow::Error::new(err))))
}

/// Reads the log after `from` and dispatches every event, until the log cannot be read or
/// this process fell too far behind it; then ends every subscription with a cursor to
/// resume from, and the next subscription starts the task again.
async fn run(inner: Arc<Inner>, from: Position) {
    let app = &inner.app;
    // No row condition: every event is read once and authorized per subscriber.
    let every: feed::ReplayScope = Arc::new(|| Box::pin(async { Ok(Condition::all()) }));
    let events = feed::shared(
        app.db.clone(),
        app.bus.clone(),
        app.shutdown.clone(),
        from,
        every,
    )
    .await;
    let mut last = from;
    let ended = match events {
        Ok(events) => {
            futures_util::pin_mut!(events);
            loop {
                match events.next().await {
                    Some(Item::Live(env) | Item::Replayed(env)) => {
                        let at = env.position();
                        dispatch(&inner, env, last).await;
                        last = at;
                    }
                    Some(Item::FellBehind(at)) => break fell_behind(at),
                    Some(Item::Failed(at)) => break replay_failed(at),
                    None => break replay_failed(last),
                }
            }
        }
        Err(err) => {
            tracing::warn!(error = %err, "the shared live stream could not start");
            replay_failed(from)
        }
    };
    let payload = serialize(&Response::from_errors(vec![
        ended.into_server_error(Pos::default()),
    ]));
    let mut registry = inner.lock();
    for (sub, s) in registry.subs.drain() {
        s.outbox.push(Frame::End {
            sub,
            payload: payload.clone(),
        });
    }
    registry.running = false;
}

/// One subscriber that asked for the event being dispatched.
struct Target {
    sub: u64,
    outbox: Arc<Outbox>,
    /// Index into the people asked.
    person: usize,
    doc: Arc<Document>,
    audience: Audience,
}

/// Delivers one event. `before`: where the previous event was; a subscriber too far behind
/// to take this one resumes from there.
async fn dispatch(inner: &Inner, env: Arc<Envelope>, before: Position) {
    let started = Instant::now();
    let at = env.position();
    let mut targets = Vec::new();
    // Each person once (and whether the interest is about tickets at all), for the policy.
    let mut people: Vec<(Viewer, bool)> = Vec::new();
    {
        let mut person_of: HashMap<(Audience, bool), usize> = HashMap::new();
        let mut registry = inner.lock();
        for (&sub, s) in registry.subs.iter_mut() {
            if at <= s.from || !s.interest.matches(&env.event) {
                continue;
            }
            if let Some(i) = s.before_now.iter().position(|&id| id == env.event.id) {
                s.before_now.swap_remove(i);
                continue;
            }
            let about_tickets = s.interest.about_tickets();
            let person = *person_of
                .entry((policy::audience(&s.viewer, Reads::Person), about_tickets))
                .or_insert_with(|| {
                    people.push((s.viewer.clone(), about_tickets));
                    people.len() - 1
                });
            targets.push(Target {
                sub,
                outbox: s.outbox.clone(),
                person,
                doc: s.doc.clone(),
                audience: s.audience,
            });
        }
    }
    if targets.is_empty() {
        return;
    }
    let reads = inner.app.for_reads();
    let gathered = started.elapsed();
    // Everyone whose interest is about tickets, decided in one policy call for the event.
    let asking: Vec<&Viewer> = people.iter().filter(|p| p.1).map(|p| &p.0).collect();
    let allowed: Vec<Result<bool, Arc<str>>> =
        match policy::receivers(&reads.db, &asking, &env).await {
            Ok(answers) => {
                // Answers come in `asking`'s order: one for each person about tickets.
                let mut answers = answers.into_iter();
                people
                    .iter()
                    .map(|(_, tickets)| Ok(!tickets || answers.next().unwrap_or(false)))
                    .collect()
            }
            Err(err) => {
                let err: async_graphql::Error = err.into();
                let payload = serialize(&Response::from_errors(vec![
                    err.into_server_error(Pos::default()),
                ]));
                people.iter().map(|_| Err(payload.clone())).collect()
            }
        };
    // One rendering per (document, audience) that an admitted subscriber will get, made as
    // one of the admitted: an audience of customers is rendered as a customer the policy let
    // through, never as one it refused. A document by its address: the registry holds one
    // `Document` per distinct text.
    let mut renderings: Vec<(Arc<Document>, &Viewer)> = Vec::new();
    let mut rendering_of: HashMap<(usize, Audience), usize> = HashMap::new();
    let rendering: Vec<Option<usize>> = targets
        .iter()
        .map(|t| {
            matches!(allowed[t.person], Ok(true)).then(|| {
                *rendering_of
                    .entry((Arc::as_ptr(&t.doc) as usize, t.audience))
                    .or_insert_with(|| {
                        renderings.push((t.doc.clone(), &people[t.person].0));
                        renderings.len() - 1
                    })
            })
        })
        .collect();
    let decided = started.elapsed();
    let rendered: Vec<Arc<str>> = join_all(renderings.iter().map(|(doc, viewer)| {
        let (reads, env) = (&reads, &env);
        render(&inner.schema, reads, doc, viewer, env.clone())
    }))
    .await;
    let made = started.elapsed();
    let targeted = targets.len();
    let mut behind = Vec::new();
    let mut sent = 0;
    for (t, rendering) in targets.into_iter().zip(rendering) {
        let payload = match (&allowed[t.person], rendering) {
            (Ok(true), Some(r)) => rendered[r].clone(),
            (Ok(_), _) => continue,
            (Err(error), _) => error.clone(),
        };
        if t.outbox.push(Frame::Next {
            sub: t.sub,
            payload,
        }) {
            sent += 1;
        } else {
            behind.push(t);
        }
    }
    inner.app.metrics.live_event(rendered.len(), sent);
    // Where a slow fan-out spends its time, for whoever runs the benchmark or an incident:
    // each figure is the time since the dispatch began, in microseconds.
    tracing::debug!(
        event = env.event.id,
        targets = targeted,
        people = people.len(),
        renderings = rendered.len(),
        sent,
        gathered_us = gathered.as_micros() as u64,
        decided_us = decided.as_micros() as u64,
        rendered_us = made.as_micros() as u64,
        queued_us = started.elapsed().as_micros() as u64,
        "live event dispatched"
    );
    if !behind.is_empty() {
        let err = fell_behind(before);
        let payload = serialize(&Response::from_errors(vec![
            err.into_server_error(Pos::default()),
        ]));
        let mut registry = inner.lock();
        for t in behind {
            registry.subs.remove(&t.sub);
            t.outbox.push(Frame::End {
                sub: t.sub,
                payload: payload.clone(),
            });
        }
    }
}

/// The event as the document's answer for `viewer`, serialized.
async fn render(
    schema: &AppSchema,
    app: &App,
    doc: &Document,
    viewer: &Viewer,
    env: Arc<Envelope>,
) -> Arc<str> {
    let mut request = Request::new(doc.query.clone()).variables(doc.variables.clone());
    if let Some(name) = &doc.operation_name {
        request = request.operation_name(name.clone());
    }
    request.set_parsed_query(doc.parsed.clone());
    let request = request
        .data(Render(env))
        // Fresh loaders per rendering: nothing read for one event is kept for the next.
        .data(Arc::new(Loaders::new(app, viewer)))
        .data(viewer.clone())
        .data(app.clone());
    let response = schema
        .execute_stream(request)
        .next()
        .await
        .unwrap_or_default();
    serialize(&response)
}

fn serialize(response: &Response) -> Arc<str> {
    serde_json::to_string(response)
        .unwrap_or_else(|_| r#"{"data":null}"#.to_owned())
        .into()
}
