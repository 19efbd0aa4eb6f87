//! Notifications that leave the process: mail preferences on users, their one-click
//! unsubscribe tokens, webhook endpoints with their signing secrets, the durable
//! `delivery` queue, and the position of the consumer that fills it from the event log.
//!
//! A delivery is decided from committed events by one consumer whose position
//! (`delivery_cursor`) moves in the same transaction as the rows it writes, so a crash
//! either keeps both or neither. `delivery.dedupe_key` (channel, event, recipient) is
//! unique: replaying a stretch of the log cannot create a second message. The cursor starts
//! at the end of the log as it is now, so an upgrade does not mail history.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for col in [AppUser::EmailReleaseNotes, AppUser::EmailTicketUpdates] {
            manager
                .alter_table(
                    Table::alter()
                        .table(AppUser::Table)
                        .add_column(boolean(col).default(true))
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(UnsubscribeToken::Table)
                    .col(string(UnsubscribeToken::Token).primary_key())
                    .col(big_integer(UnsubscribeToken::UserId))
                    .col(string(UnsubscribeToken::Category))
                    .col(timestamp_with_time_zone(UnsubscribeToken::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_unsubscribe_token_user_id")
                            .from(UnsubscribeToken::Table, UnsubscribeToken::UserId)
                            .to(AppUser::Table, AppUser::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_unsubscribe_token_user_category")
                    .table(UnsubscribeToken::Table)
                    .col(UnsubscribeToken::UserId)
                    .col(UnsubscribeToken::Category)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WebhookEndpoint::Table)
                    .col(big_pk_auto(WebhookEndpoint::Id))
                    .col(text(WebhookEndpoint::Url))
                    // Stored names of `WebhookEventType`, comma-separated.
                    .col(text(WebhookEndpoint::Events))
                    .col(text(WebhookEndpoint::Description).default(""))
                    .col(boolean(WebhookEndpoint::Enabled).default(true))
                    .col(text_null(WebhookEndpoint::DisabledReason))
                    .col(big_integer_null(WebhookEndpoint::CreatedBy))
                    .col(timestamp_with_time_zone(WebhookEndpoint::CreatedAt))
                    .col(timestamp_with_time_zone(WebhookEndpoint::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_webhook_endpoint_created_by")
                            .from(WebhookEndpoint::Table, WebhookEndpoint::CreatedBy)
                            .to(AppUser::Table, AppUser::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WebhookSecret::Table)
                    .col(big_pk_auto(WebhookSecret::Id))
                    .col(big_integer(WebhookSecret::EndpointId))
                    .col(string(WebhookSecret::Secret))
                    .col(timestamp_with_time_zone(WebhookSecret::CreatedAt))
                    // Set when a rotation replaces it: it keeps signing until then.
                    .col(timestamp_with_time_zone_null(WebhookSecret::ExpiresAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_webhook_secret_endpoint_id")
                            .from(WebhookSecret::Table, WebhookSecret::EndpointId)
                            .to(WebhookEndpoint::Table, WebhookEndpoint::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_webhook_secret_endpoint_id")
                    .table(WebhookSecret::Table)
                    .col(WebhookSecret::EndpointId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Delivery::Table)
                    .col(big_pk_auto(Delivery::Id))
                    .col(string(Delivery::Channel))
                    .col(string(Delivery::DedupeKey).unique_key())
                    .col(big_integer(Delivery::EventId))
                    // What the message says (a mail's template, a webhook's type).
                    .col(string(Delivery::Kind))
                    .col(big_integer_null(Delivery::UserId))
                    .col(big_integer_null(Delivery::EndpointId))
                    .col(text(Delivery::Target))
                    .col(string_null(Delivery::Category))
                    .col(text_null(Delivery::Payload))
                    .col(string(Delivery::Status))
                    .col(integer(Delivery::Attempts).default(0))
                    .col(text_null(Delivery::LastError))
                    .col(timestamp_with_time_zone(Delivery::NextAttemptAt))
                    .col(string_null(Delivery::LeaseOwner))
                    .col(timestamp_with_time_zone_null(Delivery::LeaseUntil))
                    .col(timestamp_with_time_zone(Delivery::CreatedAt))
                    .col(timestamp_with_time_zone_null(Delivery::DeliveredAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_delivery_event_id")
                            .from(Delivery::Table, Delivery::EventId)
                            .to(Event::Table, Event::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_delivery_user_id")
                            .from(Delivery::Table, Delivery::UserId)
                            .to(AppUser::Table, AppUser::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_delivery_endpoint_id")
                            .from(Delivery::Table, Delivery::EndpointId)
                            .to(WebhookEndpoint::Table, WebhookEndpoint::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            // The workers' claim: due pending rows, oldest first.
            (
                "idx_delivery_status_next_attempt_at",
                vec![Delivery::Status, Delivery::NextAttemptAt],
            ),
            (
                "idx_delivery_channel_id",
                vec![Delivery::Channel, Delivery::Id],
            ),
            ("idx_delivery_event_id", vec![Delivery::EventId]),
            ("idx_delivery_endpoint_id", vec![Delivery::EndpointId]),
            ("idx_delivery_user_id", vec![Delivery::UserId]),
        ] {
            let mut index = Index::create();
            index.name(name).table(Delivery::Table);
            for col in cols {
                index.col(col);
            }
            manager.create_index(index).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(DeliveryCursor::Table)
                    .col(string(DeliveryCursor::Name).primary_key())
                    .col(big_integer(DeliveryCursor::Tx))
                    .col(big_integer(DeliveryCursor::EventId))
                    .col(timestamp_with_time_zone(DeliveryCursor::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "INSERT INTO delivery_cursor (name, tx, event_id, updated_at)
                 SELECT 'notifications', COALESCE(MAX(tx), 0), COALESCE(MAX(id), 0),
                        CURRENT_TIMESTAMP
                 FROM event",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            DeliveryCursor::Table.into_iden(),
            Delivery::Table.into_iden(),
            WebhookSecret::Table.into_iden(),
            WebhookEndpoint::Table.into_iden(),
            UnsubscribeToken::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        for col in [AppUser::EmailReleaseNotes, AppUser::EmailTicketUpdates] {
            manager
                .alter_table(
                    Table::alter()
                        .table(AppUser::Table)
                        .drop_column(col)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum AppUser {
    Table,
    Id,
    EmailReleaseNotes,
    EmailTicketUpdates,
}

#[derive(DeriveIden)]
enum Event {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum UnsubscribeToken {
    Table,
    Token,
    UserId,
    Category,
    CreatedAt,
}

#[derive(DeriveIden)]
enum WebhookEndpoint {
    Table,
    Id,
    Url,
    Events,
    Description,
    Enabled,
    DisabledReason,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum WebhookSecret {
    Table,
    Id,
    EndpointId,
    Secret,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum Delivery {
    Table,
    Id,
    Channel,
    DedupeKey,
    EventId,
    Kind,
    UserId,
    EndpointId,
    Target,
    Category,
    Payload,
    Status,
    Attempts,
    LastError,
    NextAttemptAt,
    LeaseOwner,
    LeaseUntil,
    CreatedAt,
    DeliveredAt,
}

#[derive(DeriveIden)]
enum DeliveryCursor {
    Table,
    Name,
    Tx,
    EventId,
    UpdatedAt,
}
