//! A mail delivery rendered into a message, at the moment it is sent: the recipient is
//! checked again (still has the address, still wants the category, still sees the ticket),
//! and only public text is ever put in it.

use std::collections::HashMap;

use entity::{MailCategory, app_user, comment, delivery, event};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::{
    domain::{
        global_id,
        notify::{
            payload::EventContext,
            planner::kinds,
            preferences::{self, Preferences},
        },
        policy,
    },
    error::AppResult,
    outbound::mail::{Mail, escape_html},
};

/// Where links in mail point and which domain names its ids.
#[derive(Debug, Clone)]
pub struct Links {
    /// `TIER3_PUBLIC_URL`, without a trailing slash.
    pub public_url: String,
    /// The right-hand side of Message-IDs (the sender's domain).
    pub domain: String,
}

impl Links {
    pub fn new(public_url: &str, domain: &str) -> Self {
        Links {
            public_url: public_url.trim_end_matches('/').to_owned(),
            domain: domain.to_owned(),
        }
    }

    fn ticket(&self, number: i64) -> String {
        format!("{}/tickets/{number}", self.public_url)
    }

    fn note(&self, id: i64) -> String {
        format!(
            "{}/release-notes/{}",
            self.public_url,
            global_id::encode("ReleaseNote", id)
        )
    }

    fn unsubscribe(&self, token: &str) -> String {
        format!("{}/unsubscribe?token={token}", self.public_url)
    }

    /// The thread a ticket's mails belong to: never sent itself, only referred to, which
    /// is enough for mail clients to group them.
    fn thread(&self, ticket_id: i64) -> String {
        format!("ticket-{ticket_id}@{}", self.domain)
    }
}

/// What to do with a mail delivery.
#[derive(Debug, Clone)]
pub enum Rendered {
    Send(Box<Mail>),
    /// Not to be sent any more, and why (recorded as the delivery's last error).
    Skip(String),
}

/// The stable Message-ID of a delivery: a retry re-sends the same id.
pub fn message_id(d: &delivery::Model, links: &Links) -> String {
    format!("delivery-{}.event-{}@{}", d.id, d.event_id, links.domain)
}

/// What a batch of claimed mail deliveries shares, read once for the batch: their events
/// with what they name, their recipients and their unsubscribe tokens. A note mailed to
/// thousands of followers is one event: without this, each mail would read it again.
#[derive(Default)]
pub struct Batch {
    events: HashMap<i64, (event::Model, EventContext)>,
    users: HashMap<i64, app_user::Model>,
    tokens: HashMap<(i64, MailCategory), String>,
}

impl Batch {
    pub async fn load(db: &impl ConnectionTrait, ds: &[delivery::Model]) -> AppResult<Batch> {
        let mut batch = Batch::default();
        let mut event_ids: Vec<i64> = ds.iter().map(|d| d.event_id).collect();
        event_ids.sort_unstable();
        event_ids.dedup();
        for e in event::Entity::find()
            .filter(event::Column::Id.is_in(event_ids))
            .all(db)
            .await?
        {
            let cx = EventContext::load(db, &e).await?;
            batch.events.insert(e.id, (e, cx));
        }
        let user_ids: Vec<i64> = ds.iter().filter_map(|d| d.user_id).collect();
        batch.users = app_user::Entity::find()
            .filter(app_user::Column::Id.is_in(user_ids.iter().copied()))
            .all(db)
            .await?
            .into_iter()
            .map(|u| (u.id, u))
            .collect();
        for category in [MailCategory::ReleaseNotes, MailCategory::TicketUpdates] {
            let of: Vec<i64> = ds
                .iter()
                .filter(|d| d.category.unwrap_or(MailCategory::TicketUpdates) == category)
                .filter_map(|d| d.user_id)
                .collect();
            if of.is_empty() {
                continue;
            }
            for (user, token) in preferences::tokens_for(db, &of, category).await? {
                batch.tokens.insert((user, category), token);
            }
        }
        Ok(batch)
    }
}

pub async fn render(
    db: &impl ConnectionTrait,
    d: &delivery::Model,
    links: &Links,
    batch: &Batch,
) -> AppResult<Rendered> {
    let Some(user) = d.user_id.and_then(|id| batch.users.get(&id)).cloned() else {
        return Ok(Rendered::Skip("the recipient no longer exists".into()));
    };
    let category = d.category.unwrap_or(MailCategory::TicketUpdates);
    if !Preferences::of(&user).wants(category) {
        return Ok(Rendered::Skip(
            "not sent: the recipient turned these emails off".into(),
        ));
    }
    let Some(address) = user.email.clone().filter(|a| !a.trim().is_empty()) else {
        return Ok(Rendered::Skip("the recipient has no email address".into()));
    };
    let Some((e, cx)) = batch.events.get(&d.event_id) else {
        return Ok(Rendered::Skip("the event no longer exists".into()));
    };
    if let Some(t) = &cx.ticket
        && !policy::user_sees_ticket(db, &user, t.id).await?
    {
        return Ok(Rendered::Skip(
            "not sent: the recipient no longer sees the ticket".into(),
        ));
    }
    let Some(content) = content(db, d, e, cx, links).await? else {
        return Ok(Rendered::Skip("nothing public to tell".into()));
    };
    let token = match batch.tokens.get(&(user.id, category)) {
        Some(t) => t.clone(),
        None => preferences::token_for(db, user.id, category).await?,
    };
    let footer_text = format!(
        "\n\n--\nYou receive this because of your {} email setting. Unsubscribe: {}",
        category_name(category),
        links.unsubscribe(&token)
    );
    let footer_html = format!(
        "<hr><p style=\"color:#666;font-size:12px\">You receive this because of your {} \
         email setting. <a href=\"{}\">Unsubscribe</a></p>",
        category_name(category),
        escape_html(&links.unsubscribe(&token))
    );
    let thread = cx.ticket.as_ref().map(|t| links.thread(t.id));
    Ok(Rendered::Send(Box::new(Mail {
        to: address,
        to_name: Some(user.name.clone()),
        subject: content.subject,
        text: content.text + &footer_text,
        html: format!(
            "<!doctype html><html><body style=\"font-family:sans-serif\">{}{footer_html}</body></html>",
            content.html
        ),
        message_id: message_id(d, links),
        in_reply_to: thread.clone(),
        references: thread.into_iter().collect(),
        list_unsubscribe: Some(links.unsubscribe(&token)),
    })))
}

