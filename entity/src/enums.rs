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
        );
    }
}
