//! Where generated rows go: PostgreSQL `COPY … FROM STDIN` inside one transaction, or SQLite
//! multi-row `INSERT`s with bound values, one transaction per batch. Times every table.

use std::{
    fmt::Write as _,
    time::{Duration, Instant},
};

use anyhow::Context as _;
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, Statement, TransactionTrait, Value,
    sqlx::{self, Postgres, pool::PoolConnection},
};

/// Bound values per SQLite statement: under SQLite's 32,766 limit, and large enough that
/// statement overhead does not matter.
const SQLITE_VALUES: usize = 16_000;
/// Rows per SQLite statement at most.
const SQLITE_ROWS: usize = 1_000;

/// A batch of rows for one table, in column order.
pub struct Rows {
    table: &'static str,
    columns: &'static [&'static str],
    values: Vec<Value>,
}

impl Rows {
    pub fn new(table: &'static str, columns: &'static [&'static str]) -> Rows {
        Rows {
            table,
            columns,
            values: Vec::new(),
        }
    }

    /// Appends one row; its values follow `columns`.
    pub fn push<const N: usize>(&mut self, row: [Value; N]) {
        debug_assert_eq!(N, self.columns.len(), "row width of {}", self.table);
        self.values.extend(row);
    }

    pub fn len(&self) -> usize {
        self.values.len() / self.columns.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// Rows written to one table and the time it took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableStat {
    pub table: &'static str,
    pub rows: usize,
    pub elapsed: Duration,
}

/// The open writer: a dedicated PostgreSQL connection inside a transaction, or the SQLite
/// connection.
pub struct Sink<'a> {
    db: &'a DatabaseConnection,
    pg: Option<PoolConnection<Postgres>>,
    pub stats: Vec<TableStat>,
}

impl<'a> Sink<'a> {
    /// Opens the writer. On PostgreSQL everything up to [`Sink::finish`] is one transaction,
    /// so a failed seed leaves the database as empty as it found it.
    pub async fn open(db: &'a DatabaseConnection) -> anyhow::Result<Sink<'a>> {
        let pg = match db.get_database_backend() {
            DbBackend::Postgres => {
                let mut conn = db.get_postgres_connection_pool().acquire().await?;
                // The pool's statement timeout is sized for API requests, not bulk loads.
                // The ticket tally's row trigger would run once per copied ticket (it took
                // the ticket COPY from ~4 s to ~30 s): it is off inside this transaction
                // and the tally is rebuilt in one statement in `finish`. (The table stays
                // locked until then; seeding is not done under live traffic.)
                // The search index's triggers likewise: each seeded comment would rewrite
                // its ticket's documents; `finish` builds them in one pass instead.
                sqlx::raw_sql(
                    "SET statement_timeout = 0; BEGIN; \
                     ALTER TABLE ticket DISABLE TRIGGER ticket_tally_insert_delete; \
                     ALTER TABLE ticket DISABLE TRIGGER ticket_search_ticket; \
                     ALTER TABLE comment DISABLE TRIGGER ticket_search_comment",
                )
                .execute(&mut *conn)
                .await?;
                Some(conn)
            }
            _ => {
                // SQLite cannot switch a trigger off: they are dropped, and `finish`
                // rebuilds the index and puts them back.
                for sql in migration::search::drop_triggers(DbBackend::Sqlite) {
                    db.execute_unprepared(sql).await?;
                }
                None
            }
        };
        Ok(Sink {
            db,
            pg,
            stats: Vec::new(),
        })
    }

    /// Writes a batch and adds its time to the table's total.
    pub async fn write(&mut self, rows: Rows) -> anyhow::Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let started = Instant::now();
        let n = rows.len();
        let table = rows.table;
        match self.pg.as_mut() {
            Some(conn) => copy(conn, &rows).await,
            None => insert(self.db, &rows).await,
        }
        .with_context(|| format!("writing {n} rows to {table}"))?;
        self.record(table, n, started.elapsed());
        Ok(())
    }

    fn record(&mut self, table: &'static str, rows: usize, elapsed: Duration) {
        match self.stats.iter_mut().find(|s| s.table == table) {
            Some(s) => {
                s.rows += rows;
                s.elapsed += elapsed;
            }
            None => self.stats.push(TableStat {
                table,
                rows,
                elapsed,
            }),
        }
    }

