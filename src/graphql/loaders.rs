//! Per-request DataLoaders: one batched, scoped query per kind of nested field, so a page
//! of N tickets costs the same number of statements as a page of one. No cache: a long
//! subscription must never see stale rows.

use std::collections::HashMap;

use async_graphql::dataloader::{DataLoader, Loader};
use entity::{app_user, comment, event, org_scope_grant, organization, ticket};
use sea_orm::{ColumnTrait, EntityTrait, Order, QueryFilter, QuerySelect};

use crate::{
    app::App,
    auth::Viewer,
    domain::{
        organizations,
        page::{self, ChildPage, PageArgs},
        policy, scope, tickets, users,
    },
    error::{AppError, SharedError},
};

type LoadResult<K, V> = Result<HashMap<K, V>, SharedError>;

/// Everything a loader needs: the database and who is asking.
#[derive(Clone)]
pub struct Env {
    app: App,
    viewer: Viewer,
}

/// The loaders of one request (or one WebSocket connection).
pub struct Loaders {
    pub users: DataLoader<UserLoader>,
    pub organizations: DataLoader<OrganizationLoader>,
    pub tickets: DataLoader<TicketLoader>,
    pub comments: DataLoader<CommentLoader>,
    pub comment_pages: DataLoader<CommentPageLoader>,
    pub event_pages: DataLoader<EventPageLoader>,
    pub counts: DataLoader<ChildCountLoader>,
    pub scopes: DataLoader<ScopeLoader>,
}

impl Loaders {
    /// Builds the loaders for one viewer.
    pub fn new(app: &App, viewer: &Viewer) -> Self {
        let delay = std::time::Duration::from_millis(app.config.loader_delay_ms);
        let env = Env {
            app: app.clone(),
            viewer: viewer.clone(),
        };
        Loaders {
            users: DataLoader::new(UserLoader(env.clone()), tokio::spawn).delay(delay),
            organizations: DataLoader::new(OrganizationLoader(env.clone()), tokio::spawn)
                .delay(delay),
            tickets: DataLoader::new(TicketLoader(env.clone()), tokio::spawn).delay(delay),
            comments: DataLoader::new(CommentLoader(env.clone()), tokio::spawn).delay(delay),
            comment_pages: DataLoader::new(CommentPageLoader(env.clone()), tokio::spawn)
                .delay(delay),
            event_pages: DataLoader::new(EventPageLoader(env.clone()), tokio::spawn).delay(delay),
            counts: DataLoader::new(ChildCountLoader(env.clone()), tokio::spawn).delay(delay),
            scopes: DataLoader::new(ScopeLoader(env), tokio::spawn).delay(delay),
        }
    }
}

fn by_id<M, F: Fn(&M) -> i64>(rows: Vec<M>, id: F) -> HashMap<i64, M> {
    rows.into_iter().map(|m| (id(&m), m)).collect()
}

/// People named on visible things (requester, author, assignee, actor).
pub struct UserLoader(Env);

impl Loader<i64> for UserLoader {
    type Value = app_user::Model;
    type Error = SharedError;
    async fn load(&self, keys: &[i64]) -> LoadResult<i64, Self::Value> {
        let rows = users::load_referenced(&self.0.app.db, keys).await?;
        Ok(by_id(rows, |u| u.id))
    }
}

/// Organizations, through the viewer's organization scope.
pub struct OrganizationLoader(Env);

impl Loader<i64> for OrganizationLoader {
    type Value = organization::Model;
    type Error = SharedError;
    async fn load(&self, keys: &[i64]) -> LoadResult<i64, Self::Value> {
        let rows = organizations::load_many(&self.0.app.db, &self.0.viewer, keys).await?;
        Ok(by_id(rows, |o| o.id))
    }
}

/// Tickets, through the viewer's ticket scope.
pub struct TicketLoader(Env);

impl Loader<i64> for TicketLoader {
    type Value = ticket::Model;
    type Error = SharedError;
    async fn load(&self, keys: &[i64]) -> LoadResult<i64, Self::Value> {
        let rows = tickets::load_many(&self.0.app.db, &self.0.viewer, keys).await?;
        Ok(by_id(rows, |t| t.id))
    }
}

/// Comments by id (an event's comment), with the viewer's comment filter. Callers reach
/// them only through a visible ticket.
pub struct CommentLoader(Env);

impl Loader<i64> for CommentLoader {
    type Value = comment::Model;
    type Error = SharedError;
    async fn load(&self, keys: &[i64]) -> LoadResult<i64, Self::Value> {
        let rows = comment::Entity::find()
            .filter(comment::Column::Id.is_in(keys.iter().copied()))
            .filter(policy::comment_filter(&self.0.viewer))
            .all(&self.0.app.db)
            .await
            .map_err(AppError::from)?;
        Ok(by_id(rows, |c| c.id))
    }
}

/// Groups keys by their page arguments: one query per distinct (first, after).
fn by_args(keys: &[(i64, PageArgs)]) -> HashMap<PageArgs, Vec<i64>> {
    let mut groups: HashMap<PageArgs, Vec<i64>> = HashMap::new();
    for (parent, args) in keys {
        groups.entry(*args).or_default().push(*parent);
    }
    groups
}

