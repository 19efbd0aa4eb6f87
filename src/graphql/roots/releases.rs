//! Releases and their notes: listing them, planning, scheduling escalations into, and
//! shipping releases, and publishing, following and voting on release notes.

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use chrono::NaiveDate;

use crate::{
    domain::{
        escalations, release_notes,
        releases::{self, NewRelease},
    },
    graphql::{
        connection::{Parts, page_args},
        context::ContextExt,
        ids::{self, Kind},
        types::{
            enums::ReleaseKind,
            escalation::Escalation,
            release::{Release, ReleaseConnection, ReleaseNote, ReleaseNoteConnection},
            user::User,
        },
    },
};

/// `releases` and `releaseNotes`.
#[derive(Default)]
pub struct ReleasesQuery;

#[Object]
impl ReleasesQuery {
    /// Releases, newest first. Anonymous callers see released ones only.
    async fn releases(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<ReleaseConnection> {
        let page = releases::list(
            &ctx.app()?.db,
            ctx.viewer()?,
            page_args(first, after, last, before)?,
        )
        .await?;
        Ok(ReleaseConnection(Parts::from(page)))
    }

    /// Published release notes, newest first; readable without signing in.
    async fn release_notes(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<ReleaseNoteConnection> {
        let page =
            release_notes::list(&ctx.app()?.db, page_args(first, after, last, before)?).await?;
        Ok(ReleaseNoteConnection(Parts::from(page)))
    }
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

/// `createRelease`, `scheduleEscalation`, `markReleaseImminent`, `shipRelease`,
/// `publishReleaseNote`, `followReleaseNotes`, `unfollowReleaseNotes` and `voteReleaseNote`.
#[derive(Default)]
pub struct ReleasesMutation;

impl ReleasesMutation {
    /// `followReleaseNotes` and `unfollowReleaseNotes`: one change, two names.
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
impl ReleasesMutation {
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
}
