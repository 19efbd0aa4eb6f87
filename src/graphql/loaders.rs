//! Per-request DataLoaders: one batched domain read per kind of nested field, so a page of
//! N tickets costs the same number of statements as a page of one. The loaders only adapt
//! domain functions (keys in, rows by key out); the domain applies the viewer's scope. No
//! cache: a long subscription must never see stale rows.

use std::collections::HashMap;

use async_graphql::dataloader::{DataLoader, Loader};
use entity::{
    app_user, comment, escalation, escalation_ticket, escalation_update, event, organization,
    release, release_note, ticket,
};

use crate::{
    app::App,
    auth::Viewer,
    domain::{
        comments, escalations, organizations,
        page::{ChildPage, PageArgs},
        participants, release_notes, releases, scope, ticket_events, tickets, users,
    },
    error::SharedError,
};

type LoadResult<K, V> = Result<HashMap<K, V>, SharedError>;

/// Everything a loader needs: the database and who is asking.
#[derive(Clone)]
pub struct Env {
    app: App,
    viewer: Viewer,
}

/// Declares the per-request loaders, each built on first use: a WebSocket connection lives
/// long and mostly idle, so it should not carry loaders it never uses.
macro_rules! loaders {
    ($($field:ident: $loader:ident,)*) => {
        /// The loaders of one request (or one WebSocket connection).
        pub struct Loaders {
            env: Env,
            delay: std::time::Duration,
            /// Rows fetched ahead from the query's look-ahead (one GraphQL operation only).
            primed: Option<Box<Primed>>,
            $($field: std::sync::OnceLock<Box<DataLoader<$loader>>>,)*
        }

        impl Loaders {
            /// Prepares the loaders of a long-lived WebSocket connection: nothing is
            /// allocated until used, and nothing is fetched ahead (it would go stale).
            pub fn new(app: &App, viewer: &Viewer) -> Self {
                Loaders {
                    env: Env {
                        app: app.clone(),
                        viewer: viewer.clone(),
                    },
                    delay: std::time::Duration::from_millis(app.config.loader_delay_ms),
                    primed: None,
                    $($field: std::sync::OnceLock::new(),)*
                }
            }

            /// The loaders of one HTTP operation, which may fetch ahead (`prefetch`).
            pub fn for_operation(app: &App, viewer: &Viewer) -> Self {
                Loaders {
                    primed: Some(Box::default()),
                    ..Self::new(app, viewer)
                }
            }

            $(
                #[doc = concat!("The `", stringify!($loader), "`.")]
                pub fn $field(&self) -> &DataLoader<$loader> {
                    self.$field.get_or_init(|| {
                        Box::new(
                            DataLoader::new($loader(self.env.clone()), tokio::spawn)
                                .delay(self.delay),
                        )
                    })
                }
            )*
        }
    };
}

loaders! {
    users: UserLoader,
    organizations: OrganizationLoader,
    tickets: TicketLoader,
    comments: CommentLoader,
    comment_pages: CommentPageLoader,
    event_pages: EventPageLoader,
    counts: ChildCountLoader,
    scopes: ScopeLoader,
    escalations: EscalationLoader,
    ticket_escalations: TicketEscalationLoader,
    escalation_tickets: EscalationTicketPageLoader,
    updates: UpdatePageLoader,
    releases: ReleaseLoader,
    notes: NoteByReleaseLoader,
    notes_by_id: NoteLoader,
    note_items: NoteItemsLoader,
    vote_counts: VoteCountLoader,
    viewer_votes: ViewerVoteLoader,
    participants: ParticipantLoader,
}

/// Rows of one kind fetched ahead, by key; `None` records a key looked up and not found
/// (or not visible), so the resolver does not ask again.
pub struct PrimedMap<K, V>(std::sync::Mutex<HashMap<K, Option<V>>>);

impl<K, V> Default for PrimedMap<K, V> {
    fn default() -> Self {
        PrimedMap(std::sync::Mutex::new(HashMap::new()))
    }
}

