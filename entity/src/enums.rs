//! Enumerations stored as plain strings, portable across SQLite and PostgreSQL
//! (`db_type = "String(StringLen::None)"`, no native enum types). The stored values are also the
//! GraphQL enum values and the serde representation, so they must never change.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A user's role, from the JWT `role` claim (`app_user.role`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    #[sea_orm(string_value = "CUSTOMER")]
    Customer,
    #[sea_orm(string_value = "AGENT")]
    Agent,
    #[sea_orm(string_value = "DEVELOPER")]
    Developer,
    #[sea_orm(string_value = "TRIAGE_LEAD")]
    TriageLead,
    #[sea_orm(string_value = "ADMIN")]
    Admin,
}

impl Role {
    /// The stored value, e.g. `"CUSTOMER"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Customer => "CUSTOMER",
            Self::Agent => "AGENT",
            Self::Developer => "DEVELOPER",
            Self::TriageLead => "TRIAGE_LEAD",
            Self::Admin => "ADMIN",
        }
    }
}

/// Lifecycle state of a ticket (`ticket.status`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TicketStatus {
    #[sea_orm(string_value = "NEW")]
    New,
    #[sea_orm(string_value = "OPEN")]
    Open,
    #[sea_orm(string_value = "PENDING")]
    Pending,
    #[sea_orm(string_value = "ON_HOLD")]
    OnHold,
    #[sea_orm(string_value = "SOLVED")]
    Solved,
    #[sea_orm(string_value = "CLOSED")]
    Closed,
}

impl TicketStatus {
    /// The stored value, e.g. `"NEW"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::New => "NEW",
            Self::Open => "OPEN",
            Self::Pending => "PENDING",
            Self::OnHold => "ON_HOLD",
            Self::Solved => "SOLVED",
            Self::Closed => "CLOSED",
        }
    }
}

/// Priority of a ticket (`ticket.priority`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TicketPriority {
    #[sea_orm(string_value = "URGENT")]
    Urgent,
    #[sea_orm(string_value = "HIGH")]
    High,
    #[sea_orm(string_value = "NORMAL")]
    Normal,
    #[sea_orm(string_value = "LOW")]
    Low,
}

impl TicketPriority {
    /// The stored value, e.g. `"URGENT"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Urgent => "URGENT",
            Self::High => "HIGH",
            Self::Normal => "NORMAL",
            Self::Low => "LOW",
        }
    }
}

/// What solved a ticket (`ticket.solved_by`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SolvedBy {
    #[sea_orm(string_value = "RELEASE")]
    Release,
    #[sea_orm(string_value = "TRIAGE")]
    Triage,
    #[sea_orm(string_value = "AGENT")]
    Agent,
    #[sea_orm(string_value = "CUSTOMER")]
    Customer,
}

impl SolvedBy {
    /// The stored value, e.g. `"RELEASE"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Release => "RELEASE",
            Self::Triage => "TRIAGE",
            Self::Agent => "AGENT",
            Self::Customer => "CUSTOMER",
        }
    }
}

/// Priority of an escalation (`escalation.priority`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EscalationPriority {
    #[sea_orm(string_value = "P0")]
    P0,
    #[sea_orm(string_value = "P1")]
    P1,
    #[sea_orm(string_value = "P2")]
    P2,
    #[sea_orm(string_value = "P3")]
    P3,
}

impl EscalationPriority {
    /// The stored value, e.g. `"P0"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::P0 => "P0",
            Self::P1 => "P1",
            Self::P2 => "P2",
            Self::P3 => "P3",
        }
    }
}

/// Track chosen at triage (`escalation.track`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EscalationTrack {
    #[sea_orm(string_value = "HOTFIX")]
    Hotfix,
    #[sea_orm(string_value = "PRODUCT_PLANNING")]
    ProductPlanning,
    #[sea_orm(string_value = "FEATURE_REQUEST")]
    FeatureRequest,
}

impl EscalationTrack {
    /// The stored value, e.g. `"HOTFIX"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Hotfix => "HOTFIX",
            Self::ProductPlanning => "PRODUCT_PLANNING",
            Self::FeatureRequest => "FEATURE_REQUEST",
        }
    }
}

