//! The dependency rule, checked on the source: modules import only modules below them
//! (`http → graphql → app → courier → domain → events/outbound → db/auth → config/error`), the domain and the
//! event log know nothing of GraphQL or HTTP, and no two files of one layer import each other
//! in a circle. Reads `src/` as text, so a new `use` that breaks the rule fails here first.

use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    path::{Path, PathBuf},
};

/// Each top-level module's layer; a module may import only modules of a lower layer.
const LAYERS: &[(&str, u8)] = &[
    ("error", 0),
    ("config", 0),
    ("db", 1),
    ("auth", 1),
    ("events", 2),
    ("metrics", 2),
    ("ratelimit", 2),
    ("outbound", 2),
    ("domain", 3),
    ("courier", 4),
    ("app", 5),
    ("graphql", 6),
    ("http", 7),
    ("seed", 7),
    ("cli", 8),
    ("main", 9),
];

/// Crates of the HTTP and GraphQL world, which no layer below `graphql` may name.
const WEB_CRATES: &[&str] = &["async_graphql", "axum", "tower_http", "hyper"];

/// Where circles are the nature of the thing: GraphQL object types reference each other
/// (a ticket has an escalation, an escalation has tickets).
const CIRCLES_ALLOWED_UNDER: &[&str] = &["graphql::types"];

fn layer(module: &str) -> Option<u8> {
    let top = module.split("::").next()?;
    LAYERS.iter().find(|(m, _)| *m == top).map(|(_, l)| *l)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `src/domain/tickets.rs` → `domain::tickets`; `src/http/mod.rs` → `http`.
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file
        .strip_prefix(src)
        .expect("under src")
        .with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    if matches!(parts.as_slice(), [only] if only == "lib") {
        return "crate".into();
    }
    parts.join("::")
}

/// The code without comments, string literals' contents and `#[cfg(test)]` items (tests may
/// reach anywhere).
fn code(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            '"' => {
                out.push('"');
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            chars.next();
                        }
                        '"' => break,
                        '\n' => out.push('\n'),
                        _ => {}
                    }
                }
                out.push('"');
            }
            _ => out.push(c),
        }
    }
    strip_cfg_test(&out)
}

/// Drops each `#[cfg(test)]` item: the attribute up to the end of its braced block or `;`.
fn strip_cfg_test(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(i) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..i]);
        let after = &rest[i..];
        let (mut depth, mut end) = (0usize, after.len());
        for (j, ch) in after.char_indices() {
            match ch {
                '{' => depth += 1,
                '}' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        end = j + 1;
                        break;
                    }
                }
                ';' if depth == 0 => {
                    end = j + 1;
                    break;
                }
                _ => {}
            }
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// Whether `code` names `krate` as an identifier (`axum::…`, `use axum as web`).
fn names_crate(code: &str, krate: &str) -> bool {
    code.match_indices(krate).any(|(i, _)| {
        let before = code[..i].chars().next_back();
        let after = code[i + krate.len()..].chars().next();
        let ident = |c: char| c.is_alphanumeric() || c == '_';
        !before.is_some_and(ident) && (after.is_none_or(|c| !ident(c)) || after == Some('_'))
    })
}

/// Expands a `use` tree (`a::{b, c::{d, e}}`) into its paths.
fn expand(tree: &str, prefix: &str, out: &mut Vec<String>) {
    let tree = tree.trim();
    if tree.is_empty() {
        return;
    }
    if let Some(open) = tree.find('{') {
        let base = tree[..open].trim().trim_end_matches("::");
        let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
        let prefix = if base.is_empty() {
            prefix.to_owned()
        } else {
            format!("{prefix}{base}::")
        };
        let (mut depth, mut start) = (0, 0);
        for (i, ch) in inner.char_indices() {
            match ch {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    expand(&inner[start..i], &prefix, out);
                    start = i + 1;
                }
                _ => {}
            }
        }
        expand(&inner[start..], &prefix, out);
    } else {
        let path = tree.split(" as ").next().unwrap_or(tree).trim();
        out.push(format!("{prefix}{path}"));
    }
}

