//! Keyset pagination shared by every list (forwards and backwards, on the id or on a sort
//! key and the id), and the batched pages and counts of nested lists (many parents in one
//! statement).

use std::collections::HashMap;

use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, ExprTrait as _, Order, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Select, Value,
    sea_query::{Expr, SelectStatement, SimpleExpr},
};

use crate::error::{AppError, AppResult};

/// Largest page a client may ask for: `first` and `last` are at most 100.
pub const MAX_PAGE: u64 = 100;
/// Page size when the client does not say.
pub const DEFAULT_PAGE: u64 = 20;

/// A row's place in a list: its id and, in a list sorted by something else first, its sort
/// key (timestamps as nanoseconds since the epoch). A cursor is an encoded `Place`, so a
/// page continues after the row it names even if that row has since moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Place {
    pub key: Option<i64>,
    pub id: i64,
}

impl Place {
    /// A place in a list ordered by id alone.
    pub fn id(id: i64) -> Self {
        Place { key: None, id }
    }
}

/// A validated page request (Relay): the first `limit` rows after `after`, or with
/// `from_end` the last `limit` rows before `before`; either bound may be given with either.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PageArgs {
    pub limit: u64,
    pub after: Option<Place>,
    pub before: Option<Place>,
    /// `last` was asked for: the page is taken from the end of the range.
    pub from_end: bool,
    /// Newest first (descending ids) instead of the list's usual oldest-first order.
    pub newest_first: bool,
    /// The page's `totalCount` is asked for: a nested page without a cursor also counts its
    /// parent's children, in the same statement (`ChildPage::total`).
    pub counted: bool,
}

impl PageArgs {
    /// The same page, newest first.
    pub fn newest_first(self, yes: bool) -> Self {
        PageArgs {
            newest_first: yes,
            ..self
        }
    }

    /// The same page, counting its parent's children when `yes`.
    pub fn counted(self, yes: bool) -> Self {
        PageArgs {
            counted: yes,
            ..self
        }
    }

    /// Validates `first`/`last` (each 0..=100, not both; default `first: 20`).
    pub fn new(
        first: Option<i32>,
        last: Option<i32>,
        after: Option<Place>,
        before: Option<Place>,
    ) -> AppResult<Self> {
        let bounded = |name: &str, n: i32| match n {
            n if n < 0 => Err(AppError::bad_input(format!(
                "`{name}` must not be negative"
            ))),
            n if n as u64 > MAX_PAGE => Err(AppError::bad_input(format!(
                "`{name}` must be at most {MAX_PAGE}"
            ))),
            n => Ok(n as u64),
        };
        let (limit, from_end) = match (first, last) {
            (Some(_), Some(_)) => {
                return Err(AppError::bad_input(
                    "give `first` or `last`, not both, to paginate",
                ));
            }
            (Some(n), None) => (bounded("first", n)?, false),
            (None, Some(n)) => (bounded("last", n)?, true),
            (None, None) => (DEFAULT_PAGE, before.is_some() && after.is_none()),
        };
        Ok(PageArgs {
            limit,
            after,
            before,
            from_end,
            newest_first: false,
            counted: false,
        })
    }

    /// The order rows are read in: the list's order, reversed when taking from the end.
    pub fn read_order(&self, list: &Order) -> Order {
        match (list, self.from_end) {
            (Order::Desc, false) | (Order::Asc, true) => Order::Desc,
            _ => Order::Asc,
        }
    }

    /// Turns the `limit + 1` rows read into a page in list order, and says whether rows
    /// follow and precede it. A bound the client gave counts as rows beyond it (Relay lets
    /// a server say so without looking).
    pub fn settle<M>(&self, mut items: Vec<M>) -> (Vec<M>, bool, bool) {
        let more = items.len() as u64 > self.limit;
        items.truncate(self.limit as usize);
        if self.from_end {
            items.reverse();
            (items, self.before.is_some(), more)
        } else {
            (items, more, self.after.is_some())
        }
    }
}