/// A page of comments for each of many (visible) tickets.
pub struct CommentPageLoader(Env);

impl Loader<(i64, PageArgs)> for CommentPageLoader {
    type Value = ChildPage<comment::Model>;
    type Error = SharedError;
    async fn load(&self, keys: &[(i64, PageArgs)]) -> LoadResult<(i64, PageArgs), Self::Value> {
        let mut out = HashMap::new();
        for (args, parents) in by_args(keys) {
            let select = comment::Entity::find().filter(policy::comment_filter(&self.0.viewer));
            let mut pages = page::fetch_children(
                &self.0.app.db,
                select,
                comment::Column::TicketId,
                comment::Column::Id,
                Order::Asc,
                &parents,
                args,
            )
            .await?;
            for p in parents {
                out.insert((p, args), pages.remove(&p).unwrap_or_default());
            }
        }
        Ok(out)
    }
}

/// A page of events for each of many (visible) tickets.
pub struct EventPageLoader(Env);

impl Loader<(i64, PageArgs)> for EventPageLoader {
    type Value = ChildPage<event::Model>;
    type Error = SharedError;
    async fn load(&self, keys: &[(i64, PageArgs)]) -> LoadResult<(i64, PageArgs), Self::Value> {
        let mut out = HashMap::new();
        for (args, parents) in by_args(keys) {
            let select = event::Entity::find().filter(policy::event_filter(&self.0.viewer));
            let mut pages = page::fetch_children(
                &self.0.app.db,
                select,
                event::Column::TicketId,
                event::Column::Id,
                Order::Asc,
                &parents,
                args,
            )
            .await?;
            for p in parents {
                out.insert((p, args), pages.remove(&p).unwrap_or_default());
            }
        }
        Ok(out)
    }
}

/// Which children a count is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Children {
    TicketComments,
    TicketEvents,
}

/// `totalCount` of nested connections: one grouped COUNT per kind of child.
pub struct ChildCountLoader(Env);

impl Loader<(Children, i64)> for ChildCountLoader {
    type Value = u64;
    type Error = SharedError;
    async fn load(&self, keys: &[(Children, i64)]) -> LoadResult<(Children, i64), u64> {
        let db = &self.0.app.db;
        let v = &self.0.viewer;
        let mut out: HashMap<(Children, i64), u64> = keys.iter().map(|k| (*k, 0)).collect();
        for kind in [Children::TicketComments, Children::TicketEvents] {
            let parents: Vec<i64> = keys
                .iter()
                .filter(|(k, _)| *k == kind)
                .map(|(_, p)| *p)
                .collect();
            if parents.is_empty() {
                continue;
            }
            let rows: Vec<(Option<i64>, i64)> = match kind {
                Children::TicketComments => comment::Entity::find()
                    .select_only()
                    .column(comment::Column::TicketId)
                    .column_as(comment::Column::Id.count(), "n")
                    .filter(comment::Column::TicketId.is_in(parents))
                    .filter(policy::comment_filter(v))
                    .group_by(comment::Column::TicketId)
                    .into_tuple::<(i64, i64)>()
                    .all(db)
                    .await
                    .map_err(AppError::from)?
                    .into_iter()
                    .map(|(p, n)| (Some(p), n))
                    .collect(),
                Children::TicketEvents => event::Entity::find()
                    .select_only()
                    .column(event::Column::TicketId)
                    .column_as(event::Column::Id.count(), "n")
                    .filter(event::Column::TicketId.is_in(parents))
                    .filter(policy::event_filter(v))
                    .group_by(event::Column::TicketId)
                    .into_tuple()
                    .all(db)
                    .await
                    .map_err(AppError::from)?,
            };
            for (parent, n) in rows {
                if let Some(parent) = parent {
                    out.insert((kind, parent), n.max(0) as u64);
                }
            }
        }
        Ok(out)
    }
}

/// Whether each user holds a live organization-scope grant (for `hasOrganizationScope`).
pub struct ScopeLoader(Env);

impl Loader<i64> for ScopeLoader {
    type Value = bool;
    type Error = SharedError;
    async fn load(&self, keys: &[i64]) -> LoadResult<i64, bool> {
        let grants = org_scope_grant::Entity::find()
            .filter(org_scope_grant::Column::UserId.is_in(keys.iter().copied()))
            .all(&self.0.app.db)
            .await
            .map_err(AppError::from)?;
        let users = users::load_referenced(&self.0.app.db, keys).await?;
        let org_of: HashMap<i64, Option<i64>> = users.iter().map(|u| (u.id, u.org_id)).collect();
        let mut out: HashMap<i64, bool> = keys.iter().map(|k| (*k, false)).collect();
        for g in grants {
            // Only a grant in the user's current organization counts.
            if org_of.get(&g.user_id) == Some(&Some(g.org_id)) && scope::is_live(&g) {
                out.insert(g.user_id, true);
            }
        }
        Ok(out)
    }
}
