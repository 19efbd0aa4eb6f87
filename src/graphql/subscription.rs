//! Subscription root. Every event is authorized for the viewer at the moment it is
//! delivered, through `policy::may_receive` (the ticket scope, applied to one event).

use async_graphql::{Context, ID, Result, Subscription};
use futures_util::{Stream, StreamExt};

use crate::{
    app::App,
    auth::Viewer,
    domain::{policy, release_notes, tickets},
    error::ErrorCode,
    events::{
        Envelope, EventKind,
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

/// Which events a subscription wants, before authorization.
#[derive(Clone, Copy)]
enum Want {
    StatusChanges(Option<i64>),
    Everything,
    Hotfix,
}

impl Want {
    fn matches(self, env: &Envelope) -> bool {
        let e = &env.event;
        match self {
            Want::StatusChanges(only) => {
                e.kind == EventKind::StatusChanged && only.is_none_or(|t| e.ticket_id == Some(t))
            }
            Want::Everything => true,
            Want::Hotfix => {
                e.escalation_id.is_some() && env.track == Some(entity::EscalationTrack::Hotfix)
            }
        }
    }
}

/// The viewer's authorized ticket events, from `after` (replayed) or from now.
async fn ticket_events(
    app: &App,
    viewer: &Viewer,
    after: Option<i64>,
    want: Want,
) -> Result<impl Stream<Item = Result<TicketEvent>> + use<>> {
    // Futures holding database queries are boxed: a subscription lives long and idle, and
    // its stream would otherwise keep their (large) state inline for its whole life.
    let events = Box::pin(feed::feed(
        app.db.clone(),
        app.bus.clone(),
        app.shutdown.clone(),
        after,
    ))
    .await?;
    let (app, viewer) = (app.clone(), viewer.clone());
    Ok(events.filter_map(move |item| {
        let (app, viewer) = (app.clone(), viewer.clone());
        Box::pin(async move {
            match item {
                Item::Event(env) if want.matches(&env) => {
                    match policy::may_receive(&app.db, &viewer, &env).await {
                        Ok(true) => Some(Ok(TicketEvent::live(env))),
                        Ok(false) => None,
                        Err(err) => Some(Err(err.into())),
                    }
                }
                Item::Event(_) => None,
                Item::FellBehind(cursor) => Some(Err(fell_behind(cursor))),
                Item::Failed(cursor) => Some(Err(replay_failed(cursor))),
            }
        })
    }))
}

fn fell_behind(cursor: i64) -> async_graphql::Error {
    use async_graphql::ErrorExtensions as _;
    async_graphql::Error::new(format!(
        "this subscription fell too far behind; resubscribe to ticketUpdates with after: \"{}\"",
        ids::cursor(cursor)
    ))
    .extend_with(|_, ext| {
        ext.set("code", ErrorCode::RateLimited);
        ext.set("cursor", ids::cursor(cursor));
    })
}

/// The server could not read the event log: not the client's doing, so not `RATE_LIMITED`;
/// it may resume from the cursor once the server recovers.
fn replay_failed(cursor: i64) -> async_graphql::Error {
    use async_graphql::ErrorExtensions as _;
    async_graphql::Error::new(format!(
        "the server could not read the event log; resubscribe to ticketUpdates with after: \"{}\"",
        ids::cursor(cursor)
    ))
    .extend_with(|_, ext| {
        ext.set("code", ErrorCode::InternalServerError);
        ext.set("cursor", ids::cursor(cursor));
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
        let (app, viewer) = (ctx.app()?, ctx.viewer()?);
        let only = match ticket_id {
            Some(id) => {
                let id = ids::decode(Kind::Ticket, &id)?;
                Box::pin(tickets::load_visible(&app.db, viewer, id)).await?; // NOT_FOUND up front
                Some(id)
            }
            None => None,
        };
        ticket_events(app, viewer, None, Want::StatusChanges(only)).await
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
        let after = ids::decode_cursor(after.as_deref())?;
        ticket_events(ctx.app()?, ctx.viewer()?, after, Want::Everything).await
    }

    /// Hotfix-track escalation events on tickets you may see: triage, public updates,
    /// scheduling, the release solving your ticket.
    async fn hotfix_updates(
        &self,
        ctx: &Context<'_>,
    ) -> Result<impl Stream<Item = Result<TicketEvent>>> {
        // Before anything else: an anonymous caller starts no feed.
        policy::signed_in(ctx.viewer()?)?;
        ticket_events(ctx.app()?, ctx.viewer()?, None, Want::Hotfix).await
    }

    /// Release notes as they are published (anyone may subscribe).
    async fn release_note_published(
        &self,
        ctx: &Context<'_>,
    ) -> Result<impl Stream<Item = Result<ReleaseNote>>> {
        let app = ctx.app()?.clone();
        let events = Box::pin(feed::feed(
            app.db.clone(),
            app.bus.clone(),
            app.shutdown.clone(),
            None,
        ))
        .await?;
        Ok(events.filter_map(move |item| {
            let app = app.clone();
            Box::pin(async move {
                match item {
                    Item::Event(env) if env.event.kind == EventKind::ReleaseNotePublished => {
                        let id = env.event.release_note_id?;
                        Some(
                            release_notes::load(&app.db, id)
                                .await
                                .map(ReleaseNote)
                                .map_err(Into::into),
                        )
                    }
                    Item::Event(_) => None,
                    Item::FellBehind(cursor) => Some(Err(fell_behind(cursor))),
                    Item::Failed(cursor) => Some(Err(replay_failed(cursor))),
                }
            })
        }))
    }
}
