//! Status machines as pure functions: `(state, action) -> Result<state>`. A move not
//! listed here is refused as `INVALID_TRANSITION`.

use entity::{EscalationStatus, EscalationTrack, ReleaseKind, ReleaseStatus, TicketStatus};

use crate::error::{AppError, AppResult};

fn invalid(from: TicketStatus, action: impl Into<String>) -> AppError {
    AppError::InvalidTransition {
        item: "ticket",
        from: from.as_str(),
        action: action.into(),
    }
}

/// A manual status change through `updateTicket`.
pub fn set_ticket_status(from: TicketStatus, to: TicketStatus) -> AppResult<TicketStatus> {
    use TicketStatus::*;
    let allowed = match from {
        New => matches!(to, Open | Pending | OnHold | Solved),
        Open => matches!(to, Pending | OnHold | Solved),
        Pending => matches!(to, Open | OnHold | Solved),
        OnHold => matches!(to, Open | Pending | Solved),
        Solved => matches!(to, Open | Closed),
        Closed => false,
    };
    if allowed {
        Ok(to)
    } else {
        Err(invalid(from, format!("move to {}", to.as_str())))
    }
}

/// Any other change (priority, assignee) is refused once a ticket is closed.
pub fn edit_ticket(from: TicketStatus) -> AppResult<()> {
    if from == TicketStatus::Closed {
        Err(invalid(from, "edit"))
    } else {
        Ok(())
    }
}

/// The status after a comment: a customer's reply reopens a solved (or pending) ticket;
/// nothing may be added to a closed one. `None` means the status stays.
pub fn comment_on_ticket(from: TicketStatus, by_customer: bool) -> AppResult<Option<TicketStatus>> {
    use TicketStatus::*;
    match from {
        Closed => Err(invalid(from, "comment on")),
        Solved | Pending if by_customer => Ok(Some(Open)),
        _ => Ok(None),
    }
}

fn refuse(item: &'static str, from: &'static str, action: impl Into<String>) -> AppError {
    AppError::InvalidTransition {
        item,
        from,
        action: action.into(),
    }
}

/// Triage puts an escalation awaiting triage on one track.
pub fn triage(from: EscalationStatus, track: EscalationTrack) -> AppResult<EscalationStatus> {
    match from {
        EscalationStatus::AwaitingTriage => Ok(match track {
            EscalationTrack::Hotfix => EscalationStatus::InProgress,
            EscalationTrack::ProductPlanning | EscalationTrack::FeatureRequest => {
                EscalationStatus::UnderReview
            }
        }),
        _ => Err(refuse(
            "escalation",
            from.as_str(),
            "triage (it was already triaged)",
        )),
    }
}

/// Whether an escalation still accepts links, assignment and updates.
pub fn is_open(status: EscalationStatus) -> bool {
    !matches!(
        status,
        EscalationStatus::Released | EscalationStatus::Declined
    )
}

/// Refuses work on a released or declined escalation.
pub fn require_open(from: EscalationStatus, action: &str) -> AppResult<()> {
    if is_open(from) {
        Ok(())
    } else {
        Err(refuse("escalation", from.as_str(), action.to_owned()))
    }
}

/// Only an escalation under review may be declined.
pub fn decline(from: EscalationStatus) -> AppResult<EscalationStatus> {
    match from {
        EscalationStatus::UnderReview => Ok(EscalationStatus::Declined),
        _ => Err(refuse(
            "escalation",
            from.as_str(),
            "decline (only escalations under review can be)",
        )),
    }
}

