//! Drift test for the migrations and the `entity` crate, per backend: up, down (all), up, read
//! every entity, then write one row per table and read it back. SQLite always runs; PostgreSQL
//! runs when `TIER3_TEST_DATABASE_URL` is set, in a fresh `tier3_test_<uuid>` database.

use chrono::{NaiveDate, TimeZone, Utc};
use entity::*;
use migration::{Migrator, MigratorTrait, SchemaManager};
use sea_orm_migration::sea_orm::{
    ActiveModelTrait, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr, EntityTrait,
    Set, Statement,
};

#[tokio::test]
async fn sqlite_schema_matches_entities() -> Result<(), DbErr> {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}/t.db?mode=rwc", dir.path().display());
    let db = Database::connect(&url).await?;
    check_drift(&db).await?;

    // `big_pk_auto` must give SQLite a rowid alias, i.e. `integer PRIMARY KEY AUTOINCREMENT`.
    let rows = db
        .query_all_raw(Statement::from_string(
            DbBackend::Sqlite,
            "SELECT name, sql FROM sqlite_master WHERE type = 'table' \
             AND name NOT LIKE 'sqlite_%' AND name NOT IN ('seaql_migrations', 'counter', 'ticket_tally', \
             'unsubscribe_token', 'delivery_cursor', 'ticket_participant', 'ticket_search') \
             AND name NOT LIKE 'ticket_fts%'",
        ))
        .await?;
    assert_eq!(rows.len(), 17);
    for row in rows {
        let name: String = row.try_get("", "name")?;
        let sql: String = row.try_get("", "sql")?;
        assert!(
            sql.contains(r#""id" integer NOT NULL PRIMARY KEY AUTOINCREMENT"#),
            "{name}: {sql}"
        );
    }
    db.close().await
}

