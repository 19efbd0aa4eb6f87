//! Tickets and comments: listing and finding tickets, opening and changing them, and
//! commenting on them.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, Result, SimpleObject};

use crate::{
    domain::{
        comments::{self, NewComment},
        participants,
        tickets::{self, NewTicket, TicketChanges},
    },
    error::AppError,
    graphql::{
        context::ContextExt,
        ids::{self, Kind},
        lean::Lean,
        prefetch,
        types::{
            comment::Comment,
            enums::{TicketPriority, TicketStatus},
            ticket::{self, Ticket, TicketConnection, TicketFilter, TicketOrder},
        },
    },
};

/// `tickets` and `ticket`.
#[derive(Default)]
pub struct TicketsQuery;

#[Object]
impl TicketsQuery {
    /// Tickets you may see, newest first unless `orderBy` says otherwise: customers their
    /// own and those they participate in (or their organization's, with organization
    /// scope), staff all. `filter.search` searches them. Anonymous callers:
    /// `UNAUTHENTICATED`.
    // One parameter per GraphQL argument: the schema, not a function to refactor.
    #[allow(clippy::too_many_arguments)]
    async fn tickets(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<TicketFilter>,
        order_by: Option<TicketOrder>,
    ) -> Result<TicketConnection> {
        let filter = filter.unwrap_or_default().into_domain()?;
        let parts = ticket::list(ctx, filter, order_by, (first, after, last, before)).await?;
        prefetch::tickets(ctx, &prefetch::items(&ctx.look_ahead()), &parts.items).await?;
        Ok(TicketConnection(parts))
    }

    /// One ticket by global `id` or by human `number` (give exactly one). Anonymous
    /// callers: `UNAUTHENTICATED`.
    async fn ticket(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
        number: Option<i64>,
    ) -> Result<Option<Lean<Ticket>>> {
        let (db, v) = (&ctx.app()?.db, ctx.viewer()?);
        let t = match (id, number) {
            (Some(id), None) => {
                tickets::load_visible(db, v, ids::decode(Kind::Ticket, &id)?).await?
            }
            (None, Some(n)) => tickets::load_visible_by_number(db, v, n).await?,
            _ => {
                return Err(AppError::bad_input("give exactly one of `id` and `number`").into());
            }
        };
        prefetch::tickets(ctx, &[ctx.look_ahead()], std::slice::from_ref(&t)).await?;
        Ok(Some(Lean(Ticket(t))))
    }
}

/// Opens a ticket as the signed-in customer.
#[derive(InputObject)]
pub struct CreateTicketInput {
    /// One line, at most 200 characters.
    pub subject: String,
    /// What happened, at most 20,000 characters.
    pub description: String,
    /// Defaults to `NORMAL`.
    pub priority: Option<TicketPriority>,
}

/// The ticket created.
#[derive(SimpleObject)]
pub struct CreateTicketPayload {
    pub ticket: Ticket,
}

/// Adds a comment to a ticket.
#[derive(InputObject)]
pub struct AddCommentInput {
    pub ticket_id: ID,
    /// At most 20,000 characters.
    pub body: String,
    /// `false` posts an internal note (staff only).
    pub public: bool,
}

/// The comment added, and the ticket as it is after it (a reply may reopen it).
#[derive(SimpleObject)]
pub struct AddCommentPayload {
    pub comment: Comment,
    pub ticket: Ticket,
}

/// Changes a ticket's status, priority and/or assignee (at least one).
#[derive(InputObject)]
pub struct UpdateTicketInput {
    pub ticket_id: ID,
    pub status: Option<TicketStatus>,
    pub priority: Option<TicketPriority>,
    /// An agent or admin; `null` unassigns.
    pub assignee_id: MaybeUndefined<ID>,
}

/// The ticket after the change.
#[derive(SimpleObject)]
pub struct UpdateTicketPayload {
    pub ticket: Ticket,
}

/// Copies a colleague on a ticket, or takes them off it.
#[derive(InputObject)]
pub struct TicketParticipantInput {
    pub ticket_id: ID,
    /// A customer of the ticket's organization.
    pub user_id: ID,
}