/// Lifecycle state of an escalation (`escalation.status`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EscalationStatus {
    #[sea_orm(string_value = "AWAITING_TRIAGE")]
    AwaitingTriage,
    #[sea_orm(string_value = "IN_PROGRESS")]
    InProgress,
    #[sea_orm(string_value = "UNDER_REVIEW")]
    UnderReview,
    #[sea_orm(string_value = "SCHEDULED")]
    Scheduled,
    #[sea_orm(string_value = "RELEASED")]
    Released,
    #[sea_orm(string_value = "DECLINED")]
    Declined,
}

impl EscalationStatus {
    /// The stored value, e.g. `"AWAITING_TRIAGE"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::AwaitingTriage => "AWAITING_TRIAGE",
            Self::InProgress => "IN_PROGRESS",
            Self::UnderReview => "UNDER_REVIEW",
            Self::Scheduled => "SCHEDULED",
            Self::Released => "RELEASED",
            Self::Declined => "DECLINED",
        }
    }
}

/// Kind of release (`release.kind`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReleaseKind {
    #[sea_orm(string_value = "HOTFIX")]
    Hotfix,
    #[sea_orm(string_value = "QUARTERLY")]
    Quarterly,
}

impl ReleaseKind {
    /// The stored value, e.g. `"HOTFIX"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Hotfix => "HOTFIX",
            Self::Quarterly => "QUARTERLY",
        }
    }
}

/// Lifecycle state of a release (`release.status`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReleaseStatus {
    #[sea_orm(string_value = "PLANNED")]
    Planned,
    #[sea_orm(string_value = "IMMINENT")]
    Imminent,
    #[sea_orm(string_value = "RELEASED")]
    Released,
}

impl ReleaseStatus {
    /// The stored value, e.g. `"PLANNED"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Planned => "PLANNED",
            Self::Imminent => "IMMINENT",
            Self::Released => "RELEASED",
        }
    }
}

/// What an event row says happened (`event.kind`): the one list of event kinds, written by
/// `events::record` and read back by the history, the subscriptions and the seeds.
///
/// Unlike the enums above it is implemented by hand rather than with `DeriveActiveEnum`,
/// because of [`EventKind::Unknown`]: the derived decoder (sea-orm 2.0) fails the whole query
/// with `DbErr::Type("unexpected value for … enum")` on a value it does not list. The event
/// table is append-only and shared by every replica, so a kind written by a newer version
/// would then break every ticket history containing it, and the subscription publisher, which
/// rereads a failed batch instead of skipping a row, would stop at it for good. Decoding is
/// total instead: an unlisted value reads as `Unknown`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EventKind {
    TicketCreated,
    CommentAdded,
    StatusChanged,
    PriorityChanged,
    AssigneeChanged,
    ScopeGranted,
    ScopeRevoked,
    Escalated,
    TicketLinked,
    /// A colleague was copied on the ticket (public).
    ParticipantAdded,
    /// A colleague was taken off the ticket (public).
    ParticipantRemoved,
    Triaged,
    EscalationAssigned,
    EscalationUpdatePosted,
    EscalationDeclined,
    EscalationScheduled,
    EscalationReleased,
    ReleaseCreated,
    ReleaseImminent,
    ReleaseShipped,
    ReleaseNotePublished,
    ReleaseNoteVoted,
    ReleaseNotesFollowed,
    ReleaseNotesUnfollowed,
    /// A stored kind this version does not name (written by a newer one). Only ever read:
    /// `events::record` never writes it (its stored form `UNKNOWN` is a placeholder).
    #[serde(other)]
    Unknown,
}

