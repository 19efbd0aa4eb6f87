//! Relay cursor connections: `edges { cursor node }`, `nodes`, `pageInfo`, lazy
//! `totalCount`, and the `first`/`after`/`last`/`before` arguments every paginated field
//! takes.

use async_graphql::SimpleObject;
use sea_orm::EntityTrait;

use crate::{
    domain::page::{ChildPage, Count, Page, PageArgs},
    graphql::{ids, loaders::Children},
};

/// Page arguments from GraphQL `first`/`after`/`last`/`before` of a list ordered by id:
/// `first`/`last` bounded by the domain, the cursors opaque.
pub fn page_args(
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
) -> async_graphql::Result<PageArgs> {
    sorted_page_args(None, first, after, last, before)
}

/// Page arguments of a list sorted by `sort` (its cursors carry the sort key).
pub fn sorted_page_args(
    sort: Option<&str>,
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
) -> async_graphql::Result<PageArgs> {
    Ok(PageArgs::new(
        first,
        last,
        ids::decode_sorted_cursor("after", sort, after.as_deref())?,
        ids::decode_sorted_cursor("before", sort, before.as_deref())?,
    )?)
}

/// Relay page information.
#[derive(SimpleObject, Clone, Debug)]
pub struct PageInfo {
    /// Whether more items follow this page.
    pub has_next_page: bool,
    /// Whether items precede this page (with `first`: true when `after` was given).
    pub has_previous_page: bool,
    /// Cursor of the first edge.
    pub start_cursor: Option<String>,
    /// Cursor of the last edge; pass it as `after` for the next page.
    pub end_cursor: Option<String>,
}

/// How a connection's `totalCount` is computed, only if the client selects it.
pub enum Total<E: EntityTrait> {
    /// The domain's count of the list the page came from.
    Query(Box<Count<E>>),
    /// A nested list: a batched grouped count.
    Children(Children, i64),
}

impl<E: EntityTrait> Total<E>
where
    E::Model: Sync,
{
    pub async fn count(&self, ctx: &async_graphql::Context<'_>) -> async_graphql::Result<u64> {
        use crate::graphql::context::ContextExt as _;
        match self {
            Total::Query(count) => Ok(count.run(&ctx.app()?.db).await?),
            Total::Children(kind, parent) => {
                Ok(ctx.loaders()?.count((*kind, *parent)).await?.unwrap_or(0))
            }
        }
    }
}

/// What a sorted list's cursors carry: the sort's name and each row's sort key.
pub type SortedBy<M> = (&'static str, fn(&M) -> i64);

/// The parts every connection is built from.
pub struct Parts<E: EntityTrait> {
    pub items: Vec<E::Model>,
    pub has_next: bool,
    pub has_previous: bool,
    pub total: Total<E>,
    /// `None`: ordered by id, and so are the cursors.
    pub sorted_by: Option<SortedBy<E::Model>>,
}

impl<E: EntityTrait> Parts<E> {
    /// A nested list's page, as a child-page loader returned it, counted by the batched
    /// `ChildCountLoader` when `totalCount` is selected.
    pub fn children(page: Option<ChildPage<E::Model>>, kind: Children, parent: i64) -> Self {
        let page = page.unwrap_or_default();
        Parts {
            items: page.items,
            has_next: page.has_next,
            has_previous: page.has_previous,
            total: Total::Children(kind, parent),
            sorted_by: None,
        }
    }

    /// The same page, its cursors carrying the list's sort key.
    pub fn sorted_by(self, sorted_by: Option<SortedBy<E::Model>>) -> Self {
        Parts { sorted_by, ..self }
    }
}

impl<E: EntityTrait> From<Page<E>> for Parts<E> {
    fn from(p: Page<E>) -> Self {
        Parts {
            items: p.items,
            has_next: p.has_next,
            has_previous: p.has_previous,
            total: Total::Query(Box::new(p.count)),
            sorted_by: None,
        }
    }
}

/// Declares `<Node>Connection` and `<Node>Edge` for a node type wrapping an entity model;
/// the nodes render through the lean renderer (`graphql::lean`), so the node type implements
/// `PlainFields`.
macro_rules! connection {
    ($conn:ident, $edge:ident, $node:ident, $entity:path, $what:literal) => {
        $crate::graphql::connection::connection!($conn, $edge, $node, $entity, $what, $node);
    };
    ($conn:ident, $edge:ident, $node:ident, $entity:path, $what:literal, $ctor:path) => {
        #[doc = concat!("A page of ", $what, ".")]
        pub struct $conn(pub $crate::graphql::connection::Parts<$entity>);

        #[doc = concat!("One of ", $what, " with its cursor.")]
        pub struct $edge {
            cursor: String,
            node: $node,
        }

        #[async_graphql::Object]
        impl $edge {
            /// Opaque cursor; pass it as `after` to continue after this item.
            async fn cursor(&self) -> &str {
                &self.cursor
            }
            /// The item.
            async fn node(&self) -> $crate::graphql::lean::Lean<&$node> {
                $crate::graphql::lean::Lean(&self.node)
            }
        }

        impl $conn {
            fn cursor_of(&self, m: &<$entity as sea_orm::EntityTrait>::Model) -> String {
                match self.0.sorted_by {
                    None => $crate::graphql::ids::cursor(m.id),
                    Some((sort, key)) => $crate::graphql::ids::sorted_cursor(
                        sort,
                        $crate::domain::page::Place {
                            key: Some(key(m)),
                            id: m.id,
                        },
                    ),
                }
            }
        }

        #[async_graphql::Object]
        impl $conn {
            /// The items with their cursors.
            async fn edges(&self) -> Vec<$edge> {
                self.0
                    .items
                    .iter()
                    .map(|m| $edge {
                        cursor: self.cursor_of(m),
                        node: $ctor(m.clone()),
                    })
                    .collect()
            }
            /// The items, without cursors.
            async fn nodes(&self) -> Vec<$crate::graphql::lean::Lean<$node>> {
                self.0
                    .items
                    .iter()
                    .cloned()
                    .map(|m| $crate::graphql::lean::Lean($ctor(m)))
                    .collect()
            }
            /// Where this page stands.
            async fn page_info(&self) -> $crate::graphql::connection::PageInfo {
                $crate::graphql::connection::PageInfo {
                    has_next_page: self.0.has_next,
                    has_previous_page: self.0.has_previous,
                    start_cursor: self.0.items.first().map(|m| self.cursor_of(m)),
                    end_cursor: self.0.items.last().map(|m| self.cursor_of(m)),
                }
            }
            /// How many items match, across all pages (counted only when asked for).
            async fn total_count(
                &self,
                ctx: &async_graphql::Context<'_>,
            ) -> async_graphql::Result<u64> {
                self.0.total.count(ctx).await
            }
        }
    };
}

pub(crate) use connection;
