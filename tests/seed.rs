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
