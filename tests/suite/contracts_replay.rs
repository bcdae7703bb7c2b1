//! `common.proto`'s idempotency promise, replayed over every mutating RPC of every implemented
//! service (routing, channel, presence, ticketing): the table below has one row per RPC whose request
//! carries `request_id`, and the test fails if the protos grow an RPC the table does not name.
//!
//! For each row, on a live organization: an empty key where one is required is
//! INVALID_ARGUMENT and changes nothing; the first call succeeds; the same call again answers
//! exactly the first answer and changes nothing (the organization's whole observable state, read
//! through the list RPCs, is compared); another body under the same key is INVALID_ARGUMENT
//! `IDEMPOTENCY_KEY_REUSED` on `request_id` and changes nothing.

use std::{any::Any, collections::BTreeSet, fmt::Debug, future::Future, pin::Pin, time::Duration};

use switchboard_proto::{
    channel::v1::{self as ch, send_template_message_request, template_parameter},
    common::v1::{AgentStatus, PageRequest, Role},
    presence::v1 as pr,
    prost::Message as _,
    routing::v1::{self as pb, TeamStrategy},
    ticketing::v1::{
        self as tk, link_conversation_request::Ticket as LinkTo,
        ticketing_service_client::TicketingServiceClient,
    },
};
use switchboard_runtime::{Service, ids::ContactId};
use switchboard_testkit::Backend;
use tonic_types::StatusExt;

use crate::{
    channel_support::{ChannelWorld, TEMPLATE, WABA_ID},
    on_both_backends,
    routing_support::{agent_target, reason, rid, team_target},
};

// ---- the machinery ----

/// A response, compared by value (proto maps are hash maps: their encoding has no fixed order).
trait Answer: Debug + Send {
    fn as_any(&self) -> &dyn Any;
    fn same_as(&self, other: &dyn Answer) -> bool;
}

impl<T: PartialEq + Debug + Send + 'static> Answer for T {
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn same_as(&self, other: &dyn Answer) -> bool {
        other.as_any().downcast_ref::<T>() == Some(self)
    }
}

type Answered = Result<Box<dyn Answer>, tonic::Status>;
/// Calls the RPC with a key and a body variant (0: the first body, 1: another body).
/// It borrows what it needs from the test's scope: a row runs where it is written.
type Call<'a> =
    Box<dyn Fn(String, usize) -> Pin<Box<dyn Future<Output = Answered> + Send>> + Send + 'a>;

/// One row: the RPC (`Service/Method`), whether its key is optional, and how to call it.
struct Case<'a> {
    rpc: &'static str,
    key_optional: bool,
    call: Call<'a>,
}

impl Case<'_> {
    /// A row whose `request_id` the proto documents as optional (naturally idempotent calls).
    fn optional(mut self) -> Self {
        self.key_optional = true;
        self
    }
}

/// `call!(client, rpc, "Service/Method", |key, v| request)`: a row calling `client.rpc`.
macro_rules! call {
    ($client:ident, $rpc:ident, $name:literal, |$key:ident, $v:ident| $req:expr) => {{
        Case {
            rpc: $name,
            key_optional: false,
            call: Box::new(|$key: String, $v: usize| {
                let mut client = $client.clone();
                let req = $req;
                Box::pin(async move {
                    client
                        .$rpc(req)
                        .await
                        .map(|r| Box::new(r.into_inner()) as Box<dyn Answer>)
                })
            }),
        }
    }};
}

/// One of two values by variant.
fn of<T: Clone>(v: usize, first: &T, other: &T) -> T {
    if v == 0 { first.clone() } else { other.clone() }
}

/// Everything an organization's users can see, through the list RPCs, minus what moves by
/// itself (heartbeat times, delivery statuses reported by WhatsApp).
#[derive(Debug, PartialEq)]
pub(crate) struct Snapshot {
    agents: Vec<pb::Agent>,
    teams: Vec<pb::Team>,
    members: Vec<pb::TeamMembership>,
    routing: Vec<pb::ChannelAccountRouting>,
    campaigns: Vec<pb::Campaign>,
    conversations: Vec<pb::Conversation>,
    owners: Vec<pb::ContactOwner>,
    work_items: Vec<pb::WorkItem>,
    accounts: Vec<ch::ChannelAccount>,
    contacts: Vec<ch::Contact>,
    messages: Vec<ch::Message>,
    campaign_messages: Vec<ch::Message>,
    templates: usize,
    presences: Vec<pr::AgentPresence>,
    tickets: Vec<tk::Ticket>,
    ticket_actions: Vec<tk::TicketAction>,
    ticket_links: Vec<tk::TicketLink>,
    ticket_proposals: Vec<tk::TicketProposal>,
    close_policy: Option<tk::ClosePolicy>,
    /// The organization's business hours, then each number's.
    business_hours: Vec<Option<pb::BusinessHours>>,
    automatic_messages: Vec<Option<pb::AutomaticMessages>>,
}

fn page() -> Option<PageRequest> {
    Some(PageRequest {
        page_size: 500,
        page_token: String::new(),
    })
}

/// A message without what WhatsApp's callbacks change.
fn settled_message(mut m: ch::Message) -> ch::Message {
    m.status = 0;
    m.status_time = None;
    m.deliver_time = None;
    m.read_time = None;
    m.errors.clear();
    m
}

