//! The workflow as steps. Each step runs one mutation as the actor it names first, asserts
//! that it succeeded (and moved what it should), and returns the new thing's global id:
//!
//! ```ignore
//! let t = app.create_ticket(&alice, "checkout returns 502").await;
//! let esc = app.escalate(&agent, &t, "Checkout fails", "P1").await;
//! app.triage(&lead, &esc, "HOTFIX").await;
//! let rel = app.create_release(&lead, "4.2.1", "HOTFIX").await;
//! app.schedule(&lead, &esc, &rel).await;
//! app.mark_imminent(&lead, &rel).await; // solves the linked tickets
//! app.ship(&lead, &rel).await;
//! ```
//!
//! A refusal is not a step: send it with [`TestApp::mutate`], which returns the whole
//! response, and assert its code.

use serde_json::{Value, json};

use super::{TestApp, User, data};

pub const CREATE_TICKET: &str =
    "mutation($i: CreateTicketInput!) { createTicket(input: $i) { ticket { id } } }";
pub const ADD_COMMENT: &str =
    "mutation($i: AddCommentInput!) { addComment(input: $i) { comment { id } } }";
pub const UPDATE_TICKET: &str = "mutation($i: UpdateTicketInput!) { updateTicket(input: $i) {
  ticket { id status priority solvedBy assignee { id } } } }";
pub const GRANT_SCOPE: &str = "mutation($i: GrantOrganizationScopeInput!) {
  grantOrganizationScope(input: $i) { user { id hasOrganizationScope } } }";
pub const REVOKE_SCOPE: &str = "mutation($i: RevokeOrganizationScopeInput!) {
  revokeOrganizationScope(input: $i) { user { id hasOrganizationScope } } }";

/// The quarter every quarterly release of the steps is planned for.
pub const QUARTER: &str = "2026-Q4";

/// The root field of `field(input: $i) { … }`.
pub fn field_of(mutation: &str) -> String {
    mutation.split('(').next().unwrap().trim().to_owned()
}