impl EventKind {
    /// The stored value, e.g. `"STATUS_CHANGED"`: the only place the names are spelled.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::TicketCreated => "TICKET_CREATED",
            Self::CommentAdded => "COMMENT_ADDED",
            Self::StatusChanged => "STATUS_CHANGED",
            Self::PriorityChanged => "PRIORITY_CHANGED",
            Self::AssigneeChanged => "ASSIGNEE_CHANGED",
            Self::ScopeGranted => "SCOPE_GRANTED",
            Self::ScopeRevoked => "SCOPE_REVOKED",
            Self::Escalated => "ESCALATED",
            Self::TicketLinked => "TICKET_LINKED",
            Self::ParticipantAdded => "PARTICIPANT_ADDED",
            Self::ParticipantRemoved => "PARTICIPANT_REMOVED",
            Self::Triaged => "TRIAGED",
            Self::EscalationAssigned => "ESCALATION_ASSIGNED",
            Self::EscalationUpdatePosted => "ESCALATION_UPDATE_POSTED",
            Self::EscalationDeclined => "ESCALATION_DECLINED",
            Self::EscalationScheduled => "ESCALATION_SCHEDULED",
            Self::EscalationReleased => "ESCALATION_RELEASED",
            Self::ReleaseCreated => "RELEASE_CREATED",
            Self::ReleaseImminent => "RELEASE_IMMINENT",
            Self::ReleaseShipped => "RELEASE_SHIPPED",
            Self::ReleaseNotePublished => "RELEASE_NOTE_PUBLISHED",
            Self::ReleaseNoteVoted => "RELEASE_NOTE_VOTED",
            Self::ReleaseNotesFollowed => "RELEASE_NOTES_FOLLOWED",
            Self::ReleaseNotesUnfollowed => "RELEASE_NOTES_UNFOLLOWED",
            Self::Unknown => "UNKNOWN",
        }
    }

    /// The kind stored as `s`; `Unknown` for a value this version does not name.
    pub fn from_stored(s: &str) -> Self {
        <Self as sea_orm::Iterable>::iter()
            .find(|k| k.as_str() == s)
            .unwrap_or(Self::Unknown)
    }
}

// Below: what `DeriveActiveEnum` generates for `rs_type = "String"` with a string `db_type`
// (sea-orm-macros 2.0.4), except that every decoder goes through the total `from_stored`.

/// The enum's name, which `ActiveEnum` requires; a string column never uses it.
#[derive(Debug, DeriveIden)]
pub struct EventKindEnum;

impl ActiveEnum for EventKind {
    type Value = String;
    type ValueVec = Vec<String>;

    fn name() -> DynIden {
        sea_orm::sea_query::IntoIden::into_iden(EventKindEnum)
    }

    fn to_value(&self) -> String {
        self.as_str().to_owned()
    }

    fn try_from_value(v: &String) -> Result<Self, DbErr> {
        Ok(Self::from_stored(v))
    }

    fn db_type() -> ColumnDef {
        ColumnType::String(StringLen::None).def()
    }
}

impl From<EventKind> for Value {
    fn from(k: EventKind) -> Value {
        k.as_str().into()
    }
}

impl sea_orm::TryGetable for EventKind {
    fn try_get_by<I: sea_orm::ColIdx>(
        res: &sea_orm::QueryResult,
        idx: I,
    ) -> Result<Self, sea_orm::TryGetError> {
        String::try_get_by(res, idx).map(|s| Self::from_stored(&s))
    }
}

impl sea_orm::sea_query::ValueType for EventKind {
    fn try_from(v: Value) -> Result<Self, sea_orm::sea_query::ValueTypeErr> {
        <String as sea_orm::sea_query::ValueType>::try_from(v).map(|s| Self::from_stored(&s))
    }

    fn type_name() -> String {
        "EventKind".to_owned()
    }

    fn array_type() -> sea_orm::sea_query::ArrayType {
        <String as sea_orm::sea_query::ValueType>::array_type()
    }

    fn column_type() -> ColumnType {
        ColumnType::String(StringLen::None)
    }
}

impl sea_orm::sea_query::Nullable for EventKind {
    fn null() -> Value {
        <String as sea_orm::sea_query::Nullable>::null()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::Iterable;

    /// The SeaORM value, `as_str` and the serde form agree for every variant and round-trip.
    macro_rules! check {
        ($($ty:ty),+ $(,)?) => {$(
            for v in <$ty>::iter() {
                assert_eq!(v.to_value(), v.as_str());
                assert_eq!(<$ty>::try_from_value(&v.as_str().to_owned()).unwrap(), v);
                assert_eq!(serde_json::to_value(v).unwrap(), v.as_str());
                assert_eq!(
                    serde_json::from_value::<$ty>(v.as_str().into()).unwrap(),
                    v
                );
            }
        )+};
    }

    #[test]
    fn stored_values_match_as_str_and_serde() {
        check!(
            Role,
            TicketStatus,
            TicketPriority,
            SolvedBy,
            EscalationPriority,
            EscalationTrack,
            EscalationStatus,
            ReleaseKind,
            ReleaseStatus,
            EventKind,
        );
    }

    /// Every event kind has its own stored value, and an unlisted one reads as `Unknown`
    /// (rather than failing the query).
    #[test]
    fn event_kinds_are_distinct_and_decoding_is_total() {
        let mut seen = std::collections::HashSet::new();
        for k in EventKind::iter() {
            assert!(seen.insert(k.as_str()), "{} stored twice", k.as_str());
            assert_eq!(EventKind::from_stored(k.as_str()), k);
        }
        assert_eq!(
            EventKind::from_stored("SHIPPED_TO_MARS"),
            EventKind::Unknown
        );
        assert_eq!(
            EventKind::try_from_value(&"SHIPPED_TO_MARS".to_owned()).unwrap(),
            EventKind::Unknown
        );
        assert_eq!(
            serde_json::from_value::<EventKind>("SHIPPED_TO_MARS".into()).unwrap(),
            EventKind::Unknown
        );
    }
}

/// Where a delivery goes (`delivery.channel`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DeliveryChannel {
    #[sea_orm(string_value = "EMAIL")]
    Email,
    #[sea_orm(string_value = "WEBHOOK")]
    Webhook,
}