pub(crate) async fn snapshot(
    f: &ChannelWorld,
    owner_contacts: &[String],
) -> anyhow::Result<Snapshot> {
    let org = f.world.org.clone();
    let admin = f.world.admin.clone();
    let mut routing = f.world.routing.clone();
    let mut channel = f.channel.clone();
    let mut presence = f.world.presence.clone();
    let agents = routing
        .list_agents(pb::ListAgentsRequest {
            organization_id: org.clone(),
            page: page(),
            include_disabled: true,
            ..Default::default()
        })
        .await?
        .into_inner()
        .agents;
    let teams = routing
        .list_teams(pb::ListTeamsRequest {
            organization_id: org.clone(),
            page: page(),
            ..Default::default()
        })
        .await?
        .into_inner()
        .teams;
    let mut members = Vec::new();
    for team in &teams {
        members.extend(
            routing
                .list_team_members(pb::ListTeamMembersRequest {
                    organization_id: org.clone(),
                    team_id: team.id.clone(),
                    page: page(),
                    ..Default::default()
                })
                .await?
                .into_inner()
                .memberships,
        );
    }
    let mut accounts = channel
        .list_channel_accounts(ch::ListChannelAccountsRequest {
            organization_id: org.clone(),
            page: page(),
            include_disabled: true,
        })
        .await?
        .into_inner()
        .channel_accounts;
    let mut routes = Vec::new();
    let mut templates = 0;
    for account in &mut accounts {
        account.last_webhook_time = None;
        routes.push(
            routing
                .get_channel_account_routing(pb::GetChannelAccountRoutingRequest {
                    organization_id: org.clone(),
                    channel_account_id: account.id.clone(),
                })
                .await?
                .into_inner()
                .routing
                .unwrap_or_default(),
        );
        templates += channel
            .list_templates(ch::ListTemplatesRequest {
                organization_id: org.clone(),
                channel_account_id: account.id.clone(),
                page: page(),
                ..Default::default()
            })
            .await?
            .into_inner()
            .templates
            .len();
    }
    let campaigns = routing
        .list_campaigns(pb::ListCampaignsRequest {
            organization_id: org.clone(),
            page: page(),
            include_archived: true,
            ..Default::default()
        })
        .await?
        .into_inner()
        .campaigns;
    let mut campaign_messages = Vec::new();
    for campaign in &campaigns {
        campaign_messages.extend(
            channel
                .list_campaign_messages(ch::ListCampaignMessagesRequest {
                    organization_id: org.clone(),
                    campaign_id: campaign.id.clone(),
                    page: page(),
                    ..Default::default()
                })
                .await?
                .into_inner()
                .messages
                .into_iter()
                .map(settled_message),
        );
    }
    let conversations = routing
        .list_conversations(pb::ListConversationsRequest {
            organization_id: org.clone(),
            actor_agent_id: admin.clone(),
            page: page(),
            ..Default::default()
        })
        .await?
        .into_inner()
        .conversations;
    let mut owners = Vec::new();
    for contact in owner_contacts {
        owners.extend(
            routing
                .list_contact_owners(pb::ListContactOwnersRequest {
                    organization_id: org.clone(),
                    contact_id: contact.clone(),
                    page: page(),
                })
                .await?
                .into_inner()
                .owners,
        );
    }
    let work_items = routing
        .list_work_items(pb::ListWorkItemsRequest {
            organization_id: org.clone(),
            page: page(),
            ..Default::default()
        })
        .await?
        .into_inner()
        .work_items;
    let contacts = channel
        .list_contacts(ch::ListContactsRequest {
            organization_id: org.clone(),
            page: page(),
            ..Default::default()
        })
        .await?
        .into_inner()
        .contacts;
    let mut messages = Vec::new();
    for contact in &contacts {
        messages.extend(
            f.messages_of(&contact.id)
                .await?
                .into_iter()
                .map(settled_message),
        );
    }
    let presences = presence
        .list_agent_presences(pr::ListAgentPresencesRequest {
            organization_id: org.clone(),
            page: page(),
            ..Default::default()
        })
        .await?
        .into_inner()
        .presences
        .into_iter()
        .map(|mut p| {
            p.last_heartbeat_time = None;
            p.heartbeat_expire_time = None;
            p
        })
        .collect();
    let mut ticketing =
        TicketingServiceClient::new(f.world.suite.channel(Service::Ticketing).await?);
    let tickets = ticketing
        .list_tickets(tk::ListTicketsRequest {
            organization_id: org.clone(),
            page: page(),
            ..Default::default()
        })
        .await?
        .into_inner()
        .tickets;
    let (mut ticket_actions, mut ticket_links, mut ticket_proposals) = (vec![], vec![], vec![]);
    for t in &tickets {
        ticket_actions.extend(
            ticketing
                .list_ticket_actions(tk::ListTicketActionsRequest {
                    organization_id: org.clone(),
                    ticket_id: t.id.clone(),
                    page: page(),
                    ..Default::default()
                })
                .await?
                .into_inner()
                .actions,
        );
        ticket_links.extend(
            ticketing
                .list_ticket_links(tk::ListTicketLinksRequest {
                    organization_id: org.clone(),
                    ticket_id: t.id.clone(),
                    page: page(),
                    ..Default::default()
                })
                .await?
                .into_inner()
                .links,
        );
        ticket_proposals.extend(
            ticketing
                .list_ticket_proposals(tk::ListTicketProposalsRequest {
                    organization_id: org.clone(),
                    ticket_id: t.id.clone(),
                    page: page(),
                    ..Default::default()
                })
                .await?
                .into_inner()
                .proposals,
        );
    }
    let close_policy = ticketing
        .get_close_policy(tk::GetClosePolicyRequest {
            organization_id: org.clone(),
        })
        .await?
        .into_inner()
        .policy;
    let (business_hours, automatic_messages) = Box::pin(automations_of(
        routing.clone(),
        &org,
        &admin,
        accounts.iter().map(|a| a.id.clone()).collect(),
    ))
    .await?;
    Ok(Snapshot {
        business_hours,
        automatic_messages,
        tickets,
        ticket_actions,
        ticket_links,
        ticket_proposals,
        close_policy,
        agents,
        teams,
        members,
        routing: routes,
        campaigns,
        conversations,
        owners,
        work_items,
        accounts,
        contacts,
        messages,
        campaign_messages,
        templates,
        presences,
    })
}

/// What differs between two snapshots, field by field (for failure messages).
pub(crate) fn diff(a: &Snapshot, b: &Snapshot) -> String {
    let (a, b) = (format!("{a:#?}"), format!("{b:#?}"));
    let (a, b): (Vec<_>, Vec<_>) = (a.lines().collect(), b.lines().collect());
    let mut out = Vec::new();
    for (i, (x, y)) in a.iter().zip(b.iter()).enumerate() {
        if x != y {
            out.push(format!("line {i}: {x} -> {y}"));
        }
    }
    if a.len() != b.len() {
        out.push(format!("{} lines -> {} lines", a.len(), b.len()));
    }
    out.truncate(20);
    out.join("\n")
}

/// The state once the effects of the last call (events, WhatsApp's callbacks) have landed:
/// two reads 150 ms apart that agree.
pub(crate) async fn settled(
    f: &ChannelWorld,
    owner_contacts: &[String],
) -> anyhow::Result<Snapshot> {
    // Boxed: the snapshot's future is large, and every row of the table awaits this one.
    let mut last = Box::pin(snapshot(f, owner_contacts)).await?;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(150)).await;
        let now = Box::pin(snapshot(f, owner_contacts)).await?;
        if now == last {
            return Ok(now);
        }
        last = now;
    }
    anyhow::bail!("the organization never settled; last {last:?}")
}

/// The organization's business hours then each number's, and each number's automatic
/// messages (boxed: the snapshot's future is large already).
async fn automations_of(
    mut routing: switchboard_proto::routing::v1::routing_service_client::RoutingServiceClient<
        tonic::transport::Channel,
    >,
    org: &str,
    admin: &str,
    accounts: Vec<String>,
) -> anyhow::Result<(
    Vec<Option<pb::BusinessHours>>,
    Vec<Option<pb::AutomaticMessages>>,
)> {
    let (org, admin) = (org.to_string(), admin.to_string());
    let mut business_hours = Vec::new();
    let mut automatic_messages = Vec::new();
    for account in std::iter::once(String::new()).chain(accounts) {
        business_hours.push(
            routing
                .get_business_hours(pb::GetBusinessHoursRequest {
                    organization_id: org.clone(),
                    actor_agent_id: admin.clone(),
                    channel_account_id: account.clone(),
                })
                .await?
                .into_inner()
                .business_hours,
        );
        if !account.is_empty() {
            automatic_messages.push(
                routing
                    .get_automatic_messages(pb::GetAutomaticMessagesRequest {
                        organization_id: org.clone(),
                        actor_agent_id: admin.clone(),
                        channel_account_id: account,
                    })
                    .await?
                    .into_inner()
                    .automatic_messages,
            );
        }
    }
    Ok((business_hours, automatic_messages))
}

