//! Cursor pagination over real gRPC (issue 12): a list paged while items arrive and leave never
//! skips or repeats an item that stayed in it, and a page token only continues the list and
//! filters it was issued for (anything else is INVALID_ARGUMENT naming `page.page_token`).

use std::collections::BTreeSet;

use switchboard_proto::{
    channel::v1 as ch,
    common::v1::PageRequest,
    routing::v1::{self as pb, ConversationState as S, TeamStrategy},
};
use switchboard_testkit::Backend;
use tonic_types::StatusExt;

use crate::{
    channel_support::ChannelWorld,
    on_both_backends,
    routing_support::{World, rid, state, team_target},
};

const PAGE: i32 = 7;

fn page(token: &str) -> Option<PageRequest> {
    Some(PageRequest {
        page_size: PAGE,
        page_token: token.into(),
    })
}

/// Asserts `status` is INVALID_ARGUMENT naming `page.page_token`.
fn assert_bad_token(status: &tonic::Status, what: &str) {
    assert_eq!(
        status.code(),
        tonic::Code::InvalidArgument,
        "{what}: {status:?}"
    );
    let fields: Vec<String> = status
        .get_details_bad_request()
        .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default();
    assert_eq!(fields, ["page.page_token"], "{what}: {status:?}");
}

/// Counts how often each id was served.
fn count(seen: &[String], id: &str) -> usize {
    seen.iter().filter(|s| s.as_str() == id).count()
}

/// A manual team (its agent picks) linked to the number: new conversations wait in its queue.
async fn waiting_world(backend: Backend) -> anyhow::Result<(World, String)> {
    let mut w = World::new(backend).await?;
    let picker = w.agent("Pia", 20).await?;
    let team = w
        .team("Mesa", TeamStrategy::Manual, &[&picker], |_| {})
        .await?;
    w.link(&[&team], &[], Some(team_target(&team))).await?;
    Ok((w, picker))
}

impl World {
    async fn waiting_page(
        &mut self,
        token: &str,
    ) -> Result<pb::ListWaitingConversationsResponse, tonic::Status> {
        Ok(self
            .routing
            .list_waiting_conversations(pb::ListWaitingConversationsRequest {
                organization_id: self.org.clone(),
                page: page(token),
                actor_agent_id: self.admin.clone(),
                ..Default::default()
            })
            .await?
            .into_inner())
    }

    async fn queued_page(
        &mut self,
        token: &str,
    ) -> Result<pb::ListConversationsResponse, tonic::Status> {
        Ok(self
            .routing
            .list_conversations(pb::ListConversationsRequest {
                organization_id: self.org.clone(),
                page: page(token),
                actor_agent_id: self.admin.clone(),
                states: vec![S::Queued as i32],
                ..Default::default()
            })
            .await?
            .into_inner())
    }

    async fn pick(&mut self, agent: &str, id: &str) -> Result<(), tonic::Status> {
        self.routing
            .pick_conversation(pb::PickConversationRequest {
                request_id: rid(),
                organization_id: self.org.clone(),
                actor_agent_id: agent.into(),
                conversation_id: id.into(),
            })
            .await?;
        Ok(())
    }
}

