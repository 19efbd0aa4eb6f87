//! Users: provisioned just in time from token claims, read through the viewer's scope.

use chrono::Utc;
use entity::{Role, app_user};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, Order,
    QueryFilter,
};

use crate::{
    auth::{Actor, Claims, viewer::parse_role},
    domain::{
        organizations,
        page::{self, Page, PageArgs},
        policy, rows,
    },
    error::{AppError, AppResult},
};

const MAX_SUB: usize = 255;
const MAX_NAME: usize = 200;

/// Creates or refreshes the user behind a valid token. The role is the token's, every time;
/// the stored copy only serves listings (`User.role`).
pub async fn provision(db: &impl ConnectionTrait, claims: &Claims) -> AppResult<Actor> {
    let unauthenticated = |why: &str| AppError::Unauthenticated(why.to_owned());
    let role = parse_role(&claims.role).ok_or_else(|| unauthenticated("unknown role"))?;
    let sub = claims.sub.trim();
    // PostgreSQL cannot store NUL in text; such a claim is not one we can provision.
    let claimed = [
        Some(&claims.sub),
        claims.org.as_ref(),
        claims.name.as_ref(),
        claims.email.as_ref(),
    ];
    if claimed.iter().flatten().any(|c| c.contains('\0')) {
        return Err(unauthenticated(
            "the token's claims contain a NUL character",
        ));
    }
    if sub.is_empty() || sub.len() > MAX_SUB {
        return Err(unauthenticated("the token's `sub` is empty or too long"));
    }
    let org_id = match claims.org.as_deref() {
        Some(key) => Some(organizations::provision(db, key).await?),
        None => None,
    };
    if role == Role::Customer && org_id.is_none() {
        return Err(unauthenticated("customer tokens need an `org` claim"));
    }
    // Absent optional claims keep what we know; present ones refresh it.
    let claimed_name: Option<String> = claims
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(|n| n.chars().take(MAX_NAME).collect());
    let claimed_email = claims
        .email
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty() && e.len() <= MAX_NAME)
        .map(str::to_owned);

    let existing = find_by_sub(db, sub).await?;
    let user = match existing {
        Some(u)
            if u.role == role
                && u.org_id == org_id
                && claimed_name.as_ref().is_none_or(|n| *n == u.name)
                && (claimed_email.is_none() || claimed_email == u.email) =>
        {
            u
        }
        Some(u) => {
            let name = claimed_name.unwrap_or_else(|| u.name.clone());
            let email = claimed_email.or_else(|| u.email.clone());
            let mut am: app_user::ActiveModel = u.into();
            am.role = Set(role);
            am.org_id = Set(org_id);
            am.name = Set(name);
            am.email = Set(email);
            am.updated_at = Set(Utc::now());
            am.update(db).await?
        }
        None => {
            let now = Utc::now();
            let name = claimed_name.unwrap_or_else(|| sub.to_owned());
            let email = claimed_email;
            // Concurrent first requests: the loser's insert does nothing; both read one row.
            app_user::Entity::insert(app_user::ActiveModel {
                sub: Set(sub.to_owned()),
                role: Set(role),
                org_id: Set(org_id),
                email: Set(email),
                name: Set(name),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            })
            .on_conflict_do_nothing_on([app_user::Column::Sub])
            .exec_without_returning(db)
            .await?;
            find_by_sub(db, sub)
                .await?
                .ok_or_else(|| AppError::internal(anyhow::anyhow!("user vanished after insert")))?
        }
    };
    Ok(Actor {
        id: user.id,
        sub: user.sub,
        role,
        org_id,
        expires_at: claims.exp,
        scope_memo: Default::default(),
    })
}

async fn find_by_sub(db: &impl ConnectionTrait, sub: &str) -> AppResult<Option<app_user::Model>> {
    Ok(app_user::Entity::find()
        .filter(app_user::Column::Sub.eq(sub))
        .one(db)
        .await?)
}

/// One user by id, if the viewer may see them.
pub async fn load_visible(
    db: &impl ConnectionTrait,
    v: &crate::auth::Viewer,
    id: i64,
) -> AppResult<app_user::Model> {
    app_user::Entity::find_by_id(id)
        .filter(policy::user_scope(db, v).await?)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

/// Users the viewer may see, oldest first.
pub async fn list(
    db: &impl ConnectionTrait,
    v: &crate::auth::Viewer,
    args: PageArgs,
) -> AppResult<Page<app_user::Entity>> {
    let select = app_user::Entity::find().filter(policy::user_scope(db, v).await?);
    page::fetch(db, select, app_user::Column::Id, Order::Asc, args).await
}

/// Users by id for a DataLoader. These are people named on something the viewer already
/// sees (requester, author, assignee), so the parent's visibility is what authorizes them.
pub async fn load_referenced(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> AppResult<Vec<app_user::Model>> {
    Ok(app_user::Entity::find()
        .filter(rows::any_of(
            db.get_database_backend(),
            app_user::Column::Id,
            ids,
        ))
        .all(db)
        .await?)
}
