//! Subscription root. Every event is authorized for the viewer through `domain::delivery`:
//! a live one at the moment it is delivered (`policy::may_receive`), a replayed one by the
//! same rule applied in SQL to the batch it is read in (`policy::receivable_events`).

use std::sync::Arc;

use async_graphql::{Context, ID, Result, Subscription};
use futures_util::{Stream, StreamExt};

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

/// Ticket events of `interest` for the viewer, as `TicketEvent`s.
async fn ticket_events(
    app: &App,
    viewer: &Viewer,
    after: Option<Position>,
    interest: Interest,
) -> Result<impl Stream<Item = Result<TicketEvent>> + use<>> {
    Ok(events_for(app, viewer, after, interest)
        .await?
        .map(|r| r.map(TicketEvent::live)))
}

fn fell_behind(cursor: Position) -> async_graphql::Error {
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
fn replay_failed(cursor: Position) -> async_graphql::Error {
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
        let (app, viewer) = (ctx.app()?, ctx.viewer()?);
        let only = match ticket_id {
            Some(id) => {
                let id = ids::decode(Kind::Ticket, &id)?;
                Box::pin(tickets::load_visible(&app.db, viewer, id)).await?; // NOT_FOUND up front
                Some(id)
            }
            None => None,
        };
        ticket_events(app, viewer, None, Interest::StatusChanges(only)).await
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
        let (app, viewer) = (ctx.app()?, ctx.viewer()?);
        let after = match ids::decode_event_cursor(after.as_deref())? {
            Some(resume) => Some(delivery::resume_position(&app.db, resume).await?),
            None => None,
        };
        ticket_events(app, viewer, after, Interest::TicketEvents).await
    }

    /// Hotfix-track escalation events on tickets you may see: triage, public updates,
    /// scheduling, the release solving your ticket.
    async fn hotfix_updates(
        &self,
        ctx: &Context<'_>,
    ) -> Result<impl Stream<Item = Result<TicketEvent>>> {
        // Before anything else: an anonymous caller starts no feed.
        policy::signed_in(ctx.viewer()?)?;
        ticket_events(ctx.app()?, ctx.viewer()?, None, Interest::Hotfix).await
    }

    /// Release notes as they are published (anyone may subscribe).
    async fn release_note_published(
        &self,
        ctx: &Context<'_>,
    ) -> Result<impl Stream<Item = Result<ReleaseNote>>> {
        let app = ctx.app()?.clone();
        let events = events_for(&app, &Viewer::Anonymous, None, Interest::PublishedNotes).await?;
        Ok(events.filter_map(move |env| {
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
        }))
    }
}
