//! Mutation root: one `input` argument and one `…Payload` per mutation (GitHub style).

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use crate::{
    domain::{
        comments::{self, NewComment},
        scope,
        tickets::{self, NewTicket, TicketChanges},
    },
    graphql::{
        context::ContextExt,
        ids::{self, Kind},
        types::{
            comment::Comment,
            enums::{TicketPriority, TicketStatus},
            ticket::Ticket,
            user::User,
        },
    },
};

/// Entry points for changing things.
#[derive(Default)]
pub struct TicketMutation;

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

/// Lets a customer see every ticket of their organization.
#[derive(InputObject)]
pub struct GrantOrganizationScopeInput {
    pub user_id: ID,
    /// When the grant lapses by itself; never, if omitted.
    pub expires_at: Option<DateTime<Utc>>,
}

/// The user the grant was given to.
#[derive(SimpleObject)]
pub struct GrantOrganizationScopePayload {
    pub user: User,
}

/// Takes organization scope away, effective immediately.
#[derive(InputObject)]
pub struct RevokeOrganizationScopeInput {
    pub user_id: ID,
}

/// The user the grant was taken from.
#[derive(SimpleObject)]
pub struct RevokeOrganizationScopePayload {
    pub user: User,
}

#[Object]
impl TicketMutation {
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

    /// Grants a customer organization scope (admins).
    async fn grant_organization_scope(
        &self,
        ctx: &Context<'_>,
        input: GrantOrganizationScopeInput,
    ) -> Result<Option<GrantOrganizationScopePayload>> {
        let app = ctx.app()?;
        let user_id = ids::decode(Kind::User, &input.user_id)?;
        let user =
            scope::grant(&app.db, &app.bus, ctx.viewer()?, user_id, input.expires_at).await?;
        Ok(Some(GrantOrganizationScopePayload { user: User(user) }))
    }

    /// Revokes a customer's organization scope (admins); effective on their next request
    /// and on open subscriptions.
    async fn revoke_organization_scope(
        &self,
        ctx: &Context<'_>,
        input: RevokeOrganizationScopeInput,
    ) -> Result<Option<RevokeOrganizationScopePayload>> {
        let app = ctx.app()?;
        let user_id = ids::decode(Kind::User, &input.user_id)?;
        let user = scope::revoke(&app.db, &app.bus, ctx.viewer()?, user_id).await?;
        Ok(Some(RevokeOrganizationScopePayload { user: User(user) }))
    }
}
