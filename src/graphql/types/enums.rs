//! GraphQL enums mirroring the stored ones (the entity crate stays free of GraphQL).

/// Declares a GraphQL enum with the same variants as an entity enum, and both conversions.
macro_rules! mirror_enum {
    ($(#[$m:meta])* $name:ident = $ent:ident { $($(#[$vm:meta])* $v:ident),* $(,)? }) => {
        $(#[$m])*
        #[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vm])* $v),* }

        impl From<entity::$ent> for $name {
            fn from(e: entity::$ent) -> Self {
                match e { $(entity::$ent::$v => $name::$v),* }
            }
        }

        impl From<$name> for entity::$ent {
            fn from(e: $name) -> Self {
                match e { $($name::$v => entity::$ent::$v),* }
            }
        }
    };
}

mirror_enum! {
    /// Where a ticket stands.
    TicketStatus = TicketStatus {
        /// Just opened, nobody has looked at it yet.
        New,
        /// Being worked on by support.
        Open,
        /// Waiting on the customer.
        Pending,
        /// Waiting on a third party, e.g. Tier 3 on a hotfix.
        OnHold,
        /// Resolved; a customer reply reopens it. `solvedBy` says why.
        Solved,
        /// Read-only.
        Closed,
    }
}

mirror_enum! {
    /// How urgent a ticket is to support.
    TicketPriority = TicketPriority { Urgent, High, Normal, Low }
}

mirror_enum! {
    /// Why a ticket was solved.
    SolvedBy = SolvedBy {
        /// The release carrying its fix shipped (or was about to).
        Release,
        /// Triage moved it to product planning or feature requests.
        Triage,
        /// An agent solved it.
        Agent,
        /// The requester solved it.
        Customer,
    }
}

mirror_enum! {
    /// What a user may do (from their token, on every request).
    Role = Role { Customer, Agent, Developer, TriageLead, Admin }
}

mirror_enum! {
    /// How badly the problem hurts the customer's business; the queue's first sort key.
    EscalationPriority = EscalationPriority {
        /// Business Halted.
        P0,
        /// Business Impacted.
        P1,
        /// Standard.
        P2,
        /// Service Request.
        P3,
    }
}

mirror_enum! {
    /// The track triage puts an escalation on.
    EscalationTrack = EscalationTrack {
        /// Urgent: the ticket stays open on hold until the hotfix release.
        Hotfix,
        /// Not urgent: the ticket is solved at once; the escalation is reviewed.
        ProductPlanning,
        /// Not urgent: the ticket is solved at once; the escalation is reviewed.
        FeatureRequest,
    }
}

mirror_enum! {
    /// Where an escalation stands.
    EscalationStatus = EscalationStatus {
        AwaitingTriage,
        /// A hotfix being worked on.
        InProgress,
        /// Product planning or a feature request being reviewed.
        UnderReview,
        /// In a release.
        Scheduled,
        /// Its release shipped.
        Released,
        /// Not taken up after review.
        Declined,
    }
}

mirror_enum! {
    /// What a release is for.
    ReleaseKind = ReleaseKind { Hotfix, Quarterly }
}

mirror_enum! {
    /// Where a release stands: `PLANNED → IMMINENT → RELEASED`.
    ReleaseStatus = ReleaseStatus { Planned, Imminent, Released }
}

mirror_enum! {
    /// What a webhook endpoint receives; the payload's `type` is the lower-case dotted form
    /// (`TICKET_CREATED` → `ticket.created`).
    WebhookEventType = WebhookEventType {
        /// `ticket.created`
        TicketCreated,
        /// `ticket.status_changed`
        TicketStatusChanged,
        /// `comment.added` (internal comments too, with `"public": false`)
        CommentAdded,
        /// `ticket.escalated`
        TicketEscalated,
        /// `escalation.triaged`
        EscalationTriaged,
        /// `escalation.updated`: an update posted, assigned, scheduled, declined, released
        EscalationUpdated,
        /// `release.imminent`
        ReleaseImminent,
        /// `release.shipped`
        ReleaseShipped,
        /// `release_note.published`
        ReleaseNotePublished,
    }
}

mirror_enum! {
    /// Where a delivery goes.
    DeliveryChannel = DeliveryChannel { Email, Webhook }
}

mirror_enum! {
    /// Where a delivery stands.
    DeliveryStatus = DeliveryStatus {
        /// Waiting for its next attempt.
        Pending,
        /// Handed to the mail server, or answered 2xx by the endpoint.
        Delivered,
        /// Given up: retries exhausted, refused for good, or not to be sent any more.
        Failed,
    }
}
