//! sea-orm entities of ticketing's tables; every one is a tenant table (see `tenant!`).

pub mod tickets {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "tickets")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub organization_id: String,
        pub number: i64,
        pub subject: String,
        pub description: String,
        pub requester: String,
        pub requester_contact_id: Option<String>,
        pub status: String,
        pub priority: String,
        pub assignee_agent_id: Option<String>,
        pub tags: String,
        pub created_by: String,
        pub linked_conversation_count: i32,
        pub create_ms: i64,
        pub update_ms: i64,
        pub solve_ms: Option<i64>,
        pub close_ms: Option<i64>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod ticket_actions {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "ticket_actions")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub organization_id: String,
        pub ticket_id: String,
        pub kind: String,
        pub actor: String,
        pub body: String,
        pub changes: String,
        pub conversation_id: Option<String>,
        pub transcript: Option<String>,
        pub search_text: String,
        pub create_ms: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod ticket_links {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "ticket_links")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub organization_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub conversation_id: String,
        pub ticket_id: String,
        pub contact_id: String,
        pub linked_by: String,
        pub create_ms: i64,
        pub history_append_ms: Option<i64>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod ticket_proposals {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "ticket_proposals")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub organization_id: String,
        pub conversation_id: String,
        pub contact_id: String,
        pub ticket_id: String,
        pub source: String,
        pub message_id: String,
        pub evidence: String,
        pub status: String,
        pub decided_by: Option<String>,
        pub create_ms: i64,
        pub decide_ms: Option<i64>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod close_policies {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "close_policies")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub organization_id: String,
        pub require_ticket: bool,
        pub channel_account_ids: String,
        pub team_ids: String,
        pub update_ms: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

switchboard_runtime::tenant!(
    tickets,
    ticket_actions,
    ticket_links,
    ticket_proposals,
    close_policies
);