impl DeliveryChannel {
    /// The stored value, e.g. `"EMAIL"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Email => "EMAIL",
            Self::Webhook => "WEBHOOK",
        }
    }
}

/// Where a delivery stands (`delivery.status`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DeliveryStatus {
    /// Waiting for its next attempt (or being attempted under a lease).
    #[sea_orm(string_value = "PENDING")]
    Pending,
    #[sea_orm(string_value = "DELIVERED")]
    Delivered,
    /// Given up: retries exhausted, refused for good, or nobody left to send it to.
    #[sea_orm(string_value = "FAILED")]
    Failed,
}

impl DeliveryStatus {
    /// The stored value, e.g. `"PENDING"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Delivered => "DELIVERED",
            Self::Failed => "FAILED",
        }
    }
}

/// What a mail is about, as far as unsubscribing goes (`unsubscribe_token.category`,
/// `delivery.category`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MailCategory {
    #[sea_orm(string_value = "RELEASE_NOTES")]
    ReleaseNotes,
    #[sea_orm(string_value = "TICKET_UPDATES")]
    TicketUpdates,
}

impl MailCategory {
    /// The stored value, e.g. `"RELEASE_NOTES"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::ReleaseNotes => "RELEASE_NOTES",
            Self::TicketUpdates => "TICKET_UPDATES",
        }
    }
}

/// What a webhook endpoint subscribes to. Stored by name in `webhook_endpoint.events`
/// (comma-separated), so it is parsed by hand; [`WebhookEventType::wire`] is the `type`
/// sent in the payload.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, EnumIter, Serialize, Deserialize,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WebhookEventType {
    TicketCreated,
    TicketStatusChanged,
    CommentAdded,
    TicketEscalated,
    EscalationTriaged,
    EscalationUpdated,
    ReleaseImminent,
    ReleaseShipped,
    ReleaseNotePublished,
}

impl WebhookEventType {
    /// The stored name, e.g. `"TICKET_CREATED"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::TicketCreated => "TICKET_CREATED",
            Self::TicketStatusChanged => "TICKET_STATUS_CHANGED",
            Self::CommentAdded => "COMMENT_ADDED",
            Self::TicketEscalated => "TICKET_ESCALATED",
            Self::EscalationTriaged => "ESCALATION_TRIAGED",
            Self::EscalationUpdated => "ESCALATION_UPDATED",
            Self::ReleaseImminent => "RELEASE_IMMINENT",
            Self::ReleaseShipped => "RELEASE_SHIPPED",
            Self::ReleaseNotePublished => "RELEASE_NOTE_PUBLISHED",
        }
    }

    /// The payload's `type`, e.g. `"ticket.created"`.
    pub fn wire(&self) -> &'static str {
        match self {
            Self::TicketCreated => "ticket.created",
            Self::TicketStatusChanged => "ticket.status_changed",
            Self::CommentAdded => "comment.added",
            Self::TicketEscalated => "ticket.escalated",
            Self::EscalationTriaged => "escalation.triaged",
            Self::EscalationUpdated => "escalation.updated",
            Self::ReleaseImminent => "release.imminent",
            Self::ReleaseShipped => "release.shipped",
            Self::ReleaseNotePublished => "release_note.published",
        }
    }

    /// The type of a stored name; `None` for a name this version does not know.
    pub fn parse(name: &str) -> Option<Self> {
        <Self as sea_orm::Iterable>::iter().find(|t| t.as_str() == name)
    }
}