impl<K: std::hash::Hash + Eq + Clone, V: Clone> PrimedMap<K, V> {
    fn get(&self, key: &K) -> Option<Option<V>> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .cloned()
    }

    /// The keys not primed yet, without duplicates.
    fn missing(&self, keys: impl IntoIterator<Item = K>) -> Vec<K> {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let mut seen = std::collections::HashSet::new();
        keys.into_iter()
            .filter(|k| !map.contains_key(k) && seen.insert(k.clone()))
            .collect()
    }

    fn fill(&self, keys: Vec<K>, mut found: HashMap<K, V>) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        for k in keys {
            let v = found.remove(&k);
            map.insert(k, v);
        }
    }
}

/// What one operation fetched ahead: the hot nested fields of ticket and escalation pages.
/// Filled by the same loader functions (so through the same authorization) as the
/// DataLoaders, just earlier and all at once: a loader's batch window can close before a
/// long list has asked for every key (lists yield every 32 items), which split each batch
/// in two or three statements under load.
#[derive(Default)]
pub struct Primed {
    users: PrimedMap<i64, app_user::Model>,
    organizations: PrimedMap<i64, organization::Model>,
    tickets: PrimedMap<i64, ticket::Model>,
    comment_pages: PrimedMap<(i64, PageArgs), ChildPage<comment::Model>>,
    ticket_escalations: PrimedMap<i64, escalation::Model>,
    escalation_tickets: PrimedMap<(i64, PageArgs), ChildPage<escalation_ticket::Model>>,
    counts: PrimedMap<(Children, i64), u64>,
    participants: PrimedMap<i64, Vec<app_user::Model>>,
}

/// `Loaders::prime_*` and the matching lookups that prefer primed rows.
macro_rules! primed {
    ($($prime:ident, $get:ident, $map:ident, $loader:ident, $key:ty, $value:ty, $dl:ident;)*) => {
        impl Loaders {
            $(
                #[doc = concat!("Fetches ahead what `", stringify!($get), "` will be asked for.")]
                pub async fn $prime(
                    &self,
                    keys: impl IntoIterator<Item = $key>,
                ) -> Result<(), SharedError> {
                    let Some(primed) = &self.primed else {
                        return Ok(());
                    };
                    let keys = primed.$map.missing(keys);
                    if keys.is_empty() {
                        return Ok(());
                    }
                    let found = $loader(self.env.clone()).load(&keys).await?;
                    primed.$map.fill(keys, found);
                    Ok(())
                }

                #[doc = concat!("One `", stringify!($value), "`: primed, else through `", stringify!($dl), "`.")]
                pub async fn $get(&self, key: $key) -> Result<Option<$value>, SharedError> {
                    if let Some(hit) = self.primed.as_ref().and_then(|p| p.$map.get(&key)) {
                        return Ok(hit);
                    }
                    self.$dl().load_one(key).await
                }
            )*
        }
    };
}

primed! {
    prime_users, user, users, UserLoader, i64, app_user::Model, users;
    prime_organizations, organization, organizations, OrganizationLoader, i64, organization::Model, organizations;
    prime_tickets, ticket, tickets, TicketLoader, i64, ticket::Model, tickets;
    prime_comment_pages, comment_page, comment_pages, CommentPageLoader, (i64, PageArgs), ChildPage<comment::Model>, comment_pages;
    prime_ticket_escalations, ticket_escalation, ticket_escalations, TicketEscalationLoader, i64, escalation::Model, ticket_escalations;
    prime_escalation_tickets, escalation_ticket_page, escalation_tickets, EscalationTicketPageLoader, (i64, PageArgs), ChildPage<escalation_ticket::Model>, escalation_tickets;
    prime_counts, count, counts, ChildCountLoader, (Children, i64), u64, counts;
    prime_participants, participants_of, participants, ParticipantLoader, i64, Vec<app_user::Model>, participants;
}

