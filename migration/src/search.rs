//! The full-text search index of tickets and the triggers that keep it (see migration
//! `m20261202_000019_find_tickets`). Public so the bulk seed can switch the triggers off,
//! load, and [`rebuild`] once: kept row by row, a million seeded comments would rewrite
//! their tickets' documents a million times.

use sea_orm_migration::sea_orm::DbBackend;

const PG_CREATE: &[&str] = &[
    "CREATE TABLE ticket_search (
       ticket_id BIGINT PRIMARY KEY REFERENCES ticket (id) ON DELETE CASCADE,
       public_doc tsvector NOT NULL,
       all_doc tsvector NOT NULL
     )",
    "CREATE INDEX idx_ticket_search_public_doc ON ticket_search USING GIN (public_doc)",
    "CREATE INDEX idx_ticket_search_all_doc ON ticket_search USING GIN (all_doc)",
    // Concatenation keeps each comment's positions apart, so a phrase never matches
    // across the end of one comment and the start of the next.
    "CREATE AGGREGATE tier3_tsvector_agg (tsvector) (
       SFUNC = tsvector_concat, STYPE = tsvector, INITCOND = ''
     )",
    // One ticket's documents from scratch: after an edit or a removal (never on the hot
    // path, where comments are appended).
    "CREATE FUNCTION ticket_search_refresh(tid BIGINT) RETURNS void LANGUAGE sql AS $$
       INSERT INTO ticket_search (ticket_id, public_doc, all_doc)
       SELECT t.id,
              to_tsvector('english', t.subject || ' ' || t.description)
                || (SELECT tier3_tsvector_agg(to_tsvector('english', c.body) ORDER BY c.id)
                      FROM comment c WHERE c.ticket_id = t.id AND c.public),
              to_tsvector('english', t.subject || ' ' || t.description)
                || (SELECT tier3_tsvector_agg(to_tsvector('english', c.body) ORDER BY c.id)
                      FROM comment c WHERE c.ticket_id = t.id)
         FROM ticket t WHERE t.id = tid
       ON CONFLICT (ticket_id) DO UPDATE
         SET public_doc = EXCLUDED.public_doc, all_doc = EXCLUDED.all_doc
     $$",
    "CREATE FUNCTION ticket_search_ticket() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
       PERFORM ticket_search_refresh(NEW.id);
       RETURN NULL;
     END $$",
    "CREATE FUNCTION ticket_search_comment() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
       IF TG_OP = 'INSERT' THEN
         UPDATE ticket_search
            SET all_doc = all_doc || to_tsvector('english', NEW.body),
                public_doc = CASE WHEN NEW.public
                                  THEN public_doc || to_tsvector('english', NEW.body)
                                  ELSE public_doc END
          WHERE ticket_id = NEW.ticket_id;
         RETURN NULL;
       END IF;
       IF TG_OP = 'UPDATE' THEN
         PERFORM ticket_search_refresh(NEW.ticket_id);
         IF OLD.ticket_id <> NEW.ticket_id THEN
           PERFORM ticket_search_refresh(OLD.ticket_id);
         END IF;
       ELSE
         PERFORM ticket_search_refresh(OLD.ticket_id);
       END IF;
       RETURN NULL;
     END $$",
];

const PG_TRIGGERS: &[&str] = &[
    "CREATE TRIGGER ticket_search_ticket AFTER INSERT OR UPDATE OF subject, description
       ON ticket FOR EACH ROW EXECUTE FUNCTION ticket_search_ticket()",
    "CREATE TRIGGER ticket_search_comment AFTER INSERT OR UPDATE OR DELETE
       ON comment FOR EACH ROW EXECUTE FUNCTION ticket_search_comment()",
];

const PG_DROP_TRIGGERS: &[&str] = &[
    "DROP TRIGGER IF EXISTS ticket_search_ticket ON ticket",
    "DROP TRIGGER IF EXISTS ticket_search_comment ON comment",
];

