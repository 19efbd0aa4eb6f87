//! Tickets and comments: listing and finding tickets, opening and changing them, and
//! commenting on them.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, Result, SimpleObject};

use crate::{
    domain::{
        comments::{self, NewComment},
        tickets::{self, NewTicket, TicketChanges},
    },
    error::AppError,
    graphql::{
        connection::{Parts, page_args},
        context::ContextExt,
        ids::{self, Kind},
        prefetch,
        types::{
            comment::Comment,
            enums::{TicketPriority, TicketStatus},
            ticket::{Ticket, TicketConnection, TicketFilter},
        },
    },
};

/// `tickets` and `ticket`.
#[derive(Default)]
pub struct TicketsQuery;

#[Object]
impl TicketsQuery {
    /// Tickets you may see, newest first: customers their own (or their organization's,
    /// with organization scope), staff all. Anonymous callers: `UNAUTHENTICATED`.
    async fn tickets(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<TicketFilter>,
    ) -> Result<TicketConnection> {
        let filter = filter.unwrap_or_default().into_domain();
        let page = tickets::list(
            &ctx.app()?.db,
            ctx.viewer()?,
            &filter,
            page_args(first, after)?,
        )
        .await?;
        prefetch::tickets(ctx, &prefetch::items(&ctx.look_ahead()), &page.items).await?;
        Ok(TicketConnection(Parts::from(page)))
    }

    /// One ticket by global `id` or by human `number` (give exactly one). Anonymous
    /// callers: `UNAUTHENTICATED`.
    async fn ticket(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
        number: Option<i64>,
    ) -> Result<Option<Ticket>> {
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
        Ok(Some(Ticket(t)))
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

/// `createTicket`, `addComment` and `updateTicket`.
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
}
