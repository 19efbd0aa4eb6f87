//! Full-text search of tickets, with each database's own engine over the per-ticket
//! documents that migration `m20261202_000019_find_tickets` keeps: PostgreSQL's
//! `websearch_to_tsquery`, SQLite's FTS5. Which document a viewer searches (public text, or
//! everything) is `policy::searchable_text`'s decision; the ticket scope is ANDed by the
//! caller like on every other read.
//!
//! Web-search syntax on both: words must all match (anywhere in the ticket), `"quoted
//! words"` match as a phrase, `-word` excludes, `or` between words means either. The text
//! is parsed here, once, for both (a few lines; no crate does this): FTS5 has no parser for
//! that syntax and its own query language errors on stray quotes, `*`, `NEAR(`, `col:` and
//! the like, and PostgreSQL's own parser mis-reads runs of `-`. Each engine is then handed
//! every term as a quoted string, where nothing is syntax. Known difference: PostgreSQL
//! drops English stop words (`the`), FTS5 does not.

use sea_orm::{
    Condition, DbBackend, ExprTrait as _,
    sea_query::{Expr, Query, SelectStatement, SimpleExpr},
};

use crate::{
    domain::policy::SearchableText,
    error::{AppError, AppResult},
};

/// Longest search a client may send, in characters.
pub const MAX_SEARCH: usize = 500;

/// A validated search: its terms, parsed from what the client typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Search {
    /// Alternatives (`or`); each is a conjunction of terms.
    groups: Vec<Vec<Term>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Term {
    words: String,
    excluded: bool,
}

impl Search {
    /// Parses what the client typed. Blank, or longer than [`MAX_SEARCH`] characters, is
    /// `BAD_USER_INPUT`; anything else is a valid search, possibly one that matches nothing.
    pub fn parse(raw: &str) -> AppResult<Search> {
        if raw.chars().count() > MAX_SEARCH {
            return Err(AppError::bad_input(format!(
                "`search` must be at most {MAX_SEARCH} characters"
            )));
        }
        // NUL cannot be stored in PostgreSQL text; no control character means anything here.
        let text: String = raw
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        if text.trim().is_empty() {
            return Err(AppError::bad_input("`search` must not be blank"));
        }
        Ok(Search {
            groups: parse_terms(&text),
        })
    }

    /// Tickets (by `ticket.id`) whose searchable text matches.
    pub fn condition(&self, backend: DbBackend, searchable: SearchableText) -> Condition {
        match backend {
            DbBackend::Postgres => self.postgres(searchable),
            _ => self.sqlite(searchable),
        }
    }

    /// How many tickets in all match, counted on the index alone (one document per ticket),
    /// for a viewer who sees every ticket and filters by nothing else: joining the tickets
    /// only to count them made PostgreSQL pick a parallel hash join, three processes per
    /// count on a machine already busy with other requests (BENCHMARKS.md, Q4). `None` when
    /// the search cannot be counted that way (only exclusions, or nothing searchable).
    pub fn count_everywhere(
        &self,
        backend: DbBackend,
        searchable: SearchableText,
    ) -> Option<SelectStatement> {
        if self.groups.is_empty() {
            return None;
        }
        let (sql, value) = match backend {
            DbBackend::Postgres => (
                format!(
                    r#"COUNT(*) FROM "ticket_search" WHERE "{}" @@ websearch_to_tsquery('english', $1)"#,
                    pg_doc(searchable)
                ),
                self.websearch(),
            ),
            _ => (
                "COUNT(*) FROM ticket_fts WHERE ticket_fts MATCH ?".to_owned(),
                self.fts(searchable)?,
            ),
        };
        // A SELECT with no FROM of its own: the expression carries it.
        Some(
            Query::select()
                .expr(Expr::cust_with_values(sql, [value]))
                .to_owned(),
        )
    }

    /// The FTS5 query for the wanted terms, restricted to the searchable columns; `None`
    /// when nothing is wanted (only exclusions).
    fn fts(&self, searchable: SearchableText) -> Option<String> {
        let alternatives: Vec<String> = self.groups.iter().filter_map(|g| fts_group(g)).collect();
        (!alternatives.is_empty()).then(|| fts_in(searchable, &alternatives.join(" OR ")))
    }

