//! Which mail a user wants, and the one-click unsubscribe tokens in every mail (RFC 8058).

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::Utc;
use entity::{MailCategory, app_user, unsubscribe_token};
use rand::RngCore;
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    sea_query::{Expr, OnConflict},
};

use crate::{
    auth::Viewer,
    domain::policy,
    error::{AppError, AppResult},
};

/// A user's mail settings (both on until turned off).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preferences {
    pub email_release_notes: bool,
    pub email_ticket_updates: bool,
}

impl Preferences {
    pub fn of(u: &app_user::Model) -> Self {
        Preferences {
            email_release_notes: u.email_release_notes,
            email_ticket_updates: u.email_ticket_updates,
        }
    }

    /// Whether mail of `category` is wanted.
    pub fn wants(&self, category: MailCategory) -> bool {
        match category {
            MailCategory::ReleaseNotes => self.email_release_notes,
            MailCategory::TicketUpdates => self.email_ticket_updates,
        }
    }
}

/// The column that turns `category` on or off.
fn column(category: MailCategory) -> app_user::Column {
    match category {
        MailCategory::ReleaseNotes => app_user::Column::EmailReleaseNotes,
        MailCategory::TicketUpdates => app_user::Column::EmailTicketUpdates,
    }
}

/// `user`'s preferences if `v` is that user; `None` for anyone else (they are private).
pub fn visible(v: &Viewer, user: &app_user::Model) -> Option<Preferences> {
    (v.user_id() == Some(user.id)).then(|| Preferences::of(user))
}

/// Changes the viewer's own preferences; a field left out stays as it is.
pub async fn update(
    db: &impl ConnectionTrait,
    v: &Viewer,
    email_release_notes: Option<bool>,
    email_ticket_updates: Option<bool>,
) -> AppResult<Preferences> {
    let actor = policy::signed_in(v)?;
    let mut update = app_user::Entity::update_many().filter(app_user::Column::Id.eq(actor.id));
    let mut changed = false;
    for (category, value) in [
        (MailCategory::ReleaseNotes, email_release_notes),
        (MailCategory::TicketUpdates, email_ticket_updates),
    ] {
        if let Some(value) = value {
            update = update.col_expr(column(category), Expr::value(value));
            changed = true;
        }
    }
    if changed {
        update
            .col_expr(app_user::Column::UpdatedAt, Expr::value(Utc::now()))
            .exec(db)
            .await?;
    }
    let user = app_user::Entity::find_by_id(actor.id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(Preferences::of(&user))
}

/// The token in `user_id`'s unsubscribe link for `category`, made on first use. Random
/// (256 bits): it names a user and a category and proves nothing else, so it is stored as
/// is — it can only turn that category off, which the mail carrying it can do anyway.
pub async fn token_for(
    db: &impl ConnectionTrait,
    user_id: i64,
    category: MailCategory,
) -> AppResult<String> {
    tokens_for(db, &[user_id], category)
        .await?
        .remove(&user_id)
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("unsubscribe token vanished")))
}

/// [`token_for`] for many users of one category at once: one read, one insert of the
/// missing ones, one more read (the courier renders a batch of mails with it).
pub async fn tokens_for(
    db: &impl ConnectionTrait,
    user_ids: &[i64],
    category: MailCategory,
) -> AppResult<std::collections::HashMap<i64, String>> {
    let read = || async {
        AppResult::Ok(
            unsubscribe_token::Entity::find()
                .filter(unsubscribe_token::Column::UserId.is_in(user_ids.iter().copied()))
                .filter(unsubscribe_token::Column::Category.eq(category))
                .all(db)
                .await?
                .into_iter()
                .map(|t| (t.user_id, t.token))
                .collect::<std::collections::HashMap<_, _>>(),
        )
    };
    let known = read().await?;
    let missing: Vec<_> = user_ids
        .iter()
        .copied()
        .filter(|u| !known.contains_key(u))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .map(|user_id| {
            let mut bytes = [0u8; 32];
            rand::rng().fill_bytes(&mut bytes);
            unsubscribe_token::ActiveModel {
                token: Set(URL_SAFE_NO_PAD.encode(bytes)),
                user_id: Set(user_id),
                category: Set(category),
                created_at: Set(Utc::now()),
            }
        })
        .collect();
    if missing.is_empty() {
        return Ok(known);
    }
    // Two workers minting at once: the loser's insert does nothing, both read the winner's.
    unsubscribe_token::Entity::insert_many(missing)
        .on_conflict(
            OnConflict::columns([
                unsubscribe_token::Column::UserId,
                unsubscribe_token::Column::Category,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    read().await
}

/// Longest token accepted (ours are 43 characters); anything longer is not ours.
const MAX_TOKEN: usize = 128;

/// What a token stands for, without changing anything (the confirmation page).
/// `NOT_FOUND` for a token that is not ours.
pub async fn lookup(db: &impl ConnectionTrait, token: &str) -> AppResult<MailCategory> {
    Ok(resolve(db, token).await?.category)
}

async fn resolve(db: &impl ConnectionTrait, token: &str) -> AppResult<unsubscribe_token::Model> {
    if token.is_empty() || token.len() > MAX_TOKEN {
        return Err(AppError::NotFound);
    }
    unsubscribe_token::Entity::find_by_id(token.to_owned())
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

/// One-click unsubscribe: turns the token's category off for its user (idempotent).
/// `NOT_FOUND` for a token that is not ours, and nothing changes.
pub async fn unsubscribe(db: &impl ConnectionTrait, token: &str) -> AppResult<MailCategory> {
    let t = resolve(db, token).await?;
    app_user::Entity::update_many()
        .col_expr(column(t.category), Expr::value(false))
        .col_expr(app_user::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(app_user::Column::Id.eq(t.user_id))
        .exec(db)
        .await?;
    Ok(t.category)
}
