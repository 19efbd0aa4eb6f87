//! `tier3 seed` loads the whole story through the domain services, once; `tier3 seed --scale`
//! writes a large data set that keeps the domain rules, the same for the same seed.

mod common;

use std::hash::{DefaultHasher, Hash, Hasher};

use entity::{
    app_user, comment, escalation, escalation_ticket, escalation_update, event, notification,
    org_scope_grant, organization, release, release_note, release_note_follow, release_note_vote,
    ticket,
};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, EntityTrait, QueryOrder, Statement,
    sea_query::{Alias, Expr},
};
use serde_json::json;
use tier3::seed::scale::{self, Sizes};

use common::{TestApp, data};

#[tokio::test]
async fn demo_data_tells_the_whole_story_once() {
    let app = TestApp::spawn().await;
    tier3::seed::demo(&app.app).await.expect("seed");
    tier3::seed::demo(&app.app)
        .await
        .expect("second seed is a no-op");
    let admin = app.admin().await;
    let res = app
        .gql(
            Some(&admin),
            "{ tickets(first: 100) { totalCount nodes { status } }
               escalations(first: 100) { totalCount nodes { status track } }
               releases { totalCount nodes { status kind } }
               releaseNotes { totalCount } }",
            json!({}),
        )
        .await;
    let d = data(&res);
    assert_eq!(d["tickets"]["totalCount"], 12);
    let statuses: Vec<&str> = d["tickets"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["status"].as_str().unwrap())
        .collect();
    for s in ["NEW", "OPEN", "PENDING", "ON_HOLD", "SOLVED", "CLOSED"] {
        assert!(statuses.contains(&s), "no {s} ticket: {statuses:?}");
    }
    let esc = d["escalations"]["nodes"].as_array().unwrap();
    for s in ["AWAITING_TRIAGE", "SCHEDULED", "RELEASED", "DECLINED"] {
        assert!(esc.iter().any(|e| e["status"] == s), "no {s} escalation");
    }
    for t in ["HOTFIX", "PRODUCT_PLANNING", "FEATURE_REQUEST"] {
        assert!(esc.iter().any(|e| e["track"] == t), "no {t} escalation");
    }
    assert_eq!(d["releases"]["totalCount"], 4);
    assert_eq!(d["releaseNotes"]["totalCount"], 2);
}

// ---- `tier3 seed --scale` ----------------------------------------------------------------

/// Rows and a hash of every row of one table, in id order.
async fn digest<E>(db: &DatabaseConnection) -> (usize, u64)
where
    E: EntityTrait,
    E::Model: std::fmt::Debug,
{
    digest_with::<E>(db, |m| format!("{m:?}")).await
}

/// [`digest`] of what `show` keeps of each row.
async fn digest_with<E>(db: &DatabaseConnection, show: impl Fn(&E::Model) -> String) -> (usize, u64)
where
    E: EntityTrait,
{
    let rows = E::find()
        .order_by_asc(Expr::col(Alias::new("id")))
        .all(db)
        .await
        .unwrap();
    let mut h = DefaultHasher::new();
    for row in &rows {
        show(row).hash(&mut h);
    }
    (rows.len(), h.finish())
}

/// Everything a scale seed wrote, table by table.
async fn fingerprint(app: &TestApp) -> Vec<(usize, u64)> {
    let db = &app.app.db;
    vec![
        digest::<organization::Entity>(db).await,
        digest::<app_user::Entity>(db).await,
        digest::<org_scope_grant::Entity>(db).await,
        digest::<release_note_follow::Entity>(db).await,
        digest::<release::Entity>(db).await,
        digest::<release_note::Entity>(db).await,
        digest::<release_note_vote::Entity>(db).await,
        digest::<ticket::Entity>(db).await,
        // Not `tx`: PostgreSQL's id of the transaction that wrote the row, not seeded data.
        digest_with::<event::Entity>(db, |e| format!("{:?}", event::Model { tx: 0, ..e.clone() }))
            .await,
        digest::<escalation::Entity>(db).await,
        digest::<escalation_ticket::Entity>(db).await,
        digest::<escalation_update::Entity>(db).await,
        digest::<comment::Entity>(db).await,
        digest::<notification::Entity>(db).await,
    ]
}

/// The single number a `SELECT COUNT(*) AS n …` returns.
async fn count(app: &TestApp, sql: &str) -> i64 {
    let db = &app.app.db;
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .expect("a row");
    row.try_get::<i64>("", "n").expect("n")
}