impl Loaders {
    /// Counts a page's statement learned on the way (`ChildPage::total`), so the nested
    /// `totalCount` needs no statement of its own.
    pub fn prime_known_counts(&self, known: impl IntoIterator<Item = ((Children, i64), u64)>) {
        if let Some(primed) = &self.primed {
            let found: HashMap<(Children, i64), u64> = known.into_iter().collect();
            primed.counts.fill(found.keys().copied().collect(), found);
        }
    }

    /// Many tickets: primed, else in one DataLoader batch.
    pub async fn tickets_many(
        &self,
        ids: impl IntoIterator<Item = i64>,
    ) -> Result<HashMap<i64, ticket::Model>, SharedError> {
        let ids: Vec<i64> = ids.into_iter().collect();
        if let Some(primed) = &self.primed {
            let hits: Option<Vec<_>> = ids.iter().map(|id| primed.tickets.get(id)).collect();
            if let Some(hits) = hits {
                return Ok(ids
                    .into_iter()
                    .zip(hits)
                    .filter_map(|(id, t)| t.map(|t| (id, t)))
                    .collect());
            }
        }
        self.tickets().load_many(ids).await
    }
}

fn by_id<M, F: Fn(&M) -> i64>(rows: Vec<M>, id: F) -> HashMap<i64, M> {
    rows.into_iter().map(|m| (id(&m), m)).collect()
}

/// The participants of visible tickets (`Ticket.participants`), in one statement per batch.
pub struct ParticipantLoader(Env);

impl Loader<i64> for ParticipantLoader {
    type Value = Vec<app_user::Model>;
    type Error = SharedError;
    async fn load(&self, keys: &[i64]) -> LoadResult<i64, Self::Value> {
        Ok(participants::of_tickets(&self.0.app.db, keys).await?)
    }
}

/// People named on visible things (requester, author, assignee, actor).
pub struct UserLoader(Env);

impl Loader<i64> for UserLoader {
    type Value = app_user::Model;
    type Error = SharedError;
    async fn load(&self, keys: &[i64]) -> LoadResult<i64, Self::Value> {
        let rows = users::load_referenced(&self.0.app.db, keys).await?;
        Ok(by_id(rows, |u| u.id))
    }
}

/// Organizations, through the viewer's organization scope.
pub struct OrganizationLoader(Env);

impl Loader<i64> for OrganizationLoader {
    type Value = organization::Model;
    type Error = SharedError;
    async fn load(&self, keys: &[i64]) -> LoadResult<i64, Self::Value> {
        let rows = organizations::load_many(&self.0.app.db, &self.0.viewer, keys).await?;
        Ok(by_id(rows, |o| o.id))
    }
}

/// Tickets, through the viewer's ticket scope.
pub struct TicketLoader(Env);

impl Loader<i64> for TicketLoader {
    type Value = ticket::Model;
    type Error = SharedError;
    async fn load(&self, keys: &[i64]) -> LoadResult<i64, Self::Value> {
        let rows = tickets::load_many(&self.0.app.db, &self.0.viewer, keys).await?;
        Ok(by_id(rows, |t| t.id))
    }
}

/// Comments by id (an event's comment), with the viewer's comment filter. Callers reach
/// them only through a visible ticket.
pub struct CommentLoader(Env);

impl Loader<i64> for CommentLoader {
    type Value = comment::Model;
    type Error = SharedError;
    async fn load(&self, keys: &[i64]) -> LoadResult<i64, Self::Value> {
        let rows = comments::load_many(&self.0.app.db, &self.0.viewer, keys).await?;
        Ok(by_id(rows, |c| c.id))
    }
}

/// A page of comments for each of many (visible) tickets.
pub struct CommentPageLoader(Env);

impl Loader<(i64, PageArgs)> for CommentPageLoader {
    type Value = ChildPage<comment::Model>;
    type Error = SharedError;
    async fn load(&self, keys: &[(i64, PageArgs)]) -> LoadResult<(i64, PageArgs), Self::Value> {
        Ok(comments::pages_for_tickets(&self.0.app.db, &self.0.viewer, keys).await?)
    }
}

