//! Query cost limits, measured on the document before validation, resolvers or SQL run.
//!
//! Three passes, cheapest first: a lexical scan that bounds bracket nesting (so the parser
//! never recurses deeply), the parse itself, then one walk of the operation that will run,
//! with each fragment measured once (so fragment "bombs" cost their size, not their
//! expansion). Complexity follows GitHub's node limit: a connection field counts `first`
//! (default 20) times one plus what each of its nodes contains.

use std::collections::HashMap;

use async_graphql::{
    Name, Variables,
    parser::types::{
        DocumentOperations, ExecutableDocument, OperationDefinition, Selection, SelectionSet,
    },
};
use async_graphql_value::{ConstValue, Value};

use crate::{
    config::Limits,
    domain::page::{DEFAULT_PAGE, MAX_PAGE},
    graphql::ids,
};

/// Deepest bracket nesting (`{`, `(`, `[`) the parser is given; the parser's own limit is 64.
pub const MAX_NESTING: usize = 64;

/// A limit the edge enforces. Its machine name is what clients see in `extensions.limit`
/// and what `/metrics` counts refusals by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Limit {
    /// Bracket nesting in the query text, before parsing.
    Nesting,
    Depth,
    /// Nodes the operation may return.
    Complexity,
    Aliases,
    /// Directives on one field.
    Directives,
    Fields,
    /// Operations in one batch.
    Batch,
    /// Request body bytes.
    Body,
    /// A connection's page size.
    First,
    /// WebSockets one signed-in user has open.
    SocketsPerUser,
    /// WebSockets open from one client address.
    SocketsPerAddress,
    /// Operations running at once on one WebSocket.
    Subscriptions,
}

impl Limit {
    /// The machine name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Limit::Nesting => "nesting",
            Limit::Depth => "depth",
            Limit::Complexity => "complexity",
            Limit::Aliases => "aliases",
            Limit::Directives => "directives",
            Limit::Fields => "fields",
            Limit::Batch => "batch",
            Limit::Body => "body",
            Limit::First => "first",
            Limit::SocketsPerUser => "sockets_per_user",
            Limit::SocketsPerAddress => "sockets_per_address",
            Limit::Subscriptions => "subscriptions",
        }
    }

    /// What the limit bounds, in words.
    fn describe(self) -> &'static str {
        match self {
            Limit::Nesting => "bracket nesting",
            Limit::Depth => "query depth",
            Limit::Complexity => "query complexity (nodes it may return)",
            Limit::Aliases => "number of aliases",
            Limit::Directives => "number of directives on one field",
            Limit::Fields => "number of fields",
            Limit::Batch => "number of operations in the batch",
            Limit::Body => "request body size in bytes",
            Limit::First => "`first`",
            Limit::SocketsPerUser => "number of WebSockets open for this user",
            Limit::SocketsPerAddress => "number of WebSockets open from this address",
            Limit::Subscriptions => "number of subscriptions open on this WebSocket",
        }
    }
}

/// Which limit a request broke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitExceeded {
    pub limit: Limit,
    /// The configured maximum.
    pub max: usize,
    /// What the request asked for (saturating).
    pub actual: usize,
}

impl std::fmt::Display for LimitExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} is {} but the limit is {}",
            self.limit.describe(),
            self.actual,
            self.max
        )
    }
}

/// A refusal: a limit, or an argument out of bounds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    Limit(LimitExceeded),
    /// A malformed `after` cursor or a negative `first`.
    Argument(String),
}

impl Refusal {
    fn limit(limit: Limit, max: usize, actual: usize) -> Refusal {
        Refusal::Limit(LimitExceeded { limit, max, actual })
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Limit(l) => l.fmt(f),
            Refusal::Argument(msg) => f.write_str(msg),
        }
    }
}

/// What an accepted operation costs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cost {
    pub depth: usize,
    /// Nodes the operation may return.
    pub complexity: usize,
}

impl Cost {
    /// Rate-limit points: one per 100 nodes, at least one (GitHub's formula).
    pub fn points(&self) -> u32 {
        u32::try_from(self.complexity.div_ceil(100).max(1)).unwrap_or(u32::MAX)
    }
}

/// The lexical pass: the deepest nesting of `{`, `(` and `[` outside strings and comments.
pub fn nesting(query: &str) -> usize {
    let bytes = query.as_bytes();
    let (mut depth, mut max, mut i) = (0usize, 0usize, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                i += 3;
                while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                    // `\"""` is an escaped triple quote inside a block string.
                    i += if bytes[i..].starts_with(b"\\\"\"\"") {
                        4
                    } else {
                        1
                    };
                }
                i += 2;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'{' | b'(' | b'[' => {
                depth += 1;
                max = max.max(depth);
            }
            b'}' | b')' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    max
}

