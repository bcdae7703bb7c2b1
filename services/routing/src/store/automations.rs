//! Business hours, automatic messages and the claims of their triggers; the queue position and
//! the recent waits an automatic message quotes.

use chrono::NaiveDate;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, sea_query::OnConflict,
};
use serde::{Deserialize, Serialize};
use switchboard_hours::{DayHours, Interval, ScheduleSpec, Weekday};
use switchboard_runtime::{
    ids::{ChannelAccountId, ConversationId, OrganizationId, TeamId},
    tenancy::{of_org, secure_find},
};

use super::{Store, directory::corrupt, entities as e};
use crate::{
    domain::{
        automations::{AutomaticMessages, Frequency, Kind, Message},
        conversation::{Actor, Conversation, State},
    },
    error::RoutingError,
};

/// The sea-orm entities of this module's tables (see migration m0008).
pub mod entities {
    pub mod business_hours {
        use sea_orm::entity::prelude::*;

        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
        #[sea_orm(table_name = "business_hours")]
        pub struct Model {
            #[sea_orm(primary_key, auto_increment = false)]
            pub organization_id: String,
            /// Empty for the organization's schedule.
            #[sea_orm(primary_key, auto_increment = false)]
            pub channel_account_id: String,
            pub time_zone: String,
            pub schedule: String,
            pub updated_ms: i64,
        }

        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {}

        impl ActiveModelBehavior for ActiveModel {}
    }

    pub mod automatic_messages {
        use sea_orm::entity::prelude::*;

        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
        #[sea_orm(table_name = "automatic_messages")]
        pub struct Model {
            #[sea_orm(primary_key, auto_increment = false)]
            pub organization_id: String,
            #[sea_orm(primary_key, auto_increment = false)]
            pub channel_account_id: String,
            pub settings: String,
            pub updated_ms: i64,
        }

        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {}

        impl ActiveModelBehavior for ActiveModel {}
    }

    pub mod automatic_message_claims {
        use sea_orm::entity::prelude::*;

        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
        #[sea_orm(table_name = "automatic_message_claims")]
        pub struct Model {
            #[sea_orm(primary_key, auto_increment = false)]
            pub organization_id: String,
            #[sea_orm(primary_key, auto_increment = false)]
            pub trigger_key: String,
            pub kind: String,
            pub conversation_id: String,
            pub body: String,
            pub state: String,
            pub message_id: Option<String>,
            pub detail: String,
            pub created_ms: i64,
            pub updated_ms: i64,
        }

        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {}

        impl ActiveModelBehavior for ActiveModel {}
    }

    switchboard_runtime::tenant!(business_hours, automatic_messages, automatic_message_claims);
}

use entities::{
    automatic_message_claims as claims, automatic_messages as am, business_hours as bh,
};

/// A stored schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredHours {
    pub spec: ScheduleSpec,
    pub updated_ms: i64,
}

/// The stored form of a schedule's days and holidays.
#[derive(Serialize, Deserialize)]
struct ScheduleRow {
    days: Vec<DayRow>,
    holidays: Vec<String>,
}

#[derive(Serialize, Deserialize)]
struct DayRow {
    /// "Mon" ... "Sun".
    weekday: String,
    /// [start_minute, end_minute] pairs.
    intervals: Vec<[u32; 2]>,
}

fn schedule_to_row(spec: &ScheduleSpec) -> String {
    serde_json::to_string(&ScheduleRow {
        days: spec
            .days
            .iter()
            .map(|d| DayRow {
                weekday: d.weekday.to_string(),
                intervals: d
                    .intervals
                    .iter()
                    .map(|i| [i.start_minute, i.end_minute])
                    .collect(),
            })
            .collect(),
        holidays: spec.holidays.iter().map(ToString::to_string).collect(),
    })
    .unwrap_or_default()
}

