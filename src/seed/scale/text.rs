//! Words the scale seed builds names, subjects and comment bodies from. Cheap to format:
//! a million comments are made from these in well under a second.

use rand::{Rng, rngs::StdRng, seq::IndexedRandom};

const FIRST: &[&str] = &[
    "Ada", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kemi",
    "Liam", "Mara", "Nils", "Olga", "Priya", "Quinn", "Rosa", "Sami", "Tara", "Umar", "Vera",
    "Wen", "Yusuf",
];
const LAST: &[&str] = &[
    "Anders", "Brandt", "Chen", "Diaz", "Eriksen", "Fischer", "Garcia", "Haddad", "Ito", "Jensen",
    "Kowalski", "Lopez", "Moreau", "Nakamura", "Okafor", "Petrov", "Quist", "Rossi", "Silva",
    "Tanaka", "Usman", "Varga", "Weber", "Young",
];
const ORG_STEMS: &[&str] = &[
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Stark",
    "Wayne",
    "Hooli",
    "Vandelay",
    "Soylent",
    "Tyrell",
    "Cyberdyne",
    "Aperture",
    "Massive",
    "Pied Piper",
    "Oscorp",
    "Wonka",
    "Gringotts",
    "Monarch",
    "Nakatomi",
    "Dunder",
];
const ORG_SUFFIXES: &[&str] = &[
    "Labs",
    "Works",
    "GmbH",
    "Ltd",
    "Inc",
    "Group",
    "Systems",
    "Partners",
    "Logistics",
    "Retail",
];
/// Product areas tickets are about.
pub const AREAS: &[&str] = &[
    "Invoice export",
    "Login",
    "Checkout",
    "Monthly report",
    "Calendar sync",
    "Webhook delivery",
    "File upload",
    "Search",
    "Dashboard",
    "Card payment",
    "Email digest",
    "Billing page",
    "Public API",
    "CSV import",
    "PDF rendering",
    "Mobile app",
    "SSO",
    "Permissions screen",
    "Saved filters",
    "Push notifications",
    "Currency conversion",
    "Translations",
    "Audit log",
    "Data retention",
];
const SYMPTOMS: &[&str] = &[
    "fails with an error",
    "is blank",
    "returns 502",
    "is very slow",
    "shows the wrong total",
    "times out",
    "duplicates rows",
    "crashes the app",
    "ignores the filter",
    "loses changes",
    "never arrives",
    "logs users out",
];
const CONTEXTS: &[&str] = &[
    "since this morning",
    "after the last update",
    "for EU customers",
    "on large accounts",
    "since Monday",
    "in Safari only",
    "for some users",
    "every night at 2:00",
];
const CUSTOMER_SAYS: &[&str] = &[
    "Any news on this? Our team is blocked.",
    "It happened again just now, screenshot attached.",
    "Thanks, I will try that and report back.",
    "Still broken on our side, sorry.",
    "We can reproduce it with the account of a colleague too.",
    "Is there a workaround we can use in the meantime?",
    "That worked, thank you!",
    "Adding my manager in copy, this is urgent for us.",
];
const AGENT_SAYS: &[&str] = &[
    "Thanks for reporting this. Could you send us the exact time it happened?",
    "I could reproduce this on our side and am looking into it.",
    "Could you try clearing the cache and signing in again?",
    "We have applied a configuration change, please try again.",
    "I am checking this with the team and will get back to you today.",
    "Can you confirm which browser and version you are using?",
];
const AGENT_NOTES: &[&str] = &[
    "Reproduced on staging, logs in the shared folder.",
    "Customer is on the enterprise plan, handle with care.",
    "Looks like the same issue as last week, checking the linked tickets.",
    "Asked the on-call engineer, no incident open right now.",
    "Workaround given; waiting on customer confirmation.",
    "Possible data issue on their account, do not tell them yet.",
];
const UPDATES: &[&str] = &[
    "Root cause found; a fix is in code review.",
    "Fix is being tested on staging.",
    "We narrowed it down to one service; more news tomorrow.",
    "The fix needs a database migration, planning it for the next release.",
    "Investigating; we can reproduce it reliably now.",
    "Spec drafted and reviewed with product.",
];

/// A person's display name.
pub fn person(rng: &mut StdRng) -> String {
    format!("{} {}", pick(rng, FIRST), pick(rng, LAST))
}

/// An organization's display name (not unique: the key is).
pub fn organization(rng: &mut StdRng) -> String {
    format!("{} {}", pick(rng, ORG_STEMS), pick(rng, ORG_SUFFIXES))
}

/// A ticket subject and the area it is about (index into [`AREAS`]).
pub fn subject(rng: &mut StdRng) -> (String, usize) {
    let area = rng.random_range(0..AREAS.len());
    let s = format!(
        "{} {} {}",
        AREAS[area],
        pick(rng, SYMPTOMS),
        pick(rng, CONTEXTS)
    );
    (s, area)
}

/// A ticket description.
pub fn description(rng: &mut StdRng, area: usize) -> String {
    format!(
        "{} {} {}. Steps: open it, wait a few seconds, see the problem. Expected it to work \
         as it did last week.",
        AREAS[area],
        pick(rng, SYMPTOMS),
        pick(rng, CONTEXTS)
    )
}

/// A public comment by the requester.
pub fn customer_comment(rng: &mut StdRng) -> &'static str {
    pick(rng, CUSTOMER_SAYS)
}

/// A comment by an agent: public answer or internal note.
pub fn agent_comment(rng: &mut StdRng, public: bool) -> &'static str {
    pick(rng, if public { AGENT_SAYS } else { AGENT_NOTES })
}

/// An escalation update by Tier 3.
pub fn update(rng: &mut StdRng) -> &'static str {
    pick(rng, UPDATES)
}

fn pick(rng: &mut StdRng, from: &[&'static str]) -> &'static str {
    from.choose(rng).copied().unwrap_or_default()
}

// The public comments the workflow writes on linked tickets, as `domain::escalations` words
// them (its constants are private), so seeded tickets read like ones that went through it.
pub const ESCALATED: &str = "We have escalated this to our Tier 3 development team. \
We will keep you posted on this ticket.";
pub const HOTFIX: &str = "Tier 3 is working on a hotfix for this. Your ticket stays open \
(on hold) and every update from the team will be posted here.";
pub const REVIEW: &str = "Tier 3 is reviewing this for product planning. We are marking \
this ticket solved for now and will let you know when what you asked for ships.";
pub const HOTFIX_SHIPPING: &str = "The hotfix for this is being released now. We are \
marking this ticket solved; reply here if anything is still wrong.";
pub const SOLVED_BY_AGENT: &str = "This should be fixed now; I am marking the ticket solved. \
Reply here if it comes back.";
pub const SOLVED_BY_CUSTOMER: &str = "All good now, closing this from our side. Thanks!";
pub const DECLINED: &str = "Not planned: it conflicts with how the feature is meant to work.";