/// Every `crate::…` path a file names, and every `self::…`/`super::…` path resolved
/// against the file's own module.
fn crate_paths(code: &str, module: &str) -> Vec<String> {
    let mut out = Vec::new();
    let flat: String = code.split_whitespace().collect::<Vec<_>>().join(" ");
    for prefix in ["crate::", "self::", "super::"] {
        let mut rest = flat.as_str();
        while let Some(i) = rest.find(prefix) {
            let before = rest[..i].chars().next_back();
            let mut after = &rest[i + prefix.len()..];
            // Part of a longer name (`$crate::` is a macro's path to this crate).
            let inside_name = before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':')
                || (before == Some('$') && prefix != "crate::");
            if inside_name {
                rest = after;
                continue;
            }
            let base = if prefix == "crate::" {
                String::new()
            } else {
                let mut segs: Vec<&str> = module.split("::").filter(|s| *s != "crate").collect();
                if prefix == "super::" {
                    segs.pop();
                }
                while let Some(p) = after.strip_prefix("super::") {
                    segs.pop();
                    after = p;
                }
                segs.iter().map(|s| format!("{s}::")).collect()
            };
            let is_use = rest[..i].trim_end().ends_with("use");
            if is_use {
                let end = after.find(';').unwrap_or(after.len());
                expand(&after[..end], &base, &mut out);
                rest = &after[end..];
            } else {
                let end = after
                    .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                    .unwrap_or(after.len());
                out.push(format!("{base}{}", &after[..end]));
                rest = &after[end..];
            }
        }
    }
    out
}

struct Tree {
    /// module → its code
    modules: BTreeMap<String, String>,
    /// What the crate root re-exports (`App` → `app::App`), so `crate::App` resolves.
    reexports: BTreeMap<String, String>,
}

impl Tree {
    fn read() -> Tree {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        let modules: BTreeMap<String, String> = files
            .iter()
            .map(|f| {
                let text = fs::read_to_string(f).expect("read");
                (module_of(&src, f), code(&text))
            })
            .collect();
        let mut reexports = BTreeMap::new();
        let root = modules.get("crate").cloned().unwrap_or_default();
        let flat: String = root.split_whitespace().collect::<Vec<_>>().join(" ");
        for part in flat.split(';') {
            if let Some(tree) = part.trim().strip_prefix("pub use ") {
                let mut paths = Vec::new();
                expand(tree, "", &mut paths);
                for path in paths {
                    let name = path.rsplit("::").next().unwrap_or(&path).to_owned();
                    reexports.insert(name, path);
                }
            }
        }
        Tree { modules, reexports }
    }

    /// The longest known module a path starts with.
    fn resolve(&self, path: &str) -> Option<String> {
        let first = path.split("::").next().unwrap_or("");
        let path = match self.reexports.get(first) {
            Some(full) if !self.modules.contains_key(first) => {
                format!("{full}{}", &path[first.len()..])
            }
            _ => path.to_owned(),
        };
        let segs: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
        (1..=segs.len())
            .rev()
            .map(|k| segs[..k].join("::"))
            .find(|m| self.modules.contains_key(m))
    }

    /// module → the other modules it imports (not its own ancestors or descendants), and the
    /// paths that name no module of ours.
    fn edges(&self) -> (BTreeMap<String, BTreeSet<String>>, Vec<String>) {
        let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut unresolved = Vec::new();
        for (module, code) in &self.modules {
            for path in crate_paths(code, module) {
                let Some(target) = self.resolve(&path) else {
                    unresolved.push(format!("{module}: {path}"));
                    continue;
                };
                let related = target == *module
                    || module.starts_with(&format!("{target}::"))
                    || target.starts_with(&format!("{module}::"));
                if !related {
                    edges.entry(module.clone()).or_default().insert(target);
                }
            }
        }
        (edges, unresolved)
    }
}