fn hours_from_row(row: bh::Model) -> Result<StoredHours, RoutingError> {
    let bad = |what: &str| corrupt("business hours", what);
    let parsed: ScheduleRow =
        serde_json::from_str(&row.schedule).map_err(|e| bad(&format!("schedule: {e}")))?;
    let mut days = Vec::new();
    for d in parsed.days {
        let weekday: Weekday = d
            .weekday
            .parse()
            .map_err(|_| bad(&format!("weekday {}", d.weekday)))?;
        days.push(DayHours {
            weekday,
            intervals: d
                .intervals
                .into_iter()
                .map(|[start_minute, end_minute]| Interval {
                    start_minute,
                    end_minute,
                })
                .collect(),
        });
    }
    let holidays = parsed
        .holidays
        .iter()
        .map(|h| {
            h.parse::<NaiveDate>()
                .map_err(|_| bad(&format!("holiday {h}")))
        })
        .collect::<Result<_, _>>()?;
    Ok(StoredHours {
        spec: ScheduleSpec {
            time_zone: row.time_zone,
            days,
            holidays,
        },
        updated_ms: row.updated_ms,
    })
}

/// The stored form of a number's automatic messages.
#[derive(Serialize, Deserialize, Default)]
struct MessagesRow {
    out_of_hours: MessageRow,
    out_of_hours_frequency: String,
    no_agent_available: MessageRow,
    all_at_capacity: MessageRow,
    assigned: MessageRow,
    skip_campaign_replies: bool,
}

#[derive(Serialize, Deserialize, Default)]
struct MessageRow {
    enabled: bool,
    text: String,
}

impl From<&Message> for MessageRow {
    fn from(m: &Message) -> Self {
        Self {
            enabled: m.enabled,
            text: m.text.clone(),
        }
    }
}

impl From<MessageRow> for Message {
    fn from(m: MessageRow) -> Self {
        Self {
            enabled: m.enabled,
            text: m.text,
        }
    }
}

/// The state of a trigger's claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimState {
    /// Claimed; the send may not have happened yet (or its answer was lost).
    Claimed,
    Sent,
    Skipped,
    Failed,
}

impl ClaimState {
    fn as_str(self) -> &'static str {
        match self {
            ClaimState::Claimed => "claimed",
            ClaimState::Sent => "sent",
            ClaimState::Skipped => "skipped",
            ClaimState::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "claimed" => ClaimState::Claimed,
            "sent" => ClaimState::Sent,
            "skipped" => ClaimState::Skipped,
            "failed" => ClaimState::Failed,
            _ => return None,
        })
    }
}

/// A trigger's claim: who claimed its key and what it sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub key: String,
    pub kind: Kind,
    pub conversation_id: String,
    pub body: String,
    pub state: ClaimState,
}

impl Store {
    /// The schedule configured for the organization (`account` None) or for one number.
    pub async fn business_hours(
        &self,
        org: &OrganizationId,
        account: Option<&ChannelAccountId>,
    ) -> Result<Option<StoredHours>, RoutingError> {
        let scope = account.map(ChannelAccountId::as_str).unwrap_or_default();
        secure_find::<bh::Entity, _>(org, (org.to_string(), scope.to_string()))
            .one(&self.db)
            .await?
            .map(hours_from_row)
            .transpose()
    }

    /// Replaces (`Some`) or removes (`None`) the schedule of a scope.
    pub async fn put_business_hours(
        &self,
        org: &OrganizationId,
        account: Option<&ChannelAccountId>,
        spec: Option<&ScheduleSpec>,
        now_ms: i64,
    ) -> Result<Option<StoredHours>, RoutingError> {
        let scope = account.map(ChannelAccountId::as_str).unwrap_or_default();
        match spec {
            None => {
                bh::Entity::delete_many()
                    .filter(bh::Column::OrganizationId.eq(org.as_str()))
                    .filter(bh::Column::ChannelAccountId.eq(scope))
                    .exec(&self.db)
                    .await?;
            }
            Some(spec) => {
                bh::Entity::insert(bh::ActiveModel {
                    organization_id: Set(org.to_string()),
                    channel_account_id: Set(scope.to_string()),
                    time_zone: Set(spec.time_zone.trim().to_string()),
                    schedule: Set(schedule_to_row(spec)),
                    updated_ms: Set(now_ms),
                })
                .on_conflict(
                    OnConflict::columns([bh::Column::OrganizationId, bh::Column::ChannelAccountId])
                        .update_columns([
                            bh::Column::TimeZone,
                            bh::Column::Schedule,
                            bh::Column::UpdatedMs,
                        ])
                        .to_owned(),
                )
                .exec_without_returning(&self.db)
                .await?;
            }
        }
        self.business_hours(org, account).await
    }