/// What a list is sorted by before its id, and how the sort key's cursor value is bound.
#[derive(Debug, Clone)]
pub struct SortKey {
    pub expr: SimpleExpr,
    pub kind: KeyKind,
}

/// How a sort key's value is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Int,
    /// A `DateTime<Utc>`; its position value is nanoseconds since the epoch.
    Time,
}

impl KeyKind {
    fn value(self, raw: i64) -> Value {
        match self {
            KeyKind::Int => raw.into(),
            KeyKind::Time => chrono::DateTime::from_timestamp_nanos(raw).into(),
        }
    }
}

/// Rows strictly beyond `p` in the list's direction: after it (`after`) or before it.
/// Ties in the sort key are broken by id in the same direction, so `(key, id)` is a total
/// order and a page boundary never skips or repeats a row.
fn beyond(
    key: Option<&SortKey>,
    id_col: impl ColumnTrait,
    p: Place,
    list: &Order,
    after: bool,
) -> AppResult<SimpleExpr> {
    let greater = matches!(list, Order::Desc) != after;
    let (lhs, rhs) = match (key, p.key) {
        (None, _) => (Expr::col(id_col), Expr::val(p.id)),
        (Some(k), Some(v)) => (
            Expr::tuple([k.expr.clone(), Expr::col(id_col)]),
            Expr::tuple([Expr::val(k.kind.value(v)), Expr::val(p.id)]),
        ),
        (Some(_), None) => {
            return Err(AppError::bad_input(
                "that cursor belongs to a list in another order",
            ));
        }
    };
    Ok(if greater { lhs.gt(rhs) } else { lhs.lt(rhs) })
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
                Ok(std::cmp::Ord::max(n.unwrap_or(0), 0) as u64)
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

/// Fetches one page of `select` ordered by `id_col` in `order`, between the cursors.
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
    fetch_sorted(db, select, None, id_col, order, args).await
}

/// Fetches one page of `select` ordered by `key` (then `id_col`) in `order`, between the
/// cursors: keyset pagination, one indexed range read whatever the page's depth.
pub async fn fetch_sorted<E, C>(
    db: &impl ConnectionTrait,
    select: Select<E>,
    key: Option<SortKey>,
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
    if let Some(p) = args.after {
        q = q.filter(beyond(key.as_ref(), id_col, p, &order, true)?);
    }
    if let Some(p) = args.before {
        q = q.filter(beyond(key.as_ref(), id_col, p, &order, false)?);
    }
    let items = if args.limit == 0 {
        Vec::new()
    } else {
        let read = args.read_order(&order);
        if let Some(k) = &key {
            q = q.order_by(k.expr.clone(), read.clone());
        }
        q.order_by(id_col, read)
            .limit(args.limit + 1)
            .all(db)
            .await?
    };
    let (items, has_next, has_previous) = args.settle(items);
    Ok(Page {
        items,
        has_next,
        has_previous,
        count,
    })
}

/// One parent's slice of a batched child query.
#[derive(Debug, Clone)]
pub struct ChildPage<M> {
    pub items: Vec<M>,
    pub has_next: bool,
    pub has_previous: bool,
    /// How many children the parent has under the same filter, across all pages: known when
    /// the page had no cursor, so the statement that ranked the children also counted them
    /// (a nested `totalCount` then needs no statement of its own).
    pub total: Option<u64>,
}

impl<M> Default for ChildPage<M> {
    fn default() -> Self {
        ChildPage {
            items: Vec::new(),
            has_next: false,
            has_previous: false,
            total: None,
        }
    }
}

