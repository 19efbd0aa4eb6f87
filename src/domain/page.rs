//! Keyset pagination on the primary key, shared by every list, and the batched first pages
//! and counts of nested lists (many parents in one statement).

use std::collections::HashMap;

use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, Order, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Select, sea_query::SelectStatement,
};

use crate::error::{AppError, AppResult};

/// Largest page a client may ask for: `first` is at most 100.
pub const MAX_PAGE: u64 = 100;
/// Page size when the client does not say.
pub const DEFAULT_PAGE: u64 = 20;

/// A validated page request: `first` items after the row with id `after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PageArgs {
    pub first: u64,
    pub after: Option<i64>,
    /// Newest first (descending ids) instead of the list's usual oldest-first order.
    pub newest_first: bool,
}

impl PageArgs {
    /// The same page, newest first.
    pub fn newest_first(self, yes: bool) -> Self {
        PageArgs {
            newest_first: yes,
            ..self
        }
    }

    /// Validates `first` (0..=100, default 20).
    pub fn new(first: Option<i32>, after: Option<i64>) -> AppResult<Self> {
        let first = match first {
            None => DEFAULT_PAGE,
            Some(n) if n < 0 => return Err(AppError::bad_input("`first` must not be negative")),
            Some(n) if n as u64 > MAX_PAGE => {
                return Err(AppError::bad_input(format!(
                    "`first` must be at most {MAX_PAGE}"
                )));
            }
            Some(n) => n as u64,
        };
        Ok(PageArgs {
            first,
            after,
            newest_first: false,
        })
    }
}

/// How a list's `totalCount` is computed (only if the client asks).
#[derive(Debug, Clone)]
pub enum Count<E: EntityTrait> {
    /// `COUNT(*)` of the filtered, unpaginated query the page came from.
    Rows(Select<E>),
    /// A statement that returns the count directly as one `BIGINT` (e.g. the sum of a
    /// maintained tally), for lists too long to count row by row on every request.
    Sum(SelectStatement),
}

impl<E: EntityTrait> Count<E>
where
    E::Model: Sync,
{
    pub async fn run(&self, db: &impl ConnectionTrait) -> AppResult<u64> {
        match self {
            Count::Rows(select) => Ok(select.clone().count(db).await?),
            Count::Sum(stmt) => {
                let row = db.query_one(stmt).await?;
                let n: Option<i64> = match row {
                    Some(row) => row.try_get_by_index(0)?,
                    None => None,
                };
                Ok(n.unwrap_or(0).max(0) as u64)
            }
        }
    }
}

/// One page of rows plus how to count them all.
#[derive(Debug, Clone)]
pub struct Page<E: EntityTrait> {
    pub items: Vec<E::Model>,
    pub has_next: bool,
    pub has_previous: bool,
    pub count: Count<E>,
}

impl<E: EntityTrait> Page<E> {
    /// Replaces how the page's `totalCount` is computed.
    pub fn counted_by(self, count: Count<E>) -> Self {
        Page { count, ..self }
    }
}

/// Fetches one page of `select` ordered by `id_col` in `order`, after the cursor.
pub async fn fetch<E, C>(
    db: &impl ConnectionTrait,
    select: Select<E>,
    id_col: C,
    order: Order,
    args: PageArgs,
) -> AppResult<Page<E>>
where
    E: EntityTrait,
    C: ColumnTrait,
{
    let count = Count::Rows(select.clone());
    let mut q = select;
    if let Some(after) = args.after {
        q = match order {
            Order::Desc => q.filter(id_col.lt(after)),
            _ => q.filter(id_col.gt(after)),
        };
    }
    let mut items = if args.first == 0 {
        Vec::new()
    } else {
        q.order_by(id_col, order)
            .limit(args.first + 1)
            .all(db)
            .await?
    };
    let has_next = items.len() as u64 > args.first;
    items.truncate(args.first as usize);
    Ok(Page {
        items,
        has_next,
        has_previous: args.after.is_some(),
        count,
    })
}

/// One parent's slice of a batched child query.
#[derive(Debug, Clone)]
pub struct ChildPage<M> {
    pub items: Vec<M>,
    pub has_next: bool,
}

impl<M> Default for ChildPage<M> {
    fn default() -> Self {
        ChildPage {
            items: Vec::new(),
            has_next: false,
        }
    }
}

