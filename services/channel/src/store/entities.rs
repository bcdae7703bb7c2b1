//! sea-orm entities of channel's tables (see the migration for what each column means).
//! Generated once from the migration's DDL and kept by hand since.

pub mod channel_accounts {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "channel_accounts")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub organization_id: String,
        pub display_name: String,
        pub phone_number_id: String,
        pub active_phone_key: Option<String>,
        pub display_phone_number: String,
        pub waba_id: String,
        pub access_token_secret_ref: String,
        pub disabled: bool,
        pub deleted: bool,
        pub last_webhook_ms: Option<i64>,
        pub created_ms: i64,
        pub updated_ms: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod contacts {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "contacts")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub organization_id: String,
        pub phone_number: String,
        pub wa_id: Option<String>,
        pub profile_name: String,
        pub display_name: String,
        pub attributes: String,
        pub last_inbound_ms: Option<i64>,
        pub created_ms: i64,
        pub updated_ms: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A contact's tags: `tag_key` (lowercase) makes them unique ignoring case, `tag` is the
/// spelling shown.
pub mod contact_tags {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "contact_tags")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub organization_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub contact_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub tag_key: String,
        pub tag: String,
        pub created_ms: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod windows {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "windows")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub organization_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub channel_account_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub contact_id: String,
        pub last_inbound_ms: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod messages {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "messages")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub organization_id: String,
        pub channel_account_id: String,
        pub contact_id: String,
        pub conversation_id: Option<String>,
        pub direction: String,
        pub wamid: Option<String>,
        pub request_id: Option<String>,
        pub sender_kind: String,
        pub sender_id: String,
        pub content_kind: String,
        pub content: String,
        pub status: String,
        pub status_rank: i32,
        pub errors: String,
        pub reply_to_wamid: Option<String>,
        pub reply_to_message_id: Option<String>,
        pub campaign_id: Option<String>,
        pub provider_ms: Option<i64>,
        pub created_ms: i64,
        pub status_ms: i64,
        pub deliver_ms: Option<i64>,
        pub read_ms: Option<i64>,
        pub attempts: i32,
        pub next_attempt_ms: Option<i64>,
        pub claimed_until_ms: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod early_statuses {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "early_statuses")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub wamid: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub status: String,
        pub timestamp_ms: i64,
        pub errors: String,
        pub received_ms: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod unmatched_webhooks {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "unmatched_webhooks")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub phone_number_id: String,
        pub received_ms: i64,
        pub body: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod templates {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "templates")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub organization_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub channel_account_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub name: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub language_code: String,
        pub whatsapp_template_id: String,
        pub category: String,
        pub status: String,
        pub header_format: String,
        pub header_text: String,
        pub body_text: String,
        pub footer_text: String,
        pub buttons: String,
        pub body_parameter_count: i32,
        pub sync_ms: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

switchboard_runtime::tenant!(
    channel_accounts,
    contacts,
    contact_tags,
    windows,
    messages,
    templates
);
