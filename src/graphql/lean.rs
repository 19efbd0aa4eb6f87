//! The lean renderer of the hot node types (`Ticket`, `Comment`, `User`, `Escalation`,
//! `Organization`): an object's fields that are plain reads of its row are rendered in place,
//! in selection order, and only the others (loads, viewer-dependent rules, connections) run
//! their resolvers.
//!
//! Why not async-graphql's own executor for these: it gives every selected field a boxed
//! future, a cloned context and a slot in a `FuturesUnordered`, even `number` or `subject`.
//! On a ticket page that is most fields of most rows, and it was the largest part of tier3's
//! CPU (BENCHMARKS.md, Q1–Q3). async-graphql has no hook to render a field without that
//! machinery, so [`Lean`] is an `OutputType` of its own that registers the wrapped type
//! unchanged (the schema is the same) and resolves the selection itself.
//!
//! What keeps it the same answer as the resolvers:
//! - [`PlainFields::plain`] sees only the row, never the viewer, so it cannot express an
//!   authorization rule; every viewer-dependent field (`User.email`, `Escalation.details`)
//!   stays a resolver, and so does everything the policy decides. A test renders every plain
//!   field both ways and compares.
//! - Fragments apply by the same type conditions as in the executor. A field or fragment
//!   with a directive left after `@skip`/`@include` (a custom one) sends the whole object
//!   through async-graphql's executor.
//! - Per-field extension hooks are not called on this path. tier3's extensions hook requests
//!   only (`ErrorCodes`, the socket `Guard`); an extension that hooks fields would have to
//!   render through `resolve_container` instead.

use std::{borrow::Cow, future::Future, pin::Pin, task::Poll};

use async_graphql::indexmap::IndexMap;
use async_graphql::{
    ContextSelectionSet, Name, OutputType, Positioned, ServerError, ServerResult, Value,
    parser::types::{Field, Selection},
    registry::Registry,
    resolver_utils::{ContainerType, resolve_container},
};
use futures_util::{StreamExt as _, stream::FuturesUnordered};

/// A node type's fields that are plain reads of its row.
/// Types without any (`impl PlainFields for X {}`) render every field through its resolver,
/// in selection order.
pub trait PlainFields {
    /// The value of the field named `field` (its schema name) if it is a plain read of the
    /// row, else `None` and its resolver runs. Never reads who is asking.
    fn plain(&self, _field: &str) -> Option<Value> {
        None
    }
}

impl<T: PlainFields> PlainFields for &T {
    fn plain(&self, field: &str) -> Option<Value> {
        (**self).plain(field)
    }
}

/// A node rendered by the lean renderer; in the schema it is the wrapped type itself.
pub struct Lean<T>(pub T);

impl<T> OutputType for Lean<T>
where
    T: OutputType + ContainerType + PlainFields,
{
    fn type_name() -> Cow<'static, str> {
        T::type_name()
    }

    fn qualified_type_name() -> String {
        T::qualified_type_name()
    }

    fn introspection_type_name(&self) -> Cow<'static, str> {
        self.0.introspection_type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        T::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        _field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        render(ctx, &self.0).await
    }
}

type FieldFuture<'a> = Pin<Box<dyn Future<Output = ServerResult<Value>> + Send + 'a>>;

/// One selected field: its value, or its resolver still running.
enum Slot<'a> {
    Ready(Value),
    Running(FieldFuture<'a>),
    Failed,
}

/// Renders `root`'s selection: plain fields in place, the rest through its resolvers, which
/// all run concurrently (so their loads still batch).
async fn render<'a, T>(ctx: &ContextSelectionSet<'a>, root: &'a T) -> ServerResult<Value>
where
    T: OutputType + ContainerType + PlainFields,
{
    let mut slots = Vec::new();
    match collect(ctx, root, &mut slots) {
        Ok(()) => {}
        Err(Some(e)) => return Err(e),
        Err(None) => return resolve_container(ctx, root).await,
    }

    // Most resolvers here finish at once (their rows were fetched ahead); poll each once
    // before paying for a concurrent set.
    let mut running = FuturesUnordered::new();
    for (at, (_, slot)) in slots.iter_mut().enumerate() {
        if let Slot::Running(fut) = slot {
            match futures_util::poll!(fut.as_mut()) {
                Poll::Ready(result) => *slot = settled(ctx, result),
                Poll::Pending => {
                    if let Slot::Running(fut) = std::mem::replace(slot, Slot::Failed) {
                        running.push(async move { (at, fut.await) });
                    }
                }
            }
        }
    }
    while let Some((at, result)) = running.next().await {
        slots[at].1 = settled(ctx, result);
    }

    let mut object = IndexMap::with_capacity(slots.len());
    for (name, slot) in slots {
        if let Slot::Ready(value) = slot {
            insert(&mut object, name, value);
        }
    }
    // As async-graphql's executor: an object whose every field failed is null.
    Ok(if object.is_empty() {
        Value::Null
    } else {
        Value::Object(object)
    })
}

