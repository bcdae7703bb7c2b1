//! Tenancy, over every RPC of routing, channel, presence, ticketing and integrations: an organization's admin who names
//! another organization's ids gets NOT_FOUND (never PERMISSION_DENIED: ids of other tenants
//! cannot be probed) or an empty answer, and nothing of the other organization changes. The
//! table has one row per RPC that takes an organization, checked against the protos.

use std::collections::BTreeSet;

use switchboard_proto::{
    channel::v1::{self as ch, get_contact_request, send_template_message_request},
    common::v1::{AgentStatus, PageRequest, Role},
    integrations::v1::{self as ig, integrations_service_client::IntegrationsServiceClient},
    presence::v1 as pr,
    prost::Message as _,
    reporting::v1::{self as rp, reporting_service_client::ReportingServiceClient},
    routing::v1::{self as pb, explain_routing_request},
    ticketing::v1::{
        self as tk, link_conversation_request::Ticket as LinkTo,
        ticketing_service_client::TicketingServiceClient,
    },
};
use switchboard_runtime::Service;
use switchboard_testkit::Backend;

use crate::{
    channel_support::ChannelWorld,
    contracts_replay::{diff, settled},
    on_both_backends,
    routing_support::{agent_target, rid, team_target},
};

/// Every `Service/Method` of routing, channel and presence but CreateOrganization (which
/// takes no organization).
fn tenant_rpcs() -> BTreeSet<String> {
    use switchboard_proto::prost_types::FileDescriptorSet;
    let set =
        FileDescriptorSet::decode(switchboard_proto::FILE_DESCRIPTOR_SET).expect("descriptors");
    set.file
        .iter()
        .filter(|file| {
            [
                "routing",
                "channel",
                "presence",
                "ticketing",
                "integrations",
                "reporting",
            ]
            .iter()
            .any(|svc| file.package() == format!("switchboard.{svc}.v1"))
        })
        .flat_map(|file| {
            file.service.iter().flat_map(|s| {
                s.method
                    .iter()
                    .map(|m| format!("{}/{}", s.name(), m.name()))
            })
        })
        .filter(|rpc| rpc != "RoutingService/CreateOrganization")
        .collect()
}

fn page() -> Option<PageRequest> {
    Some(PageRequest {
        page_size: 500,
        page_token: String::new(),
    })
}

/// The call answers NOT_FOUND.
macro_rules! not_found {
    ($seen:ident, $name:literal, $call:expr) => {{
        match $call.await {
            Err(e) if e.code() == tonic::Code::NotFound => {}
            Err(e) => anyhow::bail!("{}: NOT_FOUND expected, got {e:?}", $name),
            Ok(r) => anyhow::bail!(
                "{}: another organization's id was served: {:?}",
                $name,
                r.into_inner()
            ),
        }
        $seen.insert($name.to_string());
    }};
}

/// The call answers NOT_FOUND, or answers and `$check` holds of the answer (nothing of the
/// other organization in it).
macro_rules! empty {
    ($seen:ident, $name:literal, $call:expr, |$r:ident| $check:expr) => {{
        match $call.await {
            Err(e) if e.code() == tonic::Code::NotFound => {}
            Err(e) => anyhow::bail!("{}: {e:?}", $name),
            Ok(answer) => {
                let answer = answer.into_inner();
                let ok = {
                    let $r = answer.clone();
                    $check
                };
                anyhow::ensure!(ok, "{}: another organization's data in {:?}", $name, answer);
            }
        }
        $seen.insert($name.to_string());
    }};
}