    /// A number's automatic messages (all off when never configured).
    pub async fn automatic_messages(
        &self,
        org: &OrganizationId,
        account: &ChannelAccountId,
    ) -> Result<AutomaticMessages, RoutingError> {
        let Some(row) = secure_find::<am::Entity, _>(org, (org.to_string(), account.to_string()))
            .one(&self.db)
            .await?
        else {
            return Ok(AutomaticMessages::default());
        };
        let parsed: MessagesRow = serde_json::from_str(&row.settings)
            .map_err(|e| corrupt("automatic messages", &e.to_string()))?;
        Ok(AutomaticMessages {
            out_of_hours: parsed.out_of_hours.into(),
            out_of_hours_frequency: Frequency::parse(&parsed.out_of_hours_frequency)
                .unwrap_or(Frequency::OncePerConversation),
            no_agent_available: parsed.no_agent_available.into(),
            all_at_capacity: parsed.all_at_capacity.into(),
            assigned: parsed.assigned.into(),
            skip_campaign_replies: parsed.skip_campaign_replies,
            updated_ms: Some(row.updated_ms),
        })
    }

    /// Replaces a number's automatic messages.
    pub async fn put_automatic_messages(
        &self,
        org: &OrganizationId,
        account: &ChannelAccountId,
        config: &AutomaticMessages,
        now_ms: i64,
    ) -> Result<AutomaticMessages, RoutingError> {
        let row = MessagesRow {
            out_of_hours: (&config.out_of_hours).into(),
            out_of_hours_frequency: config.out_of_hours_frequency.as_str().into(),
            no_agent_available: (&config.no_agent_available).into(),
            all_at_capacity: (&config.all_at_capacity).into(),
            assigned: (&config.assigned).into(),
            skip_campaign_replies: config.skip_campaign_replies,
        };
        am::Entity::insert(am::ActiveModel {
            organization_id: Set(org.to_string()),
            channel_account_id: Set(account.to_string()),
            settings: Set(serde_json::to_string(&row).unwrap_or_default()),
            updated_ms: Set(now_ms),
        })
        .on_conflict(
            OnConflict::columns([am::Column::OrganizationId, am::Column::ChannelAccountId])
                .update_columns([am::Column::Settings, am::Column::UpdatedMs])
                .to_owned(),
        )
        .exec_without_returning(&self.db)
        .await?;
        self.automatic_messages(org, account).await
    }