#[tokio::test]
async fn the_scale_seed_is_deterministic() {
    let (one, two, other) = (
        TestApp::spawn().await,
        TestApp::spawn().await,
        TestApp::spawn().await,
    );
    let summary = scale::run(&one.app.db, 0.005, 7).await.unwrap();
    scale::run(&two.app.db, 0.005, 7).await.unwrap();
    scale::run(&other.app.db, 0.005, 8).await.unwrap();

    let sizes = Sizes::at(0.005);
    assert_eq!(summary.rows("organization"), 1);
    assert_eq!(summary.rows("app_user"), 100);
    assert_eq!(summary.rows("ticket"), 1_000);
    assert_eq!(summary.rows("escalation"), sizes.escalations());
    assert_eq!(summary.rows("escalation"), 100);
    let comments = summary.rows("comment");
    assert!((4_000..6_000).contains(&comments), "{summary}");
    for table in ["ticket", "comment", "escalation_ticket", "event", "release"] {
        let n = count(&one, &format!("SELECT COUNT(*) AS n FROM \"{table}\"")).await;
        assert_eq!(n as usize, summary.rows(table), "{table}");
    }
    // The ticket tally (bulk-built on PostgreSQL, by its triggers on SQLite) agrees; its
    // trigger is back on afterwards (below).
    let stale = "SELECT COUNT(*) AS n FROM ticket_tally tt WHERE n <> \
                 (SELECT COUNT(*) FROM ticket t WHERE t.org_id = tt.org_id AND t.status = tt.status)";
    assert_eq!(count(&one, stale).await, 0);
    let tallied = "SELECT CAST(SUM(n) AS BIGINT) AS n FROM ticket_tally";
    assert_eq!(count(&one, tallied).await as usize, summary.rows("ticket"));

    let (a, b, c) = (
        fingerprint(&one).await,
        fingerprint(&two).await,
        fingerprint(&other).await,
    );
    assert_eq!(a, b, "the same seed writes the same rows");
    assert_ne!(a[7], c[7], "another seed writes other tickets");

    let err = scale::run(&one.app.db, 0.005, 7).await.unwrap_err();
    assert!(
        err.to_string().contains("fresh database"),
        "refuses a seeded database: {err}"
    );

    let customer = one.customer("late-comer").await;
    one.create_ticket(&customer, "after the seed").await;
    assert_eq!(
        count(&one, tallied).await as usize,
        summary.rows("ticket") + 1
    );
}

/// Scale 1 is the benchmark's data set: 200 organizations, 20,000 users, 200,000 tickets
/// and 20,000 escalations.
#[test]
fn scale_one_is_the_benchmark_size() {
    let s = Sizes::at(1.0);
    assert_eq!(
        (s.organizations, s.users, s.tickets, s.escalations()),
        (200, 20_000, 200_000, 20_000)
    );
    let tiny = Sizes::at(0.0001);
    assert_eq!((tiny.organizations, tiny.users, tiny.tickets), (1, 2, 20));
}