const PG_REBUILD: &[&str] = &["INSERT INTO ticket_search (ticket_id, public_doc, all_doc)
     SELECT t.id,
            to_tsvector('english', t.subject || ' ' || t.description)
              || coalesce(c.public_doc, ''),
            to_tsvector('english', t.subject || ' ' || t.description)
              || coalesce(c.all_doc, '')
       FROM ticket t
       LEFT JOIN (
         SELECT ticket_id,
                tier3_tsvector_agg(doc ORDER BY id) FILTER (WHERE public) AS public_doc,
                tier3_tsvector_agg(doc ORDER BY id) AS all_doc
           FROM (SELECT ticket_id, id, public, to_tsvector('english', body) AS doc
                   FROM comment) docs
          GROUP BY ticket_id
       ) c ON c.ticket_id = t.id
     ON CONFLICT (ticket_id) DO UPDATE
       SET public_doc = EXCLUDED.public_doc, all_doc = EXCLUDED.all_doc"];

const PG_DROP: &[&str] = &[
    "DROP TABLE ticket_search",
    "DROP FUNCTION ticket_search_comment()",
    "DROP FUNCTION ticket_search_ticket()",
    "DROP FUNCTION ticket_search_refresh(BIGINT)",
    "DROP AGGREGATE tier3_tsvector_agg (tsvector)",
];

/// SQLite: recomputes the documents of the tickets `WHERE` picks, from the ticket and its
/// comments (after an edit or a removal; a new comment only appends).
macro_rules! sqlite_recompute {
    ($where:literal) => {
        concat!(
            "
       UPDATE ticket_search
          SET public_text = (SELECT t.subject || char(10) || t.description FROM ticket t
                              WHERE t.id = ticket_search.ticket_id) || coalesce(
                (SELECT char(10) || group_concat(body, char(10)) FROM
                  (SELECT body FROM comment WHERE ticket_id = ticket_search.ticket_id AND public ORDER BY id)), ''),
              internal_text = coalesce(
                (SELECT char(10) || group_concat(body, char(10)) FROM
                  (SELECT body FROM comment WHERE ticket_id = ticket_search.ticket_id AND NOT public ORDER BY id)), '')
        WHERE ",
            $where,
            ";
     "
        )
    };
}

// `group_concat` over an ordered subquery rather than `group_concat(… ORDER BY …)`: the
// latter needs SQLite 3.44, and an older `sqlite3` shell would then call the whole schema
// malformed and refuse to open the database.
const SQLITE_CREATE: &[&str] = &[
    "CREATE TABLE ticket_search (
       ticket_id INTEGER PRIMARY KEY REFERENCES ticket (id) ON DELETE CASCADE,
       public_text TEXT NOT NULL,
       internal_text TEXT NOT NULL
     )",
    // Porter stemming over unicode61, so `invoices` finds `invoice` as on PostgreSQL.
    "CREATE VIRTUAL TABLE ticket_fts USING fts5(
       public_text, internal_text,
       content = 'ticket_search', content_rowid = 'ticket_id',
       tokenize = 'porter unicode61 remove_diacritics 2'
     )",
];

const SQLITE_TRIGGERS: &[&str] = &[
    // The FTS index follows its content table (the external-content pattern).
    "CREATE TRIGGER ticket_search_fts_insert AFTER INSERT ON ticket_search BEGIN
       INSERT INTO ticket_fts (rowid, public_text, internal_text)
       VALUES (NEW.ticket_id, NEW.public_text, NEW.internal_text);
     END",
    "CREATE TRIGGER ticket_search_fts_delete AFTER DELETE ON ticket_search BEGIN
       INSERT INTO ticket_fts (ticket_fts, rowid, public_text, internal_text)
       VALUES ('delete', OLD.ticket_id, OLD.public_text, OLD.internal_text);
     END",
    "CREATE TRIGGER ticket_search_fts_update AFTER UPDATE ON ticket_search BEGIN
       INSERT INTO ticket_fts (ticket_fts, rowid, public_text, internal_text)
       VALUES ('delete', OLD.ticket_id, OLD.public_text, OLD.internal_text);
       INSERT INTO ticket_fts (rowid, public_text, internal_text)
       VALUES (NEW.ticket_id, NEW.public_text, NEW.internal_text);
     END",
    // The content table follows tickets and comments.
    "CREATE TRIGGER ticket_search_ticket_insert AFTER INSERT ON ticket BEGIN
       INSERT INTO ticket_search (ticket_id, public_text, internal_text)
       VALUES (NEW.id, NEW.subject || char(10) || NEW.description, '');
     END",
    "CREATE TRIGGER ticket_search_ticket_update AFTER UPDATE OF subject, description ON ticket
     BEGIN
       UPDATE ticket_search
          SET public_text = NEW.subject || char(10) || NEW.description || coalesce(
                (SELECT char(10) || group_concat(body, char(10)) FROM
                  (SELECT body FROM comment WHERE ticket_id = NEW.id AND public ORDER BY id)), '')
        WHERE ticket_id = NEW.id;
     END",
    "CREATE TRIGGER ticket_search_comment_insert AFTER INSERT ON comment BEGIN
       UPDATE ticket_search
          SET public_text = CASE WHEN NEW.public
                                 THEN public_text || char(10) || NEW.body
                                 ELSE public_text END,
              internal_text = CASE WHEN NEW.public THEN internal_text
                                   ELSE internal_text || char(10) || NEW.body END
        WHERE ticket_id = NEW.ticket_id;
     END",
    concat!(
        "CREATE TRIGGER ticket_search_comment_change AFTER UPDATE ON comment BEGIN",
        sqlite_recompute!("ticket_id IN (OLD.ticket_id, NEW.ticket_id)"),
        "END"
    ),
    concat!(
        "CREATE TRIGGER ticket_search_comment_delete AFTER DELETE ON comment BEGIN",
        sqlite_recompute!("ticket_id = OLD.ticket_id"),
        "END"
    ),
];