/// The first page of children for many parents in ONE statement (a window function ranks
/// rows per parent), so nested lists like `tickets { comments(first: 3) }` cost one query
/// whatever the number of parents. `select` carries the child-level filter.
pub async fn fetch_children<E>(
    db: &impl ConnectionTrait,
    select: Select<E>,
    parent_col: E::Column,
    id_col: E::Column,
    order: Order,
    parent_ids: &[i64],
    args: PageArgs,
) -> AppResult<HashMap<i64, ChildPage<E::Model>>>
where
    E: EntityTrait,
{
    use sea_orm::{
        IdenStatic, ModelTrait, QueryTrait, Value,
        sea_query::{Alias, Asterisk, Expr, ExprTrait as _, Query},
    };

    let mut out = HashMap::new();
    if parent_ids.is_empty() || args.first == 0 {
        return Ok(out);
    }
    let mut inner = select.filter(crate::domain::rows::any_of(
        db.get_database_backend(),
        parent_col,
        parent_ids,
    ));
    if let Some(after) = args.after {
        inner = match order {
            Order::Desc => inner.filter(id_col.lt(after)),
            _ => inner.filter(id_col.gt(after)),
        };
    }
    let dir = if matches!(order, Order::Desc) {
        "DESC"
    } else {
        "ASC"
    };
    let mut inner = inner.into_query();
    inner.expr_as(
        Expr::cust(format!(
            r#"ROW_NUMBER() OVER (PARTITION BY "{}" ORDER BY "{}" {dir})"#,
            parent_col.as_str(),
            id_col.as_str()
        )),
        Alias::new("rn"),
    );
    let outer = Query::select()
        .column(Asterisk)
        .from_subquery(inner, Alias::new("ranked"))
        .and_where(Expr::col(Alias::new("rn")).lte((args.first + 1) as i64))
        .order_by(Alias::new(id_col.as_str()), order)
        .to_owned();
    let stmt = db.get_database_backend().build(&outer);
    let rows = E::find().from_raw_sql(stmt).all(db).await?;
    for row in rows {
        let parent = match row.get(parent_col) {
            Value::BigInt(Some(id)) => id,
            Value::Int(Some(id)) => id as i64,
            other => {
                return Err(AppError::internal(anyhow::anyhow!(
                    "unexpected parent key {other:?}"
                )));
            }
        };
        let slot: &mut ChildPage<E::Model> = out.entry(parent).or_default();
        if slot.items.len() as u64 == args.first {
            slot.has_next = true;
        } else {
            slot.items.push(row);
        }
    }
    Ok(out)
}

/// Pages of children for many (parent, page request) keys, as DataLoaders ask for them: one
/// `fetch_children` statement per distinct page request, each in the order it asks for
/// (oldest first unless `newest_first`). A parent with no children gets an empty page.
pub async fn children_pages<E>(
    db: &impl ConnectionTrait,
    select: Select<E>,
    parent_col: E::Column,
    id_col: E::Column,
    keys: &[(i64, PageArgs)],
) -> AppResult<HashMap<(i64, PageArgs), ChildPage<E::Model>>>
where
    E: EntityTrait,
{
    let mut groups: HashMap<PageArgs, Vec<i64>> = HashMap::new();
    for (parent, args) in keys {
        groups.entry(*args).or_default().push(*parent);
    }
    let mut out = HashMap::new();
    for (args, parents) in groups {
        let order = if args.newest_first {
            Order::Desc
        } else {
            Order::Asc
        };
        let mut pages = fetch_children(
            db,
            select.clone(),
            parent_col,
            id_col,
            order,
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

/// `COUNT(*)` of children per parent in one grouped statement (nested `totalCount`).
pub async fn count_children<E>(
    db: &impl ConnectionTrait,
    select: Select<E>,
    parent_col: E::Column,
    id_col: E::Column,
    parent_ids: &[i64],
) -> AppResult<HashMap<i64, u64>>
where
    E: EntityTrait,
{
    use sea_orm::ExprTrait as _;
    if parent_ids.is_empty() {
        return Ok(Default::default());
    }
    let rows: Vec<(Option<i64>, i64)> = select
        .select_only()
        .column(parent_col)
        .column_as(sea_orm::sea_query::Expr::col(id_col).count(), "n")
        .filter(crate::domain::rows::any_of(
            db.get_database_backend(),
            parent_col,
            parent_ids,
        ))
        .group_by(parent_col)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(p, n)| p.map(|p| (p, u64::try_from(n).unwrap_or(0))))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_is_bounded() {
        assert_eq!(PageArgs::new(None, None).unwrap().first, 20);
        assert_eq!(PageArgs::new(Some(100), None).unwrap().first, 100);
        assert_eq!(PageArgs::new(Some(0), None).unwrap().first, 0);
        assert_eq!(
            PageArgs::new(Some(101), None).unwrap_err().code(),
            "BAD_USER_INPUT"
        );
        assert_eq!(
            PageArgs::new(Some(-1), None).unwrap_err().code(),
            "BAD_USER_INPUT"
        );
    }
}