/// Queries that find rows breaking a rule the API enforces; each must find none.
const RULES: &[(&str, &str)] = &[
    (
        "solved_by is set exactly on solved and closed tickets",
        "SELECT COUNT(*) AS n FROM ticket
         WHERE (status IN ('SOLVED', 'CLOSED')) <> (solved_by IS NOT NULL)",
    ),
    (
        "the requester is a customer of the ticket's organization",
        "SELECT COUNT(*) AS n FROM ticket t JOIN app_user u ON u.id = t.requester_id
         WHERE u.role <> 'CUSTOMER' OR u.org_id <> t.org_id",
    ),
    (
        "assignees are agents, and new tickets have none",
        "SELECT COUNT(*) AS n FROM ticket t JOIN app_user u ON u.id = t.assignee_id
         WHERE u.role <> 'AGENT' OR t.status = 'NEW'",
    ),
    (
        "tickets are updated after they are created, and before now",
        "SELECT COUNT(*) AS n FROM ticket
         WHERE updated_at < created_at OR updated_at > '2026-11-01T12:00:00+00:00'",
    ),
    (
        "customers write public comments on their organization's tickets only",
        "SELECT COUNT(*) AS n FROM comment c JOIN app_user u ON u.id = c.author_id
         JOIN ticket t ON t.id = c.ticket_id
         WHERE u.role = 'CUSTOMER' AND (NOT c.public OR u.org_id <> t.org_id)",
    ),
    (
        "comments fall between their ticket's creation and its last update",
        "SELECT COUNT(*) AS n FROM comment c JOIN ticket t ON t.id = c.ticket_id
         WHERE c.created_at < t.created_at OR c.created_at > t.updated_at",
    ),
    (
        "awaiting triage exactly when there is no track",
        "SELECT COUNT(*) AS n FROM escalation
         WHERE (track IS NULL) <> (status = 'AWAITING_TRIAGE')",
    ),
    (
        "hotfixes are never under review or declined; the others never in progress",
        "SELECT COUNT(*) AS n FROM escalation
         WHERE (track = 'HOTFIX' AND status IN ('UNDER_REVIEW', 'DECLINED'))
            OR (track <> 'HOTFIX' AND status = 'IN_PROGRESS')",
    ),
    (
        "scheduled and released escalations, and only they, have a release",
        "SELECT COUNT(*) AS n FROM escalation
         WHERE (status IN ('SCHEDULED', 'RELEASED')) <> (release_id IS NOT NULL)",
    ),
    (
        "the release fits: hotfix into HOTFIX, released with a released one, after creation",
        "SELECT COUNT(*) AS n FROM escalation e JOIN \"release\" r ON r.id = e.release_id
         WHERE (e.track = 'HOTFIX') <> (r.kind = 'HOTFIX')
            OR (e.status = 'RELEASED') <> (r.status = 'RELEASED')
            OR r.released_at < e.created_at",
    ),
    (
        "only declined escalations have a decline reason",
        "SELECT COUNT(*) AS n FROM escalation
         WHERE (status = 'DECLINED') <> (decline_reason IS NOT NULL)",
    ),
    (
        "every escalation has its ticket",
        "SELECT COUNT(*) AS n FROM escalation e WHERE NOT EXISTS
         (SELECT 1 FROM escalation_ticket l WHERE l.escalation_id = e.id)",
    ),
    (
        "open_ticket_id is the ticket while the escalation is open, else NULL",
        "SELECT COUNT(*) AS n FROM escalation_ticket l JOIN escalation e ON e.id = l.escalation_id
         WHERE (l.open_ticket_id IS NOT NULL) <> (e.status NOT IN ('RELEASED', 'DECLINED'))
            OR l.open_ticket_id <> l.ticket_id",
    ),
    (
        "linked tickets follow the track",
        "SELECT COUNT(*) AS n FROM escalation_ticket l JOIN escalation e ON e.id = l.escalation_id
         JOIN ticket t ON t.id = l.ticket_id LEFT JOIN \"release\" r ON r.id = e.release_id
         WHERE (e.status = 'AWAITING_TRIAGE' AND t.status IN ('NEW', 'SOLVED', 'CLOSED'))
            OR (e.status = 'IN_PROGRESS' AND t.status <> 'ON_HOLD')
            OR (e.track = 'HOTFIX' AND e.status = 'SCHEDULED' AND r.status = 'PLANNED'
                AND t.status <> 'ON_HOLD')
            OR (e.track = 'HOTFIX' AND (e.status = 'RELEASED' OR r.status = 'IMMINENT')
                AND (t.status NOT IN ('SOLVED', 'CLOSED') OR t.solved_by <> 'RELEASE'))
            OR (e.track <> 'HOTFIX'
                AND (t.status NOT IN ('SOLVED', 'CLOSED') OR t.solved_by <> 'TRIAGE'))",
    ),
    (
        "tickets solved by the workflow are linked",
        "SELECT COUNT(*) AS n FROM ticket t WHERE t.solved_by IN ('RELEASE', 'TRIAGE')
         AND NOT EXISTS (SELECT 1 FROM escalation_ticket l WHERE l.ticket_id = t.id)",
    ),
    (
        "Tier 3 posts the updates",
        "SELECT COUNT(*) AS n FROM escalation_update x JOIN app_user u ON u.id = x.author_id
         WHERE u.role NOT IN ('DEVELOPER', 'TRIAGE_LEAD')",
    ),
    (
        "released releases, and only they, have a release date and a note",
        "SELECT COUNT(*) AS n FROM \"release\" r
         WHERE (r.status = 'RELEASED') <> (r.released_at IS NOT NULL)
            OR (r.status = 'RELEASED') <> EXISTS
               (SELECT 1 FROM release_note n WHERE n.release_id = r.id)
            OR (r.status = 'PLANNED' AND r.imminent_at IS NOT NULL)
            OR (r.kind = 'QUARTERLY') <> (r.quarter IS NOT NULL)",
    ),
    (
        "the first customer of every organization has live organization scope from an admin",
        "SELECT COUNT(*) AS n FROM organization o WHERE NOT EXISTS
         (SELECT 1 FROM org_scope_grant g JOIN app_user u ON u.id = g.user_id
          JOIN app_user a ON a.id = g.granted_by_id
          WHERE g.org_id = o.id AND u.sub = 'cust-' || substr(o.key, 5) || '-1'
            AND a.role = 'ADMIN' AND g.revoked_at IS NULL AND g.expires_at IS NULL)",
    ),
];