/// Runs one row's four checks.
async fn replay(
    f: &ChannelWorld,
    owners: &[String],
    case: Case<'_>,
) -> anyhow::Result<&'static str> {
    let rpc = case.rpc;
    let before = settled(f, owners).await?;
    if !case.key_optional {
        let err = match (case.call)(String::new(), 0).await {
            Ok(answer) => anyhow::bail!("{rpc}: an empty request_id was accepted: {answer:?}"),
            Err(e) => e,
        };
        anyhow::ensure!(
            err.code() == tonic::Code::InvalidArgument,
            "{rpc}: empty key: {err:?}"
        );
        let named = err
            .get_details_bad_request()
            .is_some_and(|bad| bad.field_violations.iter().any(|v| v.field == "request_id"));
        anyhow::ensure!(named, "{rpc}: empty key not named: {err:?}");
        let now = settled(f, owners).await?;
        anyhow::ensure!(
            now == before,
            "{rpc}: a refused call changed something:\n{}",
            diff(&before, &now)
        );
    }
    let key = rid();
    let first = (case.call)(key.clone(), 0)
        .await
        .map_err(|e| anyhow::anyhow!("{rpc}: first call: {e:?}"))?;
    let after = settled(f, owners).await?;
    let again = (case.call)(key.clone(), 0)
        .await
        .map_err(|e| anyhow::anyhow!("{rpc}: retry: {e:?}"))?;
    anyhow::ensure!(
        again.same_as(first.as_ref()),
        "{rpc}: the retry answered {again:?}, not the first answer {first:?}"
    );
    let retried = settled(f, owners).await?;
    anyhow::ensure!(
        retried == after,
        "{rpc}: the retry had a second effect:\n{}",
        diff(&after, &retried)
    );
    let err = match (case.call)(key, 1).await {
        Ok(answer) => anyhow::bail!("{rpc}: a reused key with another body ran: {answer:?}"),
        Err(e) => e,
    };
    anyhow::ensure!(
        err.code() == tonic::Code::InvalidArgument
            && reason(&err) == "ERROR_REASON_IDEMPOTENCY_KEY_REUSED",
        "{rpc}: reused key: {err:?}"
    );
    let now = settled(f, owners).await?;
    anyhow::ensure!(
        now == after,
        "{rpc}: a reused key changed something:\n{}",
        diff(&after, &now)
    );
    Ok(rpc)
}

/// Every `Service/Method` of routing, channel and presence whose request has `request_id`.
fn mutating_rpcs() -> BTreeSet<String> {
    use switchboard_proto::prost_types::FileDescriptorSet;
    let set =
        FileDescriptorSet::decode(switchboard_proto::FILE_DESCRIPTOR_SET).expect("descriptors");
    let keyed: BTreeSet<String> = set
        .file
        .iter()
        .flat_map(|file| {
            let package = file.package().to_string();
            file.message_type
                .iter()
                .filter(|m| m.field.iter().any(|f| f.name() == "request_id"))
                .map(move |m| format!(".{package}.{}", m.name()))
        })
        .collect();
    set.file
        .iter()
        .filter(|file| {
            ["routing", "channel", "presence", "ticketing"]
                .iter()
                .any(|svc| file.package() == format!("switchboard.{svc}.v1"))
        })
        .flat_map(|file| {
            file.service.iter().flat_map(|s| {
                s.method
                    .iter()
                    .filter(|m| keyed.contains(m.input_type()))
                    .map(|m| format!("{}/{}", s.name(), m.name()))
            })
        })
        .collect()
}

// ---- the fixture ----

/// A fresh WhatsApp id.
fn wa_id() -> String {
    let n = uuid::Uuid::now_v7().as_u128() % 100_000_000;
    format!("5491160{n:08}")
}

struct Fixture {
    w: ChannelWorld,
    /// Contacts whose owners the snapshot reads.
    owner_contacts: Vec<String>,
    done: BTreeSet<String>,
}

impl Fixture {
    async fn run(&mut self, case: Case<'_>) -> anyhow::Result<()> {
        let rpc = replay(&self.w, &self.owner_contacts, case).await?;
        eprintln!("replayed {rpc}");
        self.done.insert(rpc.to_string());
        Ok(())
    }

    fn org(&self) -> String {
        self.w.world.org.clone()
    }

    fn admin(&self) -> String {
        self.w.world.admin.clone()
    }

    async fn agent(&mut self, name: &str) -> anyhow::Result<String> {
        self.w.world.agent(name, 3).await
    }

    async fn team(&mut self, name: &str, members: &[&str]) -> anyhow::Result<String> {
        self.w
            .world
            .team(name, TeamStrategy::LeastOpen, members, |_| {})
            .await
    }

    /// A conversation routed to Lucía (the number's default team), started by routing itself.
    async fn conversation(&mut self, campaign: Option<&str>) -> anyhow::Result<pb::Conversation> {
        self.w
            .world
            .start_for(&ContactId::generate().to_string(), campaign)
            .await
    }

    /// A customer writes through WhatsApp; returns the conversation (Lucía's) and the message.
    async fn customer(&mut self) -> anyhow::Result<(pb::Conversation, ch::Message)> {
        let wa = wa_id();
        self.w.customer_writes(&wa, "Cliente", "Hola").await?;
        let contact = self.w.contact(&wa).await?.expect("contact stored");
        let message = self.w.routed_messages(&contact.id, 1).await?.remove(0);
        let conversation = self.w.world.get(&message.conversation_id).await?;
        Ok((conversation, message))
    }

    async fn campaign(&mut self, name: &str, form: bool) -> anyhow::Result<String> {
        let team = self.w.team.clone();
        let campaign = self
            .w
            .world
            .routing
            .create_campaign(pb::CreateCampaignRequest {
                request_id: rid(),
                organization_id: self.org(),
                actor_agent_id: self.admin(),
                campaign: Some(pb::Campaign {
                    name: name.into(),
                    channel_account_id: self.w.account.clone(),
                    continue_with_human: true,
                    human_target: Some(team_target(&team)),
                    form_fields: if form {
                        vec![pb::FormField {
                            key: "dni".into(),
                            label: "DNI".into(),
                            kind: pb::FormFieldKind::Text as i32,
                            ..Default::default()
                        }]
                    } else {
                        vec![]
                    },
                    ..Default::default()
                }),
            })
            .await?
            .into_inner()
            .campaign
            .expect("campaign");
        Ok(campaign.id)
    }

    async fn work_item(&mut self, external_ref: &str) -> anyhow::Result<pb::WorkItem> {
        let lucia = self.w.agent.clone();
        Ok(self
            .w
            .world
            .routing
            .route_work_item(pb::RouteWorkItemRequest {
                request_id: rid(),
                organization_id: self.org(),
                kind: "callback".into(),
                external_ref: external_ref.into(),
                target: Some(agent_target(&lucia)),
                ..Default::default()
            })
            .await?
            .into_inner()
            .work_item
            .expect("work item"))
    }

    async fn account(&mut self, phone_number_id: &str) -> anyhow::Result<String> {
        Ok(self
            .w
            .channel
            .create_channel_account(ch::CreateChannelAccountRequest {
                request_id: rid(),
                organization_id: self.org(),
                actor_agent_id: self.admin(),
                channel_account: Some(account_body(phone_number_id)),
            })
            .await?
            .into_inner()
            .channel_account
            .expect("account")
            .id)
    }

    async fn contact(&mut self, phone: &str) -> anyhow::Result<String> {
        Ok(self
            .w
            .channel
            .create_contact(ch::CreateContactRequest {
                request_id: rid(),
                organization_id: self.org(),
                actor_agent_id: self.admin(),
                phone_number: phone.into(),
                tags: vec!["vip".into(), "mayorista".into()],
                ..Default::default()
            })
            .await?
            .into_inner()
            .contact
            .expect("contact")
            .id)
    }
}

fn account_body(phone_number_id: &str) -> ch::ChannelAccount {
    ch::ChannelAccount {
        display_name: format!("Número {phone_number_id}"),
        phone_number_id: phone_number_id.into(),
        display_phone_number: "+1 555-000-0000".into(),
        waba_id: WABA_ID.into(),
        access_token_secret_ref: "wa-token-test".into(),
        ..Default::default()
    }
}

fn template(params: &[&str]) -> ch::TemplateContent {
    ch::TemplateContent {
        name: TEMPLATE.into(),
        language_code: "es_AR".into(),
        components: vec![ch::TemplateComponent {
            kind: ch::TemplateComponentKind::Body as i32,
            parameters: params
                .iter()
                .map(|p| ch::TemplateParameter {
                    value: Some(template_parameter::Value::Text((*p).into())),
                })
                .collect(),
            ..Default::default()
        }],
        rendered_body: String::new(),
    }
}

