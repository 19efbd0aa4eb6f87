//! `Release` and `ReleaseNote` (the "Release Information" section).

use async_graphql::{Context, ID, Object, Result};
use chrono::{DateTime, NaiveDate, Utc};
use entity::{release, release_note};

use crate::{
    domain::escalations,
    graphql::{
        connection::{Parts, connection, page_args},
        context::ContextExt,
        ids::{self, Kind},
        lean::PlainFields,
        types::{
            enums::{ReleaseKind, ReleaseStatus},
            escalation::EscalationConnection,
        },
    },
};

/// A hotfix or quarterly release: `PLANNED → IMMINENT → RELEASED`.
#[derive(Clone)]
pub struct Release(pub release::Model);

connection!(
    ReleaseConnection,
    ReleaseEdge,
    Release,
    entity::release::Entity,
    "releases"
);

/// A published release note. Anyone, signed in or not, may read it.
#[derive(Clone)]
pub struct ReleaseNote(pub release_note::Model);

connection!(
    ReleaseNoteConnection,
    ReleaseNoteEdge,
    ReleaseNote,
    entity::release_note::Entity,
    "release notes"
);

impl PlainFields for Release {}

#[Object]
impl Release {
    /// Global id.
    pub async fn id(&self) -> ID {
        ids::encode(Kind::Release, self.0.id)
    }
    async fn version(&self) -> &str {
        &self.0.version
    }
    async fn kind(&self) -> ReleaseKind {
        self.0.kind.into()
    }
    async fn status(&self) -> ReleaseStatus {
        self.0.status.into()
    }
    /// For quarterly releases, e.g. `2026-Q3`.
    async fn quarter(&self) -> Option<&str> {
        self.0.quarter.as_deref()
    }
    async fn planned_for(&self) -> Option<NaiveDate> {
        self.0.planned_for
    }
    async fn imminent_at(&self) -> Option<DateTime<Utc>> {
        self.0.imminent_at
    }
    async fn released_at(&self) -> Option<DateTime<Utc>> {
        self.0.released_at
    }
    /// The escalations it ships that you may see, by priority then age.
    async fn escalations(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<EscalationConnection> {
        let page = escalations::list_in_release(
            &ctx.app()?.db,
            ctx.viewer()?,
            self.0.id,
            page_args(first, after, last, before)?,
        )
        .await?;
        Ok(EscalationConnection(Parts::from(page)))
    }
    /// Its published note, if any.
    async fn note(&self, ctx: &Context<'_>) -> Result<Option<ReleaseNote>> {
        Ok(ctx
            .loaders()?
            .notes()
            .load_one(self.0.id)
            .await?
            .map(ReleaseNote))
    }
}

impl PlainFields for ReleaseNote {}

#[Object]
impl ReleaseNote {
    /// Global id.
    pub async fn id(&self) -> ID {
        ids::encode(Kind::ReleaseNote, self.0.id)
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn body(&self) -> &str {
        &self.0.body
    }
    /// What the release ships: the public titles of its escalations.
    async fn items(&self, ctx: &Context<'_>) -> Result<Vec<String>> {
        Ok(ctx
            .loaders()?
            .note_items()
            .load_one(self.0.release_id)
            .await?
            .unwrap_or_default())
    }
    async fn published_at(&self) -> DateTime<Utc> {
        self.0.published_at
    }
    /// The release it describes (null if you may not see that release).
    async fn release(&self, ctx: &Context<'_>) -> Result<Option<Release>> {
        Ok(ctx
            .loaders()?
            .releases()
            .load_one(self.0.release_id)
            .await?
            .map(Release))
    }
    /// How many found it helpful ("3 out of 4 found this helpful": this is the 3).
    async fn helpful_count(&self, ctx: &Context<'_>) -> Result<u64> {
        Ok(ctx
            .loaders()?
            .vote_counts()
            .load_one(self.0.id)
            .await?
            .unwrap_or_default()
            .0)
    }
    /// How many voted (the 4).
    async fn vote_count(&self, ctx: &Context<'_>) -> Result<u64> {
        Ok(ctx
            .loaders()?
            .vote_counts()
            .load_one(self.0.id)
            .await?
            .unwrap_or_default()
            .1)
    }
    /// Your vote: `true` helpful, `false` not, null if you have not voted (or are anonymous).
    async fn viewer_vote(&self, ctx: &Context<'_>) -> Result<Option<bool>> {
        Ok(ctx.loaders()?.viewer_votes().load_one(self.0.id).await?)
    }
}