/// Scheduling: a hotfix in progress into a `HOTFIX` release, a planning or feature request
/// under review into a `QUARTERLY` one, never into a released release.
pub fn schedule(
    from: EscalationStatus,
    track: Option<EscalationTrack>,
    kind: ReleaseKind,
    release: ReleaseStatus,
) -> AppResult<EscalationStatus> {
    if release == ReleaseStatus::Released {
        return Err(refuse("release", release.as_str(), "schedule into"));
    }
    let (expected_status, expected_kind) = match track {
        Some(EscalationTrack::Hotfix) => (EscalationStatus::InProgress, ReleaseKind::Hotfix),
        Some(_) => (EscalationStatus::UnderReview, ReleaseKind::Quarterly),
        None => {
            return Err(refuse(
                "escalation",
                from.as_str(),
                "schedule (triage it first)",
            ));
        }
    };
    if from != expected_status {
        return Err(refuse("escalation", from.as_str(), "schedule"));
    }
    if kind != expected_kind {
        return Err(refuse(
            "release",
            kind.as_str(),
            format!(
                "schedule a {} escalation into it (it needs a {} release)",
                track.map(|t| t.as_str()).unwrap_or_default(),
                expected_kind.as_str()
            ),
        ));
    }
    Ok(EscalationStatus::Scheduled)
}

/// A release becomes imminent once, from planned.
pub fn release_imminent(from: ReleaseStatus) -> AppResult<ReleaseStatus> {
    match from {
        ReleaseStatus::Planned => Ok(ReleaseStatus::Imminent),
        _ => Err(refuse("release", from.as_str(), "mark imminent")),
    }
}

/// A release ships once, from planned or imminent.
pub fn ship(from: ReleaseStatus) -> AppResult<ReleaseStatus> {
    match from {
        ReleaseStatus::Planned | ReleaseStatus::Imminent => Ok(ReleaseStatus::Released),
        ReleaseStatus::Released => Err(refuse(
            "release",
            from.as_str(),
            "ship (it already shipped)",
        )),
    }
}

/// Notes are published for imminent or released releases.
pub fn publish_note(release: ReleaseStatus) -> AppResult<()> {
    match release {
        ReleaseStatus::Imminent | ReleaseStatus::Released => Ok(()),
        ReleaseStatus::Planned => Err(refuse(
            "release",
            release.as_str(),
            "publish a note (mark it imminent or ship it first)",
        )),
    }
}