/// A page of events for each of many (visible) tickets.
pub struct EventPageLoader(Env);

impl Loader<(i64, PageArgs)> for EventPageLoader {
    type Value = ChildPage<event::Model>;
    type Error = SharedError;
    async fn load(&self, keys: &[(i64, PageArgs)]) -> LoadResult<(i64, PageArgs), Self::Value> {
        Ok(ticket_events::pages_for_tickets(&self.0.app.db, &self.0.viewer, keys).await?)
    }
}

/// A page of ticket links for each of many (visible) escalations, restricted to tickets the
/// viewer sees.
pub struct EscalationTicketPageLoader(Env);

impl Loader<(i64, PageArgs)> for EscalationTicketPageLoader {
    type Value = ChildPage<escalation_ticket::Model>;
    type Error = SharedError;
    async fn load(&self, keys: &[(i64, PageArgs)]) -> LoadResult<(i64, PageArgs), Self::Value> {
        Ok(escalations::ticket_link_pages(&self.0.app.db, &self.0.viewer, keys).await?)
    }
}

/// A page of updates for each of many (visible) escalations; customers see public ones.
pub struct UpdatePageLoader(Env);

impl Loader<(i64, PageArgs)> for UpdatePageLoader {
    type Value = ChildPage<escalation_update::Model>;
    type Error = SharedError;
    async fn load(&self, keys: &[(i64, PageArgs)]) -> LoadResult<(i64, PageArgs), Self::Value> {
        Ok(escalations::update_pages(&self.0.app.db, &self.0.viewer, keys).await?)
    }
}

/// Escalations, through the viewer's escalation scope.
pub struct EscalationLoader(Env);

impl Loader<i64> for EscalationLoader {
    type Value = escalation::Model;
    type Error = SharedError;
    async fn load(&self, keys: &[i64]) -> LoadResult<i64, Self::Value> {
        let rows = escalations::load_many(&self.0.app.db, &self.0.viewer, keys).await?;
        Ok(by_id(rows, |e| e.id))
    }
}

/// The most recent escalation of each of many tickets (`Ticket.escalation`).
pub struct TicketEscalationLoader(Env);

impl Loader<i64> for TicketEscalationLoader {
    type Value = escalation::Model;
    type Error = SharedError;
    async fn load(&self, keys: &[i64]) -> LoadResult<i64, Self::Value> {
        Ok(
            escalations::latest_for_tickets(&self.0.app.db, &self.0.viewer, keys)
                .await?
                .into_iter()
                .collect(),
        )
    }
}

/// Releases, through the viewer's release scope.
pub struct ReleaseLoader(Env);

impl Loader<i64> for ReleaseLoader {
    type Value = release::Model;
    type Error = SharedError;
    async fn load(&self, keys: &[i64]) -> LoadResult<i64, Self::Value> {
        let rows = releases::load_many(&self.0.app.db, &self.0.viewer, keys).await?;
        Ok(by_id(rows, |r| r.id))
    }
}

/// Each release's published note (`Release.note`); published notes are public.
pub struct NoteByReleaseLoader(Env);

impl Loader<i64> for NoteByReleaseLoader {
    type Value = release_note::Model;
    type Error = SharedError;
    async fn load(&self, keys: &[i64]) -> LoadResult<i64, Self::Value> {
        let rows = release_notes::for_releases(&self.0.app.db, keys).await?;
        Ok(by_id(rows, |n| n.release_id))
    }
}

/// Notes by id (`Notification.releaseNote`); published notes are public.
pub struct NoteLoader(Env);

impl Loader<i64> for NoteLoader {
    type Value = release_note::Model;
    type Error = SharedError;
    async fn load(&self, keys: &[i64]) -> LoadResult<i64, Self::Value> {
        let rows = release_notes::load_many(&self.0.app.db, keys).await?;
        Ok(by_id(rows, |n| n.id))
    }
}

