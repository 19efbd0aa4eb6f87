//! Subscription root. Every event is authorized for the viewer through `domain::delivery`:
//! a live one at the moment it is delivered (`policy::may_receive`), a replayed one by the
//! same rule applied in SQL to the batch it is read in (`policy::receivable_events`).
//!
//! Over the socket, a subscription that only goes live is not run as a stream of its own:
//! the socket starts it with a [`Plan`] in the request, the resolver makes its up-front
//! checks and leaves what it asked for there, and the process's shared live stream
//! (`graphql::live`) delivers to it, rendering each event through the same resolvers with
//! [`Render`] in the request.

use std::sync::{Arc, Mutex};

use async_graphql::{Context, ID, Result, Subscription};
use futures_util::{Stream, StreamExt, stream::BoxStream};

use crate::{
    app::App,
    auth::Viewer,
    domain::{
        delivery::{self, Interest},
        policy, release_notes, tickets,
    },
    error::ErrorCode,
    events::{
        Envelope, Position,
        feed::{self, Item},
    },
    graphql::{
        context::ContextExt,
        ids::{self, Kind},
        types::{event::TicketEvent, release::ReleaseNote},
    },
};

/// Live updates over graphql-transport-ws at `/graphql/ws`.
#[derive(Default)]
pub struct Subscription;

/// The viewer's authorized events of `interest`, after `after` (replayed) or from now.
async fn events_for(
    app: &App,
    viewer: &Viewer,
    after: Option<Position>,
    interest: Interest,
) -> Result<impl Stream<Item = Result<Arc<Envelope>>> + use<>> {
    // Futures holding database queries are boxed: a subscription lives long and idle, and
    // its stream would otherwise keep their (large) state inline for its whole life.
    let events = Box::pin(feed::feed(
        app.db.clone(),
        app.bus.clone(),
        app.shutdown.clone(),
        after,
        delivery::replay_scope(&app.db, viewer, interest),
    ))
    .await?;
    let (db, viewer) = (app.db.clone(), viewer.clone());
    Ok(events.filter_map(move |item| {
        let (db, viewer) = (db.clone(), viewer.clone());
        Box::pin(async move {
            match item {
                // Read through the replay scope: asked for and allowed already.
                Item::Replayed(env) => Some(Ok(env)),
                Item::Live(env) => {
                    match delivery::admits_live(&db, &viewer, interest, &env).await {
                        Ok(true) => Some(Ok(env)),
                        Ok(false) => None,
                        Err(err) => Some(Err(err.into())),
                    }
                }
                Item::FellBehind(at) => Some(Err(fell_behind(at))),
                Item::Failed(at) => Some(Err(replay_failed(at))),
            }
        })
    }))
}

/// What a subscription asked for, left by its resolver when started with a [`Plan`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Planned {
    /// Live events of this interest, from now on.
    Live(Interest),
}

/// In a request's data: start the subscription without running it. A resolver that would
/// only go live leaves its [`Planned`] here and yields nothing; one that replays (or fails
/// its checks) runs as usual.
#[derive(Debug, Clone, Default)]
pub struct Plan(Arc<Mutex<Option<Planned>>>);

impl Plan {
    /// What the resolver left, if anything.
    pub fn taken(&self) -> Option<Planned> {
        self.0.lock().ok()?.take()
    }

    fn set(&self, planned: Planned) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(planned);
        }
    }
}

/// In a request's data: render this one live event, already admitted for the viewer by
/// `policy::may_receive`, through the subscription's selection.
#[derive(Debug, Clone)]
pub struct Render(pub Arc<Envelope>);

type Events<T> = BoxStream<'static, Result<T>>;

/// Ticket events of `interest` for the viewer, as `TicketEvent`s; planned or rendered
/// instead when the request says so (see [`Plan`], [`Render`]).
async fn ticket_events(
    ctx: &Context<'_>,
    after: Option<Position>,
    interest: Interest,
) -> Result<Events<TicketEvent>> {
    if let Some(Render(env)) = ctx.data_opt::<Render>() {
        let event = TicketEvent::live(env.clone());
        return Ok(futures_util::stream::once(async move { Ok(event) }).boxed());
    }
    if after.is_none()
        && let Some(plan) = ctx.data_opt::<Plan>()
    {
        plan.set(Planned::Live(interest));
        return Ok(futures_util::stream::empty().boxed());
    }
    let (app, viewer) = (ctx.app()?, ctx.viewer()?);
    Ok(events_for(app, viewer, after, interest)
        .await?
        .map(|r| r.map(TicketEvent::live))
        .boxed())
}