#[tokio::test]
async fn postgres_schema_matches_entities() -> Result<(), DbErr> {
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
    let outcome = tokio::spawn(async move { check_drift(&db).await }).await;
    admin
        .execute_unprepared(&format!(r#"DROP DATABASE "{name}" WITH (FORCE)"#))
        .await?;
    outcome.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
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

async fn check_drift(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await?;
    Migrator::down(db, None).await?;
    let manager = SchemaManager::new(db);
    for table in ["organization", "ticket", "event", "counter"] {
        assert!(!manager.has_table(table).await?, "{table} left after down");
    }
    Migrator::up(db, None).await?;
    read_all(db, 0).await?;
    let counter = counter::Entity::find_by_id(counter::TICKET_NUMBER)
        .one(db)
        .await?
        .expect("ticket_number counter row");
    assert_eq!(counter.value, 0);
    write_one_of_each(db).await?;
    read_all(db, 1).await
}

/// Reads every entity, which fails if a column is missing or has an incompatible type.
async fn read_all(db: &DatabaseConnection, expected: usize) -> Result<(), DbErr> {
    assert_eq!(organization::Entity::find().all(db).await?.len(), expected);
    // Two users per written set: the customer and the agent.
    assert_eq!(app_user::Entity::find().all(db).await?.len(), expected * 2);
    assert_eq!(
        org_scope_grant::Entity::find().all(db).await?.len(),
        expected
    );
    assert_eq!(ticket::Entity::find().all(db).await?.len(), expected);
    assert_eq!(comment::Entity::find().all(db).await?.len(), expected);
    assert_eq!(release::Entity::find().all(db).await?.len(), expected);
    assert_eq!(escalation::Entity::find().all(db).await?.len(), expected);
    assert_eq!(
        escalation_ticket::Entity::find().all(db).await?.len(),
        expected
    );
    assert_eq!(
        escalation_update::Entity::find().all(db).await?.len(),
        expected
    );
    assert_eq!(release_note::Entity::find().all(db).await?.len(), expected);
    assert_eq!(
        release_note_follow::Entity::find().all(db).await?.len(),
        expected
    );
    assert_eq!(
        release_note_vote::Entity::find().all(db).await?.len(),
        expected
    );
    assert_eq!(notification::Entity::find().all(db).await?.len(), expected);
    assert_eq!(event::Entity::find().all(db).await?.len(), expected);
    assert_eq!(counter::Entity::find().all(db).await?.len(), 1);
    assert_eq!(
        webhook_endpoint::Entity::find().all(db).await?.len(),
        expected
    );
    assert_eq!(
        webhook_secret::Entity::find().all(db).await?.len(),
        expected
    );
    assert_eq!(delivery::Entity::find().all(db).await?.len(), expected);
    assert_eq!(
        unsubscribe_token::Entity::find().all(db).await?.len(),
        expected
    );
    assert_eq!(
        ticket_participant::Entity::find().all(db).await?.len(),
        expected
    );
    // The search index's triggers gave every ticket its document.
    let indexed = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM ticket_search",
        ))
        .await?
        .expect("a count")
        .try_get::<i64>("", "n")?;
    assert_eq!(indexed as usize, expected);
    // The delivery planner's position, made by the migration.
    assert_eq!(delivery_cursor::Entity::find().all(db).await?.len(), 1);
    // The triggers tallied every ticket written above.
    let tallied: i64 = ticket_tally::Entity::find()
        .all(db)
        .await?
        .iter()
        .map(|t| t.n)
        .sum();
    assert_eq!(tallied as usize, expected);
    Ok(())
}

/// Inserts a row into every table (leaving DB defaults unset) and checks it reads back equal.
async fn write_one_of_each(db: &DatabaseConnection) -> Result<(), DbErr> {
    let now = Utc.with_ymd_and_hms(2026, 11, 28, 12, 30, 15).unwrap();

    let org = organization::ActiveModel {
        key: Set("acme".into()),
        name: Set("Acme".into()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    let customer = app_user::ActiveModel {
        sub: Set("alice".into()),
        role: Set(Role::Customer),
        org_id: Set(Some(org.id)),
        email: Set(Some("alice@acme.test".into())),
        name: Set("Alice".into()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    let agent = app_user::ActiveModel {
        sub: Set("bob".into()),
        role: Set(Role::TriageLead),
        org_id: Set(None),
        email: Set(None),
        name: Set("Bob".into()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    assert_eq!(
        app_user::Entity::find_by_id(agent.id).one(db).await?,
        Some(agent.clone())
    );

    org_scope_grant::ActiveModel {
        user_id: Set(agent.id),
        org_id: Set(org.id),
        granted_by_id: Set(agent.id),
        granted_at: Set(now),
        expires_at: Set(Some(now)),
        revoked_at: Set(None),
        revoked_by_id: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await?;

    let ticket = ticket::ActiveModel {
        number: Set(1),
        subject: Set("printer on fire".into()),
        description: Set("it is".into()),
        status: Set(TicketStatus::OnHold),
        priority: Set(TicketPriority::Urgent),
        solved_by: Set(Some(SolvedBy::Release)),
        requester_id: Set(customer.id),
        org_id: Set(org.id),
        assignee_id: Set(Some(agent.id)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    assert_eq!(ticket.lock_version, 0, "DB default");
    assert_eq!(
        ticket::Entity::find_by_id(ticket.id).one(db).await?,
        Some(ticket.clone())
    );

    let comment = comment::ActiveModel {
        ticket_id: Set(ticket.id),
        author_id: Set(customer.id),
        body: Set("help".into()),
        public: Set(true),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    // The search index follows the comment, also through an edit (the triggers' recompute
    // path; comments are otherwise only ever added).
    assert_eq!(search_hits(db, "help").await?, 1);
    db.execute_unprepared(&format!(
        "UPDATE comment SET body = 'zebra' WHERE id = {}",
        comment.id
    ))
    .await?;
    assert_eq!(search_hits(db, "help").await?, 0);
    assert_eq!(search_hits(db, "zebra").await?, 1);
    db.execute_unprepared(&format!(
        "UPDATE comment SET body = 'help' WHERE id = {}",
        comment.id
    ))
    .await?;

    let release = release::ActiveModel {
        version: Set("2027.1.0".into()),
        kind: Set(ReleaseKind::Quarterly),
        status: Set(ReleaseStatus::Planned),
        quarter: Set(Some("2027-Q1".into())),
        planned_for: Set(NaiveDate::from_ymd_opt(2027, 1, 15)),
        imminent_at: Set(None),
        released_at: Set(None),
        created_by_id: Set(agent.id),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    assert_eq!(
        release::Entity::find_by_id(release.id).one(db).await?,
        Some(release.clone())
    );

    let escalation = escalation::ActiveModel {
        title: Set("paper feed".into()),
        details: Set("jams".into()),
        status: Set(EscalationStatus::AwaitingTriage),
        track: Set(Some(EscalationTrack::ProductPlanning)),
        priority: Set(EscalationPriority::P0),
        assignee_id: Set(Some(agent.id)),
        release_id: Set(Some(release.id)),
        created_by_id: Set(agent.id),
        decline_reason: Set(None),
        triaged_at: Set(Some(now)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    assert_eq!(escalation.lock_version, 0, "DB default");

    let link = escalation_ticket::ActiveModel {
        escalation_id: Set(escalation.id),
        ticket_id: Set(ticket.id),
        open_ticket_id: Set(Some(ticket.id)),
        linked_by_id: Set(agent.id),
        created_at: Set(now),
        ..Default::default()
    };
    link.clone().insert(db).await?;
    // A second open link for the same ticket violates UNIQUE(open_ticket_id) (and here also
    // UNIQUE(escalation_id, ticket_id)); neither may be inserted.
    assert!(link.insert(db).await.is_err());

    let update = escalation_update::ActiveModel {
        escalation_id: Set(escalation.id),
        author_id: Set(agent.id),
        body: Set("looking".into()),
        public: Set(false),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;

    let note = release_note::ActiveModel {
        release_id: Set(release.id),
        title: Set("2027.1".into()),
        body: Set("fixed".into()),
        published_by_id: Set(agent.id),
        published_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    release_note_follow::ActiveModel {
        user_id: Set(customer.id),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    release_note_vote::ActiveModel {
        release_note_id: Set(note.id),
        user_id: Set(customer.id),
        helpful: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;

    let notification = notification::ActiveModel {
        user_id: Set(customer.id),
        kind: Set("RELEASE_NOTE_PUBLISHED".into()),
        message: Set("2027.1 is out".into()),
        ticket_id: Set(Some(ticket.id)),
        escalation_id: Set(Some(escalation.id)),
        release_note_id: Set(Some(note.id)),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    assert!(!notification.read, "DB default");

    let event = event::ActiveModel {
        kind: Set(EventKind::StatusChanged),
        public: Set(true),
        actor_id: Set(Some(agent.id)),
        org_id: Set(Some(org.id)),
        ticket_id: Set(Some(ticket.id)),
        escalation_id: Set(Some(escalation.id)),
        release_id: Set(Some(release.id)),
        release_note_id: Set(Some(note.id)),
        comment_id: Set(Some(comment.id)),
        escalation_update_id: Set(Some(update.id)),
        from_status: Set(Some(TicketStatus::Open.as_str().into())),
        to_status: Set(Some(TicketStatus::OnHold.as_str().into())),
        data: Set(Some(r#"{"k":1}"#.into())),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    let id = event.id;
    assert_eq!(event::Entity::find_by_id(id).one(db).await?, Some(event));
    assert!(
        customer.email_release_notes && customer.email_ticket_updates,
        "DB defaults"
    );

    let endpoint = webhook_endpoint::ActiveModel {
        url: Set("https://hooks.example/x".into()),
        events: Set("TICKET_CREATED,COMMENT_ADDED".into()),
        description: Set("chat".into()),
        enabled: Set(true),
        disabled_reason: Set(None),
        created_by: Set(Some(agent.id)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    webhook_secret::ActiveModel {
        endpoint_id: Set(endpoint.id),
        secret: Set("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into()),
        created_at: Set(now),
        expires_at: Set(Some(now)),
        ..Default::default()
    }
    .insert(db)
    .await?;
    let delivery = delivery::ActiveModel {
        channel: Set(DeliveryChannel::Webhook),
        dedupe_key: Set(format!("WEBHOOK:{id}:endpoint:{}", endpoint.id)),
        event_id: Set(id),
        kind: Set("comment.added".into()),
        user_id: Set(None),
        endpoint_id: Set(Some(endpoint.id)),
        target: Set(endpoint.url.clone()),
        category: Set(Some(MailCategory::TicketUpdates)),
        payload: Set(Some("{}".into())),
        status: Set(DeliveryStatus::Pending),
        attempts: Set(1),
        last_error: Set(Some("HTTP 500".into())),
        next_attempt_at: Set(now),
        lease_owner: Set(Some("w".into())),
        lease_until: Set(Some(now)),
        created_at: Set(now),
        delivered_at: Set(Some(now)),
        ..Default::default()
    }
    .insert(db)
    .await?;
    assert_eq!(
        delivery::Entity::find_by_id(delivery.id).one(db).await?,
        Some(delivery.clone())
    );
    // One row per (event, recipient, channel): a second is refused.
    let twin = delivery::ActiveModel {
        id: sea_orm_migration::sea_orm::ActiveValue::NotSet,
        ..delivery.into()
    };
    assert!(twin.insert(db).await.is_err());
    let participant = ticket_participant::ActiveModel {
        ticket_id: Set(ticket.id),
        user_id: Set(customer.id),
        added_by_id: Set(Some(customer.id)),
        created_at: Set(now),
    }
    .insert(db)
    .await?;
    assert_eq!(
        ticket_participant::Entity::find_by_id((ticket.id, customer.id))
            .one(db)
            .await?,
        Some(participant)
    );
    unsubscribe_token::ActiveModel {
        token: Set("t0k3n".into()),
        user_id: Set(customer.id),
        category: Set(MailCategory::ReleaseNotes),
        created_at: Set(now),
    }
    .insert(db)
    .await?;
    // A kind written by a newer version reads as `Unknown` instead of failing the read (and
    // `read_all` then reads the whole table with it in place).
    db.execute_unprepared(&format!(
        "UPDATE event SET kind = 'FROM_A_NEWER_VERSION' WHERE id = {id}"
    ))
    .await?;
    let stored = event::Entity::find_by_id(id).one(db).await?;
    assert_eq!(stored.map(|e| e.kind), Some(EventKind::Unknown));

    // Foreign keys are enforced on both backends.
    let orphan = comment::ActiveModel {
        ticket_id: Set(i64::MAX),
        author_id: Set(customer.id),
        body: Set("orphan".into()),
        public: Set(true),
        created_at: Set(now),
        ..Default::default()
    };
    assert!(orphan.insert(db).await.is_err());
    Ok(())
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
    assert_eq!(with_database("postgres://h", "x"), "postgres://h/x");
}

/// Tickets whose public search document holds `word`, asked of the index directly.
async fn search_hits(db: &DatabaseConnection, word: &str) -> Result<i64, DbErr> {
    let sql = match db.get_database_backend() {
        DbBackend::Postgres => format!(
            "SELECT COUNT(*) AS n FROM ticket_search WHERE public_doc @@ to_tsquery('english', '{word}')"
        ),
        _ => format!(
            "SELECT COUNT(*) AS n FROM ticket_fts WHERE ticket_fts MATCH 'public_text : {word}'"
        ),
    };
    db.query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await?
        .expect("a count")
        .try_get::<i64>("", "n")
}
