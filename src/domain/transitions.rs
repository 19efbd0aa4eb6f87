//! Status machines as pure functions: `(state, action) -> Result<state>`. Anything not
//! listed is `INVALID_TRANSITION` (DESIGN.md "The workflow it serves").

use entity::TicketStatus;

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
    fn refusals_say_why() {
        let err = set_ticket_status(Closed, Open).unwrap_err();
        assert_eq!(err.to_string(), "cannot move to OPEN: the ticket is CLOSED");
    }
}