pub(crate) fn fell_behind(cursor: Position) -> async_graphql::Error {
    use async_graphql::ErrorExtensions as _;
    async_graphql::Error::new(format!(
        "this subscription fell too far behind; resubscribe to ticketUpdates with after: \"{}\"",
        ids::event_cursor(cursor)
    ))
    .extend_with(|_, ext| {
        ext.set("code", ErrorCode::RateLimited);
        ext.set("cursor", ids::event_cursor(cursor));
    })
}

/// The server could not read the event log: not the client's doing, so not `RATE_LIMITED`;
/// it may resume from the cursor once the server recovers.
pub(crate) fn replay_failed(cursor: Position) -> async_graphql::Error {
    use async_graphql::ErrorExtensions as _;
    async_graphql::Error::new(format!(
        "the server could not read the event log; resubscribe to ticketUpdates with after: \"{}\"",
        ids::event_cursor(cursor)
    ))
    .extend_with(|_, ext| {
        ext.set("code", ErrorCode::InternalServerError);
        ext.set("cursor", ids::event_cursor(cursor));
    })
}

#[Subscription]
impl Subscription {
    /// Status changes of one ticket (`ticketId`), or of every ticket you may see.
    async fn ticket_status_changed(
        &self,
        ctx: &Context<'_>,
        ticket_id: Option<ID>,
    ) -> Result<impl Stream<Item = Result<TicketEvent>>> {
        // Before anything else: an anonymous caller starts no feed and reads nothing.
        policy::signed_in(ctx.viewer()?)?;
        if ctx.data_opt::<Render>().is_some() {
            // Admitted for this viewer already; the checks below were made at the start.
            return ticket_events(ctx, None, Interest::StatusChanges(None)).await;
        }
        let (app, viewer) = (ctx.app()?, ctx.viewer()?);
        let only = match ticket_id {
            Some(id) => {
                let id = ids::decode(Kind::Ticket, &id)?;
                Box::pin(tickets::load_visible(&app.db, viewer, id)).await?; // NOT_FOUND up front
                Some(id)
            }
            None => None,
        };
        ticket_events(ctx, None, Interest::StatusChanges(only)).await
    }

    /// Every event on tickets you may see (status changes, public comments, escalation
    /// changes; internal ones for staff only). Pass the last `cursor` you received as
    /// `after` to resume: everything since is replayed first, then it goes live.
    async fn ticket_updates(
        &self,
        ctx: &Context<'_>,
        after: Option<String>,
    ) -> Result<impl Stream<Item = Result<TicketEvent>>> {
        // Before anything else: an anonymous caller starts no feed and no replay.
        policy::signed_in(ctx.viewer()?)?;
        let app = ctx.app()?;
        let after = match ids::decode_event_cursor(after.as_deref())? {
            Some(resume) => Some(delivery::resume_position(&app.db, resume).await?),
            None => None,
        };
        ticket_events(ctx, after, Interest::TicketEvents).await
    }

    /// Hotfix-track escalation events on tickets you may see: triage, public updates,
    /// scheduling, the release solving your ticket.
    async fn hotfix_updates(
        &self,
        ctx: &Context<'_>,
    ) -> Result<impl Stream<Item = Result<TicketEvent>>> {
        // Before anything else: an anonymous caller starts no feed.
        policy::signed_in(ctx.viewer()?)?;
        ticket_events(ctx, None, Interest::Hotfix).await
    }

    /// Release notes as they are published (anyone may subscribe).
    async fn release_note_published(
        &self,
        ctx: &Context<'_>,
    ) -> Result<impl Stream<Item = Result<ReleaseNote>>> {
        let app = ctx.app()?.clone();
        let events: Events<Arc<Envelope>> = if let Some(Render(env)) = ctx.data_opt::<Render>() {
            futures_util::stream::iter([Ok(env.clone())]).boxed()
        } else if let Some(plan) = ctx.data_opt::<Plan>() {
            plan.set(Planned::Live(Interest::PublishedNotes));
            return Ok(futures_util::stream::empty().boxed());
        } else {
            events_for(&app, &Viewer::Anonymous, None, Interest::PublishedNotes)
                .await?
                .boxed()
        };
        Ok(events
            .filter_map(move |env| {
                let app = app.clone();
                Box::pin(async move {
                    let env = match env {
                        Ok(env) => env,
                        Err(err) => return Some(Err(err)),
                    };
                    let id = env.event.release_note_id?;
                    Some(
                        release_notes::load(&app.db, id)
                            .await
                            .map(ReleaseNote)
                            .map_err(Into::into),
                    )
                })
            })
            .boxed())
    }
}
