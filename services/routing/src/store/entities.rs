//! sea-orm entities of routing's tables (see the migration for what each column means).
//! Generated once from the migration's DDL and kept by hand since.

pub mod agents {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "agents")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub organization_id: String,
        pub display_name: String,
        pub email: String,
        pub role: String,
        pub capacity: i32,
        pub auth_subject: Option<String>,
        pub disabled: bool,
        pub created_ms: i64,
        pub updated_ms: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod teams {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "teams")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub organization_id: String,
        pub name: String,
        pub description: String,
        pub strategy: String,
        pub auto_distribution: bool,
        pub offer_timeout_secs: i64,
        pub offline_policy: String,
        pub priority_rules: String,
        pub dedicated_agent_id: Option<String>,
        pub created_ms: i64,
        pub updated_ms: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod team_members {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "team_members")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub organization_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub team_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub agent_id: String,
        pub created_ms: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod channel_accounts {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "channel_accounts")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub organization_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub channel_account_id: String,
        pub default_target_kind: String,
        pub default_target_id: Option<String>,
        pub updated_ms: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod channel_account_links {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "channel_account_links")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub organization_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub channel_account_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub target_kind: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub target_id: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod campaigns {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "campaigns")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub organization_id: String,
        pub name: String,
        pub channel_account_id: String,
        pub continue_with_human: bool,
        pub human_target_kind: String,
        pub human_target_id: Option<String>,
        pub reply_window_secs: i64,
        pub form_fields: String,
        pub archived: bool,
        pub created_ms: i64,
        pub updated_ms: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod contact_owners {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "contact_owners")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub organization_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub contact_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub agent_id: String,
        pub source: String,
        pub added_by: String,
        pub created_ms: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod conversations {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "conversations")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub organization_id: String,
        pub channel_account_id: String,
        pub contact_id: String,
        pub state: String,
        pub active_key: Option<String>,
        pub campaign_id: Option<String>,
        pub team_id: Option<String>,
        pub assignee_agent_id: Option<String>,
        pub waiting_agent_id: Option<String>,
        pub reservation_id: Option<String>,
        pub priority: i32,
        pub participants: String,
        pub form_values: String,
        pub transfer_count: i32,
        pub excluded_agents: String,
        pub owner_wait_until_ms: Option<i64>,
        pub created_ms: i64,
        pub queue_ms: Option<i64>,
        pub assign_ms: Option<i64>,
        pub offer_expire_ms: Option<i64>,
        pub open_ms: Option<i64>,
        pub first_response_ms: Option<i64>,
        pub last_customer_ms: i64,
        pub expire_ms: i64,
        pub end_ms: Option<i64>,
        pub closed_by: Option<String>,
        pub close_note: String,
        pub finalize_ms: Option<i64>,
        pub last_decision_id: Option<String>,
        pub updated_ms: i64,
        pub version: i64,
        /// Written only by ticketing's events (see `Store::apply_tickets`).
        pub ticket_id: Option<String>,
        pub ticket_number: Option<i64>,
        pub proposal_id: Option<String>,
        pub proposed_ticket_id: Option<String>,
        pub proposed_ticket_number: Option<i64>,
        pub tickets_version: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod conversation_transitions {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "conversation_transitions")]
    pub struct Model {
        pub organization_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub conversation_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub sequence: i64,
        pub from_state: Option<String>,
        pub to_state: String,
        pub from_agent_id: Option<String>,
        pub to_agent_id: Option<String>,
        pub to_team_id: Option<String>,
        pub actor: String,
        pub cause: String,
        pub detail: String,
        pub decision_id: Option<String>,
        pub created_ms: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod transfers {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "transfers")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub organization_id: String,
        pub conversation_id: String,
        pub actor: String,
        pub from_agent_id: Option<String>,
        pub from_team_id: Option<String>,
        pub target_kind: String,
        pub target_id: String,
        pub reason: String,
        pub from_state: String,
        pub created_ms: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod routing_decisions {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "routing_decisions")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub organization_id: String,
        pub subject_id: String,
        pub trigger_kind: String,
        pub matched_rule: String,
        pub target_kind: String,
        pub target_id: Option<String>,
        pub strategy: Option<String>,
        pub outcome: String,
        pub chosen_agent_id: Option<String>,
        pub reservation_id: Option<String>,
        pub explanation: String,
        pub detail: String,
        pub created_ms: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod work_items {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "work_items")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub organization_id: String,
        pub kind: String,
        pub external_ref: String,
        pub target_kind: String,
        pub target_id: String,
        pub channel_account_id: Option<String>,
        pub priority: i32,
        pub attributes: String,
        pub state: String,
        pub assignee_agent_id: Option<String>,
        pub reservation_id: Option<String>,
        pub created_by: String,
        pub outcome: String,
        pub last_decision_id: Option<String>,
        pub excluded_agents: String,
        pub created_ms: i64,
        pub queue_ms: Option<i64>,
        pub assign_ms: Option<i64>,
        pub offer_expire_ms: Option<i64>,
        pub accept_ms: Option<i64>,
        pub end_ms: Option<i64>,
        pub updated_ms: i64,
        pub version: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod pending_releases {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "pending_releases")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub reservation_id: String,
        pub organization_id: String,
        pub agent_id: String,
        pub created_ms: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

switchboard_runtime::tenant!(
    agents,
    teams,
    team_members,
    channel_accounts,
    channel_account_links,
    campaigns,
    contact_owners,
    conversations,
    conversation_transitions,
    transfers,
    routing_decisions,
    work_items,
    pending_releases,
);