/// The user's report: 30 waiting conversations paged 7 at a time while 10 arrive and 5 are
/// picked. The waiting list (priority then age: picks leave from its head) and
/// ListConversations (newest first: arrivals land on its head) each serve every conversation
/// that stayed waiting the whole time exactly once.
async fn lists_paged_while_conversations_arrive_and_are_picked_serve_every_stayer_once(
    backend: Backend,
) -> anyhow::Result<()> {
    let (mut w, picker) = waiting_world(backend).await?;
    let mut initial = Vec::new();
    for _ in 0..30 {
        let c = w.start().await?;
        assert_eq!(state(&c), S::Queued, "a manual team's conversations wait");
        initial.push(c.id);
    }

    let (mut waiting_seen, mut listed_seen) = (Vec::<String>::new(), Vec::<String>::new());
    let (mut waiting_token, mut listed_token) = (Some(String::new()), Some(String::new()));
    let mut picked = Vec::new();
    let mut arrived = 0;
    let mut round = 0;
    while waiting_token.is_some() || listed_token.is_some() {
        if let Some(token) = waiting_token.take() {
            let p = w.waiting_page(&token).await?;
            let meta = p.page.expect("page metadata");
            assert!(meta.total_size.is_some(), "the waiting list is counted");
            assert!(p.conversations.len() <= PAGE as usize);
            waiting_seen.extend(p.conversations.into_iter().map(|c| c.id));
            waiting_token = (!meta.next_page_token.is_empty()).then_some(meta.next_page_token);
        }
        if let Some(token) = listed_token.take() {
            let p = w.queued_page(&token).await?;
            let meta = p.page.expect("page metadata");
            assert!(meta.total_size.is_some(), "ListConversations is counted");
            assert!(p.conversations.len() <= PAGE as usize);
            listed_seen.extend(p.conversations.into_iter().map(|c| c.id));
            listed_token = (!meta.next_page_token.is_empty()).then_some(meta.next_page_token);
        }
        if round < 5 {
            // Between pages: two customers write in, the agent picks the oldest waiting one
            // (already served by the waiting list, so an offset would skip one unseen).
            for _ in 0..2 {
                w.start().await?;
                arrived += 1;
            }
            let head = waiting_seen
                .iter()
                .find(|id| initial.contains(id) && !picked.contains(*id))
                .expect("a waiting conversation was served")
                .clone();
            w.pick(&picker, &head).await?;
            picked.push(head);
        }
        round += 1;
        assert!(round < 50, "paging ends");
    }
    assert_eq!((arrived, picked.len()), (10, 5));

    let mut stayers = Vec::new();
    for id in &initial {
        if !picked.contains(id) && state(&w.get(id).await?) == S::Queued {
            stayers.push(id.clone());
        }
    }
    assert_eq!(stayers.len(), 25, "only the picked conversations left");
    for id in &stayers {
        assert_eq!(count(&waiting_seen, id), 1, "waiting list served {id}");
        assert_eq!(count(&listed_seen, id), 1, "ListConversations served {id}");
    }
    for (name, seen) in [("waiting", &waiting_seen), ("listed", &listed_seen)] {
        let unique: BTreeSet<&String> = seen.iter().collect();
        assert_eq!(unique.len(), seen.len(), "{name}: nothing served twice");
    }
    Ok(())
}
on_both_backends!(lists_paged_while_conversations_arrive_and_are_picked_serve_every_stayer_once);

