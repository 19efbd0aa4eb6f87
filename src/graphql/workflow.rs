//! The escalation workflow's roots: escalations, releases, release notes, notifications.

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use chrono::NaiveDate;

use crate::{
    domain::{
        escalations::{self, NewEscalation, Triage},
        notifications, release_notes,
        releases::{self, NewRelease},
    },
    graphql::{
        connection::{Parts, page_args},
        context::ContextExt,
        ids::{self, Kind},
        prefetch,
        types::{
            enums::{EscalationPriority, EscalationTrack, ReleaseKind},
            escalation::{Escalation, EscalationConnection, EscalationFilter, EscalationUpdate},
            notification::{Notification, NotificationConnection},
            release::{Release, ReleaseConnection, ReleaseNote, ReleaseNoteConnection},
            ticket::Ticket,
            user::User,
        },
    },
};

/// Reading the workflow.
#[derive(Default)]
pub struct WorkflowQuery;

#[Object]
impl WorkflowQuery {
    /// The escalation queue: `P0` first, then oldest first. Customers see only escalations
    /// of tickets they can see.
    async fn escalations(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<EscalationFilter>,
    ) -> Result<EscalationConnection> {
        let filter = filter.unwrap_or_default().into_domain();
        let page = escalations::list(
            &ctx.app()?.db,
            ctx.viewer()?,
            &filter,
            page_args(first, after)?,
        )
        .await?;
        let ids: Vec<i64> = page.items.iter().map(|e| e.id).collect();
        prefetch::escalations(ctx, &prefetch::items(&ctx.look_ahead()), &ids).await?;
        Ok(EscalationConnection(Parts::from(page)))
    }