/// The status a linked ticket moves to when the workflow acts on it, if it moves at all.
/// Closed tickets are read-only and solved ones stay solved.
pub fn workflow_ticket_move(from: TicketStatus, to: TicketStatus) -> Option<TicketStatus> {
    use TicketStatus::*;
    match from {
        Closed | Solved => None,
        s if s == to => None,
        _ => Some(to),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use TicketStatus::*;

    const ALL: [TicketStatus; 6] = [New, Open, Pending, OnHold, Solved, Closed];

    #[test]
    fn manual_moves_follow_the_table() {
        let allowed: &[(TicketStatus, &[TicketStatus])] = &[
            (New, &[Open, Pending, OnHold, Solved]),
            (Open, &[Pending, OnHold, Solved]),
            (Pending, &[Open, OnHold, Solved]),
            (OnHold, &[Open, Pending, Solved]),
            (Solved, &[Open, Closed]),
            (Closed, &[]),
        ];
        for (from, tos) in allowed {
            for to in ALL {
                let res = set_ticket_status(*from, to);
                if tos.contains(&to) {
                    assert_eq!(res.unwrap(), to, "{from:?} -> {to:?}");
                } else {
                    assert_eq!(
                        res.unwrap_err().code(),
                        "INVALID_TRANSITION",
                        "{from:?} -> {to:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn customer_reply_reopens_and_closed_is_read_only() {
        assert_eq!(comment_on_ticket(Solved, true).unwrap(), Some(Open));
        assert_eq!(comment_on_ticket(Pending, true).unwrap(), Some(Open));
        assert_eq!(comment_on_ticket(Solved, false).unwrap(), None);
        assert_eq!(comment_on_ticket(OnHold, true).unwrap(), None);
        assert_eq!(comment_on_ticket(New, true).unwrap(), None);
        assert!(comment_on_ticket(Closed, true).is_err());
        assert!(comment_on_ticket(Closed, false).is_err());
        assert!(edit_ticket(Closed).is_err());
        assert!(edit_ticket(Solved).is_ok());
    }

    #[test]
    fn escalations_follow_their_tracks() {
        use EscalationStatus as E;
        use EscalationTrack as T;
        assert_eq!(triage(E::AwaitingTriage, T::Hotfix).unwrap(), E::InProgress);
        assert_eq!(
            triage(E::AwaitingTriage, T::ProductPlanning).unwrap(),
            E::UnderReview
        );
        assert_eq!(
            triage(E::AwaitingTriage, T::FeatureRequest).unwrap(),
            E::UnderReview
        );
        for from in [
            E::InProgress,
            E::UnderReview,
            E::Scheduled,
            E::Released,
            E::Declined,
        ] {
            assert_eq!(
                triage(from, T::Hotfix).unwrap_err().code(),
                "INVALID_TRANSITION"
            );
        }
        assert_eq!(decline(E::UnderReview).unwrap(), E::Declined);
        for from in [
            E::AwaitingTriage,
            E::InProgress,
            E::Scheduled,
            E::Released,
            E::Declined,
        ] {
            assert!(decline(from).is_err(), "{from:?}");
        }
    }

    #[test]
    fn scheduling_matches_track_and_release_kind() {
        use EscalationStatus as E;
        use EscalationTrack as T;
        use ReleaseKind as K;
        use ReleaseStatus as R;
        let hot = Some(T::Hotfix);
        let plan = Some(T::ProductPlanning);
        assert_eq!(
            schedule(E::InProgress, hot, K::Hotfix, R::Planned).unwrap(),
            E::Scheduled
        );
        assert_eq!(
            schedule(E::InProgress, hot, K::Hotfix, R::Imminent).unwrap(),
            E::Scheduled
        );
        assert_eq!(
            schedule(E::UnderReview, plan, K::Quarterly, R::Planned).unwrap(),
            E::Scheduled
        );
        assert!(schedule(E::InProgress, hot, K::Quarterly, R::Planned).is_err());
        assert!(schedule(E::UnderReview, plan, K::Hotfix, R::Planned).is_err());
        assert!(schedule(E::InProgress, hot, K::Hotfix, R::Released).is_err());
        assert!(schedule(E::AwaitingTriage, None, K::Hotfix, R::Planned).is_err());
        assert!(schedule(E::Scheduled, hot, K::Hotfix, R::Planned).is_err());
    }

    #[test]
    fn releases_move_forward_once() {
        use ReleaseStatus as R;
        assert_eq!(release_imminent(R::Planned).unwrap(), R::Imminent);
        assert!(release_imminent(R::Imminent).is_err());
        assert!(release_imminent(R::Released).is_err());
        assert_eq!(ship(R::Planned).unwrap(), R::Released);
        assert_eq!(ship(R::Imminent).unwrap(), R::Released);
        assert!(ship(R::Released).is_err());
        assert!(publish_note(R::Planned).is_err());
        assert!(publish_note(R::Imminent).is_ok());
    }

    #[test]
    fn workflow_moves_leave_solved_and_closed_alone() {
        assert_eq!(workflow_ticket_move(Open, OnHold), Some(OnHold));
        assert_eq!(workflow_ticket_move(OnHold, OnHold), None);
        assert_eq!(workflow_ticket_move(Solved, OnHold), None);
        assert_eq!(workflow_ticket_move(Closed, Solved), None);
        assert_eq!(workflow_ticket_move(OnHold, Solved), Some(Solved));
    }

    #[test]
    fn refusals_say_why() {
        let err = set_ticket_status(Closed, Open).unwrap_err();
        assert_eq!(err.to_string(), "cannot move to OPEN: the ticket is CLOSED");
    }
}
