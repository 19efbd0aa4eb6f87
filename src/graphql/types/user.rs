//! `User`: anyone who has signed in.

use async_graphql::{Context, ID, Object, Result, Value};
use entity::app_user;

use crate::{
    domain::{notify::preferences, policy},
    graphql::{
        connection::connection,
        context::ContextExt,
        ids::{self, Kind},
        lean::{Lean, PlainFields, text, value},
        types::{
            enums::Role,
            notify::NotificationPreferences,
            organization::Organization,
            ticket::{self, TicketConnection, TicketFilter, TicketOrder},
        },
    },
};

/// Anyone who has signed in; provisioned from their token's claims.
#[derive(Clone)]
pub struct User(pub app_user::Model);

connection!(
    UserConnection,
    UserEdge,
    User,
    entity::app_user::Entity,
    "users"
);

impl PlainFields for User {
    fn plain(&self, field: &str) -> Option<Value> {
        let u = &self.0;
        Some(match field {
            "id" => value(ids::encode(Kind::User, u.id)),
            "name" => text(&u.name),
            "role" => value(Role::from(u.role)),
            // `email` and the rest depend on who asks: resolvers.
            _ => return None,
        })
    }
}

/// A user a visible row points at (a requester, an author, an assignee): primed when the
/// page fetched it ahead, else through the batched loader; rendered leanly. The row that
/// points at them is what authorizes them.
pub async fn referenced(ctx: &Context<'_>, id: Option<i64>) -> Result<Option<Lean<User>>> {
    let Some(id) = id else {
        return Ok(None);
    };
    Ok(ctx.loaders()?.user(id).await?.map(|u| Lean(User(u))))
}

#[Object]
impl User {
    /// Global id.
    pub async fn id(&self) -> ID {
        ids::encode(Kind::User, self.0.id)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Email address; visible to staff and to the user themself, null for anyone else.
    async fn email(&self, ctx: &Context<'_>) -> Result<Option<&str>> {
        Ok(if policy::sees_email_of(ctx.viewer()?, self.0.id) {
            self.0.email.as_deref()
        } else {
            None
        })
    }
    /// Role as of the user's last request.
    async fn role(&self) -> Role {
        self.0.role.into()
    }
    /// The user's organization (customers).
    async fn organization(&self, ctx: &Context<'_>) -> Result<Option<Lean<Organization>>> {
        match self.0.org_id {
            Some(id) => Ok(ctx
                .loaders()?
                .organizations()
                .load_one(id)
                .await?
                .map(|o| Lean(Organization(o)))),
            None => Ok(None),
        }
    }
    /// Whether an admin has granted this customer visibility of their whole organization.
    /// Visible to staff and to the user themself, null for anyone else.
    async fn has_organization_scope(&self, ctx: &Context<'_>) -> Result<Option<bool>> {
        if !policy::sees_email_of(ctx.viewer()?, self.0.id) {
            return Ok(None);
        }
        Ok(ctx.loaders()?.scopes().load_one(self.0.id).await?)
    }
    /// Whether the user follows release notes; visible to staff and to the user themself.
    async fn follows_release_notes(&self, ctx: &Context<'_>) -> Result<Option<bool>> {
        if !policy::sees_email_of(ctx.viewer()?, self.0.id) {
            return Ok(None);
        }
        Ok(Some(
            crate::domain::release_notes::is_following(&ctx.app()?.db, self.0.id).await?,
        ))
    }
    /// Which emails you receive: your own user only, `null` on anyone else.
    async fn notification_preferences(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Option<NotificationPreferences>> {
        Ok(preferences::visible(ctx.viewer()?, &self.0).map(NotificationPreferences))
    }
    /// Tickets this user requested that the viewer may see, newest first unless `orderBy` says otherwise.
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
        let mut filter = filter.unwrap_or_default().into_domain()?;
        filter.requester_id = Some(self.0.id);
        let parts = ticket::list(ctx, filter, order_by, (first, after, last, before)).await?;
        Ok(TicketConnection(parts))
    }
}