    /// Claims a trigger key for `conversation` with `body` if nobody has (one statement:
    /// insert if absent); returns the claim as it stands, this call's or an earlier one's, and
    /// whether this call made it.
    #[allow(clippy::too_many_arguments)]
    pub async fn claim_trigger(
        &self,
        org: &OrganizationId,
        key: &str,
        kind: Kind,
        conversation: &ConversationId,
        body: &str,
        state: ClaimState,
        now_ms: i64,
    ) -> Result<(Claim, bool), RoutingError> {
        let inserted = claims::Entity::insert(claims::ActiveModel {
            organization_id: Set(org.to_string()),
            trigger_key: Set(key.to_string()),
            kind: Set(kind.as_str().into()),
            conversation_id: Set(conversation.to_string()),
            body: Set(body.to_string()),
            state: Set(state.as_str().into()),
            message_id: Set(None),
            detail: Set(String::new()),
            created_ms: Set(now_ms),
            updated_ms: Set(now_ms),
        })
        .on_conflict(
            OnConflict::columns([claims::Column::OrganizationId, claims::Column::TriggerKey])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(&self.db)
        .await?;
        let row = secure_find::<claims::Entity, _>(org, (org.to_string(), key.to_string()))
            .one(&self.db)
            .await?
            .ok_or_else(|| corrupt("automatic message claim (vanished)", key))?;
        let claim = Claim {
            key: row.trigger_key,
            kind: Kind::parse(&row.kind).ok_or_else(|| corrupt("claim kind", &row.kind))?,
            conversation_id: row.conversation_id,
            body: row.body,
            state: ClaimState::parse(&row.state)
                .ok_or_else(|| corrupt("claim state", &row.state))?,
        };
        Ok((claim, inserted == 1))
    }

    /// Records how a claimed trigger ended; true when this call ended it (it was still
    /// claimed), so each trigger is counted once.
    pub async fn finish_trigger(
        &self,
        org: &OrganizationId,
        key: &str,
        state: ClaimState,
        message_id: Option<&str>,
        detail: &str,
        now_ms: i64,
    ) -> Result<bool, RoutingError> {
        let updated = claims::Entity::update_many()
            .col_expr(claims::Column::State, state.as_str().into())
            .col_expr(
                claims::Column::MessageId,
                message_id.map(str::to_string).into(),
            )
            .col_expr(claims::Column::Detail, detail.into())
            .col_expr(claims::Column::UpdatedMs, now_ms.into())
            .filter(claims::Column::OrganizationId.eq(org.as_str()))
            .filter(claims::Column::TriggerKey.eq(key))
            .filter(claims::Column::State.eq(ClaimState::Claimed.as_str()))
            .exec(&self.db)
            .await?;
        Ok(updated.rows_affected == 1)
    }

    /// The conversation's place (from 1) in the queue it waits in: its team's queue, the
    /// queue of the one agent it waits for, or the organization waiting list, ordered by
    /// priority then age as the queue is served.
    pub async fn queue_position(
        &self,
        org: &OrganizationId,
        conv: &Conversation,
    ) -> Result<u64, RoutingError> {
        use e::conversations::Column as C;
        let queue_ms = conv.queue_ms.unwrap_or(conv.created_ms);
        let mut q =
            of_org::<e::conversations::Entity>(org).filter(C::State.eq(State::Queued.as_str()));
        q = match (&conv.waiting_agent, &conv.team_id) {
            (Some(agent), _) => q.filter(C::WaitingAgentId.eq(agent.as_str())),
            (None, Some(team)) => q
                .filter(C::TeamId.eq(team.as_str()))
                .filter(C::WaitingAgentId.is_null()),
            (None, None) => q
                .filter(C::TeamId.is_null())
                .filter(C::WaitingAgentId.is_null())
                .filter(C::ChannelAccountId.eq(conv.channel_account_id.as_str())),
        };
        let ahead = q
            .filter(
                Condition::any()
                    .add(C::Priority.gt(conv.priority))
                    .add(
                        Condition::all()
                            .add(C::Priority.eq(conv.priority))
                            .add(C::QueueMs.lt(queue_ms)),
                    )
                    .add(
                        Condition::all()
                            .add(C::Priority.eq(conv.priority))
                            .add(C::QueueMs.eq(queue_ms))
                            .add(C::Id.lt(conv.id.as_str())),
                    ),
            )
            .count(&self.db)
            .await?;
        Ok(ahead + 1)
    }

    /// The queued→assigned waits (milliseconds) of the team's `limit` latest assignments
    /// (each conversation's latest).
    pub async fn recent_waits(
        &self,
        org: &OrganizationId,
        team: &TeamId,
        limit: u64,
    ) -> Result<Vec<i64>, RoutingError> {
        use e::conversations::Column as C;
        let rows: Vec<(Option<i64>, Option<i64>)> = of_org::<e::conversations::Entity>(org)
            .filter(C::TeamId.eq(team.as_str()))
            .filter(C::AssignMs.is_not_null())
            .filter(C::QueueMs.is_not_null())
            .order_by_desc(C::AssignMs)
            .limit(limit)
            .select_only()
            .column(C::QueueMs)
            .column(C::AssignMs)
            .into_tuple()
            .all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(queued, assigned)| Some(assigned? - queued?))
            .collect())
    }

    /// Who made the first and the latest recorded change of a conversation.
    pub async fn first_and_last_actors(
        &self,
        org: &OrganizationId,
        conv: &ConversationId,
    ) -> Result<Option<(Actor, Actor)>, RoutingError> {
        use e::conversation_transitions::Column as C;
        let q = of_org::<e::conversation_transitions::Entity>(org)
            .filter(C::ConversationId.eq(conv.as_str()));
        let first = q.clone().order_by_asc(C::Sequence).one(&self.db).await?;
        let last = q.order_by_desc(C::Sequence).one(&self.db).await?;
        let actor = |row: e::conversation_transitions::Model| {
            serde_json::from_str::<Actor>(&row.actor).map_err(|_| corrupt("actor", &row.actor))
        };
        match (first, last) {
            (Some(f), Some(l)) => Ok(Some((actor(f)?, actor(l)?))),
            _ => Ok(None),
        }
    }
}