/// Values each of which must occur at least once.
const COVERAGE: &[(&str, &[&str])] = &[
    (
        "SELECT COUNT(*) AS n FROM ticket WHERE status = '{}'",
        &["NEW", "OPEN", "PENDING", "ON_HOLD", "SOLVED", "CLOSED"],
    ),
    (
        "SELECT COUNT(*) AS n FROM ticket WHERE priority = '{}'",
        &["URGENT", "HIGH", "NORMAL", "LOW"],
    ),
    (
        "SELECT COUNT(*) AS n FROM ticket WHERE solved_by = '{}'",
        &["RELEASE", "TRIAGE", "AGENT", "CUSTOMER"],
    ),
    (
        "SELECT COUNT(*) AS n FROM escalation WHERE status = '{}'",
        &[
            "AWAITING_TRIAGE",
            "IN_PROGRESS",
            "UNDER_REVIEW",
            "SCHEDULED",
            "RELEASED",
            "DECLINED",
        ],
    ),
    (
        "SELECT COUNT(*) AS n FROM escalation WHERE track = '{}'",
        &["HOTFIX", "PRODUCT_PLANNING", "FEATURE_REQUEST"],
    ),
    (
        "SELECT COUNT(*) AS n FROM escalation WHERE priority = '{}'",
        &["P0", "P1", "P2", "P3"],
    ),
    (
        "SELECT COUNT(*) AS n FROM app_user WHERE role = '{}'",
        &["CUSTOMER", "AGENT", "DEVELOPER", "TRIAGE_LEAD", "ADMIN"],
    ),
    (
        "SELECT COUNT(*) AS n FROM \"release\" WHERE kind || ' ' || status = '{}'",
        &[
            "HOTFIX PLANNED",
            "HOTFIX IMMINENT",
            "HOTFIX RELEASED",
            "QUARTERLY PLANNED",
            "QUARTERLY IMMINENT",
            "QUARTERLY RELEASED",
        ],
    ),
    (
        "SELECT COUNT(*) AS n FROM comment c JOIN app_user u ON u.id = c.author_id
         WHERE u.role || ' ' || CASE WHEN c.public THEN 'public' ELSE 'internal' END = '{}'",
        &["CUSTOMER public", "AGENT public", "AGENT internal"],
    ),
];