/// Each release's note items: the public titles of what it ships.
pub struct NoteItemsLoader(Env);

impl Loader<i64> for NoteItemsLoader {
    type Value = Vec<String>;
    type Error = SharedError;
    async fn load(&self, keys: &[i64]) -> LoadResult<i64, Self::Value> {
        let mut out: HashMap<i64, Vec<String>> = keys.iter().map(|k| (*k, Vec::new())).collect();
        for (release_id, title) in release_notes::items(&self.0.app.db, keys).await? {
            out.entry(release_id).or_default().push(title);
        }
        Ok(out)
    }
}

/// (helpful, total) votes per note.
pub struct VoteCountLoader(Env);

impl Loader<i64> for VoteCountLoader {
    type Value = (u64, u64);
    type Error = SharedError;
    async fn load(&self, keys: &[i64]) -> LoadResult<i64, Self::Value> {
        let mut out: HashMap<i64, (u64, u64)> = keys.iter().map(|k| (*k, (0, 0))).collect();
        for (note, helpful, n) in release_notes::vote_counts(&self.0.app.db, keys).await? {
            let slot = out.entry(note).or_default();
            let n = n.max(0) as u64;
            if helpful {
                slot.0 += n;
            }
            slot.1 += n;
        }
        Ok(out)
    }
}

/// The viewer's own vote per note.
pub struct ViewerVoteLoader(Env);

impl Loader<i64> for ViewerVoteLoader {
    type Value = bool;
    type Error = SharedError;
    async fn load(&self, keys: &[i64]) -> LoadResult<i64, Self::Value> {
        let Some(user_id) = self.0.viewer.user_id() else {
            return Ok(HashMap::new());
        };
        let votes = release_notes::votes_of(&self.0.app.db, user_id, keys).await?;
        Ok(votes
            .into_iter()
            .map(|v| (v.release_note_id, v.helpful))
            .collect())
    }
}

/// Which children a count is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Children {
    TicketComments,
    TicketEvents,
    EscalationTickets,
    EscalationUpdates,
}

/// `totalCount` of nested connections: one grouped COUNT per kind of child.
pub struct ChildCountLoader(Env);

impl Loader<(Children, i64)> for ChildCountLoader {
    type Value = u64;
    type Error = SharedError;
    async fn load(&self, keys: &[(Children, i64)]) -> LoadResult<(Children, i64), u64> {
        let (db, v) = (&self.0.app.db, &self.0.viewer);
        let mut out: HashMap<(Children, i64), u64> = keys.iter().map(|k| (*k, 0)).collect();
        for kind in [
            Children::TicketComments,
            Children::TicketEvents,
            Children::EscalationTickets,
            Children::EscalationUpdates,
        ] {
            let parents: Vec<i64> = keys
                .iter()
                .filter(|(k, _)| *k == kind)
                .map(|(_, p)| *p)
                .collect();
            if parents.is_empty() {
                continue;
            }
            let counts = match kind {
                Children::TicketComments => comments::count_for_tickets(db, v, &parents).await?,
                Children::TicketEvents => ticket_events::count_for_tickets(db, v, &parents).await?,
                Children::EscalationTickets => {
                    escalations::count_ticket_links(db, v, &parents).await?
                }
                Children::EscalationUpdates => escalations::count_updates(db, v, &parents).await?,
            };
            for (parent, n) in counts {
                out.insert((kind, parent), n);
            }
        }
        Ok(out)
    }
}

/// Whether each user holds a live organization-scope grant (for `hasOrganizationScope`).
pub struct ScopeLoader(Env);

impl Loader<i64> for ScopeLoader {
    type Value = bool;
    type Error = SharedError;
    async fn load(&self, keys: &[i64]) -> LoadResult<i64, bool> {
        let live = scope::live_among(&self.0.app.db, keys).await?;
        Ok(keys.iter().map(|k| (*k, live.contains(k))).collect())
    }
}
