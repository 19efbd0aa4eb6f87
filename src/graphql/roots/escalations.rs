//! The escalation queue and the escalation commands: escalating and linking tickets,
//! triage, assignment, Tier 3 updates and decline.

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};

use crate::{
    domain::escalations::{self, NewEscalation, Triage},
    graphql::{
        connection::{Parts, page_args},
        context::ContextExt,
        ids::{self, Kind},
        prefetch,
        types::{
            enums::{EscalationPriority, EscalationTrack},
            escalation::{Escalation, EscalationConnection, EscalationFilter, EscalationUpdate},
            ticket::Ticket,
        },
    },
};

/// `escalations`.
#[derive(Default)]
pub struct EscalationsQuery;

#[Object]
impl EscalationsQuery {
    /// The escalation queue: `P0` first, then oldest first. Customers see only escalations
    /// of tickets they can see. Anonymous callers: `UNAUTHENTICATED`.
    async fn escalations(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<EscalationFilter>,
    ) -> Result<EscalationConnection> {
        let filter = filter.unwrap_or_default().into_domain();
        let page = escalations::list(
            &ctx.app()?.db,
            ctx.viewer()?,
            &filter,
            page_args(first, after, last, before)?,
        )
        .await?;
        let ids: Vec<i64> = page.items.iter().map(|e| e.id).collect();
        prefetch::escalations(ctx, &prefetch::items(&ctx.look_ahead()), &ids).await?;
        Ok(EscalationConnection(Parts::from(page)))
    }
}

/// Escalates a ticket to Tier 3.
#[derive(InputObject)]
pub struct EscalateTicketInput {
    pub ticket_id: ID,
    /// Public title: customers and release notes see it.
    pub title: String,
    /// Internal details for the development team.
    pub details: String,
    pub priority: EscalationPriority,
}

/// The new escalation and the ticket it came from.
#[derive(SimpleObject)]
pub struct EscalateTicketPayload {
    pub escalation: Escalation,
    pub ticket: Option<Ticket>,
}

/// Links another ticket reporting the same problem to an open escalation.
#[derive(InputObject)]
pub struct LinkTicketToEscalationInput {
    pub escalation_id: ID,
    pub ticket_id: ID,
}

/// The escalation and the newly linked ticket.
#[derive(SimpleObject)]
pub struct LinkTicketToEscalationPayload {
    pub escalation: Escalation,
    pub ticket: Ticket,
}

/// Puts an escalation on a track (and optionally reprioritizes and assigns it).
#[derive(InputObject)]
pub struct TriageEscalationInput {
    pub escalation_id: ID,
    pub track: EscalationTrack,
    pub priority: Option<EscalationPriority>,
    /// A developer or triage lead.
    pub assignee_id: Option<ID>,
}

/// An escalation after a change.
#[derive(SimpleObject)]
pub struct TriageEscalationPayload {
    pub escalation: Escalation,
}

/// Assigns an escalation to a developer or triage lead.
#[derive(InputObject)]
pub struct AssignEscalationInput {
    pub escalation_id: ID,
    pub assignee_id: ID,
}

/// The escalation after assignment.
#[derive(SimpleObject)]
pub struct AssignEscalationPayload {
    pub escalation: Escalation,
}

/// Posts an update; public hotfix updates reach every linked ticket.
#[derive(InputObject)]
pub struct PostEscalationUpdateInput {
    pub escalation_id: ID,
    pub body: String,
    pub public: bool,
}

/// The update posted and its escalation.
#[derive(SimpleObject)]
pub struct PostEscalationUpdatePayload {
    pub escalation_update: EscalationUpdate,
    pub escalation: Escalation,
}

/// Declines an escalation under review.
#[derive(InputObject)]
pub struct DeclineEscalationInput {
    pub escalation_id: ID,
    /// Internal: staff only.
    pub reason: String,
}

/// The declined escalation.
#[derive(SimpleObject)]
pub struct DeclineEscalationPayload {
    pub escalation: Escalation,
}

/// `escalateTicket`, `linkTicketToEscalation`, `triageEscalation`, `assignEscalation`,
/// `postEscalationUpdate` and `declineEscalation`.
#[derive(Default)]
pub struct EscalationsMutation;