#[tokio::test]
async fn the_scale_seed_keeps_the_domain_rules_and_the_api_works_on_it() {
    let app = TestApp::spawn().await;
    let summary = scale::run(&app.app.db, 0.01, 1).await.unwrap();
    println!("{summary}");
    for (rule, sql) in RULES {
        assert_eq!(count(&app, sql).await, 0, "{rule}");
    }
    for (template, values) in COVERAGE {
        for v in *values {
            let sql = template.replace("{}", v);
            assert!(count(&app, &sql).await > 0, "none: {sql}");
        }
    }
    let more_links = "SELECT COUNT(*) AS n FROM escalation_ticket l
        JOIN escalation e ON e.id = l.escalation_id
        JOIN ticket t ON t.id = l.ticket_id WHERE t.id <> (e.id - 1) * 10 + 1";
    assert!(
        count(&app, more_links).await > 0,
        "other tickets are linked"
    );

    // The documented users sign in; the first customer of an organization sees all of it.
    let scoped = app
        .sign_in(&TestApp::claims(
            "cust-0001-1",
            "customer",
            Some("org-0001"),
        ))
        .await;
    let org_tickets = count(&app, "SELECT COUNT(*) AS n FROM ticket WHERE org_id = 1").await;
    let res = app
        .gql(
            Some(&scoped),
            "{ viewer { hasOrganizationScope } tickets(first: 3) { totalCount nodes { requester { name } } } }",
            json!({}),
        )
        .await;
    let d = data(&res);
    assert_eq!(d["viewer"]["hasOrganizationScope"], true);
    assert_eq!(d["tickets"]["totalCount"], org_tickets);

    // The seed builds the search index in one pass: a phrase finds exactly the tickets
    // whose readable text contains it (counted here with LIKE), and internal notes' words
    // find nothing for a customer while an agent finds them.
    let phrase_in_org = count(
        &app,
        "SELECT COUNT(*) AS n FROM ticket t WHERE t.org_id = 1 AND (
           LOWER(t.subject) LIKE '%invoice export%' OR LOWER(t.description) LIKE '%invoice export%'
           OR EXISTS (SELECT 1 FROM comment c WHERE c.ticket_id = t.id AND c.public
                      AND LOWER(c.body) LIKE '%invoice export%'))",
    )
    .await;
    assert!(phrase_in_org > 0);
    let search = "query($q: String!) { tickets(filter: { search: $q }) { totalCount } }";
    let res = app
        .gql(Some(&scoped), search, json!({ "q": "\"Invoice EXPORT\"" }))
        .await;
    assert_eq!(data(&res)["tickets"]["totalCount"], phrase_in_org, "{res}");
    let noted = count(
        &app,
        "SELECT COUNT(DISTINCT c.ticket_id) AS n FROM comment c
          WHERE NOT c.public AND LOWER(c.body) LIKE '%enterprise%'",
    )
    .await;
    assert!(noted > 0);
    let res = app
        .gql(Some(&scoped), search, json!({ "q": "enterprise" }))
        .await;
    assert_eq!(data(&res)["tickets"]["totalCount"], 0, "{res}");
    let agent = app
        .sign_in(&TestApp::claims("agent-1", "agent", None))
        .await;
    let res = app
        .gql(Some(&agent), search, json!({ "q": "enterprise" }))
        .await;
    assert_eq!(data(&res)["tickets"]["totalCount"], noted, "{res}");

    // A customer without scope sees their own tickets only.
    let row = app
        .app
        .db
        .query_one_raw(Statement::from_string(
            app.app.db.get_database_backend(),
            "SELECT u.sub AS sub, o.key AS org, COUNT(t.id) AS n FROM app_user u
             JOIN organization o ON o.id = u.org_id JOIN ticket t ON t.requester_id = u.id
             WHERE NOT EXISTS (SELECT 1 FROM org_scope_grant g WHERE g.user_id = u.id)
             GROUP BY u.sub, o.key ORDER BY n DESC, u.sub LIMIT 1",
        ))
        .await
        .unwrap()
        .expect("an unscoped customer with tickets");
    let (sub, org, own): (String, String, i64) = (
        row.try_get("", "sub").unwrap(),
        row.try_get("", "org").unwrap(),
        row.try_get("", "n").unwrap(),
    );
    let unscoped = app
        .sign_in(&TestApp::claims(&sub, "customer", Some(&org)))
        .await;
    let res = app
        .gql(
            Some(&unscoped),
            "{ viewer { id hasOrganizationScope } tickets { totalCount } }",
            json!({}),
        )
        .await;
    let d = data(&res);
    assert_eq!(d["viewer"]["hasOrganizationScope"], false);
    assert_eq!(d["tickets"]["totalCount"], own);
    assert_eq!(d["viewer"]["id"], unscoped.id.as_str());

    // Writes continue after the seeded ids and numbers (PostgreSQL sequences, the counter).
    let created = app.create_ticket(&scoped, "after the seed").await;
    let res = app
        .gql(
            Some(&scoped),
            "query($id: ID!) { ticket(id: $id) { number } }",
            json!({ "id": created }),
        )
        .await;
    assert_eq!(data(&res)["ticket"]["number"], summary.rows("ticket") + 1);
    let escalation = app.escalate(&agent, &created, "t", "P1").await;
    let lead = app
        .sign_in(&TestApp::claims("triage-1", "triage_lead", None))
        .await;
    let triaged = app.triage(&lead, &escalation, "HOTFIX").await;
    assert_eq!(triaged["status"], "IN_PROGRESS");
    let admin = app
        .sign_in(&TestApp::claims("admin-1", "admin", None))
        .await;
    app.grant_scope(&admin, &unscoped).await;
}