/// A token only continues its own list with the same filters: reused with another filter, on
/// another list, or garbled, it is INVALID_ARGUMENT naming `page.page_token`; with the same
/// filters (and another page size) it continues.
async fn a_page_token_reused_with_other_filters_is_invalid_argument(
    backend: Backend,
) -> anyhow::Result<()> {
    let (mut w, _) = waiting_world(backend).await?;
    for _ in 0..(PAGE + 2) {
        w.start().await?;
    }
    let waiting = w.waiting_page("").await?;
    let waiting_token = waiting.page.expect("page").next_page_token;
    assert!(!waiting_token.is_empty(), "a second page exists");
    let listed = w.queued_page("").await?;
    let listed_token = listed.page.expect("page").next_page_token;
    assert!(!listed_token.is_empty(), "a second page exists");

    let err = w
        .routing
        .list_waiting_conversations(pb::ListWaitingConversationsRequest {
            organization_id: w.org.clone(),
            page: page(&waiting_token),
            actor_agent_id: w.admin.clone(),
            channel_account_id: w.account.clone(),
            ..Default::default()
        })
        .await
        .expect_err("another channel account filter");
    assert_bad_token(&err, "waiting list with another filter");

    let err = w
        .routing
        .list_conversations(pb::ListConversationsRequest {
            organization_id: w.org.clone(),
            page: page(&listed_token),
            actor_agent_id: w.admin.clone(),
            states: vec![S::Open as i32],
            ..Default::default()
        })
        .await
        .expect_err("other states");
    assert_bad_token(&err, "ListConversations with other states");

    let err = w
        .queued_page(&waiting_token)
        .await
        .expect_err("a waiting-list token on ListConversations");
    assert_bad_token(&err, "token of another list");
    let err = w.waiting_page("o7").await.expect_err("an offset token");
    assert_bad_token(&err, "old offset token");
    let mut garbled = waiting_token.clone();
    garbled.insert(garbled.len() / 2, '!');
    let err = w.waiting_page(&garbled).await.expect_err("garbled");
    assert_bad_token(&err, "garbled token");

    // The same filters continue, whatever the page size.
    let second = w.waiting_page(&waiting_token).await?;
    assert_eq!(second.conversations.len(), 2);
    let bigger = w
        .routing
        .list_conversations(pb::ListConversationsRequest {
            organization_id: w.org.clone(),
            page: Some(PageRequest {
                page_size: 50,
                page_token: listed_token,
            }),
            actor_agent_id: w.admin.clone(),
            states: vec![S::Queued as i32],
            ..Default::default()
        })
        .await?
        .into_inner();
    assert_eq!(bigger.conversations.len(), 2);
    assert_eq!(bigger.page.expect("page").next_page_token, "", "last page");
    Ok(())
}
on_both_backends!(a_page_token_reused_with_other_filters_is_invalid_argument);

/// ListContacts (most recently active first; contacts that never wrote, newest first) paged
/// while contacts are added serves every earlier contact exactly once, though each addition
/// lands on the head of the never-wrote group.
async fn contacts_paged_while_contacts_are_added_serve_every_earlier_contact_once(
    backend: Backend,
) -> anyhow::Result<()> {
    let w = ChannelWorld::new(backend).await?;
    let mut c = w.channel.clone();
    let org = w.world.org.clone();
    let me = w.agent.clone();
    let create = |n: u32| ch::CreateContactRequest {
        request_id: rid(),
        organization_id: org.clone(),
        actor_agent_id: me.clone(),
        phone_number: format!("+54911555{n:05}"),
        ..Default::default()
    };
    let mut initial = Vec::new();
    for n in 0..20 {
        let contact = c
            .create_contact(create(n))
            .await?
            .into_inner()
            .contact
            .expect("contact");
        initial.push(contact.id);
    }
    let list = |token: String| ch::ListContactsRequest {
        organization_id: org.clone(),
        page: page(&token),
        ..Default::default()
    };
    let mut seen = Vec::new();
    let mut token = String::new();
    let mut added = 100;
    for round in 0.. {
        assert!(round < 20, "paging ends");
        let p = c.list_contacts(list(token)).await?.into_inner();
        seen.extend(p.contacts.into_iter().map(|c| c.id));
        token = p.page.expect("page").next_page_token;
        if token.is_empty() {
            break;
        }
        for _ in 0..3 {
            c.create_contact(create(added)).await?;
            added += 1;
        }
    }
    for id in &initial {
        assert_eq!(count(&seen, id), 1, "ListContacts served {id}");
    }
    let unique: BTreeSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "nothing served twice");

    // The token is bound to the query.
    let first = c.list_contacts(list(String::new())).await?.into_inner();
    let token = first.page.expect("page").next_page_token;
    let err = c
        .list_contacts(ch::ListContactsRequest {
            organization_id: org.clone(),
            page: page(&token),
            query: "555".into(),
            ..Default::default()
        })
        .await
        .expect_err("another query");
    assert_bad_token(&err, "ListContacts with another query");
    w.stop().await?;
    Ok(())
}
on_both_backends!(contacts_paged_while_contacts_are_added_serve_every_earlier_contact_once);