async fn another_organizations_ids_are_not_found(backend: Backend) -> anyhow::Result<()> {
    let mut a = ChannelWorld::with_targets(
        backend,
        switchboard_graph_sim::StatusPlan::default(),
        |s| {
            s.presence.heartbeat_ttl_secs = 3600;
            s.integrations.webhooks.allow_loopback = true;
            s.integrations.webhooks.dispatch_interval_ms = 50;
        },
        &[Service::Integrations, Service::Reporting],
    )
    .await?;
    // Organization A: a number, a team, an agent, a campaign, owners, a conversation a customer
    // opened with a message, a work item.
    let lucia = a.agent.clone();
    let team = a.team.clone();
    let account = a.account.clone();
    a.sync_templates().await?;
    let campaign = a
        .world
        .routing
        .create_campaign(pb::CreateCampaignRequest {
            request_id: rid(),
            organization_id: a.world.org.clone(),
            actor_agent_id: a.world.admin.clone(),
            campaign: Some(pb::Campaign {
                name: "Promo".into(),
                channel_account_id: account.clone(),
                ..Default::default()
            }),
        })
        .await?
        .into_inner()
        .campaign
        .expect("campaign")
        .id;
    // Integrations in A: an endpoint that gets the customer's message.
    let receiver = crate::integrations_support::Receiver::start(vec![]).await?;
    let mut hooks =
        IntegrationsServiceClient::new(a.world.suite.channel(Service::Integrations).await?);
    let endpoint_a = hooks
        .create_webhook_endpoint(ig::CreateWebhookEndpointRequest {
            request_id: rid(),
            organization_id: a.world.org.clone(),
            actor_agent_id: a.world.admin.clone(),
            endpoint: Some(ig::WebhookEndpoint {
                url: receiver.url.clone(),
                topics: vec!["channel.message.received".into()],
                enabled: true,
                ..Default::default()
            }),
        })
        .await?
        .into_inner()
        .endpoint
        .expect("endpoint");
    let wa = "5491160001234";
    a.customer_writes(wa, "Cliente", "Hola").await?;
    let contact = a.contact(wa).await?.expect("contact").id;
    let message = a.routed_messages(&contact, 1).await?.remove(0);
    let conversation = message.conversation_id.clone();
    a.world
        .routing
        .add_contact_owner(pb::AddContactOwnerRequest {
            request_id: rid(),
            organization_id: a.world.org.clone(),
            actor_agent_id: a.world.admin.clone(),
            contact_id: contact.clone(),
            agent_id: lucia.clone(),
        })
        .await?;
    let work_item = a
        .world
        .routing
        .route_work_item(pb::RouteWorkItemRequest {
            request_id: rid(),
            organization_id: a.world.org.clone(),
            kind: "callback".into(),
            external_ref: "crm-1".into(),
            target: Some(agent_target(&lucia)),
            ..Default::default()
        })
        .await?
        .into_inner()
        .work_item
        .expect("work item")
        .id;
    let decision = a.world.explain(&conversation).await?[0].id.clone();
    // Ticketing in A: two tickets, the conversation linked to the first, the second proposed.
    let mut tickets = TicketingServiceClient::new(a.world.suite.channel(Service::Ticketing).await?);
    let mut made = Vec::new();
    for subject in ["Pedido", "Factura"] {
        made.push(
            tickets
                .create_ticket(tk::CreateTicketRequest {
                    request_id: rid(),
                    organization_id: a.world.org.clone(),
                    actor_agent_id: a.world.admin.clone(),
                    ticket: Some(tk::NewTicket {
                        subject: subject.into(),
                        requester: Some(tk::Requester {
                            name: "Ana".into(),
                            ..Default::default()
                        }),
                        ..Default::default()
                    }),
                })
                .await?
                .into_inner()
                .ticket
                .expect("ticket"),
        );
    }
    let (ta1, ta2) = (made[0].id.clone(), made[1].id.clone());
    tickets
        .link_conversation(tk::LinkConversationRequest {
            request_id: rid(),
            organization_id: a.world.org.clone(),
            actor_agent_id: a.world.admin.clone(),
            conversation_id: conversation.clone(),
            contact_id: String::new(),
            ticket: Some(LinkTo::TicketId(ta1.clone())),
        })
        .await?;
    let proposal = tickets
        .propose_ticket_link(tk::ProposeTicketLinkRequest {
            request_id: rid(),
            organization_id: a.world.org.clone(),
            conversation_id: conversation.clone(),
            contact_id: contact.clone(),
            ticket_number: made[1].number,
            proposer: "faq-bot".into(),
        })
        .await?
        .into_inner()
        .proposal
        .expect("proposal")
        .id;
    receiver.until(1, 20).await?;
    let reader = hooks.clone();
    let deliveries_of_a = || {
        let mut hooks = reader.clone();
        let (org, admin) = (a.world.org.clone(), a.world.admin.clone());
        async move {
            anyhow::Ok(
                hooks
                    .list_webhook_deliveries(ig::ListWebhookDeliveriesRequest {
                        organization_id: org,
                        actor_agent_id: admin,
                        ..Default::default()
                    })
                    .await?
                    .into_inner()
                    .deliveries,
            )
        }
    };
    let mut delivered = deliveries_of_a().await?;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while delivered
        .first()
        .is_none_or(|d| d.status != ig::DeliveryStatus::Delivered as i32)
    {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "no delivery in A: {delivered:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        delivered = deliveries_of_a().await?;
    }
    let delivery_a = delivered[0].id.clone();
    let mut feed_a = hooks
        .stream_events(ig::StreamEventsRequest {
            organization_id: a.world.org.clone(),
            actor_agent_id: a.world.admin.clone(),
            from_oldest: true,
            ..Default::default()
        })
        .await?
        .into_inner();
    let cursor_a = feed_a.message().await?.expect("an event of A").cursor;
    drop(feed_a);
    let owners = vec![contact.clone()];
    let before = settled(&a, &owners).await?;

    // Organization B, in the same deployment, with its own admin.
    let mut routing = a.world.routing.clone();
    let mut channel = a.channel.clone();
    let mut presence = a.world.presence.clone();
    let org = routing
        .create_organization(pb::CreateOrganizationRequest {
            request_id: rid(),
            name: "Other".into(),
            default_agent_capacity: 3,
            ..Default::default()
        })
        .await?
        .into_inner()
        .organization
        .expect("organization")
        .id;
    let admin = routing
        .create_agent(pb::CreateAgentRequest {
            request_id: rid(),
            organization_id: org.clone(),
            agent: Some(pb::Agent {
                display_name: "Admin B".into(),
                email: "admin@other.test".into(),
                role: Role::Admin as i32,
                ..Default::default()
            }),
            ..Default::default()
        })
        .await?
        .into_inner()
        .agent
        .expect("agent")
        .id;
    let mut seen = BTreeSet::new();
    let mask = |path: &str| {
        Some(switchboard_proto::prost_types::FieldMask {
            paths: vec![path.into()],
        })
    };

    // ---- routing: organization, agents ----
    empty!(
        seen,
        "RoutingService/GetOrganization",
        routing.get_organization(pb::GetOrganizationRequest {
            organization_id: org.clone()
        }),
        |r| r.organization.is_some_and(|o| o.id == org)
    );
    empty!(
        seen,
        "RoutingService/UpdateOrganization",
        routing.update_organization(pb::UpdateOrganizationRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: admin.clone(),
            organization: Some(pb::Organization {
                name: "Other SA".into(),
                ..Default::default()
            }),
            update_mask: mask("name"),
        }),
        |r| r.organization.is_some_and(|o| o.id == org)
    );
    empty!(
        seen,
        "RoutingService/CreateAgent",
        routing.create_agent(pb::CreateAgentRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: admin.clone(),
            agent: Some(pb::Agent {
                display_name: "Beto".into(),
                email: "beto@other.test".into(),
                role: Role::Agent as i32,
                ..Default::default()
            }),
            team_ids: vec![],
        }),
        |r| r.agent.is_some_and(|x| x.organization_id == org)
    );
    not_found!(
        seen,
        "RoutingService/GetAgent",
        routing.get_agent(pb::GetAgentRequest {
            organization_id: org.clone(),
            agent_id: lucia.clone()
        })
    );
    not_found!(
        seen,
        "RoutingService/LookupAgent",
        routing.lookup_agent(pb::LookupAgentRequest {
            organization_id: org.clone(),
            auth_subject: "lucia".into()
        })
    );
    empty!(
        seen,
        "RoutingService/ListAgents",
        routing.list_agents(pb::ListAgentsRequest {
            organization_id: org.clone(),
            page: page(),
            include_disabled: true,
            ..Default::default()
        }),
        |r| r.agents.iter().all(|x| x.organization_id == org)
    );
    not_found!(
        seen,
        "RoutingService/UpdateAgent",
        routing.update_agent(pb::UpdateAgentRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: admin.clone(),
            agent: Some(pb::Agent {
                id: lucia.clone(),
                display_name: "Hijacked".into(),
                ..Default::default()
            }),
            update_mask: mask("display_name"),
        })
    );
    not_found!(
        seen,
        "RoutingService/DeleteAgent",
        routing.delete_agent(pb::DeleteAgentRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: admin.clone(),
            agent_id: lucia.clone()
        })
    );

    // ---- teams ----
    empty!(
        seen,
        "RoutingService/CreateTeam",
        routing.create_team(pb::CreateTeamRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: admin.clone(),
            team: Some(pb::Team {
                name: "Ventas".into(),
                strategy: pb::TeamStrategy::LeastOpen as i32,
                ..Default::default()
            }),
            member_agent_ids: vec![],
        }),
        |r| r.team.is_some_and(|t| t.organization_id == org)
    );
    not_found!(
        seen,
        "RoutingService/GetTeam",
        routing.get_team(pb::GetTeamRequest {
            organization_id: org.clone(),
            team_id: team.clone()
        })
    );
    empty!(
        seen,
        "RoutingService/ListTeams",
        routing.list_teams(pb::ListTeamsRequest {
            organization_id: org.clone(),
            page: page(),
            channel_account_id: account.clone()
        }),
        |r| r.teams.is_empty()
    );
    not_found!(
        seen,
        "RoutingService/UpdateTeam",
        routing.update_team(pb::UpdateTeamRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: admin.clone(),
            team: Some(pb::Team {
                id: team.clone(),
                description: "x".into(),
                ..Default::default()
            }),
            update_mask: mask("description"),
        })
    );
    not_found!(
        seen,
        "RoutingService/DeleteTeam",
        routing.delete_team(pb::DeleteTeamRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: admin.clone(),
            team_id: team.clone()
        })
    );
    not_found!(
        seen,
        "RoutingService/AddTeamMember",
        routing.add_team_member(pb::AddTeamMemberRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: admin.clone(),
            team_id: team.clone(),
            agent_id: admin.clone()
        })
    );
    not_found!(
        seen,
        "RoutingService/RemoveTeamMember",
        routing.remove_team_member(pb::RemoveTeamMemberRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: admin.clone(),
            team_id: team.clone(),
            agent_id: lucia.clone()
        })
    );
    empty!(
        seen,
        "RoutingService/ListTeamMembers",
        routing.list_team_members(pb::ListTeamMembersRequest {
            organization_id: org.clone(),
            page: page(),
            team_id: team.clone(),
            agent_id: String::new()
        }),
        |r| r.memberships.is_empty()
    );

    // ---- channel account routing, campaigns, owners ----
    empty!(
        seen,
        "RoutingService/GetChannelAccountRouting",
        routing.get_channel_account_routing(pb::GetChannelAccountRoutingRequest {
            organization_id: org.clone(),
            channel_account_id: account.clone()
        }),
        |r| r
            .routing
            .is_none_or(|x| x.linked_team_ids.is_empty() && x.linked_agent_ids.is_empty())
    );
    // Bug 11: another organization's number was accepted (and an unknown one).
    not_found!(
        seen,
        "RoutingService/UpdateChannelAccountRouting",
        routing.update_channel_account_routing(pb::UpdateChannelAccountRoutingRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: admin.clone(),
            routing: Some(pb::ChannelAccountRouting {
                channel_account_id: account.clone(),
                ..Default::default()
            }),
        })
    );
    not_found!(
        seen,
        "RoutingService/GetBusinessHours",
        routing.get_business_hours(pb::GetBusinessHoursRequest {
            organization_id: org.clone(),
            actor_agent_id: admin.clone(),
            channel_account_id: account.clone()
        })
    );
    not_found!(
        seen,
        "RoutingService/UpdateBusinessHours",
        routing.update_business_hours(pb::UpdateBusinessHoursRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: admin.clone(),
            channel_account_id: account.clone(),
            business_hours: None,
        })
    );
    not_found!(
        seen,
        "RoutingService/GetAutomaticMessages",
        routing.get_automatic_messages(pb::GetAutomaticMessagesRequest {
            organization_id: org.clone(),
            actor_agent_id: admin.clone(),
            channel_account_id: account.clone()
        })
    );
    not_found!(
        seen,
        "RoutingService/UpdateAutomaticMessages",
        routing.update_automatic_messages(pb::UpdateAutomaticMessagesRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: admin.clone(),
            automatic_messages: Some(pb::AutomaticMessages {
                channel_account_id: account.clone(),
                ..Default::default()
            }),
        })
    );
    empty!(
        seen,
        "RoutingService/CreateCampaign",
        routing.create_campaign(pb::CreateCampaignRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: admin.clone(),
            campaign: Some(pb::Campaign {
                name: "Promo B".into(),
                channel_account_id: account.clone(),
                ..Default::default()
            }),
        }),
        |r| r.campaign.is_none_or(|c| c.organization_id == org)
    );
    not_found!(
        seen,
        "RoutingService/GetCampaign",
        routing.get_campaign(pb::GetCampaignRequest {
            organization_id: org.clone(),
            campaign_id: campaign.clone()
        })
    );
    empty!(
        seen,
        "RoutingService/ListCampaigns",
        routing.list_campaigns(pb::ListCampaignsRequest {
            organization_id: org.clone(),
            page: page(),
            channel_account_id: String::new(),
            include_archived: true
        }),
        |r| r.campaigns.iter().all(|c| c.organization_id == org)
    );
    not_found!(
        seen,
        "RoutingService/UpdateCampaign",
        routing.update_campaign(pb::UpdateCampaignRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: admin.clone(),
            campaign: Some(pb::Campaign {
                id: campaign.clone(),
                name: "x".into(),
                ..Default::default()
            }),
            update_mask: mask("name"),
        })
    );
    not_found!(
        seen,
        "RoutingService/DeleteCampaign",
        routing.delete_campaign(pb::DeleteCampaignRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: admin.clone(),
            campaign_id: campaign.clone()
        })
    );
    not_found!(
        seen,
        "RoutingService/AddContactOwner",
        routing.add_contact_owner(pb::AddContactOwnerRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: admin.clone(),
            contact_id: contact.clone(),
            agent_id: lucia.clone()
        })
    );
    empty!(
        seen,
        "RoutingService/RemoveContactOwner",
        routing.remove_contact_owner(pb::RemoveContactOwnerRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: admin.clone(),
            contact_id: contact.clone(),
            agent_id: lucia.clone()
        }),
        // Idempotent by design: answers without effect (the final snapshot checks it).
        |_r| true
    );
    empty!(
        seen,
        "RoutingService/ListContactOwners",
        routing.list_contact_owners(pb::ListContactOwnersRequest {
            organization_id: org.clone(),
            contact_id: contact.clone(),
            page: page()
        }),
        |r| r.owners.is_empty()
    );

    // ---- conversations ----
    not_found!(
        seen,
        "RoutingService/StartConversation",
        routing.start_conversation(pb::StartConversationRequest {
            request_id: rid(),
            organization_id: org.clone(),
            channel_account_id: account.clone(),
            contact_id: contact.clone(),
            first_message_id: "msg_x".into(),
            ..Default::default()
        })
    );
    not_found!(
        seen,
        "RoutingService/RecordCustomerMessage",
        routing.record_customer_message(pb::RecordCustomerMessageRequest {
            request_id: rid(),
            organization_id: org.clone(),
            conversation_id: conversation.clone(),
            message_id: "msg_y".into(),
            ..Default::default()
        })
    );
    not_found!(
        seen,
        "RoutingService/RecordAgentReply",
        routing.record_agent_reply(pb::RecordAgentReplyRequest {
            request_id: rid(),
            organization_id: org.clone(),
            conversation_id: conversation.clone(),
            agent_id: admin.clone(),
            message_id: "msg_z".into(),
            ..Default::default()
        })
    );
    not_found!(
        seen,
        "RoutingService/GetConversation",
        routing.get_conversation(pb::GetConversationRequest {
            organization_id: org.clone(),
            conversation_id: conversation.clone(),
            actor_agent_id: admin.clone()
        })
    );
    empty!(
        seen,
        "RoutingService/ListConversations",
        routing.list_conversations(pb::ListConversationsRequest {
            organization_id: org.clone(),
            page: page(),
            actor_agent_id: admin.clone(),
            contact_id: contact.clone(),
            ..Default::default()
        }),
        |r| r.conversations.is_empty()
    );
    empty!(
        seen,
        "RoutingService/ListAssignedConversations",
        routing.list_assigned_conversations(pb::ListAssignedConversationsRequest {
            organization_id: org.clone(),
            page: page(),
            actor_agent_id: admin.clone(),
            agent_id: String::new()
        }),
        |r| r.conversations.is_empty()
    );
    empty!(
        seen,
        "RoutingService/ListOpenConversations",
        routing.list_open_conversations(pb::ListOpenConversationsRequest {
            organization_id: org.clone(),
            page: page(),
            actor_agent_id: admin.clone(),
            agent_id: String::new()
        }),
        |r| r.conversations.is_empty()
    );
    empty!(
        seen,
        "RoutingService/ListExpiredConversations",
        routing.list_expired_conversations(pb::ListExpiredConversationsRequest {
            organization_id: org.clone(),
            page: page(),
            actor_agent_id: admin.clone(),
            agent_id: String::new()
        }),
        |r| r.conversations.is_empty()
    );
    empty!(
        seen,
        "RoutingService/ListWaitingConversations",
        routing.list_waiting_conversations(pb::ListWaitingConversationsRequest {
            organization_id: org.clone(),
            page: page(),
            actor_agent_id: admin.clone(),
            ..Default::default()
        }),
        |r| r.conversations.is_empty()
    );
    empty!(
        seen,
        "RoutingService/GetInboxCounts",
        routing.get_inbox_counts(pb::GetInboxCountsRequest {
            organization_id: org.clone(),
            actor_agent_id: admin.clone(),
            agent_id: String::new()
        }),
        |r| r.counts.is_none_or(|c| c == pb::InboxCounts::default())
    );
    empty!(
        seen,
        "RoutingService/ListContactConversations",
        routing.list_contact_conversations(pb::ListContactConversationsRequest {
            organization_id: org.clone(),
            page: page(),
            actor_agent_id: admin.clone(),
            contact_id: contact.clone(),
            channel_account_id: String::new()
        }),
        |r| r.conversations.is_empty()
    );
    not_found!(
        seen,
        "RoutingService/PickConversation",
        routing.pick_conversation(pb::PickConversationRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: admin.clone(),
            conversation_id: conversation.clone()
        })
    );
    not_found!(
        seen,
        "RoutingService/OpenConversation",
        routing.open_conversation(pb::OpenConversationRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: admin.clone(),
            conversation_id: conversation.clone()
        })
    );
    not_found!(
        seen,
        "RoutingService/CloseConversation",
        routing.close_conversation(pb::CloseConversationRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: admin.clone(),
            conversation_id: conversation.clone(),
            close_note: String::new()
        })
    );
    not_found!(
        seen,
        "RoutingService/FinalizeConversation",
        routing.finalize_conversation(pb::FinalizeConversationRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: admin.clone(),
            conversation_id: conversation.clone()
        })
    );
    not_found!(
        seen,
        "RoutingService/TransferConversation",
        routing.transfer_conversation(pb::TransferConversationRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: admin.clone(),
            conversation_id: conversation.clone(),
            target: Some(team_target(&team)),
            reason: String::new(),
            priority: None
        })
    );
    not_found!(
        seen,
        "RoutingService/UpdateConversationForm",
        routing.update_conversation_form(pb::UpdateConversationFormRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: admin.clone(),
            conversation_id: conversation.clone(),
            values: Default::default()
        })
    );
    not_found!(
        seen,
        "RoutingService/ListConversationTransfers",
        routing.list_conversation_transfers(pb::ListConversationTransfersRequest {
            organization_id: org.clone(),
            page: page(),
            actor_agent_id: admin.clone(),
            conversation_id: conversation.clone()
        })
    );
    empty!(
        seen,
        "RoutingService/GetTransferReport",
        routing.get_transfer_report(pb::GetTransferReportRequest {
            organization_id: org.clone(),
            page: page(),
            actor_agent_id: admin.clone(),
            time_range: Some(switchboard_proto::common::v1::TimeRange {
                start_time: Some(switchboard_proto::prost_types::Timestamp {
                    seconds: crate::channel_support::unix_now() - 30 * 86_400,
                    nanos: 0
                }),
                end_time: Some(switchboard_proto::prost_types::Timestamp {
                    seconds: crate::channel_support::unix_now() + 86_400,
                    nanos: 0
                }),
            }),
            ..Default::default()
        }),
        |r| r.rows.is_empty()
    );
    not_found!(
        seen,
        "RoutingService/ListConversationTransitions",
        routing.list_conversation_transitions(pb::ListConversationTransitionsRequest {
            organization_id: org.clone(),
            page: page(),
            actor_agent_id: admin.clone(),
            conversation_id: conversation.clone()
        })
    );
    for (subject, name) in [
        (
            explain_routing_request::Subject::ConversationId(conversation.clone()),
            "conversation",
        ),
        (
            explain_routing_request::Subject::WorkItemId(work_item.clone()),
            "work item",
        ),
        (
            explain_routing_request::Subject::DecisionId(decision.clone()),
            "decision",
        ),
    ] {
        match routing
            .explain_routing(pb::ExplainRoutingRequest {
                organization_id: org.clone(),
                actor_agent_id: admin.clone(),
                subject: Some(subject),
            })
            .await
        {
            Err(e) if e.code() == tonic::Code::NotFound => {}
            other => anyhow::bail!("RoutingService/ExplainRouting of a {name}: {other:?}"),
        }
    }
    seen.insert("RoutingService/ExplainRouting".into());

    // ---- work items, presence notifications ----
    empty!(
        seen,
        "RoutingService/RouteWorkItem",
        routing.route_work_item(pb::RouteWorkItemRequest {
            request_id: rid(),
            organization_id: org.clone(),
            kind: "callback".into(),
            external_ref: "crm-1".into(),
            target: Some(agent_target(&lucia)),
            ..Default::default()
        }),
        |r| r
            .work_item
            .is_none_or(|w| w.organization_id == org && w.assignee_agent_id.is_empty())
    );
    not_found!(
        seen,
        "RoutingService/GetWorkItem",
        routing.get_work_item(pb::GetWorkItemRequest {
            organization_id: org.clone(),
            work_item_id: work_item.clone()
        })
    );
    empty!(
        seen,
        "RoutingService/ListWorkItems",
        routing.list_work_items(pb::ListWorkItemsRequest {
            organization_id: org.clone(),
            page: page(),
            external_ref: "crm-1".into(),
            ..Default::default()
        }),
        |r| r.work_items.iter().all(|w| w.organization_id == org)
    );
    not_found!(
        seen,
        "RoutingService/AcceptWorkItem",
        routing.accept_work_item(pb::AcceptWorkItemRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: admin.clone(),
            work_item_id: work_item.clone()
        })
    );
    not_found!(
        seen,
        "RoutingService/CompleteWorkItem",
        routing.complete_work_item(pb::CompleteWorkItemRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: admin.clone(),
            work_item_id: work_item.clone(),
            outcome: String::new()
        })
    );
    not_found!(
        seen,
        "RoutingService/CancelWorkItem",
        routing.cancel_work_item(pb::CancelWorkItemRequest {
            request_id: rid(),
            organization_id: org.clone(),
            work_item_id: work_item.clone(),
            reason: String::new()
        })
    );
    empty!(
        seen,
        "RoutingService/NotifySlotFreed",
        routing.notify_slot_freed(pb::NotifySlotFreedRequest {
            request_id: rid(),
            organization_id: org.clone(),
            agent_id: lucia.clone()
        }),
        |_r| true
    );
    empty!(
        seen,
        "RoutingService/NotifyAgentOffline",
        routing.notify_agent_offline(pb::NotifyAgentOfflineRequest {
            request_id: rid(),
            organization_id: org.clone(),
            agent_id: lucia.clone()
        }),
        |_r| true
    );

    // ---- channel ----
    empty!(
        seen,
        "ChannelService/CreateChannelAccount",
        channel.create_channel_account(ch::CreateChannelAccountRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: admin.clone(),
            channel_account: Some(ch::ChannelAccount {
                display_name: "B".into(),
                phone_number_id: "300000000000001".into(),
                display_phone_number: "+1 555".into(),
                waba_id: "1".into(),
                access_token_secret_ref: "wa-token-test".into(),
                ..Default::default()
            }),
        }),
        |r| r.channel_account.is_some_and(|x| x.organization_id == org)
    );
    not_found!(
        seen,
        "ChannelService/GetChannelAccount",
        channel.get_channel_account(ch::GetChannelAccountRequest {
            organization_id: org.clone(),
            channel_account_id: account.clone()
        })
    );
    empty!(
        seen,
        "ChannelService/ListChannelAccounts",
        channel.list_channel_accounts(ch::ListChannelAccountsRequest {
            organization_id: org.clone(),
            page: page(),
            include_disabled: true
        }),
        |r| r.channel_accounts.iter().all(|x| x.organization_id == org)
    );
    not_found!(
        seen,
        "ChannelService/UpdateChannelAccount",
        channel.update_channel_account(ch::UpdateChannelAccountRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: admin.clone(),
            channel_account: Some(ch::ChannelAccount {
                id: account.clone(),
                display_name: "x".into(),
                ..Default::default()
            }),
            update_mask: mask("display_name"),
        })
    );
    not_found!(
        seen,
        "ChannelService/DeleteChannelAccount",
        channel.delete_channel_account(ch::DeleteChannelAccountRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: admin.clone(),
            channel_account_id: account.clone()
        })
    );
    empty!(
        seen,
        "ChannelService/CreateContact",
        channel.create_contact(ch::CreateContactRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: admin.clone(),
            phone_number: format!("+{wa}"),
            ..Default::default()
        }),
        |r| r
            .contact
            .is_some_and(|c| c.organization_id == org && c.id != contact)
    );
    not_found!(
        seen,
        "ChannelService/GetContact",
        channel.get_contact(ch::GetContactRequest {
            organization_id: org.clone(),
            lookup: Some(get_contact_request::Lookup::ContactId(contact.clone()))
        })
    );
    empty!(
        seen,
        "ChannelService/ListContacts",
        channel.list_contacts(ch::ListContactsRequest {
            organization_id: org.clone(),
            page: page(),
            ..Default::default()
        }),
        |r| r.contacts.iter().all(|c| c.organization_id == org)
    );
    not_found!(
        seen,
        "ChannelService/UpdateContact",
        channel.update_contact(ch::UpdateContactRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: admin.clone(),
            contact: Some(ch::Contact {
                id: contact.clone(),
                display_name: "x".into(),
                ..Default::default()
            }),
            update_mask: mask("display_name"),
        })
    );
    not_found!(
        seen,
        "ChannelService/AddContactTags",
        channel.add_contact_tags(ch::AddContactTagsRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: admin.clone(),
            contact_id: contact.clone(),
            tags: vec!["x".into()]
        })
    );
    not_found!(
        seen,
        "ChannelService/RemoveContactTags",
        channel.remove_contact_tags(ch::RemoveContactTagsRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: admin.clone(),
            contact_id: contact.clone(),
            tags: vec!["x".into()]
        })
    );
    not_found!(
        seen,
        "ChannelService/SendTextMessage",
        channel.send_text_message(ch::SendTextMessageRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: admin.clone(),
            conversation_id: conversation.clone(),
            text: Some(ch::TextContent {
                body: "hola".into(),
                preview_url: false
            }),
            reply_to_message_id: String::new(),
        })
    );
    not_found!(
        seen,
        "ChannelService/SendMediaMessage",
        channel.send_media_message(ch::SendMediaMessageRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: admin.clone(),
            conversation_id: conversation.clone(),
            media: Some(ch::MediaContent {
                kind: ch::MediaKind::Image as i32,
                link: "https://example.com/a.jpg".into(),
                ..Default::default()
            }),
            reply_to_message_id: String::new(),
        })
    );
    not_found!(
        seen,
        "ChannelService/SendReaction",
        channel.send_reaction(ch::SendReactionRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: admin.clone(),
            message_id: message.id.clone(),
            emoji: "👍".into()
        })
    );
    not_found!(
        seen,
        "ChannelService/SendTemplateMessage",
        channel.send_template_message(ch::SendTemplateMessageRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: admin.clone(),
            recipient: Some(send_template_message_request::Recipient::Contact(
                ch::ContactRecipient {
                    channel_account_id: account.clone(),
                    contact_id: contact.clone()
                }
            )),
            template: Some(ch::TemplateContent {
                name: "hello_world".into(),
                language_code: "en_US".into(),
                ..Default::default()
            }),
        })
    );
    not_found!(
        seen,
        "ChannelService/MarkMessageRead",
        channel.mark_message_read(ch::MarkMessageReadRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: admin.clone(),
            message_id: message.id.clone()
        })
    );
    not_found!(
        seen,
        "ChannelService/UploadMedia",
        channel.upload_media(ch::UploadMediaRequest {
            request_id: rid(),
            organization_id: org.clone(),
            channel_account_id: account.clone(),
            mime_type: "text/plain".into(),
            filename: "a.txt".into(),
            data: b"a".to_vec()
        })
    );
    // Not implemented yet (no media download route): it serves nothing to anyone.
    match channel
        .get_media_download_url(ch::GetMediaDownloadUrlRequest {
            organization_id: org.clone(),
            message_id: message.id.clone(),
        })
        .await
    {
        Err(e) if matches!(e.code(), tonic::Code::NotFound | tonic::Code::Unimplemented) => {}
        other => anyhow::bail!("ChannelService/GetMediaDownloadUrl: {other:?}"),
    }
    seen.insert("ChannelService/GetMediaDownloadUrl".to_string());
    not_found!(
        seen,
        "ChannelService/SendCampaign",
        channel.send_campaign(ch::SendCampaignRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: admin.clone(),
            campaign_id: campaign.clone(),
            template: Some(ch::TemplateContent {
                name: "hello_world".into(),
                language_code: "en_US".into(),
                ..Default::default()
            }),
            recipients: vec![ch::CampaignRecipient {
                recipient: Some(ch::campaign_recipient::Recipient::ContactId(
                    contact.clone()
                )),
                components: vec![]
            }],
        })
    );
    empty!(
        seen,
        "ChannelService/ListCampaignMessages",
        channel.list_campaign_messages(ch::ListCampaignMessagesRequest {
            organization_id: org.clone(),
            page: page(),
            campaign_id: campaign.clone(),
            statuses: vec![]
        }),
        |r| r.messages.is_empty()
    );
    not_found!(
        seen,
        "ChannelService/GetMessage",
        channel.get_message(ch::GetMessageRequest {
            organization_id: org.clone(),
            message_id: message.id.clone()
        })
    );
    empty!(
        seen,
        "ChannelService/ListConversationMessages",
        channel.list_conversation_messages(ch::ListConversationMessagesRequest {
            organization_id: org.clone(),
            page: page(),
            conversation_id: conversation.clone(),
            order: 0
        }),
        |r| r.messages.is_empty()
    );
    empty!(
        seen,
        "ChannelService/ListContactMessages",
        channel.list_contact_messages(ch::ListContactMessagesRequest {
            organization_id: org.clone(),
            page: page(),
            contact_id: contact.clone(),
            ..Default::default()
        }),
        |r| r.messages.is_empty()
    );
    not_found!(
        seen,
        "ChannelService/GetConversationWindow",
        channel.get_conversation_window(ch::GetConversationWindowRequest {
            organization_id: org.clone(),
            subject: Some(
                ch::get_conversation_window_request::Subject::ConversationId(conversation.clone())
            )
        })
    );
    empty!(
        seen,
        "ChannelService/GetInboxDetails",
        channel.get_inbox_details(ch::GetInboxDetailsRequest {
            organization_id: org.clone(),
            conversation_ids: vec![conversation.clone()],
            contact_ids: vec![contact.clone()],
        }),
        |r| r.contacts.is_empty() && r.conversations.is_empty()
    );
    empty!(
        seen,
        "ChannelService/ListTemplates",
        channel.list_templates(ch::ListTemplatesRequest {
            organization_id: org.clone(),
            page: page(),
            channel_account_id: account.clone(),
            ..Default::default()
        }),
        |r| r.templates.is_empty()
    );
    not_found!(
        seen,
        "ChannelService/SyncTemplates",
        channel.sync_templates(ch::SyncTemplatesRequest {
            request_id: rid(),
            organization_id: org.clone(),
            channel_account_id: account.clone()
        })
    );

    // ---- presence ----
    not_found!(
        seen,
        "PresenceService/SetStatus",
        presence.set_status(pr::SetStatusRequest {
            request_id: rid(),
            organization_id: org.clone(),
            agent_id: lucia.clone(),
            status: AgentStatus::Offline as i32,
            reason: String::new()
        })
    );
    not_found!(
        seen,
        "PresenceService/Heartbeat",
        presence.heartbeat(pr::HeartbeatRequest {
            request_id: rid(),
            organization_id: org.clone(),
            agent_id: lucia.clone(),
            status: AgentStatus::Offline as i32,
            status_reason: String::new()
        })
    );
    not_found!(
        seen,
        "PresenceService/SetCapacity",
        presence.set_capacity(pr::SetCapacityRequest {
            request_id: rid(),
            organization_id: org.clone(),
            agent_id: lucia.clone(),
            capacity: 0
        })
    );
    not_found!(
        seen,
        "PresenceService/GetAgentPresence",
        presence.get_agent_presence(pr::GetAgentPresenceRequest {
            organization_id: org.clone(),
            agent_id: lucia.clone()
        })
    );
    empty!(
        seen,
        "PresenceService/ListAgentPresences",
        presence.list_agent_presences(pr::ListAgentPresencesRequest {
            organization_id: org.clone(),
            page: page(),
            agent_ids: vec![lucia.clone()],
            ..Default::default()
        }),
        |r| r.presences.is_empty()
    );
    empty!(
        seen,
        "PresenceService/ListAvailableAgents",
        presence.list_available_agents(pr::ListAvailableAgentsRequest {
            organization_id: org.clone(),
            page: page(),
            team_id: team.clone(),
            channel_account_id: String::new()
        }),
        |r| r.presences.is_empty()
    );
    empty!(
        seen,
        "PresenceService/Reserve",
        presence.reserve(pr::ReserveRequest {
            request_id: rid(),
            organization_id: org.clone(),
            reservation_id: format!("rsv_{}", uuid::Uuid::now_v7().simple()),
            strategy: pr::ReserveStrategy::NamedAgent as i32,
            agent_id: lucia.clone(),
            subject_id: "x".into(),
            ..Default::default()
        }),
        |r| r.reservation.is_none()
    );
    empty!(
        seen,
        "PresenceService/Release",
        presence.release(pr::ReleaseRequest {
            request_id: rid(),
            organization_id: org.clone(),
            reservation_id: format!("rsv_{}", uuid::Uuid::now_v7().simple())
        }),
        |r| !r.released
    );
    // The stream's initial snapshot names no agent of the other organization.
    {
        let mut stream = presence
            .watch_presence(pr::WatchPresenceRequest {
                organization_id: org.clone(),
                agent_ids: vec![lucia.clone()],
                send_initial_snapshot: true,
                ..Default::default()
            })
            .await?
            .into_inner();
        if let Ok(Ok(Some(item))) =
            tokio::time::timeout(std::time::Duration::from_millis(500), stream.message()).await
        {
            anyhow::ensure!(
                item.event
                    .as_ref()
                    .and_then(|e| e.presence.as_ref())
                    .is_none_or(|p| p.agent_id != lucia),
                "PresenceService/WatchPresence: another organization's agent in {item:?}"
            );
        }
        seen.insert("PresenceService/WatchPresence".to_string());
    }
    // Presence takes profiles and snapshots from routing, which names its own organization;
    // a profile under B never moves A's agent.
    empty!(
        seen,
        "PresenceService/SyncAgent",
        presence.sync_agent(pr::SyncAgentRequest {
            request_id: rid(),
            organization_id: org.clone(),
            profile: Some(pr::AgentProfile {
                agent_id: admin.clone(),
                capacity: 1,
                ..Default::default()
            })
        }),
        |r| r.presence.is_some_and(|p| p.agent_id == admin)
    );
    empty!(
        seen,
        "PresenceService/RemoveAgent",
        presence.remove_agent(pr::RemoveAgentRequest {
            request_id: rid(),
            organization_id: org.clone(),
            agent_id: lucia.clone()
        }),
        // Idempotent by design: answers without effect (the final snapshot checks it).
        |_r| true
    );
    empty!(
        seen,
        "PresenceService/RebuildLoads",
        presence.rebuild_loads(pr::RebuildLoadsRequest {
            request_id: rid(),
            organization_id: org.clone(),
            agents: vec![],
            snapshot_time: None
        }),
        |_r| true
    );

    // ---- ticketing ----
    empty!(
        seen,
        "TicketingService/CreateTicket",
        tickets.create_ticket(tk::CreateTicketRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: admin.clone(),
            ticket: Some(tk::NewTicket {
                subject: "Propio".into(),
                requester: Some(tk::Requester {
                    name: "Bea".into(),
                    ..Default::default()
                }),
                ..Default::default()
            }),
        }),
        |r| r
            .ticket
            .is_some_and(|t| t.organization_id == org && t.number == 1)
    );
    not_found!(
        seen,
        "TicketingService/GetTicket",
        tickets.get_ticket(tk::GetTicketRequest {
            organization_id: org.clone(),
            lookup: Some(tk::get_ticket_request::Lookup::TicketId(ta1.clone())),
        })
    );
    empty!(
        seen,
        "TicketingService/ListTickets",
        tickets.list_tickets(tk::ListTicketsRequest {
            organization_id: org.clone(),
            query: "pedido".into(),
            page: page(),
            ..Default::default()
        }),
        |r| r.tickets.is_empty()
    );
    not_found!(
        seen,
        "TicketingService/UpdateTicket",
        tickets.update_ticket(tk::UpdateTicketRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: admin.clone(),
            ticket: Some(tk::Ticket {
                id: ta1.clone(),
                subject: "robado".into(),
                ..Default::default()
            }),
            update_mask: mask("subject"),
            expected_update_time: None,
        })
    );
    not_found!(
        seen,
        "TicketingService/AddTicketComment",
        tickets.add_ticket_comment(tk::AddTicketCommentRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: admin.clone(),
            ticket_id: ta1.clone(),
            body: "hola".into(),
            internal: false,
        })
    );
    not_found!(
        seen,
        "TicketingService/ListTicketActions",
        tickets.list_ticket_actions(tk::ListTicketActionsRequest {
            organization_id: org.clone(),
            ticket_id: ta1.clone(),
            page: page(),
            ..Default::default()
        })
    );
    not_found!(
        seen,
        "TicketingService/LinkConversation",
        tickets.link_conversation(tk::LinkConversationRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: admin.clone(),
            conversation_id: conversation.clone(),
            contact_id: String::new(),
            ticket: Some(LinkTo::TicketId(ta2.clone())),
        })
    );
    not_found!(
        seen,
        "TicketingService/UnlinkConversation",
        tickets.unlink_conversation(tk::UnlinkConversationRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: admin.clone(),
            conversation_id: conversation.clone(),
            ticket_id: ta1.clone(),
        })
    );
    empty!(
        seen,
        "TicketingService/ListTicketLinks",
        tickets.list_ticket_links(tk::ListTicketLinksRequest {
            organization_id: org.clone(),
            ticket_id: ta1.clone(),
            conversation_ids: vec![conversation.clone()],
            page: page(),
        }),
        |r| r.links.is_empty()
    );
    empty!(
        seen,
        "TicketingService/GetClosePolicy",
        tickets.get_close_policy(tk::GetClosePolicyRequest {
            organization_id: org.clone(),
        }),
        |r| r.policy.is_some_and(|p| !p.require_ticket)
    );
    empty!(
        seen,
        "TicketingService/UpdateClosePolicy",
        tickets.update_close_policy(tk::UpdateClosePolicyRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: admin.clone(),
            policy: Some(tk::ClosePolicy {
                require_ticket: true,
                ..Default::default()
            }),
        }),
        |r| r.policy.is_some_and(|p| p.require_ticket)
    );
    empty!(
        seen,
        "TicketingService/CheckClosePolicy",
        tickets.check_close_policy(tk::CheckClosePolicyRequest {
            organization_id: org.clone(),
            conversation_id: conversation.clone(),
            channel_account_id: account.clone(),
            team_id: team.clone(),
        }),
        |r| r.link.is_none()
    );
    not_found!(
        seen,
        "TicketingService/AppendConversationHistory",
        tickets.append_conversation_history(tk::AppendConversationHistoryRequest {
            request_id: rid(),
            organization_id: org.clone(),
            conversation_id: conversation.clone(),
            ..Default::default()
        })
    );
    not_found!(
        seen,
        "TicketingService/ProposeTicketLink",
        tickets.propose_ticket_link(tk::ProposeTicketLinkRequest {
            request_id: rid(),
            organization_id: org.clone(),
            conversation_id: conversation.clone(),
            contact_id: contact.clone(),
            ticket_number: 1,
            proposer: "faq-bot".into(),
        })
    );
    not_found!(
        seen,
        "TicketingService/ConfirmTicketProposal",
        tickets.confirm_ticket_proposal(tk::ConfirmTicketProposalRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: admin.clone(),
            proposal_id: proposal.clone(),
        })
    );
    not_found!(
        seen,
        "TicketingService/RejectTicketProposal",
        tickets.reject_ticket_proposal(tk::RejectTicketProposalRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: admin.clone(),
            proposal_id: proposal.clone(),
        })
    );
    empty!(
        seen,
        "TicketingService/ListTicketProposals",
        tickets.list_ticket_proposals(tk::ListTicketProposalsRequest {
            organization_id: org.clone(),
            ticket_id: ta2.clone(),
            conversation_ids: vec![conversation.clone()],
            page: page(),
            ..Default::default()
        }),
        |r| r.proposals.is_empty()
    );

    // ---- integrations ----
    {
        let mut feed = hooks
            .stream_events(ig::StreamEventsRequest {
                organization_id: org.clone(),
                actor_agent_id: admin.clone(),
                from_oldest: true,
                ..Default::default()
            })
            .await?
            .into_inner();
        if let Ok(next) =
            tokio::time::timeout(std::time::Duration::from_millis(500), feed.message()).await
        {
            let next = next?;
            anyhow::ensure!(
                next.as_ref().is_none_or(|e| e.organization_id == org),
                "IntegrationsService/StreamEvents: another organization's event {next:?}"
            );
        }
        // A's cursor is no position of B's feed.
        let refused = hooks
            .stream_events(ig::StreamEventsRequest {
                organization_id: org.clone(),
                actor_agent_id: admin.clone(),
                cursor: cursor_a.clone(),
                ..Default::default()
            })
            .await
            .expect_err("A's cursor in B");
        anyhow::ensure!(
            refused.code() == tonic::Code::FailedPrecondition,
            "IntegrationsService/StreamEvents: {refused:?}"
        );
        seen.insert("IntegrationsService/StreamEvents".to_string());
    }
    empty!(
        seen,
        "IntegrationsService/CreateWebhookEndpoint",
        hooks.create_webhook_endpoint(ig::CreateWebhookEndpointRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: admin.clone(),
            endpoint: Some(ig::WebhookEndpoint {
                url: "https://hooks.other.test/in".into(),
                enabled: true,
                ..Default::default()
            }),
        }),
        |r| r.endpoint.is_some_and(|e| e.organization_id == org)
    );
    empty!(
        seen,
        "IntegrationsService/ListWebhookEndpoints",
        hooks.list_webhook_endpoints(ig::ListWebhookEndpointsRequest {
            organization_id: org.clone(),
            actor_agent_id: admin.clone(),
            page: page(),
        }),
        |r| r.endpoints.iter().all(|e| e.organization_id == org)
    );
    not_found!(
        seen,
        "IntegrationsService/GetWebhookEndpoint",
        hooks.get_webhook_endpoint(ig::GetWebhookEndpointRequest {
            organization_id: org.clone(),
            actor_agent_id: admin.clone(),
            endpoint_id: endpoint_a.id.clone(),
        })
    );
    not_found!(
        seen,
        "IntegrationsService/UpdateWebhookEndpoint",
        hooks.update_webhook_endpoint(ig::UpdateWebhookEndpointRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: admin.clone(),
            endpoint: Some(ig::WebhookEndpoint {
                id: endpoint_a.id.clone(),
                enabled: false,
                ..Default::default()
            }),
            update_mask: mask("enabled"),
        })
    );
    not_found!(
        seen,
        "IntegrationsService/RotateWebhookEndpointSecret",
        hooks.rotate_webhook_endpoint_secret(ig::RotateWebhookEndpointSecretRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: admin.clone(),
            endpoint_id: endpoint_a.id.clone(),
        })
    );
    empty!(
        seen,
        "IntegrationsService/ListWebhookDeliveries",
        hooks.list_webhook_deliveries(ig::ListWebhookDeliveriesRequest {
            organization_id: org.clone(),
            actor_agent_id: admin.clone(),
            endpoint_id: endpoint_a.id.clone(),
            ..Default::default()
        }),
        |r| r.deliveries.is_empty()
    );
    not_found!(
        seen,
        "IntegrationsService/ReplayWebhookDelivery",
        hooks.replay_webhook_delivery(ig::ReplayWebhookDeliveryRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: admin.clone(),
            delivery_id: delivery_a.clone(),
        })
    );
    not_found!(
        seen,
        "IntegrationsService/DeleteWebhookEndpoint",
        hooks.delete_webhook_endpoint(ig::DeleteWebhookEndpointRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: admin.clone(),
            endpoint_id: endpoint_a.id.clone(),
        })
    );
    // A's endpoint and delivery are as they were, and nothing was POSTed again.
    let still = hooks
        .get_webhook_endpoint(ig::GetWebhookEndpointRequest {
            organization_id: a.world.org.clone(),
            actor_agent_id: a.world.admin.clone(),
            endpoint_id: endpoint_a.id.clone(),
        })
        .await?
        .into_inner()
        .endpoint
        .expect("endpoint");
    anyhow::ensure!(still == endpoint_a, "A's endpoint changed: {still:?}");
    anyhow::ensure!(
        deliveries_of_a().await? == delivered,
        "A's deliveries changed"
    );
    anyhow::ensure!(
        receiver.requests().len() == 1,
        "A's endpoint got another POST"
    );

    // ---- reporting: A's team and number named in B's figures and reports show nothing of A ----
    let mut reports = ReportingServiceClient::new(a.world.suite.channel(Service::Reporting).await?);
    let figures_filter = || {
        Some(rp::LiveFiguresFilter {
            team_ids: vec![team.clone()],
            channel_account_ids: vec![account.clone()],
        })
    };
    empty!(
        seen,
        "ReportingService/GetLiveFigures",
        reports.get_live_figures(rp::GetLiveFiguresRequest {
            organization_id: org.clone(),
            actor_agent_id: admin.clone(),
            filter: figures_filter(),
        }),
        |r| r.teams.is_empty() && r.channel_accounts.is_empty()
    );
    {
        let mut watch = reports
            .watch_live_figures(rp::WatchLiveFiguresRequest {
                organization_id: org.clone(),
                actor_agent_id: admin.clone(),
                filter: figures_filter(),
                min_interval: None,
            })
            .await?
            .into_inner();
        let first = watch.message().await?.expect("the figures at once");
        anyhow::ensure!(
            first.teams.is_empty() && first.channel_accounts.is_empty(),
            "ReportingService/WatchLiveFigures: another organization's figures {first:?}"
        );
        seen.insert("ReportingService/WatchLiveFigures".to_string());
    }
    let now = chrono::Utc::now();
    let report = || rp::GetReportRequest {
        organization_id: org.clone(),
        actor_agent_id: admin.clone(),
        time_range: Some(switchboard_proto::common::v1::TimeRange {
            start_time: Some(switchboard_proto::prost_types::Timestamp {
                seconds: (now - chrono::Duration::days(1)).timestamp(),
                nanos: 0,
            }),
            end_time: Some(switchboard_proto::prost_types::Timestamp {
                seconds: (now + chrono::Duration::days(1)).timestamp(),
                nanos: 0,
            }),
        }),
        granularity: rp::Granularity::Day as i32,
        filter: Some(rp::ReportFilter {
            team_ids: vec![team.clone()],
            channel_account_ids: vec![account.clone()],
            ..Default::default()
        }),
        ..Default::default()
    };
    let nothing = |f: &Option<rp::ReportFigures>| {
        f.as_ref().is_none_or(|f| {
            f.conversations_started == 0
                && f.conversations_assigned == 0
                && f.conversations_closed == 0
                && f.first_response_time
                    .as_ref()
                    .and_then(|d| d.all_hours)
                    .is_none_or(|s| s.count == 0)
        })
    };
    empty!(
        seen,
        "ReportingService/GetReport",
        reports.get_report(report()),
        |r| r
            .rows
            .iter()
            .chain(&r.totals)
            .all(|row| nothing(&row.figures))
    );
    let leaderboard = || rp::GetLeaderboardRequest {
        organization_id: org.clone(),
        actor_agent_id: admin.clone(),
        time_range: report().time_range,
        filter: report().filter,
    };
    empty!(
        seen,
        "ReportingService/GetLeaderboard",
        reports.get_leaderboard(leaderboard()),
        |r| r.rows.is_empty()
    );
    empty!(
        seen,
        "ReportingService/ExportReport",
        reports.export_report(rp::ExportReportRequest {
            report: Some(rp::export_report_request::Report::LeaderboardRequest(
                leaderboard()
            )),
        }),
        |r| String::from_utf8_lossy(&r.content)
            .lines()
            .filter(|l| !l.trim().is_empty())
            .count()
            <= 1
    );

    let after = settled(&a, &owners).await?;
    anyhow::ensure!(
        after == before,
        "the other organization's calls changed organization A:\n{}",
        diff(&before, &after)
    );
    let expected = tenant_rpcs();
    let missing: Vec<_> = expected.difference(&seen).collect();
    let unknown: Vec<_> = seen.difference(&expected).collect();
    anyhow::ensure!(
        missing.is_empty() && unknown.is_empty(),
        "the table must name every RPC: missing {missing:?}, not in the protos {unknown:?}"
    );
    a.stop().await
}
on_both_backends!(another_organizations_ids_are_not_found);