#[Object]
impl EscalationsMutation {
    /// Escalates a ticket to Tier 3 (agents); the customer is told on the ticket.
    async fn escalate_ticket(
        &self,
        ctx: &Context<'_>,
        input: EscalateTicketInput,
    ) -> Result<Option<EscalateTicketPayload>> {
        let app = ctx.app()?;
        let ticket_id = ids::decode(Kind::Ticket, &input.ticket_id)?;
        let e = escalations::escalate(
            &app.db,
            &app.bus,
            ctx.viewer()?,
            NewEscalation {
                ticket_id,
                title: input.title,
                details: input.details,
                priority: input.priority.into(),
            },
        )
        .await?;
        let ticket = ctx
            .loaders()?
            .tickets()
            .load_one(ticket_id)
            .await?
            .map(Ticket);
        Ok(Some(EscalateTicketPayload {
            escalation: Escalation(e),
            ticket,
        }))
    }

    /// Links another ticket (any organization) to an open escalation (agents).
    async fn link_ticket_to_escalation(
        &self,
        ctx: &Context<'_>,
        input: LinkTicketToEscalationInput,
    ) -> Result<Option<LinkTicketToEscalationPayload>> {
        let app = ctx.app()?;
        let escalation_id = ids::decode(Kind::Escalation, &input.escalation_id)?;
        let ticket_id = ids::decode(Kind::Ticket, &input.ticket_id)?;
        let (e, t) =
            escalations::link_ticket(&app.db, &app.bus, ctx.viewer()?, escalation_id, ticket_id)
                .await?;
        Ok(Some(LinkTicketToEscalationPayload {
            escalation: Escalation(e),
            ticket: Ticket(t),
        }))
    }

    /// Triages an escalation onto a track (triage lead).
    async fn triage_escalation(
        &self,
        ctx: &Context<'_>,
        input: TriageEscalationInput,
    ) -> Result<Option<TriageEscalationPayload>> {
        let app = ctx.app()?;
        let escalation_id = ids::decode(Kind::Escalation, &input.escalation_id)?;
        let assignee_id = input
            .assignee_id
            .as_ref()
            .map(|id| ids::decode_input(Kind::User, "assigneeId", id))
            .transpose()?;
        let e = escalations::triage(
            &app.db,
            &app.bus,
            ctx.viewer()?,
            Triage {
                escalation_id,
                track: input.track.into(),
                priority: input.priority.map(Into::into),
                assignee_id,
            },
        )
        .await?;
        Ok(Some(TriageEscalationPayload {
            escalation: Escalation(e),
        }))
    }

    /// Assigns an escalation to a developer or triage lead (triage lead).
    async fn assign_escalation(
        &self,
        ctx: &Context<'_>,
        input: AssignEscalationInput,
    ) -> Result<Option<AssignEscalationPayload>> {
        let app = ctx.app()?;
        let escalation_id = ids::decode(Kind::Escalation, &input.escalation_id)?;
        let assignee_id = ids::decode_input(Kind::User, "assigneeId", &input.assignee_id)?;
        let e = escalations::assign(&app.db, &app.bus, ctx.viewer()?, escalation_id, assignee_id)
            .await?;
        Ok(Some(AssignEscalationPayload {
            escalation: Escalation(e),
        }))
    }

    /// Posts an update (Tier 3); public hotfix updates are relayed to every linked ticket.
    async fn post_escalation_update(
        &self,
        ctx: &Context<'_>,
        input: PostEscalationUpdateInput,
    ) -> Result<Option<PostEscalationUpdatePayload>> {
        let app = ctx.app()?;
        let escalation_id = ids::decode(Kind::Escalation, &input.escalation_id)?;
        let (e, u) = escalations::post_update(
            &app.db,
            &app.bus,
            ctx.viewer()?,
            escalation_id,
            &input.body,
            input.public,
        )
        .await?;
        Ok(Some(PostEscalationUpdatePayload {
            escalation_update: EscalationUpdate(u),
            escalation: Escalation(e),
        }))
    }

    /// Declines an escalation under review (triage lead).
    async fn decline_escalation(
        &self,
        ctx: &Context<'_>,
        input: DeclineEscalationInput,
    ) -> Result<Option<DeclineEscalationPayload>> {
        let app = ctx.app()?;
        let escalation_id = ids::decode(Kind::Escalation, &input.escalation_id)?;
        let e = escalations::decline(
            &app.db,
            &app.bus,
            ctx.viewer()?,
            escalation_id,
            &input.reason,
        )
        .await?;
        Ok(Some(DeclineEscalationPayload {
            escalation: Escalation(e),
        }))
    }
}