/// The ticket after the change (`null` when you took yourself off and no longer see it).
#[derive(SimpleObject)]
pub struct TicketParticipantPayload {
    pub ticket: Option<Ticket>,
}

/// `createTicket`, `addComment`, `updateTicket` and the participant mutations.
#[derive(Default)]
pub struct TicketsMutation;

#[Object]
impl TicketsMutation {
    /// Opens a ticket (customers).
    async fn create_ticket(
        &self,
        ctx: &Context<'_>,
        input: CreateTicketInput,
    ) -> Result<Option<CreateTicketPayload>> {
        let app = ctx.app()?;
        let t = tickets::create(
            &app.db,
            &app.bus,
            ctx.viewer()?,
            NewTicket {
                subject: input.subject,
                description: input.description,
                priority: input.priority.map(Into::into),
            },
        )
        .await?;
        Ok(Some(CreateTicketPayload { ticket: Ticket(t) }))
    }

    /// Comments on a ticket: customers publicly; agents and admins publicly or internally.
    /// A customer's reply reopens a solved ticket; a closed ticket takes no comments.
    async fn add_comment(
        &self,
        ctx: &Context<'_>,
        input: AddCommentInput,
    ) -> Result<Option<AddCommentPayload>> {
        let app = ctx.app()?;
        let ticket_id = ids::decode(Kind::Ticket, &input.ticket_id)?;
        let (c, t) = comments::add(
            &app.db,
            &app.bus,
            ctx.viewer()?,
            NewComment {
                ticket_id,
                body: input.body,
                public: input.public,
            },
        )
        .await?;
        Ok(Some(AddCommentPayload {
            comment: Comment(c),
            ticket: Ticket(t),
        }))
    }

    /// Changes status, priority or assignee (agents, admins); a customer may only mark
    /// their own ticket `SOLVED`.
    async fn update_ticket(
        &self,
        ctx: &Context<'_>,
        input: UpdateTicketInput,
    ) -> Result<Option<UpdateTicketPayload>> {
        let app = ctx.app()?;
        let ticket_id = ids::decode(Kind::Ticket, &input.ticket_id)?;
        let assignee = match input.assignee_id {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(id) => {
                Some(Some(ids::decode_input(Kind::User, "assigneeId", &id)?))
            }
        };
        let t = tickets::update(
            &app.db,
            &app.bus,
            ctx.viewer()?,
            ticket_id,
            TicketChanges {
                status: input.status.map(Into::into),
                priority: input.priority.map(Into::into),
                assignee,
            },
        )
        .await?;
        Ok(Some(UpdateTicketPayload { ticket: Ticket(t) }))
    }

    /// Copies a customer of the ticket's organization on it: they see it as its requester
    /// does, until removed. The requester, agents and admins may add; adding someone twice
    /// lists them once.
    async fn add_ticket_participant(
        &self,
        ctx: &Context<'_>,
        input: TicketParticipantInput,
    ) -> Result<Option<TicketParticipantPayload>> {
        let app = ctx.app()?;
        let ticket_id = ids::decode(Kind::Ticket, &input.ticket_id)?;
        let user_id = ids::decode_input(Kind::User, "userId", &input.user_id)?;
        let t = participants::add(&app.db, &app.bus, ctx.viewer()?, ticket_id, user_id).await?;
        Ok(Some(TicketParticipantPayload {
            ticket: Some(Ticket(t)),
        }))
    }

    /// Takes a participant off a ticket; they lose it on every path at once. The requester,
    /// agents and admins may remove anyone, a participant themself.
    async fn remove_ticket_participant(
        &self,
        ctx: &Context<'_>,
        input: TicketParticipantInput,
    ) -> Result<Option<TicketParticipantPayload>> {
        let app = ctx.app()?;
        let ticket_id = ids::decode(Kind::Ticket, &input.ticket_id)?;
        let user_id = ids::decode_input(Kind::User, "userId", &input.user_id)?;
        let t = participants::remove(&app.db, &app.bus, ctx.viewer()?, ticket_id, user_id).await?;
        Ok(Some(TicketParticipantPayload {
            ticket: t.map(Ticket),
        }))
    }
}
