use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Append-only audit trail and subscription replay log; `id` is the cursor.
        manager
            .create_table(
                Table::create()
                    .table(Event::Table)
                    .col(big_pk_auto(Event::Id))
                    .col(string(Event::Kind))
                    .col(boolean(Event::Public))
                    .col(big_integer_null(Event::ActorId))
                    .col(big_integer_null(Event::OrgId))
                    .col(big_integer_null(Event::TicketId))
                    .col(big_integer_null(Event::EscalationId))
                    .col(big_integer_null(Event::ReleaseId))
                    .col(big_integer_null(Event::ReleaseNoteId))
                    .col(big_integer_null(Event::CommentId))
                    .col(big_integer_null(Event::EscalationUpdateId))
                    .col(string_null(Event::FromStatus))
                    .col(string_null(Event::ToStatus))
                    .col(text_null(Event::Data))
                    .col(timestamp_with_time_zone(Event::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_event_actor_id")
                            .from(Event::Table, Event::ActorId)
                            .to(AppUser::Table, AppUser::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_event_org_id")
                            .from(Event::Table, Event::OrgId)
                            .to(Organization::Table, Organization::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_event_ticket_id")
                            .from(Event::Table, Event::TicketId)
                            .to(Ticket::Table, Ticket::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_event_escalation_id")
                            .from(Event::Table, Event::EscalationId)
                            .to(Escalation::Table, Escalation::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_event_release_id")
                            .from(Event::Table, Event::ReleaseId)
                            .to(Release::Table, Release::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_event_release_note_id")
                            .from(Event::Table, Event::ReleaseNoteId)
                            .to(ReleaseNote::Table, ReleaseNote::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_event_comment_id")
                            .from(Event::Table, Event::CommentId)
                            .to(Comment::Table, Comment::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_event_escalation_update_id")
                            .from(Event::Table, Event::EscalationUpdateId)
                            .to(EscalationUpdate::Table, EscalationUpdate::Id),
                    )
                    .to_owned(),
            )
            .await?;
        for stmt in [
            index("idx_event_ticket_id_id", [Event::TicketId, Event::Id]),
            index(
                "idx_event_escalation_id_id",
                [Event::EscalationId, Event::Id],
            ),
            index("idx_event_org_id_id", [Event::OrgId, Event::Id]),
            index("idx_event_release_id_id", [Event::ReleaseId, Event::Id]),
            index("idx_event_actor_id", [Event::ActorId]),
            index("idx_event_release_note_id", [Event::ReleaseNoteId]),
            index("idx_event_comment_id", [Event::CommentId]),
            index(
                "idx_event_escalation_update_id",
                [Event::EscalationUpdateId],
            ),
        ] {
            manager.create_index(stmt).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Event::Table).to_owned())
            .await
    }
}

fn index<const N: usize>(name: &str, cols: [Event; N]) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table(Event::Table);
    for col in cols {
        index.col(col);
    }
    index
}

#[derive(DeriveIden)]
enum Event {
    Table,
    Id,
    Kind,
    Public,
    ActorId,
    OrgId,
    TicketId,
    EscalationId,
    ReleaseId,
    ReleaseNoteId,
    CommentId,
    EscalationUpdateId,
    FromStatus,
    ToStatus,
    Data,
    CreatedAt,
}

#[derive(DeriveIden)]
enum AppUser {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Organization {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Ticket {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Escalation {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Release {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum ReleaseNote {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Comment {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum EscalationUpdate {
    Table,
    Id,
}