/// Refuses a query text nested deeper than the parser should see.
pub fn check_text(query: &str) -> Result<(), Refusal> {
    let depth = nesting(query);
    if depth > MAX_NESTING {
        return Err(Refusal::limit(Limit::Nesting, MAX_NESTING, depth));
    }
    Ok(())
}

/// Measures the operation that will run (by `operation_name`, or the only one) and refuses
/// it when it breaks a limit. Document-wide counts (fields, aliases, directives) cover every
/// definition, since validation reads them all.
pub fn check_document(
    doc: &ExecutableDocument,
    operation_name: Option<&str>,
    variables: &Variables,
    limits: &Limits,
    introspection: bool,
) -> Result<Cost, Refusal> {
    let mut census = Census::default();
    for (_, op) in doc.operations.iter() {
        census.directives(op.node.directives.len());
        census.selection_set(&op.node.selection_set.node);
    }
    for fragment in doc.fragments.values() {
        census.directives(fragment.node.directives.len());
        census.selection_set(&fragment.node.selection_set.node);
    }
    if census.nul {
        return Err(Refusal::Argument(
            "text may not contain NUL (U+0000) characters".into(),
        ));
    }
    if census.introspection && !introspection {
        return Err(Refusal::Argument(
            "introspection is disabled on this server".into(),
        ));
    }
    if census.aliases > limits.max_aliases {
        return Err(Refusal::limit(
            Limit::Aliases,
            limits.max_aliases,
            census.aliases,
        ));
    }
    if census.fields > limits.max_fields {
        return Err(Refusal::limit(
            Limit::Fields,
            limits.max_fields,
            census.fields,
        ));
    }
    if census.max_directives > limits.max_directives {
        return Err(Refusal::limit(
            Limit::Directives,
            limits.max_directives,
            census.max_directives,
        ));
    }

    // An unknown or ambiguous operation name is validation's to report.
    let Some(op) = select(doc, operation_name) else {
        return Ok(Cost::default());
    };
    let mut walk = Walk {
        doc,
        variables,
        defaults: op,
        memo: HashMap::new(),
        active: Vec::new(),
    };
    let measure = walk.selection_set(&op.selection_set.node)?;
    let cost = Cost {
        depth: measure.depth,
        complexity: measure.nodes,
    };
    if cost.depth > limits.max_depth {
        return Err(Refusal::limit(Limit::Depth, limits.max_depth, cost.depth));
    }
    if cost.complexity > limits.max_complexity {
        return Err(Refusal::limit(
            Limit::Complexity,
            limits.max_complexity,
            cost.complexity,
        ));
    }
    Ok(cost)
}

/// The operation a request runs: the named one, or the only one.
pub fn select<'d>(
    doc: &'d ExecutableDocument,
    operation_name: Option<&str>,
) -> Option<&'d OperationDefinition> {
    match (&doc.operations, operation_name) {
        (DocumentOperations::Single(op), _) => Some(&op.node),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name).map(|op| &op.node),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => {
            ops.values().next().map(|op| &op.node)
        }
        _ => None,
    }
}

/// Counts over the document as written.
#[derive(Default)]
struct Census {
    fields: usize,
    aliases: usize,
    max_directives: usize,
    /// Whether any field is `__schema` or `__type`.
    introspection: bool,
    /// Whether a string literal holds a NUL character (written as an escape).
    nul: bool,
}

fn literal_has_nul(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains('\0'),
        Value::List(items) => items.iter().any(literal_has_nul),
        Value::Object(map) => map.values().any(literal_has_nul),
        _ => false,
    }
}

impl Census {
    fn directives(&mut self, n: usize) {
        self.max_directives = self.max_directives.max(n);
    }

    fn selection_set(&mut self, set: &SelectionSet) {
        for item in &set.items {
            self.directives(item.node.directives().len());
            match &item.node {
                Selection::Field(field) => {
                    self.fields += 1;
                    self.introspection |=
                        matches!(field.node.name.node.as_str(), "__schema" | "__type");
                    self.nul |= field
                        .node
                        .arguments
                        .iter()
                        .any(|(_, v)| literal_has_nul(&v.node));
                    self.aliases += usize::from(field.node.alias.is_some());
                    self.selection_set(&field.node.selection_set.node);
                }
                Selection::InlineFragment(inline) => {
                    self.selection_set(&inline.node.selection_set.node)
                }
                Selection::FragmentSpread(_) => {}
            }
        }
    }
}