/// A page of children for many parents in ONE statement (a window function ranks rows per
/// parent), so nested lists like `tickets { comments(first: 3) }` cost one query whatever
/// the number of parents. `select` carries the child-level filter; children are ordered
/// by id.
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
        FromQueryResult, IdenStatic, ModelTrait, QueryTrait,
        sea_query::{Alias, Asterisk, Query},
    };

    let mut out = HashMap::new();
    if parent_ids.is_empty() || args.limit == 0 {
        return Ok(out);
    }
    let mut inner = select.filter(crate::domain::rows::any_of(
        db.get_database_backend(),
        parent_col,
        parent_ids,
    ));
    if let Some(p) = args.after {
        inner = inner.filter(beyond(None, id_col, p, &order, true)?);
    }
    if let Some(p) = args.before {
        inner = inner.filter(beyond(None, id_col, p, &order, false)?);
    }
    let read = args.read_order(&order);
    let dir = if matches!(read, Order::Desc) {
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
    // Without a cursor the ranked rows are all the parent's children: count them here too,
    // when the count is asked for (it costs the statement a second window).
    let counts = args.counted && args.after.is_none() && args.before.is_none();
    if counts {
        inner.expr_as(
            Expr::cust(format!(
                r#"COUNT(*) OVER (PARTITION BY "{}")"#,
                parent_col.as_str()
            )),
            Alias::new("n_all"),
        );
    }
    let outer = Query::select()
        .column(Asterisk)
        .from_subquery(inner, Alias::new("ranked"))
        .and_where(Expr::col(Alias::new("rn")).lte((args.limit + 1) as i64))
        .order_by(Alias::new(id_col.as_str()), read)
        .to_owned();
    let stmt = db.get_database_backend().build(&outer);
    let mut read_rows: HashMap<i64, Vec<E::Model>> = HashMap::new();
    let mut totals: HashMap<i64, u64> = HashMap::new();
    for raw in db.query_all_raw(stmt).await? {
        let row = E::Model::from_query_result(&raw, "")?;
        let parent = match row.get(parent_col) {
            Value::BigInt(Some(id)) => id,
            Value::Int(Some(id)) => id as i64,
            other => {
                return Err(AppError::internal(anyhow::anyhow!(
                    "unexpected parent key {other:?}"
                )));
            }
        };
        if counts && !totals.contains_key(&parent) {
            let n: i64 = raw.try_get("", "n_all")?;
            totals.insert(parent, u64::try_from(n).unwrap_or(0));
        }
        read_rows.entry(parent).or_default().push(row);
    }
    for (parent, rows) in read_rows {
        let (items, has_next, has_previous) = args.settle(rows);
        out.insert(
            parent,
            ChildPage {
                items,
                has_next,
                has_previous,
                total: totals.get(&parent).copied(),
            },
        );
    }
    // A parent without a row has no children at all.
    if counts {
        for parent in parent_ids {
            out.entry(*parent).or_insert_with(|| ChildPage {
                total: Some(0),
                ..ChildPage::default()
            });
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
    fn first_and_last_are_bounded_and_exclusive() {
        assert_eq!(PageArgs::new(None, None, None, None).unwrap().limit, 20);
        assert_eq!(
            PageArgs::new(Some(100), None, None, None).unwrap().limit,
            100
        );
        assert_eq!(PageArgs::new(Some(0), None, None, None).unwrap().limit, 0);
        let last = PageArgs::new(None, Some(5), None, None).unwrap();
        assert!(last.from_end && last.limit == 5);
        for (first, last) in [
            (Some(101), None),
            (Some(-1), None),
            (None, Some(101)),
            (None, Some(-1)),
            (Some(1), Some(1)),
        ] {
            assert_eq!(
                PageArgs::new(first, last, None, None).unwrap_err().code(),
                "BAD_USER_INPUT",
                "{first:?} {last:?}"
            );
        }
    }

    #[test]
    fn a_page_from_the_end_is_put_back_in_list_order() {
        let args = PageArgs::new(None, Some(2), None, Some(Place::id(9))).unwrap();
        assert_eq!(args.read_order(&Order::Asc), Order::Desc);
        let (items, next, previous) = args.settle(vec![8, 7, 6]);
        assert_eq!(items, vec![7, 8]);
        assert!(next && previous);
        let (items, next, previous) = args.settle(vec![2]);
        assert_eq!(items, vec![2]);
        assert!(next && !previous);
    }
}
