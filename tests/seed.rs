//! `tier3 seed` loads the whole story through the domain services, once.

mod common;

use common::{TestApp, data};
use serde_json::json;

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

/// A fingerprint of what a scale seed wrote, to compare two runs.
async fn fingerprint(app: &TestApp) -> String {
    use sea_orm::{ConnectionTrait, Statement};
    let db = &app.app.db;
    let mut out = String::new();
    for sql in [
        "SELECT COUNT(*) AS n, CAST(SUM(org_id * 7 + requester_id) AS BIGINT) AS s FROM ticket",
        "SELECT COUNT(*) AS n, CAST(SUM(ticket_id + author_id * CASE WHEN public THEN 1 ELSE 3 END) AS BIGINT) AS s FROM comment",
        "SELECT COUNT(*) AS n, CAST(SUM(COALESCE(release_id, 0) + id) AS BIGINT) AS s FROM escalation",
    ] {
        let row = db
            .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
            .await
            .unwrap()
            .unwrap();
        let n: i64 = row.try_get("", "n").unwrap();
        let s: i64 = row.try_get("", "s").unwrap();
        out.push_str(&format!("{n}:{s};"));
    }
    out
}

#[tokio::test]
async fn the_scale_seed_is_deterministic_and_usable_through_the_api() {
    let (one, two) = (TestApp::spawn().await, TestApp::spawn().await);
    let counts = tier3::seed::scale::run(&one.app.db, 0.005, 7)
        .await
        .unwrap();
    tier3::seed::scale::run(&two.app.db, 0.005, 7)
        .await
        .unwrap();
    assert_eq!(counts.organizations, 1);
    assert_eq!(counts.users, 100);
    assert_eq!(counts.tickets, 1_000);
    assert!((3_500..6_500).contains(&counts.comments), "{counts:?}");
    assert_eq!(counts.escalations, 100);
    assert_eq!(fingerprint(&one).await, fingerprint(&two).await);
    assert!(
        tier3::seed::scale::run(&one.app.db, 0.005, 7)
            .await
            .is_err(),
        "refuses a database that has tickets"
    );

    // Every status and track is there.
    let admin = one.admin().await;
    for status in ["NEW", "OPEN", "PENDING", "ON_HOLD", "SOLVED", "CLOSED"] {
        let res = one
            .gql(
                Some(&admin),
                &format!("{{ tickets(filter: {{ status: [{status}] }}) {{ totalCount }} }}"),
                json!({}),
            )
            .await;
        assert!(
            data(&res)["tickets"]["totalCount"].as_u64().unwrap() > 0,
            "{status}"
        );
    }
    for status in [
        "AWAITING_TRIAGE",
        "IN_PROGRESS",
        "UNDER_REVIEW",
        "SCHEDULED",
        "RELEASED",
        "DECLINED",
    ] {
        let res = one
            .gql(
                Some(&admin),
                &format!("{{ escalations(filter: {{ status: [{status}] }}) {{ totalCount }} }}"),
                json!({}),
            )
            .await;
        assert!(
            data(&res)["escalations"]["totalCount"].as_u64().unwrap() > 0,
            "{status}"
        );
    }

    // The documented users sign in: the first customer of an organization sees all of it.
    let token = one.sign(&TestApp::claims(
        "cust-0001-1",
        "customer",
        Some("org-0001"),
    ));
    let res = one
        .gql_token(
            Some(&token),
            "{ viewer { hasOrganizationScope } tickets(first: 3) { totalCount nodes { requester { name } } } }",
            json!({}),
        )
        .await;
    let d = data(&res);
    assert_eq!(d["viewer"]["hasOrganizationScope"], true);
    assert_eq!(d["tickets"]["totalCount"], 1_000);
    // New writes continue after the seeded ids and numbers.
    let res = one
        .gql_token(
            Some(&token),
            r#"mutation { createTicket(input: { subject: "after the seed", description: "d" }) { ticket { number } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(data(&res)["createTicket"]["ticket"]["number"], 1_001);
}