fn mask(path: &str) -> Option<switchboard_proto::prost_types::FieldMask> {
    Some(switchboard_proto::prost_types::FieldMask {
        paths: vec![path.into()],
    })
}

// ---- the table ----

/// The rows of UpdateBusinessHours and UpdateAutomaticMessages.
async fn automations_cases(f: &mut Fixture, account: &str) -> anyhow::Result<()> {
    let (org, admin, account) = (f.org(), f.admin(), account.to_string());
    let routing = f.w.world.routing.clone();
    f.run(call!(
        routing,
        update_business_hours,
        "RoutingService/UpdateBusinessHours",
        |key, v| {
            pb::UpdateBusinessHoursRequest {
                request_id: key,
                organization_id: org.clone(),
                actor_agent_id: admin.clone(),
                channel_account_id: account.clone(),
                business_hours: Some(pb::BusinessHours {
                    time_zone: of(
                        v,
                        &"Europe/Madrid".to_string(),
                        &"America/Santiago".to_string(),
                    ),
                    days: vec![pb::DayHours {
                        weekday: pb::Weekday::Monday as i32,
                        intervals: vec![pb::TimeInterval {
                            start_minute: 540,
                            end_minute: 1080,
                        }],
                    }],
                    ..Default::default()
                }),
            }
        }
    ))
    .await?;
    f.run(call!(
        routing,
        update_automatic_messages,
        "RoutingService/UpdateAutomaticMessages",
        |key, v| {
            pb::UpdateAutomaticMessagesRequest {
                request_id: key,
                organization_id: org.clone(),
                actor_agent_id: admin.clone(),
                automatic_messages: Some(pb::AutomaticMessages {
                    channel_account_id: account.clone(),
                    // Stored off (variant 0), so no conversation of the table gets a message.
                    assigned: Some(pb::AutomaticMessage {
                        enabled: v == 1,
                        text: "{{agent_name}} te atenderá.".into(),
                    }),
                    ..Default::default()
                }),
            }
        }
    ))
    .await?;

    Ok(())
}