/// Depth and nodes of a selection set, per instance of its parent.
#[derive(Debug, Clone, Copy, Default)]
struct Measure {
    depth: usize,
    nodes: usize,
}

impl Measure {
    fn merge(self, other: Measure) -> Measure {
        Measure {
            depth: self.depth.max(other.depth),
            nodes: self.nodes.saturating_add(other.nodes),
        }
    }
}

struct Walk<'d> {
    doc: &'d ExecutableDocument,
    variables: &'d Variables,
    defaults: &'d OperationDefinition,
    /// Each fragment measured once.
    memo: HashMap<&'d Name, Measure>,
    /// Fragments being measured; a spread of one of them is a cycle (validation reports it).
    active: Vec<&'d Name>,
}

impl<'d> Walk<'d> {
    fn selection_set(&mut self, set: &'d SelectionSet) -> Result<Measure, Refusal> {
        let mut total = Measure::default();
        for item in &set.items {
            let m = match &item.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    let inner = self.selection_set(&field.selection_set.node)?;
                    let depth = inner.depth + 1;
                    let nodes = match self.page_size(field)? {
                        Some(n) => n.saturating_mul(inner.nodes.saturating_add(1)),
                        None => inner.nodes,
                    };
                    Measure { depth, nodes }
                }
                Selection::InlineFragment(inline) => {
                    self.selection_set(&inline.node.selection_set.node)?
                }
                Selection::FragmentSpread(spread) => {
                    let name = &spread.node.fragment_name.node;
                    if let Some(m) = self.memo.get(name) {
                        *m
                    } else if self.active.contains(&name) {
                        Measure::default()
                    } else if let Some(fragment) = self.doc.fragments.get(name) {
                        self.active.push(name);
                        let m = self.selection_set(&fragment.node.selection_set.node)?;
                        self.active.pop();
                        self.memo.insert(name, m);
                        m
                    } else {
                        Measure::default()
                    }
                }
            };
            total = total.merge(m);
        }
        Ok(total)
    }

    /// `Some(page size)` when the field is a connection: it takes `first` or `last`, or it
    /// selects `edges` or `nodes`. Bounds `first`/`last` and checks the cursors on the way.
    fn page_size(
        &self,
        field: &async_graphql::parser::types::Field,
    ) -> Result<Option<usize>, Refusal> {
        for name in ["after", "before"] {
            if let Some(arg) = field.get_argument(name)
                && let Some(ConstValue::String(cursor)) = self.resolve(&arg.node)
                && !ids::is_cursor(&cursor)
            {
                return Err(Refusal::Argument(format!("`{name}` is not a valid cursor")));
            }
        }
        let mut size = None;
        for name in ["first", "last"] {
            let Some(arg) = field.get_argument(name) else {
                continue;
            };
            let n = match self.resolve(&arg.node) {
                Some(ConstValue::Number(n)) => match n.as_i64() {
                    Some(n) if n < 0 => {
                        return Err(Refusal::Argument(format!("`{name}` must not be negative")));
                    }
                    Some(n) if n as u64 > MAX_PAGE => {
                        return Err(Refusal::limit(Limit::First, MAX_PAGE as usize, n as usize));
                    }
                    Some(n) => n as usize,
                    // Not an integer: validation says so.
                    None => DEFAULT_PAGE as usize,
                },
                _ => DEFAULT_PAGE as usize,
            };
            size = Some(size.map_or(n, |m: usize| m.max(n)));
        }
        let is_connection = size.is_some()
            || field.selection_set.node.items.iter().any(|item| {
                matches!(&item.node, Selection::Field(f)
                    if matches!(f.node.name.node.as_str(), "edges" | "nodes"))
            });
        Ok(is_connection.then(|| size.unwrap_or(DEFAULT_PAGE as usize)))
    }

    /// A literal, or a variable's value (or its declared default).
    fn resolve(&self, value: &Value) -> Option<ConstValue> {
        match value {
            Value::Variable(name) => self.variables.get(name).cloned().or_else(|| {
                self.defaults
                    .variable_definitions
                    .iter()
                    .find(|d| d.node.name.node == *name)
                    .and_then(|d| d.node.default_value.as_ref().map(|v| v.node.clone()))
            }),
            other => other.clone().into_const(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(query: &str, limits: &Limits) -> Result<Cost, Refusal> {
        check_text(query)?;
        let doc = async_graphql::parser::parse_query(query).expect("parses");
        check_document(&doc, None, &Variables::default(), limits, true)
    }

    fn refused(query: &str, limits: &Limits) -> &'static str {
        match check(query, limits) {
            Err(Refusal::Limit(l)) => l.limit.as_str(),
            other => panic!("expected a limit, got {other:?}"),
        }
    }

    #[test]
    fn connections_count_first_times_their_contents() {
        let q = "{ tickets(first: 50) { edges { node { requester { name } \
                 comments(first: 3) { nodes { author { name } } } } } } }";
        let cost = check(q, &Limits::default()).unwrap();
        assert_eq!(cost.complexity, 50 + 50 * 3);
        assert_eq!(cost.depth, 7);
        assert_eq!(cost.points(), 2);
        // Without `first`, a connection counts the default page.
        let cost = check("{ tickets { nodes { id } } }", &Limits::default()).unwrap();
        assert_eq!(cost.complexity, DEFAULT_PAGE as usize);
    }

    #[test]
    fn variables_and_their_defaults_set_page_sizes() {
        let q = "query($n: Int = 7) { tickets(first: $n) { nodes { id } } }";
        let doc = async_graphql::parser::parse_query(q).unwrap();
        let none = Variables::default();
        let cost = check_document(&doc, None, &none, &Limits::default(), true).unwrap();
        assert_eq!(cost.complexity, 7);
        let vars = Variables::from_json(serde_json::json!({ "n": 40 }));
        let cost = check_document(&doc, None, &vars, &Limits::default(), true).unwrap();
        assert_eq!(cost.complexity, 40);
        let vars = Variables::from_json(serde_json::json!({ "n": 101 }));
        assert!(check_document(&doc, None, &vars, &Limits::default(), true).is_err());
    }

    #[test]
    fn fragments_are_measured_once_not_expanded() {
        // Each level doubles the expansion: 2^20 fields if expanded, 40 spreads as written.
        let mut q = String::from("query { ...F0 }\n");
        for i in 0..20 {
            q.push_str(&format!(
                "fragment F{i} on Query {{ ...F{n} ...F{n} }}\n",
                n = i + 1
            ));
        }
        q.push_str("fragment F20 on Query { viewer { id } }\n");
        let cost = check(&q, &Limits::default()).unwrap();
        assert_eq!(cost.depth, 2);
        // A cycle does not hang the walk (validation refuses it later).
        let cyclic = "query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }";
        assert!(check(cyclic, &Limits::default()).is_ok());
    }

    #[test]
    fn each_limit_refuses_just_over_and_admits_at_the_limit() {
        let limits = Limits {
            max_depth: 3,
            max_complexity: 100,
            max_aliases: 2,
            max_directives: 1,
            max_fields: 5,
            ..Limits::default()
        };
        assert!(check("{ a { b { c } } }", &limits).is_ok());
        assert_eq!(refused("{ a { b { c { d } } } }", &limits), "depth");
        assert!(check("{ t(first: 100) { nodes { id } } }", &limits).is_ok());
        assert_eq!(
            refused("{ t(first: 50) { c(first: 2) { id } } }", &limits),
            "complexity"
        );
        assert!(check("{ a: x b: x }", &limits).is_ok());
        assert_eq!(refused("{ a: x b: x c: x }", &limits), "aliases");
        assert!(check("{ x @include(if: true) }", &limits).is_ok());
        assert_eq!(
            refused("{ x @include(if: true) @skip(if: false) }", &limits),
            "directives"
        );
        assert!(check("{ a b c d e }", &limits).is_ok());
        assert_eq!(refused("{ a b c d e f }", &limits), "fields");
        assert_eq!(
            refused("{ t(first: 101) { id } }", &Limits::default()),
            "first"
        );
    }

    #[test]
    fn bad_arguments_are_refused() {
        let err = check("{ t(first: -1) { id } }", &Limits::default()).unwrap_err();
        assert!(matches!(err, Refusal::Argument(_)));
        let err = check(r#"{ t(after: "nope") { id } }"#, &Limits::default()).unwrap_err();
        assert!(matches!(err, Refusal::Argument(_)));
        let ok = format!(r#"{{ t(after: "{}") {{ id }} }}"#, ids::cursor(5));
        assert!(check(&ok, &Limits::default()).is_ok());
    }

    #[test]
    fn nesting_skips_strings_and_comments() {
        assert_eq!(nesting("{ a(x: \"{{{{\") }"), 2);
        assert_eq!(nesting("{ a # {{{{\n }"), 1);
        assert_eq!(nesting("{ a(x: \"\"\" {{ \\\"\"\" {{ \"\"\") }"), 2);
        let deep = "{a".repeat(100_000) + &"}".repeat(100_000);
        assert_eq!(nesting(&deep), 100_000);
        assert!(check_text(&deep).is_err());
    }
}