const SQLITE_DROP_TRIGGERS: &[&str] = &[
    "DROP TRIGGER IF EXISTS ticket_search_fts_insert",
    "DROP TRIGGER IF EXISTS ticket_search_fts_delete",
    "DROP TRIGGER IF EXISTS ticket_search_fts_update",
    "DROP TRIGGER IF EXISTS ticket_search_ticket_insert",
    "DROP TRIGGER IF EXISTS ticket_search_ticket_update",
    "DROP TRIGGER IF EXISTS ticket_search_comment_insert",
    "DROP TRIGGER IF EXISTS ticket_search_comment_change",
    "DROP TRIGGER IF EXISTS ticket_search_comment_delete",
];

const SQLITE_REBUILD: &[&str] = &[
    "DELETE FROM ticket_search",
    "INSERT INTO ticket_search (ticket_id, public_text, internal_text)
     SELECT t.id,
            t.subject || char(10) || t.description || coalesce(
              (SELECT char(10) || group_concat(body, char(10)) FROM
                  (SELECT body FROM comment WHERE ticket_id = t.id AND public ORDER BY id)), ''),
            coalesce(
              (SELECT char(10) || group_concat(body, char(10)) FROM
                  (SELECT body FROM comment WHERE ticket_id = t.id AND NOT public ORDER BY id)), '')
       FROM ticket t",
    // Reindexes from the content table, whatever the FTS triggers did meanwhile.
    "INSERT INTO ticket_fts (ticket_fts) VALUES ('rebuild')",
];

const SQLITE_DROP: &[&str] = &["DROP TABLE ticket_fts", "DROP TABLE ticket_search"];

/// Creates the index's tables (and on PostgreSQL its functions).
pub fn create(backend: DbBackend) -> &'static [&'static str] {
    match backend {
        DbBackend::Postgres => PG_CREATE,
        _ => SQLITE_CREATE,
    }
}

/// Creates the triggers that keep the index as tickets and comments are written.
pub fn triggers(backend: DbBackend) -> &'static [&'static str] {
    match backend {
        DbBackend::Postgres => PG_TRIGGERS,
        _ => SQLITE_TRIGGERS,
    }
}

/// Drops those triggers (the index stays, and goes stale until [`rebuild`]).
pub fn drop_triggers(backend: DbBackend) -> &'static [&'static str] {
    match backend {
        DbBackend::Postgres => PG_DROP_TRIGGERS,
        _ => SQLITE_DROP_TRIGGERS,
    }
}

/// Recomputes every ticket's documents from the tickets and comments, in one pass.
pub fn rebuild(backend: DbBackend) -> &'static [&'static str] {
    match backend {
        DbBackend::Postgres => PG_REBUILD,
        _ => SQLITE_REBUILD,
    }
}

/// Drops the index.
pub fn drop(backend: DbBackend) -> &'static [&'static str] {
    match backend {
        DbBackend::Postgres => PG_DROP,
        _ => SQLITE_DROP,
    }
}