#[test]
fn modules_import_only_modules_below_them() {
    let tree = Tree::read();
    let (edges, unresolved) = tree.edges();
    // A path the check cannot place is a path it cannot check.
    let mut wrong: Vec<String> = unresolved
        .into_iter()
        .map(|p| format!("{p}: names no module"))
        .collect();
    for (from, targets) in edges {
        if from == "crate" {
            continue;
        }
        let Some(lf) = layer(&from) else {
            wrong.push(format!("{from}: not in LAYERS (give it a layer)"));
            continue;
        };
        for to in targets {
            let top = |m: &str| m.split("::").next().unwrap_or("").to_owned();
            if top(&from) == top(&to) || to == "crate" {
                continue;
            }
            match layer(&to) {
                Some(lt) if lt < lf => {}
                _ => wrong.push(format!("{from} imports {to}, which is not below it")),
            }
        }
    }
    assert!(wrong.is_empty(), "layering broken:\n{}", wrong.join("\n"));
}

#[test]
fn layers_below_graphql_know_nothing_of_graphql_or_http() {
    let tree = Tree::read();
    let graphql = layer("graphql").expect("graphql has a layer");
    let mut wrong = Vec::new();
    for (module, code) in &tree.modules {
        if layer(module).is_some_and(|l| l < graphql) {
            for krate in WEB_CRATES {
                if names_crate(code, krate) {
                    wrong.push(format!("{module} names {krate}"));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn no_import_circles_between_files() {
    let tree = Tree::read();
    let (edges, _) = tree.edges();
    // Tarjan's strongly connected components.
    struct State<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<String, usize>,
        low: BTreeMap<String, usize>,
        stack: Vec<String>,
        on_stack: BTreeSet<String>,
        next: usize,
        circles: Vec<Vec<String>>,
    }
    fn visit(s: &mut State<'_>, v: &str) {
        s.index.insert(v.to_owned(), s.next);
        s.low.insert(v.to_owned(), s.next);
        s.next += 1;
        s.stack.push(v.to_owned());
        s.on_stack.insert(v.to_owned());
        let targets: Vec<String> = s.edges.get(v).into_iter().flatten().cloned().collect();
        for w in targets {
            if !s.index.contains_key(&w) {
                visit(s, &w);
                let low = s.low[v].min(s.low[&w]);
                s.low.insert(v.to_owned(), low);
            } else if s.on_stack.contains(&w) {
                let low = s.low[v].min(s.index[&w]);
                s.low.insert(v.to_owned(), low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut circle = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(&w);
                let done = w == v;
                circle.push(w);
                if done {
                    break;
                }
            }
            if circle.len() > 1 {
                s.circles.push(circle);
            }
        }
    }
    let mut state = State {
        edges: &edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        circles: Vec::new(),
    };
    for module in tree.modules.keys() {
        if !state.index.contains_key(module) {
            visit(&mut state, module);
        }
    }
    let circles: Vec<String> = state
        .circles
        .into_iter()
        .filter(|c| {
            !c.iter().all(|m| {
                CIRCLES_ALLOWED_UNDER
                    .iter()
                    .any(|a| m.starts_with(&format!("{a}::")))
            })
        })
        .map(|mut c| {
            c.sort();
            c.join(" ↔ ")
        })
        .collect();
    assert!(
        circles.is_empty(),
        "import circles:\n{}",
        circles.join("\n")
    );
}

#[test]
fn use_trees_expand_to_their_paths() {
    let mut out = Vec::new();
    expand("a::{b, c::{d, e as f}}", "", &mut out);
    assert_eq!(out, ["a::b", "a::c::d", "a::c::e"]);
    assert_eq!(
        crate_paths("use crate::{x::y, z};\nlet a = crate::w::v(1);", "m"),
        ["x::y", "z", "w::v"]
    );
    assert_eq!(
        crate_paths(
            "use super::{a, b}; use super::super::c; self::d(); super::super::e();",
            "x::y::z"
        ),
        ["x::y::z::d", "x::y::a", "x::y::b", "x::c", "x::e"]
    );
}

#[test]
fn comments_strings_and_test_items_are_not_code() {
    let text = "let u = \"http://x\"; f(); // crate::gone\n#[cfg(test)]\nmod tests { use crate::also_gone; }\nafter();";
    let code = code(text);
    assert!(code.contains("f();") && code.contains("after();"), "{code}");
    assert!(!code.contains("gone"), "{code}");
    assert!(names_crate("use axum as web;", "axum"));
    assert!(names_crate("async_graphql_value::Value", "async_graphql"));
    assert!(!names_crate("my_axum::x", "axum"));
}