fn category_name(c: MailCategory) -> &'static str {
    match c {
        MailCategory::ReleaseNotes => "release notes",
        MailCategory::TicketUpdates => "ticket updates",
    }
}

struct Content {
    subject: String,
    text: String,
    html: String,
}

/// A paragraph of user text in HTML: escaped, line breaks kept.
fn para(text: &str) -> String {
    format!(
        "<p style=\"white-space:pre-wrap\">{}</p>",
        escape_html(text)
    )
}

fn link(href: &str, label: &str) -> String {
    format!(
        "<p><a href=\"{}\">{}</a></p>",
        escape_html(href),
        escape_html(label)
    )
}

async fn content(
    db: &impl ConnectionTrait,
    d: &delivery::Model,
    e: &event::Model,
    cx: &EventContext,
    links: &Links,
) -> AppResult<Option<Content>> {
    Ok(match d.kind.as_str() {
        kinds::RELEASE_NOTE => {
            let (Some(note), Some(release)) = (&cx.note, &cx.release) else {
                return Ok(None);
            };
            let url = links.note(note.id);
            Some(Content {
                subject: format!("Release {}: {}", release.version, note.title),
                text: format!(
                    "Release {} — {}\n\n{}\n\nRead it online: {url}",
                    release.version, note.title, note.body
                ),
                html: format!(
                    "<h2>Release {} — {}</h2>{}{}",
                    escape_html(&release.version),
                    escape_html(&note.title),
                    para(&note.body),
                    link(&url, "Read it online")
                ),
            })
        }
        kinds::COMMENT => {
            let (Some(t), Some(c)) = (&cx.ticket, &cx.comment) else {
                return Ok(None);
            };
            if !c.public || !e.public {
                return Ok(None);
            }
            let who = cx.actor.as_ref().map_or("Support", |a| a.name.as_str());
            let url = links.ticket(t.number);
            Some(Content {
                subject: format!("[Ticket #{}] {}", t.number, t.subject),
                text: format!(
                    "{who} wrote on ticket #{}:\n\n{}\n\nView the ticket: {url}",
                    t.number, c.body
                ),
                html: format!(
                    "<p>{} wrote on ticket #{}:</p>{}{}",
                    escape_html(who),
                    t.number,
                    para(&c.body),
                    link(&url, "View the ticket")
                ),
            })
        }
        kinds::SOLVED => {
            let Some(t) = &cx.ticket else {
                return Ok(None);
            };
            let said = solve_comment(db, e).await?;
            let url = links.ticket(t.number);
            let said_text = said
                .as_ref()
                .map_or(String::new(), |c| format!("\n\n{}", c.body));
            let said_html = said.as_ref().map_or(String::new(), |c| para(&c.body));
            Some(Content {
                subject: format!("[Ticket #{}] {} — solved", t.number, t.subject),
                text: format!(
                    "Ticket #{} \"{}\" was marked solved.{said_text}\n\nIf anything is still \
                     wrong, reply on the ticket and it opens again: {url}",
                    t.number, t.subject
                ),
                html: format!(
                    "<p>Ticket #{} “{}” was marked solved.</p>{said_html}<p>If anything is \
                     still wrong, reply on the ticket and it opens again.</p>{}",
                    t.number,
                    escape_html(&t.subject),
                    link(&url, "View the ticket")
                ),
            })
        }
        kinds::SHIPPED => {
            let (Some(t), Some(x), Some(r)) = (&cx.ticket, &cx.escalation, &cx.release) else {
                return Ok(None);
            };
            let url = links.ticket(t.number);
            Some(Content {
                subject: format!("Shipped in release {}: {}", r.version, x.title),
                text: format!(
                    "What you asked for on ticket #{} has shipped: \"{}\" is in release {}.\n\n\
                     View the ticket: {url}",
                    t.number, x.title, r.version
                ),
                html: format!(
                    "<p>What you asked for on ticket #{} has shipped: “{}” is in release {}.</p>{}",
                    t.number,
                    escape_html(&x.title),
                    escape_html(&r.version),
                    link(&url, "View the ticket")
                ),
            })
        }
        _ => None,
    })
}

/// The public comment a solve posted, named by the status event.
async fn solve_comment(
    db: &impl ConnectionTrait,
    e: &event::Model,
) -> AppResult<Option<comment::Model>> {
    let id = e
        .data
        .as_deref()
        .and_then(|d| serde_json::from_str::<serde_json::Value>(d).ok())
        .and_then(|d| d.get("comment_id").and_then(|v| v.as_i64()));
    Ok(match id {
        Some(id) => comment::Entity::find_by_id(id)
            .one(db)
            .await?
            .filter(|c| c.public),
        None => None,
    })
}