    /// The search for `websearch_to_tsquery`, rebuilt from the parsed terms with every term
    /// quoted. Handed the raw text, PostgreSQL 15's parser reads `--b` as a double negation
    /// and a long run of `-` as an error ("tsquery stack too small"); quoted, a term is only
    /// ever a phrase.
    fn websearch(&self) -> String {
        self.groups
            .iter()
            .map(|g| {
                g.iter()
                    .map(|t| {
                        let sign = if t.excluded { "-" } else { "" };
                        format!("{sign}\"{}\"", t.words)
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect::<Vec<_>>()
            .join(" or ")
    }

    fn postgres(&self, searchable: SearchableText) -> Condition {
        if self.groups.is_empty() {
            // Nothing searchable was typed (only punctuation): nothing matches.
            return Condition::any();
        }
        Condition::all().add(Expr::cust_with_values(
            format!(
                r#""ticket"."id" IN (SELECT "ticket_id" FROM "ticket_search" WHERE "{}" @@ websearch_to_tsquery('english', $1))"#,
                pg_doc(searchable)
            ),
            [self.websearch()],
        ))
    }

    fn sqlite(&self, searchable: SearchableText) -> Condition {
        let matching = |query: String| -> SimpleExpr {
            Expr::cust_with_values(
                r#""ticket"."id" IN (SELECT rowid FROM ticket_fts WHERE ticket_fts MATCH ?)"#,
                [query],
            )
        };
        if let Some(query) = self.fts(searchable) {
            return Condition::all().add(matching(query));
        }
        // Only exclusions (`-word`): every ticket without those words, as on PostgreSQL.
        let excluded: Vec<String> = self
            .groups
            .iter()
            .flatten()
            .filter(|t| t.excluded)
            .map(|t| fts_string(&t.words))
            .collect();
        if excluded.is_empty() {
            // Nothing searchable was typed (only punctuation): nothing matches.
            return Condition::any();
        }
        Condition::all().add(matching(fts_in(searchable, &excluded.join(" OR "))).not())
    }
}

/// An FTS5 query limited to the columns a viewer searches (all of them for staff).
fn fts_in(searchable: SearchableText, expr: &str) -> String {
    match searchable {
        SearchableText::Public => format!("public_text : ({expr})"),
        SearchableText::All => format!("({expr})"),
    }
}

/// The PostgreSQL document a viewer searches.
fn pg_doc(searchable: SearchableText) -> &'static str {
    match searchable {
        SearchableText::Public => "public_doc",
        SearchableText::All => "all_doc",
    }
}

/// Splits web-search syntax into alternatives of terms. Never fails: an unclosed quote
/// runs to the end, a lone `-` or `or` is ignored, and a term with no letter or digit in
/// it (pure punctuation, which neither engine indexes) is dropped.
fn parse_terms(text: &str) -> Vec<Vec<Term>> {
    let mut groups = vec![Vec::new()];
    let mut chars = text.chars().peekable();
    let mut pending_or = false;
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let Some(&first) = chars.peek() else { break };
        let mut excluded = false;
        if first == '-' {
            chars.next();
            match chars.peek() {
                Some(c) if !c.is_whitespace() => excluded = true,
                _ => continue,
            }
        }
        let (words, quoted) = if chars.peek() == Some(&'"') {
            chars.next();
            let phrase: String = chars.by_ref().take_while(|c| *c != '"').collect();
            (phrase, true)
        } else {
            let mut word = String::new();
            while let Some(c) = chars.next_if(|c| !c.is_whitespace() && *c != '"') {
                word.push(c);
            }
            (word, false)
        };
        if !quoted && !excluded && words.eq_ignore_ascii_case("or") {
            pending_or = groups.last().is_some_and(|g| !g.is_empty());
            continue;
        }
        if !words.chars().any(char::is_alphanumeric) {
            continue;
        }
        if pending_or {
            groups.push(Vec::new());
            pending_or = false;
        }
        if let Some(group) = groups.last_mut() {
            group.push(Term { words, excluded });
        }
    }
    groups.retain(|g| !g.is_empty());
    groups
}

/// One alternative as FTS5: its wanted terms ANDed, its excluded ones NOTed. `None` when
/// it wants nothing (FTS5 cannot say "everything except").
fn fts_group(terms: &[Term]) -> Option<String> {
    let wanted: Vec<String> = terms
        .iter()
        .filter(|t| !t.excluded)
        .map(|t| fts_string(&t.words))
        .collect();
    if wanted.is_empty() {
        return None;
    }
    let mut expr = format!("({})", wanted.join(" AND "));
    for t in terms.iter().filter(|t| t.excluded) {
        expr.push_str(" NOT ");
        expr.push_str(&fts_string(&t.words));
    }
    Some(format!("({expr})"))
}

/// An FTS5 string: a phrase of whatever tokens the text holds; nothing inside is syntax.
fn fts_string(words: &str) -> String {
    format!("\"{}\"", words.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(s: &str) -> Vec<Vec<(String, bool)>> {
        parse_terms(s)
            .into_iter()
            .map(|g| g.into_iter().map(|t| (t.words, t.excluded)).collect())
            .collect()
    }

    fn owned(groups: Vec<Vec<(&str, bool)>>) -> Vec<Vec<(String, bool)>> {
        groups
            .into_iter()
            .map(|g| g.into_iter().map(|(w, x)| (w.to_owned(), x)).collect())
            .collect()
    }

    #[test]
    fn web_search_syntax() {
        assert_eq!(
            terms(r#"invoice "late fee" -refund"#),
            owned(vec![vec![
                ("invoice", false),
                ("late fee", false),
                ("refund", true)
            ]])
        );
        assert_eq!(
            terms("printer or scanner jam"),
            owned(vec![
                vec![("printer", false)],
                vec![("scanner", false), ("jam", false)]
            ])
        );
        assert_eq!(
            terms(r#"or - "" %% "unclosed"#),
            owned(vec![vec![("unclosed", false)]])
        );
        assert_eq!(
            terms("e-mail 50%"),
            owned(vec![vec![("e-mail", false), ("50%", false)]])
        );
    }

    #[test]
    fn hostile_text_becomes_quoted_strings() {
        let s = Search::parse(r#"NEAR(a b) col:x * ' OR 1=1 -- -"y z""#).unwrap();
        let fts: Vec<String> = s.groups.iter().filter_map(|g| fts_group(g)).collect();
        assert_eq!(
            fts,
            vec![
                r#"(("NEAR(a" AND "b)" AND "col:x"))"#,
                r#"(("1=1") NOT "y z")"#,
            ]
        );
        for bad in ["", "   ", "\0"] {
            assert_eq!(Search::parse(bad).unwrap_err().code(), "BAD_USER_INPUT");
        }
        assert!(Search::parse(&"a".repeat(MAX_SEARCH)).is_ok());
        assert_eq!(
            Search::parse(&"a".repeat(MAX_SEARCH + 1))
                .unwrap_err()
                .code(),
            "BAD_USER_INPUT"
        );
    }

    #[test]
    fn postgres_gets_every_term_quoted() {
        let s = Search::parse(r#"a --b "c d" or -e"#).unwrap();
        assert_eq!(s.websearch(), r#""a" -"-b" "c d" or -"e""#);
    }

    #[test]
    fn only_exclusions_or_only_punctuation() {
        use sea_orm::{EntityTrait, QueryFilter, QueryTrait};
        let sql = |q: &str| {
            entity::ticket::Entity::find()
                .filter(
                    Search::parse(q)
                        .unwrap()
                        .condition(DbBackend::Sqlite, SearchableText::All),
                )
                .build(DbBackend::Sqlite)
                .to_string()
        };
        assert!(sql("-refund").contains("NOT"), "{}", sql("-refund"));
        assert!(
            sql("%% *").contains("FALSE") || sql("%% *").contains("1 = 2"),
            "{}",
            sql("%% *")
        );
    }
}