fn upper_first(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

/// `payload.<what>.id` (e.g. the escalation's id in an `escalateTicket` payload).
fn id_at(payload: &Value, what: &str) -> String {
    payload[what]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no {what} id in {payload}"))
        .to_owned()
}

impl TestApp {
    // -----------------------------------------------------------------------------------
    // Any mutation.

    /// Runs `field(input: $i) { … }` as `who` (or anonymously) with `input` as `$i` (of
    /// type `FieldInput!`); returns the whole response, refusals included.
    pub async fn mutate(&self, who: Option<&User>, mutation: &str, input: Value) -> Value {
        let query = format!(
            "mutation($i: {}Input!) {{ {mutation} }}",
            upper_first(&field_of(mutation))
        );
        self.gql(who, &query, json!({ "i": input })).await
    }

    /// Runs a mutation that must succeed; returns its payload (`data.<field>`).
    pub async fn mutate_ok(&self, who: &User, mutation: &str, input: Value) -> Value {
        let res = self.mutate(Some(who), mutation, input).await;
        data(&res)[field_of(mutation).as_str()].clone()
    }

    // -----------------------------------------------------------------------------------
    // Tickets and comments.

    /// `user` (a customer) opens a ticket; its global id.
    pub async fn create_ticket(&self, user: &User, subject: &str) -> String {
        let res = self
            .gql(
                Some(user),
                CREATE_TICKET,
                json!({ "i": { "subject": subject, "description": format!("about {subject}") } }),
            )
            .await;
        res["data"]["createTicket"]["ticket"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("createTicket: {res}"))
            .to_owned()
    }

    /// `user` comments on a ticket, publicly or as an internal note; the comment's id.
    pub async fn comment(&self, user: &User, ticket: &str, body: &str, public: bool) -> String {
        let res = self
            .gql(
                Some(user),
                ADD_COMMENT,
                json!({ "i": { "ticketId": ticket, "body": body, "public": public } }),
            )
            .await;
        res["data"]["addComment"]["comment"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("addComment: {res}"))
            .to_owned()
    }

    /// `updateTicket` as `user` with this input; the whole response.
    pub async fn update_ticket(&self, user: &User, input: Value) -> Value {
        self.gql(Some(user), UPDATE_TICKET, json!({ "i": input }))
            .await
    }

    /// `user` (an agent) moves a ticket to `status`, which must work.
    pub async fn set_status(&self, user: &User, ticket: &str, status: &str) {
        let res = self
            .update_ticket(user, json!({ "ticketId": ticket, "status": status }))
            .await;
        assert_eq!(
            data(&res)["updateTicket"]["ticket"]["status"],
            status,
            "{res}"
        );
    }

    // -----------------------------------------------------------------------------------
    // Organization scope.

    /// `admin` grants organization scope to `user`.
    pub async fn grant_scope(&self, admin: &User, user: &User) {
        let res = self
            .gql(
                Some(admin),
                GRANT_SCOPE,
                json!({ "i": { "userId": user.id } }),
            )
            .await;
        assert_eq!(
            data(&res)["grantOrganizationScope"]["user"],
            json!({ "id": user.id, "hasOrganizationScope": true }),
            "grant: {res}"
        );
    }

    /// `admin` revokes organization scope from `user`.
    pub async fn revoke_scope(&self, admin: &User, user: &User) {
        let res = self
            .gql(
                Some(admin),
                REVOKE_SCOPE,
                json!({ "i": { "userId": user.id } }),
            )
            .await;
        assert_eq!(
            data(&res)["revokeOrganizationScope"]["user"],
            json!({ "id": user.id, "hasOrganizationScope": false }),
            "revoke: {res}"
        );
    }

    /// `who` copies `user` on the ticket.
    pub async fn add_participant(&self, who: &User, ticket: &str, user: &User) {
        let res = self
            .gql(
                Some(who),
                "mutation($t: ID!, $u: ID!) { addTicketParticipant(input: { ticketId: $t, userId: $u }) { ticket { id } } }",
                json!({ "t": ticket, "u": user.id }),
            )
            .await;
        assert_eq!(
            data(&res)["addTicketParticipant"]["ticket"]["id"],
            ticket,
            "{res}"
        );
    }

    // -----------------------------------------------------------------------------------
    // Escalations.

    /// `agent` escalates a ticket to Tier 3 (details `SECRET-DETAILS of <title>`, which no
    /// customer may read); the escalation's id. It awaits triage.
    pub async fn escalate(
        &self,
        agent: &User,
        ticket: &str,
        title: &str,
        priority: &str,
    ) -> String {
        let p = self
            .mutate_ok(
                agent,
                "escalateTicket(input: $i) { escalation { id status } }",
                json!({ "ticketId": ticket, "title": title,
                        "details": format!("SECRET-DETAILS of {title}"), "priority": priority }),
            )
            .await;
        assert_eq!(p["escalation"]["status"], "AWAITING_TRIAGE", "{p}");
        id_at(&p, "escalation")
    }

    /// `agent` links another ticket to an escalation.
    pub async fn link(&self, agent: &User, escalation: &str, ticket: &str) {
        let p = self
            .mutate_ok(
                agent,
                "linkTicketToEscalation(input: $i) { ticket { id } }",
                json!({ "escalationId": escalation, "ticketId": ticket }),
            )
            .await;
        assert_eq!(p["ticket"]["id"], ticket, "{p}");
    }

    /// `lead` triages an escalation onto a track; the escalation as it is now
    /// (`id status track priority assignee { id }`).
    pub async fn triage(&self, lead: &User, escalation: &str, track: &str) -> Value {
        self.triage_with(lead, escalation, track, json!({})).await
    }

    /// [`triage`](Self::triage) with more of `TriageEscalationInput`, e.g.
    /// `json!({ "priority": "P0", "assigneeId": dev.id })`.
    pub async fn triage_with(
        &self,
        lead: &User,
        escalation: &str,
        track: &str,
        more: Value,
    ) -> Value {
        let mut input = json!({ "escalationId": escalation, "track": track });
        if let Value::Object(more) = more {
            input.as_object_mut().unwrap().extend(more);
        }
        let p = self
            .mutate_ok(
                lead,
                "triageEscalation(input: $i) { escalation { id status track priority assignee { id } } }",
                input,
            )
            .await;
        assert_eq!(p["escalation"]["track"], track, "{p}");
        p["escalation"].clone()
    }

    /// `dev` (Tier 3) posts an update, public or internal; the update's id.
    pub async fn post_update(
        &self,
        dev: &User,
        escalation: &str,
        body: &str,
        public: bool,
    ) -> String {
        let p = self
            .mutate_ok(
                dev,
                "postEscalationUpdate(input: $i) { escalationUpdate { id public } }",
                json!({ "escalationId": escalation, "body": body, "public": public }),
            )
            .await;
        assert_eq!(p["escalationUpdate"]["public"], public, "{p}");
        id_at(&p, "escalationUpdate")
    }

    // -----------------------------------------------------------------------------------
    // Releases and release notes.

    /// `lead` plans a release (`HOTFIX`, or `QUARTERLY` for [`QUARTER`]); its id.
    pub async fn create_release(&self, lead: &User, version: &str, kind: &str) -> String {
        let mut input = json!({ "version": version, "kind": kind });
        if kind == "QUARTERLY" {
            input["quarter"] = json!(QUARTER);
        }
        let p = self
            .mutate_ok(
                lead,
                "createRelease(input: $i) { release { id status } }",
                input,
            )
            .await;
        assert_eq!(p["release"]["status"], "PLANNED", "{p}");
        id_at(&p, "release")
    }

    /// `lead` schedules a triaged escalation into a release.
    pub async fn schedule(&self, lead: &User, escalation: &str, release: &str) {
        let p = self
            .mutate_ok(
                lead,
                "scheduleEscalation(input: $i) { escalation { status } }",
                json!({ "escalationId": escalation, "releaseId": release }),
            )
            .await;
        assert_eq!(p["escalation"]["status"], "SCHEDULED", "{p}");
    }

    /// `lead` marks a release imminent (which solves its hotfix tickets).
    pub async fn mark_imminent(&self, lead: &User, release: &str) {
        let p = self
            .mutate_ok(
                lead,
                "markReleaseImminent(input: $i) { release { status } }",
                json!({ "releaseId": release }),
            )
            .await;
        assert_eq!(p["release"]["status"], "IMMINENT", "{p}");
    }

    /// `lead` ships a release (its escalations are released).
    pub async fn ship(&self, lead: &User, release: &str) {
        let p = self
            .mutate_ok(
                lead,
                "shipRelease(input: $i) { release { status } }",
                json!({ "releaseId": release }),
            )
            .await;
        assert_eq!(p["release"]["status"], "RELEASED", "{p}");
    }

    /// `lead` publishes the release's note (body `All about <title>`); the note's id.
    pub async fn publish_note(&self, lead: &User, release: &str, title: &str) -> String {
        let p = self
            .mutate_ok(
                lead,
                "publishReleaseNote(input: $i) { releaseNote { id title } }",
                json!({ "releaseId": release, "title": title, "body": format!("All about {title}") }),
            )
            .await;
        assert_eq!(p["releaseNote"]["title"], title, "{p}");
        id_at(&p, "releaseNote")
    }

    /// `who` votes a note helpful or not (a second vote replaces the first).
    pub async fn vote(&self, who: &User, note: &str, helpful: bool) {
        let p = self
            .mutate_ok(
                who,
                "voteReleaseNote(input: $i) { releaseNote { viewerVote } }",
                json!({ "releaseNoteId": note, "helpful": helpful }),
            )
            .await;
        assert_eq!(p["releaseNote"]["viewerVote"], helpful, "{p}");
    }

    /// `who` follows release notes (and is notified of each one published).
    pub async fn follow_release_notes(&self, who: &User) {
        let res = self
            .gql(
                Some(who),
                "mutation { followReleaseNotes { following viewer { followsReleaseNotes } } }",
                json!({}),
            )
            .await;
        assert_eq!(
            data(&res)["followReleaseNotes"],
            json!({ "following": true, "viewer": { "followsReleaseNotes": true } }),
            "{res}"
        );
    }

    /// The ids of `who`'s notifications, newest first.
    pub async fn notification_ids(&self, who: &User) -> Vec<String> {
        let res = self
            .gql(
                Some(who),
                "{ notifications(first: 100) { nodes { id } } }",
                json!({}),
            )
            .await;
        data(&res)["notifications"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["id"].as_str().unwrap().to_owned())
            .collect()
    }
}