/// A finished resolver's slot; its error is reported the way the executor reports it.
fn settled<'a>(ctx: &ContextSelectionSet<'_>, result: ServerResult<Value>) -> Slot<'a> {
    match result {
        Ok(value) => Slot::Ready(value),
        Err(e) => {
            ctx.add_error(e);
            Slot::Failed
        }
    }
}

/// Walks the selection (fragments included) into slots. `Err(None)`: not renderable here;
/// `Err(Some(e))`: the error the executor would give.
fn collect<'a, T>(
    ctx: &ContextSelectionSet<'a>,
    root: &'a T,
    slots: &mut Vec<(Name, Slot<'a>)>,
) -> Result<(), Option<ServerError>>
where
    T: OutputType + ContainerType + PlainFields,
{
    for selection in &ctx.item.node.items {
        let (condition, selection_set) = match &selection.node {
            Selection::Field(field) => {
                if !field.node.directives.is_empty() {
                    return Err(None);
                }
                let name = field.node.response_key().node.clone();
                let field_name = field.node.name.node.as_str();
                let slot = if field_name == "__typename" {
                    Slot::Ready(Value::String(root.introspection_type_name().into_owned()))
                } else if let Some(value) = root.plain(field_name) {
                    Slot::Ready(value)
                } else {
                    let ctx = ctx.clone();
                    Slot::Running(Box::pin(async move {
                        let ctx_field = ctx.with_field(field);
                        Ok(root.resolve_field(&ctx_field).await?.unwrap_or_default())
                    }))
                };
                slots.push((name, slot));
                continue;
            }
            Selection::FragmentSpread(spread) => {
                let Some(fragment) = ctx.query_env.fragments.get(&spread.node.fragment_name.node)
                else {
                    return Err(Some(ServerError::new(
                        format!(r#"Unknown fragment "{}"."#, spread.node.fragment_name.node),
                        Some(spread.pos),
                    )));
                };
                (
                    Some(&fragment.node.type_condition),
                    &fragment.node.selection_set,
                )
            }
            Selection::InlineFragment(fragment) => (
                fragment.node.type_condition.as_ref(),
                &fragment.node.selection_set,
            ),
        };
        if !selection.node.directives().is_empty() {
            return Err(None);
        }
        let applies = match condition.map(|c| c.node.on.node.as_str()) {
            None => true,
            Some(on) => {
                let name = root.introspection_type_name();
                on == name
                    || ctx
                        .schema_env
                        .registry
                        .implements
                        .get(name.as_ref())
                        .is_some_and(|interfaces| interfaces.contains(on))
            }
        };
        if applies {
            collect(&ctx.with_selection_set(selection_set), root, slots)?;
        }
    }
    Ok(())
}

/// Adds a field to the object; a key selected twice (through fragments) merges its objects
/// and its lists' objects item by item, as the executor does.
fn insert(target: &mut IndexMap<Name, Value>, name: Name, value: Value) {
    let merge = |target: &mut IndexMap<Name, Value>, more: IndexMap<Name, Value>| {
        for (k, v) in more {
            insert(target, k, v);
        }
    };
    match (target.get_mut(&name), value) {
        (None, value) => {
            target.insert(name, value);
        }
        (Some(Value::Object(existing)), Value::Object(more)) => merge(existing, more),
        (Some(Value::List(existing)), Value::List(more)) => {
            for (old, new) in existing.iter_mut().zip(more) {
                if let (Value::Object(old), Value::Object(new)) = (old, new) {
                    merge(old, new);
                }
            }
        }
        (Some(_), _) => {}
    }
}

/// A plain field's value as its resolver's return type renders it (scalars and enums both
/// turn into values through `to_value`; `None` is null).
pub fn value<T: async_graphql::InputType>(v: T) -> Value {
    v.to_value()
}

/// A plain text field's value.
pub fn text(s: &str) -> Value {
    Value::String(s.to_owned())
}