    /// Moves the ticket-number counter (and on PostgreSQL the id sequences) past the seeded
    /// rows so the API's own inserts continue after them, commits, and on PostgreSQL
    /// `VACUUM ANALYZE`s: freshly loaded tables have no visibility map, so every index-only
    /// scan (counts!) would visit the heap, and no statistics for the planner.
    pub async fn finish(mut self, tickets: i64) -> anyhow::Result<Vec<TableStat>> {
        let counter = format!(
            "INSERT INTO counter (name, value) VALUES ('ticket_number', {tickets}) \
             ON CONFLICT (name) DO UPDATE SET value = excluded.value"
        );
        let Some(conn) = self.pg.as_mut() else {
            self.db.execute_unprepared(&counter).await?;
            let started = Instant::now();
            for sql in migration::search::rebuild(DbBackend::Sqlite)
                .iter()
                .chain(migration::search::triggers(DbBackend::Sqlite))
            {
                self.db.execute_unprepared(sql).await?;
            }
            self.record("(search index)", 0, started.elapsed());
            return Ok(std::mem::take(&mut self.stats));
        };
        let mut sql = counter
            + "; ALTER TABLE ticket ENABLE TRIGGER ticket_tally_insert_delete; \
               DELETE FROM ticket_tally; \
               INSERT INTO ticket_tally (org_id, status, n) \
               SELECT org_id, status, COUNT(*) FROM ticket GROUP BY org_id, status; \
               ALTER TABLE ticket ENABLE TRIGGER ticket_search_ticket; \
               ALTER TABLE comment ENABLE TRIGGER ticket_search_comment;";
        for rebuild in migration::search::rebuild(DbBackend::Postgres) {
            sql.push_str(rebuild);
            sql.push(';');
        }
        for s in self.stats.iter().filter(|s| s.rows > 0) {
            let table = s.table;
            write!(
                sql,
                "SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), \
                 (SELECT MAX(id) + 1 FROM \"{table}\"), false);"
            )?;
        }
        let mut steps = Vec::new();
        for (step, sql) in [
            ("(sequences, commit)", sql + "COMMIT"),
            // VACUUM refuses to share its query string with anything.
            ("(vacuum analyze)", "VACUUM ANALYZE".to_owned()),
        ] {
            let started = Instant::now();
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&mut **conn)
                .await
                .with_context(|| format!("seed step {step}"))?;
            steps.push((step, started.elapsed()));
        }
        sqlx::raw_sql("RESET statement_timeout")
            .execute(&mut **conn)
            .await?;
        // Done cleanly: the connection may go back to the pool.
        self.pg = None;
        for (step, elapsed) in steps {
            self.record(step, 0, elapsed);
        }
        Ok(std::mem::take(&mut self.stats))
    }
}

impl Drop for Sink<'_> {
    fn drop(&mut self) {
        // A sink dropped before it finished failed half way: its connection is inside an
        // aborted transaction and must not go back to the pool.
        if let Some(conn) = self.pg.take() {
            drop(conn.detach());
        }
    }
}

/// PostgreSQL: one `COPY` in text format.
async fn copy(conn: &mut PoolConnection<Postgres>, rows: &Rows) -> anyhow::Result<()> {
    let columns = quoted(rows.columns);
    let mut buf = String::with_capacity(rows.values.len() * 16);
    for row in rows.values.chunks(rows.columns.len()) {
        for (i, v) in row.iter().enumerate() {
            if i > 0 {
                buf.push('\t');
            }
            copy_field(&mut buf, v)?;
        }
        buf.push('\n');
    }
    let mut copy_in = conn
        .copy_in_raw(&format!("COPY \"{}\" ({columns}) FROM STDIN", rows.table))
        .await?;
    if let Err(e) = copy_in.send(buf.as_bytes()).await {
        copy_in.abort(e.to_string()).await?;
        return Err(e.into());
    }
    copy_in.finish().await?;
    Ok(())
}

/// One value in COPY's text format: `\N` for NULL, backslash escapes in text.
fn copy_field(out: &mut String, v: &Value) -> anyhow::Result<()> {
    match v {
        Value::BigInt(Some(i)) => write!(out, "{i}")?,
        Value::Int(Some(i)) => write!(out, "{i}")?,
        Value::Bool(Some(b)) => out.push(if *b { 't' } else { 'f' }),
        Value::String(Some(s)) => escape_copy(out, s),
        Value::ChronoDateTimeUtc(Some(t)) => {
            write!(out, "{}", t.format("%Y-%m-%d %H:%M:%S%.f+00"))?
        }
        Value::ChronoDate(Some(d)) => write!(out, "{}", d.format("%Y-%m-%d"))?,
        Value::BigInt(None)
        | Value::Int(None)
        | Value::Bool(None)
        | Value::String(None)
        | Value::ChronoDateTimeUtc(None)
        | Value::ChronoDate(None) => out.push_str("\\N"),
        other => anyhow::bail!("the seed cannot COPY {other:?}"),
    }
    Ok(())
}

fn escape_copy(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
}

/// SQLite: multi-row INSERTs with bound values (bound like the app binds them, so stored
/// timestamps have the exact text form the app's comparisons expect), in one transaction.
async fn insert(db: &DatabaseConnection, rows: &Rows) -> anyhow::Result<()> {
    let width = rows.columns.len();
    let per_statement = (SQLITE_VALUES / width).clamp(1, SQLITE_ROWS);
    let head = format!(
        "INSERT INTO \"{}\" ({}) VALUES ",
        rows.table,
        quoted(rows.columns)
    );
    let placeholders = format!("({})", vec!["?"; width].join(","));
    let txn = db.begin().await?;
    for chunk in rows.values.chunks(per_statement * width) {
        let mut sql = head.clone();
        for i in 0..chunk.len() / width {
            if i > 0 {
                sql.push(',');
            }
            sql.push_str(&placeholders);
        }
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Sqlite,
            sql,
            chunk.iter().cloned(),
        ))
        .await?;
    }
    txn.commit().await?;
    Ok(())
}

fn quoted(columns: &[&str]) -> String {
    columns
        .iter()
        .map(|c| format!("\"{c}\""))
        .collect::<Vec<_>>()
        .join(",")
}
