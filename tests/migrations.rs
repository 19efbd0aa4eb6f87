//! Drift test per backend: migrate up, down (all), up again, then read every entity, which fails
//! if a table or column is missing or has a type the entity cannot decode. SQLite always runs;
//! PostgreSQL runs when `TIER3_TEST_DATABASE_URL` is set, in a fresh `tier3_test_<uuid>` database
//! that is dropped afterwards. (`migration/tests/drift.rs` also writes and reads back a row per
//! table.)

use entity::{
    app_user, comment, counter, escalation, escalation_ticket, escalation_update, event,
    notification, org_scope_grant, organization, release, release_note, release_note_follow,
    release_note_vote, ticket,
};
use migration::{Migrator, MigratorTrait, SchemaManager};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbErr, EntityTrait};

#[tokio::test]
async fn sqlite_migrations_match_entities() -> Result<(), DbErr> {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}/t.db?mode=rwc", dir.path().display());
    let db = Database::connect(&url).await?;
    up_down_up_read_all(&db).await?;
    db.close().await
}

#[tokio::test]
async fn postgres_migrations_match_entities() -> Result<(), DbErr> {
    let Ok(admin_url) = std::env::var("TIER3_TEST_DATABASE_URL") else {
        eprintln!("TIER3_TEST_DATABASE_URL not set: skipping PostgreSQL");
        return Ok(());
    };
    let name = format!("tier3_test_{}", uuid::Uuid::new_v4().simple());
    let admin = Database::connect(&admin_url).await?;
    admin
        .execute_unprepared(&format!(r#"CREATE DATABASE "{name}""#))
        .await?;
    let db = Database::connect(with_database(&admin_url, &name)).await?;
    // Run the checks on their own task so that the database is dropped even if one panics;
    // `WITH (FORCE)` (PostgreSQL 13+) ends the connections still open to it.
    let outcome = tokio::spawn(async move { up_down_up_read_all(&db).await }).await;
    admin
        .execute_unprepared(&format!(r#"DROP DATABASE "{name}" WITH (FORCE)"#))
        .await?;
    outcome.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
}

async fn up_down_up_read_all(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await?;
    Migrator::down(db, None).await?;
    let manager = SchemaManager::new(db);
    for table in ["organization", "ticket", "event", "counter"] {
        assert!(!manager.has_table(table).await?, "{table} left after down");
    }
    Migrator::up(db, None).await?;

    organization::Entity::find().all(db).await?;
    app_user::Entity::find().all(db).await?;
    org_scope_grant::Entity::find().all(db).await?;
    ticket::Entity::find().all(db).await?;
    comment::Entity::find().all(db).await?;
    release::Entity::find().all(db).await?;
    escalation::Entity::find().all(db).await?;
    escalation_ticket::Entity::find().all(db).await?;
    escalation_update::Entity::find().all(db).await?;
    release_note::Entity::find().all(db).await?;
    release_note_follow::Entity::find().all(db).await?;
    release_note_vote::Entity::find().all(db).await?;
    notification::Entity::find().all(db).await?;
    event::Entity::find().all(db).await?;
    counter::Entity::find().all(db).await?;

    let counter = counter::Entity::find_by_id(counter::TICKET_NUMBER)
        .one(db)
        .await?
        .expect("the migration seeds the ticket_number counter");
    assert_eq!(counter.value, 0);
    Ok(())
}

/// `postgres://u@h:5432/postgres?x=y` with the database replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let authority_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_end..].find('/') {
        Some(i) => &base[..authority_end + i],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    }
}

#[test]
fn with_database_replaces_the_path() {
    assert_eq!(
        with_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
        "postgres://postgres@127.0.0.1:5432/x"
    );
    assert_eq!(
        with_database("postgres://u:p@h/db?sslmode=disable", "x"),
        "postgres://u:p@h/x?sslmode=disable"
    );
}
