//! Root fields that start from an identity: `node(id)` (any object by global id) and
//! `viewer` (the signed-in user).

use async_graphql::{Context, ID, Object, Result};

use crate::graphql::{
    context::ContextExt,
    node::{self, Node},
    types::user::User,
};

/// `node` and `viewer`.
#[derive(Default)]
pub struct NodeQuery;

#[Object]
impl NodeQuery {
    /// Any object by its global id; `NOT_FOUND` if it does not exist or is not yours to see.
    /// Anonymous callers may look up releases and release notes; any other kind of id
    /// answers them `UNAUTHENTICATED`.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Node>> {
        Ok(Some(node::load(ctx.app()?, ctx.viewer()?, &id).await?))
    }

    /// The signed-in user; null when anonymous.
    async fn viewer(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        match ctx.viewer()?.user_id() {
            Some(id) => Ok(ctx.loaders()?.users().load_one(id).await?.map(User)),
            None => Ok(None),
        }
    }
}