    /// Releases, newest first. Anonymous callers see released ones only.
    async fn releases(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<ReleaseConnection> {
        let page = releases::list(&ctx.app()?.db, ctx.viewer()?, page_args(first, after)?).await?;
        Ok(ReleaseConnection(Parts::from(page)))
    }

    /// Published release notes, newest first; readable without signing in.
    async fn release_notes(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<ReleaseNoteConnection> {
        let page = release_notes::list(&ctx.app()?.db, page_args(first, after)?).await?;
        Ok(ReleaseNoteConnection(Parts::from(page)))
    }

    /// Your inbox, newest first.
    async fn notifications(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        #[graphql(default)] unread_only: bool,
    ) -> Result<NotificationConnection> {
        let page = notifications::list(
            &ctx.app()?.db,
            ctx.viewer()?,
            unread_only,
            page_args(first, after)?,
        )
        .await?;
        Ok(NotificationConnection(Parts::from(page)))
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

/// Plans a release.
#[derive(InputObject)]
pub struct CreateReleaseInput {
    /// Unique, e.g. `4.2.1`.
    pub version: String,
    pub kind: ReleaseKind,
    /// For quarterly releases, e.g. `2026-Q3`.
    pub quarter: Option<String>,
    pub planned_for: Option<NaiveDate>,
}

/// The planned release.
#[derive(SimpleObject)]
pub struct CreateReleasePayload {
    pub release: Release,
}

/// Schedules an escalation into a release of the matching kind.
#[derive(InputObject)]
pub struct ScheduleEscalationInput {
    pub escalation_id: ID,
    pub release_id: ID,
}

/// The scheduled escalation and its release.
#[derive(SimpleObject)]
pub struct ScheduleEscalationPayload {
    pub escalation: Escalation,
    pub release: Option<Release>,
}

/// Marks a planned release as about to be released.
#[derive(InputObject)]
pub struct MarkReleaseImminentInput {
    pub release_id: ID,
}

/// The release after the change.
#[derive(SimpleObject)]
pub struct MarkReleaseImminentPayload {
    pub release: Release,
}

/// Ships a release.
#[derive(InputObject)]
pub struct ShipReleaseInput {
    pub release_id: ID,
}

/// The shipped release.
#[derive(SimpleObject)]
pub struct ShipReleasePayload {
    pub release: Release,
}

/// Publishes the release note of an imminent or released release.
#[derive(InputObject)]
pub struct PublishReleaseNoteInput {
    pub release_id: ID,
    pub title: String,
    pub body: String,
}

/// The published note.
#[derive(SimpleObject)]
pub struct PublishReleaseNotePayload {
    pub release_note: ReleaseNote,
}

/// Optional input of follow/unfollow.
#[derive(InputObject, Default)]
pub struct FollowReleaseNotesInput {
    /// Echoed back, for clients that track their mutations.
    pub client_mutation_id: Option<String>,
}

/// Whether you now follow release notes.
#[derive(SimpleObject)]
pub struct FollowReleaseNotesPayload {
    pub following: bool,
    pub viewer: Option<User>,
    pub client_mutation_id: Option<String>,
}

/// Votes whether a note was helpful; voting again changes your vote.
#[derive(InputObject)]
pub struct VoteReleaseNoteInput {
    pub release_note_id: ID,
    pub helpful: bool,
}

/// The note with its counts.
#[derive(SimpleObject)]
pub struct VoteReleaseNotePayload {
    pub release_note: ReleaseNote,
}

/// Marks one of your notifications read.
#[derive(InputObject)]
pub struct MarkNotificationReadInput {
    pub notification_id: ID,
}

/// The notification after the change.
#[derive(SimpleObject)]
pub struct MarkNotificationReadPayload {
    pub notification: Notification,
}

/// Changing the workflow.
#[derive(Default)]
pub struct WorkflowMutation;

impl WorkflowMutation {
    async fn follow(
        ctx: &Context<'_>,
        input: Option<FollowReleaseNotesInput>,
        follow: bool,
    ) -> Result<Option<FollowReleaseNotesPayload>> {
        let app = ctx.app()?;
        let viewer = ctx.viewer()?;
        let following = release_notes::set_following(&app.db, &app.bus, viewer, follow).await?;
        let user = match viewer.user_id() {
            Some(id) => ctx.loaders()?.users().load_one(id).await?.map(User),
            None => None,
        };
        Ok(Some(FollowReleaseNotesPayload {
            following,
            viewer: user,
            client_mutation_id: input.unwrap_or_default().client_mutation_id,
        }))
    }
}

#[Object]
impl WorkflowMutation {
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

    /// Plans a release (triage lead).
    async fn create_release(
        &self,
        ctx: &Context<'_>,
        input: CreateReleaseInput,
    ) -> Result<Option<CreateReleasePayload>> {
        let app = ctx.app()?;
        let r = releases::create(
            &app.db,
            &app.bus,
            ctx.viewer()?,
            NewRelease {
                version: input.version,
                kind: input.kind.into(),
                quarter: input.quarter,
                planned_for: input.planned_for,
            },
        )
        .await?;
        Ok(Some(CreateReleasePayload {
            release: Release(r),
        }))
    }

    /// Schedules an escalation into a release of the matching kind (triage lead).
    async fn schedule_escalation(
        &self,
        ctx: &Context<'_>,
        input: ScheduleEscalationInput,
    ) -> Result<Option<ScheduleEscalationPayload>> {
        let app = ctx.app()?;
        let escalation_id = ids::decode(Kind::Escalation, &input.escalation_id)?;
        let release_id = ids::decode(Kind::Release, &input.release_id)?;
        let e = escalations::schedule(&app.db, &app.bus, ctx.viewer()?, escalation_id, release_id)
            .await?;
        let release = ctx
            .loaders()?
            .releases()
            .load_one(release_id)
            .await?
            .map(Release);
        Ok(Some(ScheduleEscalationPayload {
            escalation: Escalation(e),
            release,
        }))
    }

    /// Marks a planned release imminent (triage lead); hotfix tickets are solved now.
    async fn mark_release_imminent(
        &self,
        ctx: &Context<'_>,
        input: MarkReleaseImminentInput,
    ) -> Result<Option<MarkReleaseImminentPayload>> {
        let app = ctx.app()?;
        let release_id = ids::decode(Kind::Release, &input.release_id)?;
        let r = releases::mark_imminent(&app.db, &app.bus, ctx.viewer()?, release_id).await?;
        Ok(Some(MarkReleaseImminentPayload {
            release: Release(r),
        }))
    }

    /// Ships a release, once (triage lead).
    async fn ship_release(
        &self,
        ctx: &Context<'_>,
        input: ShipReleaseInput,
    ) -> Result<Option<ShipReleasePayload>> {
        let app = ctx.app()?;
        let release_id = ids::decode(Kind::Release, &input.release_id)?;
        let r = releases::ship(&app.db, &app.bus, ctx.viewer()?, release_id).await?;
        Ok(Some(ShipReleasePayload {
            release: Release(r),
        }))
    }

    /// Publishes a release's note (triage lead); followers are notified.
    async fn publish_release_note(
        &self,
        ctx: &Context<'_>,
        input: PublishReleaseNoteInput,
    ) -> Result<Option<PublishReleaseNotePayload>> {
        let app = ctx.app()?;
        let release_id = ids::decode(Kind::Release, &input.release_id)?;
        let n = release_notes::publish(
            &app.db,
            &app.bus,
            ctx.viewer()?,
            release_id,
            &input.title,
            &input.body,
        )
        .await?;
        Ok(Some(PublishReleaseNotePayload {
            release_note: ReleaseNote(n),
        }))
    }

    /// Follows release notes: you get a notification when one is published.
    async fn follow_release_notes(
        &self,
        ctx: &Context<'_>,
        input: Option<FollowReleaseNotesInput>,
    ) -> Result<Option<FollowReleaseNotesPayload>> {
        Self::follow(ctx, input, true).await
    }

    /// Stops following release notes.
    async fn unfollow_release_notes(
        &self,
        ctx: &Context<'_>,
        input: Option<FollowReleaseNotesInput>,
    ) -> Result<Option<FollowReleaseNotesPayload>> {
        Self::follow(ctx, input, false).await
    }

    /// Votes whether a release note was helpful; one vote per user, changeable.
    async fn vote_release_note(
        &self,
        ctx: &Context<'_>,
        input: VoteReleaseNoteInput,
    ) -> Result<Option<VoteReleaseNotePayload>> {
        let app = ctx.app()?;
        let note_id = ids::decode(Kind::ReleaseNote, &input.release_note_id)?;
        let n =
            release_notes::vote(&app.db, &app.bus, ctx.viewer()?, note_id, input.helpful).await?;
        Ok(Some(VoteReleaseNotePayload {
            release_note: ReleaseNote(n),
        }))
    }

    /// Marks one of your notifications read.
    async fn mark_notification_read(
        &self,
        ctx: &Context<'_>,
        input: MarkNotificationReadInput,
    ) -> Result<Option<MarkNotificationReadPayload>> {
        let app = ctx.app()?;
        let id = ids::decode(Kind::Notification, &input.notification_id)?;
        let n = notifications::mark_read(&app.db, ctx.viewer()?, id).await?;
        Ok(Some(MarkNotificationReadPayload {
            notification: Notification(n),
        }))
    }
}
