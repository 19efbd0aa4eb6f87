//! Schema migrations for tier3. Portable DDL only: every migration runs on SQLite and
//! PostgreSQL. Migrations are never edited once merged; add a new file instead.

pub use sea_orm_migration::prelude::*;

mod m20261128_000001_create_organization;
mod m20261128_000002_create_app_user;
mod m20261128_000003_create_org_scope_grant;
mod m20261128_000004_create_ticket;
mod m20261128_000005_create_comment;
mod m20261128_000006_create_release;
mod m20261128_000007_create_escalation;
mod m20261128_000008_create_escalation_ticket;
mod m20261128_000009_create_escalation_update;
mod m20261128_000010_create_release_note;
mod m20261128_000011_create_release_note_follow;
mod m20261128_000012_create_release_note_vote;
mod m20261128_000013_create_notification;
mod m20261128_000014_create_event;
mod m20261128_000015_create_counter;
mod m20261201_000016_create_ticket_tally;
mod m20261202_000017_order_event_log;
mod m20261202_000018_create_delivery;
mod m20261202_000019_find_tickets;
pub mod search;

/// Runs every tier3 migration, in order (foreign keys only point at earlier tables).
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261128_000001_create_organization::Migration),
            Box::new(m20261128_000002_create_app_user::Migration),
            Box::new(m20261128_000003_create_org_scope_grant::Migration),
            Box::new(m20261128_000004_create_ticket::Migration),
            Box::new(m20261128_000005_create_comment::Migration),
            Box::new(m20261128_000006_create_release::Migration),
            Box::new(m20261128_000007_create_escalation::Migration),
            Box::new(m20261128_000008_create_escalation_ticket::Migration),
            Box::new(m20261128_000009_create_escalation_update::Migration),
            Box::new(m20261128_000010_create_release_note::Migration),
            Box::new(m20261128_000011_create_release_note_follow::Migration),
            Box::new(m20261128_000012_create_release_note_vote::Migration),
            Box::new(m20261128_000013_create_notification::Migration),
            Box::new(m20261128_000014_create_event::Migration),
            Box::new(m20261128_000015_create_counter::Migration),
            Box::new(m20261201_000016_create_ticket_tally::Migration),
            Box::new(m20261202_000017_order_event_log::Migration),
            Box::new(m20261202_000018_create_delivery::Migration),
            Box::new(m20261202_000019_find_tickets::Migration),
        ]
    }
}