async fn every_mutating_rpc_keeps_the_idempotency_promise(backend: Backend) -> anyhow::Result<()> {
    // No heartbeats are sent: agents stay as they are for the whole table (and the day skipped
    // at the end).
    let w = ChannelWorld::with_settings(backend, |s| {
        s.presence.heartbeat_ttl_secs = 3 * 24 * 3600;
    })
    .await?;
    let mut f = Fixture {
        w,
        owner_contacts: vec![],
        done: BTreeSet::new(),
    };
    // Lucía takes every conversation and work item of the table.
    let lucia = f.w.agent.clone();
    f.w.world
        .routing
        .update_agent(pb::UpdateAgentRequest {
            request_id: rid(),
            organization_id: f.org(),
            actor_agent_id: f.admin(),
            agent: Some(pb::Agent {
                id: lucia.clone(),
                capacity: 100,
                ..Default::default()
            }),
            update_mask: mask("capacity"),
        })
        .await?;
    f.w.sync_templates().await?;
    let (org, admin) = (f.org(), f.admin());
    let routing = f.w.world.routing.clone();
    let channel = f.w.channel.clone();
    let presence = f.w.world.presence.clone();
    let account = f.w.account.clone();
    let soporte = f.w.team.clone();

    // ---- routing: organizations ----
    f.run(call!(
        routing,
        create_organization,
        "RoutingService/CreateOrganization",
        |key, v| {
            pb::CreateOrganizationRequest {
                request_id: key,
                name: of(v, &"Globex".to_string(), &"Initech".to_string()),
                default_agent_capacity: 3,
                ..Default::default()
            }
        }
    ))
    .await?;
    f.run(call!(
        routing,
        update_organization,
        "RoutingService/UpdateOrganization",
        |key, v| {
            pb::UpdateOrganizationRequest {
                request_id: key,
                organization_id: org.clone(),
                actor_agent_id: admin.clone(),
                organization: Some(pb::Organization {
                    name: of(v, &"Acme SA".to_string(), &"Acme SRL".to_string()),
                    ..Default::default()
                }),
                update_mask: mask("name"),
            }
        }
    ))
    .await?;

    // ---- agents ----
    f.run(call!(
        routing,
        create_agent,
        "RoutingService/CreateAgent",
        |key, v| {
            let name = of(v, &"caro".to_string(), &"dani".to_string());
            pb::CreateAgentRequest {
                request_id: key,
                organization_id: org.clone(),
                actor_agent_id: admin.clone(),
                agent: Some(pb::Agent {
                    display_name: name.clone(),
                    email: format!("{name}@acme.test"),
                    role: Role::Agent as i32,
                    ..Default::default()
                }),
                ..Default::default()
            }
        }
    ))
    .await?;
    let x = f.agent("Xime").await?;
    f.run(call!(
        routing,
        update_agent,
        "RoutingService/UpdateAgent",
        |key, v| {
            pb::UpdateAgentRequest {
                request_id: key,
                organization_id: org.clone(),
                actor_agent_id: admin.clone(),
                agent: Some(pb::Agent {
                    id: x.clone(),
                    display_name: of(v, &"Ximena".to_string(), &"Xime R.".to_string()),
                    ..Default::default()
                }),
                update_mask: mask("display_name"),
            }
        }
    ))
    .await?;
    let (d1, d2) = (f.agent("Del1").await?, f.agent("Del2").await?);
    f.run(call!(
        routing,
        delete_agent,
        "RoutingService/DeleteAgent",
        |key, v| {
            pb::DeleteAgentRequest {
                request_id: key,
                organization_id: org.clone(),
                actor_agent_id: admin.clone(),
                agent_id: of(v, &d1, &d2),
            }
        }
    ))
    .await?;

    // ---- teams ----
    f.run(call!(
        routing,
        create_team,
        "RoutingService/CreateTeam",
        |key, v| {
            pb::CreateTeamRequest {
                request_id: key,
                organization_id: org.clone(),
                actor_agent_id: admin.clone(),
                team: Some(pb::Team {
                    name: of(v, &"Ventas".to_string(), &"Cobranzas".to_string()),
                    strategy: TeamStrategy::RoundRobin as i32,
                    ..Default::default()
                }),
                member_agent_ids: vec![],
            }
        }
    ))
    .await?;
    let t = f.team("Postventa", &[]).await?;
    f.run(call!(
        routing,
        update_team,
        "RoutingService/UpdateTeam",
        |key, v| {
            pb::UpdateTeamRequest {
                request_id: key,
                organization_id: org.clone(),
                actor_agent_id: admin.clone(),
                team: Some(pb::Team {
                    id: t.clone(),
                    description: of(v, &"Garantías".to_string(), &"Cambios".to_string()),
                    ..Default::default()
                }),
                update_mask: mask("description"),
            }
        }
    ))
    .await?;
    let (t1, t2) = (f.team("Borrar1", &[]).await?, f.team("Borrar2", &[]).await?);
    f.run(call!(
        routing,
        delete_team,
        "RoutingService/DeleteTeam",
        |key, v| {
            pb::DeleteTeamRequest {
                request_id: key,
                organization_id: org.clone(),
                actor_agent_id: admin.clone(),
                team_id: of(v, &t1, &t2),
            }
        }
    ))
    .await?;
    let (m1, m2) = (f.agent("Memb1").await?, f.agent("Memb2").await?);
    f.run(call!(
        routing,
        add_team_member,
        "RoutingService/AddTeamMember",
        |key, v| {
            pb::AddTeamMemberRequest {
                request_id: key,
                organization_id: org.clone(),
                actor_agent_id: admin.clone(),
                team_id: t.clone(),
                agent_id: of(v, &m1, &m2),
            }
        }
    ))
    .await?;
    let both = f.team("Ambos", &[&m1, &m2]).await?;
    f.run(call!(
        routing,
        remove_team_member,
        "RoutingService/RemoveTeamMember",
        |key, v| {
            pb::RemoveTeamMemberRequest {
                request_id: key,
                organization_id: org.clone(),
                actor_agent_id: admin.clone(),
                team_id: both.clone(),
                agent_id: of(v, &m1, &m2),
            }
        }
    ))
    .await?;
    f.run(call!(
        routing,
        update_channel_account_routing,
        "RoutingService/UpdateChannelAccountRouting",
        |key, v| {
            pb::UpdateChannelAccountRoutingRequest {
                request_id: key,
                organization_id: org.clone(),
                actor_agent_id: admin.clone(),
                routing: Some(pb::ChannelAccountRouting {
                    channel_account_id: account.clone(),
                    linked_team_ids: of(
                        v,
                        &vec![soporte.clone(), t.clone()],
                        &vec![soporte.clone(), both.clone()],
                    ),
                    default_target: Some(team_target(&soporte)),
                    ..Default::default()
                }),
            }
        }
    ))
    .await?;

    // ---- business hours and automatic messages (their own frame: this one is large) ----
    Box::pin(automations_cases(&mut f, &account)).await?;

    // ---- campaigns and owners ----
    f.run(call!(
        routing,
        create_campaign,
        "RoutingService/CreateCampaign",
        |key, v| {
            pb::CreateCampaignRequest {
                request_id: key,
                organization_id: org.clone(),
                actor_agent_id: admin.clone(),
                campaign: Some(pb::Campaign {
                    name: of(v, &"Hot Sale".to_string(), &"Cyber Monday".to_string()),
                    channel_account_id: account.clone(),
                    ..Default::default()
                }),
            }
        }
    ))
    .await?;
    let c = f.campaign("Navidad", false).await?;
    f.run(call!(
        routing,
        update_campaign,
        "RoutingService/UpdateCampaign",
        |key, v| {
            pb::UpdateCampaignRequest {
                request_id: key,
                organization_id: org.clone(),
                actor_agent_id: admin.clone(),
                campaign: Some(pb::Campaign {
                    id: c.clone(),
                    name: of(v, &"Navidad 2026".to_string(), &"Reyes".to_string()),
                    ..Default::default()
                }),
                update_mask: mask("name"),
            }
        }
    ))
    .await?;
    let (c1, c2) = (
        f.campaign("Archivar1", false).await?,
        f.campaign("Archivar2", false).await?,
    );
    f.run(call!(
        routing,
        delete_campaign,
        "RoutingService/DeleteCampaign",
        |key, v| {
            pb::DeleteCampaignRequest {
                request_id: key,
                organization_id: org.clone(),
                actor_agent_id: admin.clone(),
                campaign_id: of(v, &c1, &c2),
            }
        }
    ))
    .await?;
    let owned = Box::pin(crate::routing_support::contact(
        &f.w.world.suite,
        &org,
        &admin,
    ))
    .await?;
    f.owner_contacts.push(owned.clone());
    f.run(call!(
        routing,
        add_contact_owner,
        "RoutingService/AddContactOwner",
        |key, v| {
            pb::AddContactOwnerRequest {
                request_id: key,
                organization_id: org.clone(),
                actor_agent_id: admin.clone(),
                contact_id: owned.clone(),
                agent_id: of(v, &m1, &m2),
            }
        }
    ))
    .await?;
    let owned2 = Box::pin(crate::routing_support::contact(
        &f.w.world.suite,
        &org,
        &admin,
    ))
    .await?;
    f.owner_contacts.push(owned2.clone());
    for agent in [&m1, &m2] {
        routing
            .clone()
            .add_contact_owner(pb::AddContactOwnerRequest {
                request_id: rid(),
                organization_id: org.clone(),
                actor_agent_id: admin.clone(),
                contact_id: owned2.clone(),
                agent_id: agent.clone(),
            })
            .await?;
    }
    f.run(call!(
        routing,
        remove_contact_owner,
        "RoutingService/RemoveContactOwner",
        |key, v| {
            pb::RemoveContactOwnerRequest {
                request_id: key,
                organization_id: org.clone(),
                actor_agent_id: admin.clone(),
                contact_id: owned2.clone(),
                agent_id: of(v, &m1, &m2),
            }
        }
    ))
    .await?;

    // ---- conversations ----
    let (k1, k2) = (
        ContactId::generate().to_string(),
        ContactId::generate().to_string(),
    );
    f.run(call!(
        routing,
        start_conversation,
        "RoutingService/StartConversation",
        |key, v| {
            pb::StartConversationRequest {
                request_id: key,
                organization_id: org.clone(),
                channel_account_id: account.clone(),
                contact_id: of(v, &k1, &k2),
                first_message_id: "msg_first".into(),
                ..Default::default()
            }
        }
    ))
    .await?;
    let conv = f.conversation(None).await?.id;
    f.run(
        call!(
            routing,
            record_customer_message,
            "RoutingService/RecordCustomerMessage",
            |key, v| {
                pb::RecordCustomerMessageRequest {
                    request_id: key,
                    organization_id: org.clone(),
                    conversation_id: conv.clone(),
                    message_id: of(v, &"msg_in_1".to_string(), &"msg_in_2".to_string()),
                    ..Default::default()
                }
            }
        )
        .optional(),
    )
    .await?;
    f.run(
        call!(
            routing,
            record_agent_reply,
            "RoutingService/RecordAgentReply",
            |key, v| {
                pb::RecordAgentReplyRequest {
                    request_id: key,
                    organization_id: org.clone(),
                    conversation_id: conv.clone(),
                    agent_id: lucia.clone(),
                    message_id: of(v, &"msg_out_1".to_string(), &"msg_out_2".to_string()),
                    ..Default::default()
                }
            }
        )
        .optional(),
    )
    .await?;
    // Pick: two conversations waiting in a manual team of Lucía's.
    let manual =
        f.w.world
            .team("Manual", TeamStrategy::Manual, &[&lucia], |_| {})
            .await?;
    f.w.world
        .link(&[&soporte, &manual], &[], Some(team_target(&soporte)))
        .await?;
    let mut waiting = Vec::new();
    for _ in 0..2 {
        let id = f.conversation(None).await?.id;
        routing
            .clone()
            .transfer_conversation(pb::TransferConversationRequest {
                request_id: rid(),
                organization_id: org.clone(),
                actor_agent_id: admin.clone(),
                conversation_id: id.clone(),
                target: Some(team_target(&manual)),
                ..Default::default()
            })
            .await?;
        waiting.push(id);
    }
    f.run(call!(
        routing,
        pick_conversation,
        "RoutingService/PickConversation",
        |key, v| {
            pb::PickConversationRequest {
                request_id: key,
                organization_id: org.clone(),
                actor_agent_id: lucia.clone(),
                conversation_id: waiting[v].clone(),
            }
        }
    ))
    .await?;
    let (a1, a2) = (
        f.conversation(None).await?.id,
        f.conversation(None).await?.id,
    );
    f.run(call!(
        routing,
        open_conversation,
        "RoutingService/OpenConversation",
        |key, v| {
            pb::OpenConversationRequest {
                request_id: key,
                organization_id: org.clone(),
                actor_agent_id: lucia.clone(),
                conversation_id: of(v, &a1, &a2),
            }
        }
    ))
    .await?;
    let (o1, o2) = (
        f.conversation(None).await?.id,
        f.conversation(None).await?.id,
    );
    for id in [&o1, &o2] {
        f.w.world.open(&lucia, id).await?;
    }
    f.run(call!(
        routing,
        close_conversation,
        "RoutingService/CloseConversation",
        |key, v| {
            pb::CloseConversationRequest {
                request_id: key,
                organization_id: org.clone(),
                actor_agent_id: lucia.clone(),
                conversation_id: of(v, &o1, &o2),
                close_note: "resuelto".into(),
            }
        }
    ))
    .await?;
    let moving = f.conversation(None).await?.id;
    f.run(call!(
        routing,
        transfer_conversation,
        "RoutingService/TransferConversation",
        |key, v| {
            pb::TransferConversationRequest {
                request_id: key,
                organization_id: org.clone(),
                actor_agent_id: lucia.clone(),
                conversation_id: moving.clone(),
                target: Some(team_target(&of(v, &manual, &soporte))),
                reason: "facturación".into(),
                priority: None,
            }
        }
    ))
    .await?;
    let with_form = f.campaign("Formulario", true).await?;
    let formed = f.conversation(Some(&with_form)).await?.id;
    f.run(call!(
        routing,
        update_conversation_form,
        "RoutingService/UpdateConversationForm",
        |key, v| {
            pb::UpdateConversationFormRequest {
                request_id: key,
                organization_id: org.clone(),
                actor_agent_id: lucia.clone(),
                conversation_id: formed.clone(),
                values: [(
                    "dni".to_string(),
                    of(v, &"30111222".to_string(), &"30999888".to_string()),
                )]
                .into(),
            }
        }
    ))
    .await?;

    // ---- work items ----
    f.run(call!(
        routing,
        route_work_item,
        "RoutingService/RouteWorkItem",
        |key, v| {
            pb::RouteWorkItemRequest {
                request_id: key,
                organization_id: org.clone(),
                kind: "callback".into(),
                external_ref: of(v, &"crm-1".to_string(), &"crm-2".to_string()),
                target: Some(agent_target(&lucia)),
                ..Default::default()
            }
        }
    ))
    .await?;
    let (w1, w2) = (
        f.work_item("acc-1").await?.id,
        f.work_item("acc-2").await?.id,
    );
    f.run(call!(
        routing,
        accept_work_item,
        "RoutingService/AcceptWorkItem",
        |key, v| {
            pb::AcceptWorkItemRequest {
                request_id: key,
                organization_id: org.clone(),
                actor_agent_id: lucia.clone(),
                work_item_id: of(v, &w1, &w2),
            }
        }
    ))
    .await?;
    let (w3, w4) = (
        f.work_item("done-1").await?.id,
        f.work_item("done-2").await?.id,
    );
    for id in [&w3, &w4] {
        routing
            .clone()
            .accept_work_item(pb::AcceptWorkItemRequest {
                request_id: rid(),
                organization_id: org.clone(),
                actor_agent_id: lucia.clone(),
                work_item_id: id.clone(),
            })
            .await?;
    }
    f.run(call!(
        routing,
        complete_work_item,
        "RoutingService/CompleteWorkItem",
        |key, v| {
            pb::CompleteWorkItemRequest {
                request_id: key,
                organization_id: org.clone(),
                actor_agent_id: lucia.clone(),
                work_item_id: of(v, &w3, &w4),
                outcome: "llamado".into(),
            }
        }
    ))
    .await?;
    let (w5, w6) = (
        f.work_item("can-1").await?.id,
        f.work_item("can-2").await?.id,
    );
    f.run(call!(
        routing,
        cancel_work_item,
        "RoutingService/CancelWorkItem",
        |key, v| {
            pb::CancelWorkItemRequest {
                request_id: key,
                organization_id: org.clone(),
                work_item_id: of(v, &w5, &w6),
                reason: "duplicado".into(),
            }
        }
    ))
    .await?;
    f.run(
        call!(
            routing,
            notify_slot_freed,
            "RoutingService/NotifySlotFreed",
            |key, v| {
                pb::NotifySlotFreedRequest {
                    request_id: key,
                    organization_id: org.clone(),
                    agent_id: of(v, &lucia, &x),
                }
            }
        )
        .optional(),
    )
    .await?;
    f.run(
        call!(
            routing,
            notify_agent_offline,
            "RoutingService/NotifyAgentOffline",
            |key, v| {
                pb::NotifyAgentOfflineRequest {
                    request_id: key,
                    organization_id: org.clone(),
                    agent_id: of(v, &m1, &m2),
                }
            }
        )
        .optional(),
    )
    .await?;

    // ---- channel: accounts ----
    f.run(call!(
        channel,
        create_channel_account,
        "ChannelService/CreateChannelAccount",
        |key, v| {
            ch::CreateChannelAccountRequest {
                request_id: key,
                organization_id: org.clone(),
                actor_agent_id: admin.clone(),
                channel_account: Some(account_body(&of(
                    v,
                    &"200000000000001".to_string(),
                    &"200000000000002".to_string(),
                ))),
            }
        }
    ))
    .await?;
    let second = f.account("200000000000003").await?;
    f.run(call!(
        channel,
        update_channel_account,
        "ChannelService/UpdateChannelAccount",
        |key, v| {
            ch::UpdateChannelAccountRequest {
                request_id: key,
                organization_id: org.clone(),
                actor_agent_id: admin.clone(),
                channel_account: Some(ch::ChannelAccount {
                    id: second.clone(),
                    display_name: of(v, &"Ventas AR".to_string(), &"Ventas UY".to_string()),
                    ..Default::default()
                }),
                update_mask: mask("display_name"),
            }
        }
    ))
    .await?;
    let (e1, e2) = (
        f.account("200000000000004").await?,
        f.account("200000000000005").await?,
    );
    f.run(call!(
        channel,
        delete_channel_account,
        "ChannelService/DeleteChannelAccount",
        |key, v| {
            ch::DeleteChannelAccountRequest {
                request_id: key,
                organization_id: org.clone(),
                actor_agent_id: admin.clone(),
                channel_account_id: of(v, &e1, &e2),
            }
        }
    ))
    .await?;
    f.run(call!(
        channel,
        sync_templates,
        "ChannelService/SyncTemplates",
        |key, v| {
            ch::SyncTemplatesRequest {
                request_id: key,
                organization_id: org.clone(),
                channel_account_id: of(v, &second, &account),
            }
        }
    ))
    .await?;
    f.run(call!(
        channel,
        upload_media,
        "ChannelService/UploadMedia",
        |key, v| {
            ch::UploadMediaRequest {
                request_id: key,
                organization_id: org.clone(),
                channel_account_id: account.clone(),
                mime_type: "text/plain".into(),
                filename: "nota.txt".into(),
                data: of(v, &b"uno".to_vec(), &b"dos".to_vec()),
            }
        }
    ))
    .await?;

    // ---- contacts ----
    f.run(call!(
        channel,
        create_contact,
        "ChannelService/CreateContact",
        |key, v| {
            ch::CreateContactRequest {
                request_id: key,
                organization_id: org.clone(),
                actor_agent_id: admin.clone(),
                phone_number: of(
                    v,
                    &"+5491155550101".to_string(),
                    &"+5491155550102".to_string(),
                ),
                ..Default::default()
            }
        }
    ))
    .await?;
    let person = f.contact("+5491155550103").await?;
    f.run(call!(
        channel,
        update_contact,
        "ChannelService/UpdateContact",
        |key, v| {
            ch::UpdateContactRequest {
                request_id: key,
                organization_id: org.clone(),
                actor_agent_id: admin.clone(),
                contact: Some(ch::Contact {
                    id: person.clone(),
                    display_name: of(v, &"Marta".to_string(), &"Marta G.".to_string()),
                    ..Default::default()
                }),
                update_mask: mask("display_name"),
            }
        }
    ))
    .await?;
    f.run(call!(
        channel,
        add_contact_tags,
        "ChannelService/AddContactTags",
        |key, v| {
            ch::AddContactTagsRequest {
                request_id: key,
                organization_id: org.clone(),
                actor_agent_id: admin.clone(),
                contact_id: person.clone(),
                tags: vec![of(v, &"moroso".to_string(), &"nuevo".to_string())],
            }
        }
    ))
    .await?;
    f.run(call!(
        channel,
        remove_contact_tags,
        "ChannelService/RemoveContactTags",
        |key, v| {
            ch::RemoveContactTagsRequest {
                request_id: key,
                organization_id: org.clone(),
                actor_agent_id: admin.clone(),
                contact_id: person.clone(),
                tags: vec![of(v, &"vip".to_string(), &"mayorista".to_string())],
            }
        }
    ))
    .await?;

    // ---- sending, in a conversation a customer opened ----
    let (talk, inbound) = f.customer().await?;
    f.w.world.open(&lucia, &talk.id).await?;
    let (_, inbound2) = f.customer().await?;
    f.run(call!(
        channel,
        send_text_message,
        "ChannelService/SendTextMessage",
        |key, v| {
            ch::SendTextMessageRequest {
                request_id: key,
                organization_id: org.clone(),
                actor_agent_id: lucia.clone(),
                conversation_id: talk.id.clone(),
                text: Some(ch::TextContent {
                    body: of(
                        v,
                        &"Hola, ¿cómo estás?".to_string(),
                        &"Buen día".to_string(),
                    ),
                    preview_url: false,
                }),
                ..Default::default()
            }
        }
    ))
    .await?;
    f.run(call!(
        channel,
        send_media_message,
        "ChannelService/SendMediaMessage",
        |key, v| {
            ch::SendMediaMessageRequest {
                request_id: key,
                organization_id: org.clone(),
                actor_agent_id: lucia.clone(),
                conversation_id: talk.id.clone(),
                media: Some(ch::MediaContent {
                    kind: ch::MediaKind::Image as i32,
                    link: of(
                        v,
                        &"https://example.com/a.jpg".to_string(),
                        &"https://example.com/b.jpg".to_string(),
                    ),
                    ..Default::default()
                }),
                ..Default::default()
            }
        }
    ))
    .await?;
    f.run(call!(
        channel,
        send_reaction,
        "ChannelService/SendReaction",
        |key, v| {
            ch::SendReactionRequest {
                request_id: key,
                organization_id: org.clone(),
                actor_agent_id: lucia.clone(),
                message_id: inbound.id.clone(),
                emoji: of(v, &"👍".to_string(), &"❤".to_string()),
            }
        }
    ))
    .await?;
    f.run(call!(
        channel,
        mark_message_read,
        "ChannelService/MarkMessageRead",
        |key, v| {
            ch::MarkMessageReadRequest {
                request_id: key,
                organization_id: org.clone(),
                actor_agent_id: lucia.clone(),
                message_id: of(v, &inbound.id, &inbound2.id),
            }
        }
    ))
    .await?;
    f.run(call!(
        channel,
        send_template_message,
        "ChannelService/SendTemplateMessage",
        |key, v| {
            ch::SendTemplateMessageRequest {
                request_id: key,
                organization_id: org.clone(),
                actor_agent_id: lucia.clone(),
                recipient: Some(send_template_message_request::Recipient::ConversationId(
                    talk.id.clone(),
                )),
                template: Some(template(&of(v, &["Marta", "A-1"], &["Marta", "B-2"]))),
            }
        }
    ))
    .await?;
    let promo = f.campaign("Promo", false).await?;
    f.run(call!(
        channel,
        send_campaign,
        "ChannelService/SendCampaign",
        |key, v| {
            ch::SendCampaignRequest {
                request_id: key,
                organization_id: org.clone(),
                actor_agent_id: admin.clone(),
                campaign_id: promo.clone(),
                template: Some(template(&["cliente", "renovación"])),
                recipients: vec![ch::CampaignRecipient {
                    recipient: Some(ch::campaign_recipient::Recipient::PhoneNumber(of(
                        v,
                        &"+5491155550301".to_string(),
                        &"+5491155550302".to_string(),
                    ))),
                    components: vec![],
                }],
            }
        }
    ))
    .await?;

    // ---- presence ----
    f.run(call!(
        presence,
        set_status,
        "PresenceService/SetStatus",
        |key, v| {
            pr::SetStatusRequest {
                request_id: key,
                organization_id: org.clone(),
                agent_id: x.clone(),
                status: of(
                    v,
                    &(AgentStatus::Away as i32),
                    &(AgentStatus::Offline as i32),
                ),
                reason: "almuerzo".into(),
            }
        }
    ))
    .await?;
    let beat = call!(
        presence,
        heartbeat,
        "PresenceService/Heartbeat",
        |key, v| {
            pr::HeartbeatRequest {
                request_id: key,
                organization_id: org.clone(),
                agent_id: x.clone(),
                status: of(
                    v,
                    &(AgentStatus::Available as i32),
                    &(AgentStatus::Away as i32),
                ),
                ..Default::default()
            }
        }
    );
    f.run(beat.optional()).await?;
    f.run(call!(
        presence,
        set_capacity,
        "PresenceService/SetCapacity",
        |key, v| {
            pr::SetCapacityRequest {
                request_id: key,
                organization_id: org.clone(),
                agent_id: x.clone(),
                capacity: of(v, &5, &6),
            }
        }
    ))
    .await?;
    f.run(call!(
        presence,
        sync_agent,
        "PresenceService/SyncAgent",
        |key, v| {
            pr::SyncAgentRequest {
                request_id: key,
                organization_id: org.clone(),
                profile: Some(pr::AgentProfile {
                    agent_id: x.clone(),
                    capacity: of(v, &4, &7),
                    team_ids: vec![t.clone()],
                    channel_account_ids: vec![account.clone()],
                }),
            }
        }
    ))
    .await?;
    f.run(call!(
        presence,
        remove_agent,
        "PresenceService/RemoveAgent",
        |key, v| {
            pr::RemoveAgentRequest {
                request_id: key,
                organization_id: org.clone(),
                agent_id: of(v, &d1, &d2),
            }
        }
    ))
    .await?;
    let (r1, r2) = (
        format!("rsv_{}", uuid::Uuid::now_v7().simple()),
        format!("rsv_{}", uuid::Uuid::now_v7().simple()),
    );
    let reserve = call!(presence, reserve, "PresenceService/Reserve", |key, v| {
        pr::ReserveRequest {
            request_id: key,
            organization_id: org.clone(),
            reservation_id: of(v, &r1, &r2),
            strategy: pr::ReserveStrategy::NamedAgent as i32,
            agent_id: lucia.clone(),
            subject_id: "test".into(),
            ..Default::default()
        }
    });
    // Idempotent by reservation id.
    f.run(reserve.optional()).await?;
    let release = call!(presence, release, "PresenceService/Release", |key, v| {
        pr::ReleaseRequest {
            request_id: key,
            organization_id: org.clone(),
            reservation_id: of(v, &r1, &r2),
        }
    });
    f.run(release.optional()).await?;

    // ---- ticketing ----
    let ticketing = TicketingServiceClient::new(f.w.world.suite.channel(Service::Ticketing).await?);
    let mut tkc = ticketing.clone();
    let new_ticket = |subject: &str| tk::NewTicket {
        subject: subject.into(),
        requester: Some(tk::Requester {
            name: "Ana".into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    f.run(call!(
        ticketing,
        create_ticket,
        "TicketingService/CreateTicket",
        |key, v| {
            tk::CreateTicketRequest {
                request_id: key,
                organization_id: org.clone(),
                actor_agent_id: admin.clone(),
                ticket: Some(new_ticket(of(v, &"Alta", &"Baja"))),
            }
        }
    ))
    .await?;
    let mut made = Vec::new();
    for subject in ["Uno", "Dos"] {
        made.push(
            tkc.create_ticket(tk::CreateTicketRequest {
                request_id: rid(),
                organization_id: org.clone(),
                actor_agent_id: admin.clone(),
                ticket: Some(new_ticket(subject)),
            })
            .await?
            .into_inner()
            .ticket
            .expect("ticket"),
        );
    }
    let (t1, t2) = (made[0].clone(), made[1].clone());
    f.run(call!(
        ticketing,
        update_ticket,
        "TicketingService/UpdateTicket",
        |key, v| {
            tk::UpdateTicketRequest {
                request_id: key,
                organization_id: org.clone(),
                actor_agent_id: admin.clone(),
                ticket: Some(tk::Ticket {
                    id: t1.id.clone(),
                    subject: of(v, &"Uno bis".to_string(), &"Uno ter".to_string()),
                    ..Default::default()
                }),
                update_mask: mask("subject"),
                expected_update_time: None,
            }
        }
    ))
    .await?;
    f.run(call!(
        ticketing,
        add_ticket_comment,
        "TicketingService/AddTicketComment",
        |key, v| {
            tk::AddTicketCommentRequest {
                request_id: key,
                organization_id: org.clone(),
                actor_agent_id: admin.clone(),
                ticket_id: t1.id.clone(),
                body: of(v, &"llamé".to_string(), &"no atiende".to_string()),
                internal: true,
            }
        }
    ))
    .await?;
    let c1 = f.conversation(None).await?.id;
    f.run(call!(
        ticketing,
        link_conversation,
        "TicketingService/LinkConversation",
        |key, v| {
            tk::LinkConversationRequest {
                request_id: key,
                organization_id: org.clone(),
                actor_agent_id: admin.clone(),
                conversation_id: c1.clone(),
                contact_id: String::new(),
                ticket: Some(LinkTo::TicketId(of(v, &t1.id, &t2.id))),
            }
        }
    ))
    .await?;
    f.run(call!(
        ticketing,
        unlink_conversation,
        "TicketingService/UnlinkConversation",
        |key, v| {
            tk::UnlinkConversationRequest {
                request_id: key,
                organization_id: org.clone(),
                actor_agent_id: admin.clone(),
                conversation_id: c1.clone(),
                ticket_id: of(v, &t1.id, &t2.id),
            }
        }
    ))
    .await?;
    f.run(call!(
        ticketing,
        update_close_policy,
        "TicketingService/UpdateClosePolicy",
        |key, v| {
            tk::UpdateClosePolicyRequest {
                request_id: key,
                organization_id: org.clone(),
                actor_agent_id: admin.clone(),
                policy: Some(tk::ClosePolicy {
                    require_ticket: false,
                    team_ids: of(v, &vec![], &vec![soporte.clone()]),
                    ..Default::default()
                }),
            }
        }
    ))
    .await?;
    let c2 = f.conversation(None).await?.id;
    let propose = call!(
        ticketing,
        propose_ticket_link,
        "TicketingService/ProposeTicketLink",
        |key, v| {
            tk::ProposeTicketLinkRequest {
                request_id: key,
                organization_id: org.clone(),
                conversation_id: c2.clone(),
                contact_id: String::new(),
                ticket_number: of(v, &t1.number, &t2.number),
                proposer: "faq-bot".into(),
            }
        }
    );
    f.run(propose.optional()).await?;
    // Two proposals to confirm and two to reject (one each is the "other body").
    let mut proposals = Vec::new();
    for _ in 0..2 {
        let c = f.conversation(None).await?.id;
        for t in [&t1, &t2] {
            proposals.push(
                tkc.propose_ticket_link(tk::ProposeTicketLinkRequest {
                    request_id: rid(),
                    organization_id: org.clone(),
                    conversation_id: c.clone(),
                    contact_id: String::new(),
                    ticket_number: t.number,
                    proposer: "faq-bot".into(),
                })
                .await?
                .into_inner()
                .proposal
                .expect("proposal")
                .id,
            );
        }
    }
    f.run(call!(
        ticketing,
        confirm_ticket_proposal,
        "TicketingService/ConfirmTicketProposal",
        |key, v| {
            tk::ConfirmTicketProposalRequest {
                request_id: key,
                organization_id: org.clone(),
                actor_agent_id: admin.clone(),
                proposal_id: of(v, &proposals[0], &proposals[1]),
            }
        }
    ))
    .await?;
    f.run(call!(
        ticketing,
        reject_ticket_proposal,
        "TicketingService/RejectTicketProposal",
        |key, v| {
            tk::RejectTicketProposalRequest {
                request_id: key,
                organization_id: org.clone(),
                actor_agent_id: admin.clone(),
                proposal_id: of(v, &proposals[2], &proposals[3]),
            }
        }
    ))
    .await?;
    // A conversation with real messages, linked; the RPC appends its history (or finds it
    // appended by the close event's consumer).
    let (c5, _) = f.customer().await?;
    let c6 = f.conversation(None).await?.id;
    tkc.link_conversation(tk::LinkConversationRequest {
        request_id: rid(),
        organization_id: org.clone(),
        actor_agent_id: admin.clone(),
        conversation_id: c5.id.clone(),
        contact_id: String::new(),
        ticket: Some(LinkTo::TicketId(t2.id.clone())),
    })
    .await?;
    f.w.world.open(&lucia, &c5.id).await?;
    f.w.world.close(&lucia, &c5.id).await?;
    let holder = lucia.clone();
    f.w.world
        .until(&c6, "assigned to Lucía", |c| c.assignee_agent_id == holder)
        .await?;
    f.w.world.open(&lucia, &c6).await?;
    f.w.world.close(&lucia, &c6).await?;
    let append = call!(
        ticketing,
        append_conversation_history,
        "TicketingService/AppendConversationHistory",
        |key, v| {
            tk::AppendConversationHistoryRequest {
                request_id: key,
                organization_id: org.clone(),
                conversation_id: of(v, &c5.id, &c6),
                ..Default::default()
            }
        }
    );
    f.run(append.optional()).await?;

    // ---- last: finalizing needs an expired conversation (a day later) ----
    let (x1, x2) = (
        f.conversation(None).await?.id,
        f.conversation(None).await?.id,
    );
    f.w.world.clock().advance(Duration::from_secs(25 * 3600));
    for id in [&x1, &x2] {
        f.w.world
            .until(id, "expired", |c| {
                c.state == pb::ConversationState::Expired as i32
            })
            .await?;
    }
    f.run(call!(
        routing,
        finalize_conversation,
        "RoutingService/FinalizeConversation",
        |key, v| {
            pb::FinalizeConversationRequest {
                request_id: key,
                organization_id: org.clone(),
                actor_agent_id: lucia.clone(),
                conversation_id: of(v, &x1, &x2),
            }
        }
    ))
    .await?;

    // Last of all: an empty snapshot removes every agent from presence.
    let rebuild = call!(
        presence,
        rebuild_loads,
        "PresenceService/RebuildLoads",
        |key, v| {
            pr::RebuildLoadsRequest {
                request_id: key,
                organization_id: org.clone(),
                agents: vec![],
                snapshot_time: of(v, &None, &Some(Default::default())),
            }
        }
    );
    f.run(rebuild).await?;

    let expected = mutating_rpcs();
    let missing: Vec<_> = expected.difference(&f.done).collect();
    let unknown: Vec<_> = f.done.difference(&expected).collect();
    anyhow::ensure!(
        missing.is_empty() && unknown.is_empty(),
        "the table must name every mutating RPC: missing {missing:?}, not in the protos {unknown:?}"
    );
    f.w.stop().await
}
on_both_backends!(every_mutating_rpc_keeps_the_idempotency_promise);
