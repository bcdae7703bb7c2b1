//! Business hours and automatic messages through the gateway: operators and admins read them,
//! admins change them, agents neither; bad input names its fields and changes nothing; another
//! organization's number is NOT_FOUND; a retried update answers the same. (A submodule of
//! `automatic_messages`, named `gateway_*` for the coverage check.)

use switchboard_proto::{
    common::v1::Role,
    gateway::v1 as pb,
    routing::v1::{self as rpb, BusinessHoursSource},
};
use switchboard_testkit::Backend;
use tonic::Code;
use tonic_types::StatusExt;

use super::{WEEK, every_day};
use crate::{
    gateway_support::GatewayWorld,
    on_both_backends,
    routing_support::{channel_account, rid},
};

fn fields(status: &tonic::Status) -> Vec<String> {
    status
        .get_details_bad_request()
        .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default()
}

#[track_caller]
fn refused<T: std::fmt::Debug>(what: &str, result: Result<T, tonic::Status>, code: Code) {
    match result {
        Ok(answer) => panic!("{what}: expected {code:?}, got {answer:?}"),
        Err(status) => assert_eq!(status.code(), code, "{what}: {status:?}"),
    }
}

fn interval(start: i32, end: i32) -> rpb::TimeInterval {
    rpb::TimeInterval {
        start_minute: start,
        end_minute: end,
    }
}

/// Madrid, weekdays 09:00–13:00 and 15:00–18:00, Friday night 22:00–06:00, Christmas closed.
fn madrid() -> rpb::BusinessHours {
    rpb::BusinessHours {
        time_zone: "Europe/Madrid".into(),
        days: WEEK[..5]
            .iter()
            .map(|d| rpb::DayHours {
                weekday: *d as i32,
                intervals: if *d == rpb::Weekday::Friday {
                    vec![interval(540, 780), interval(900, 1080), interval(1320, 360)]
                } else {
                    vec![interval(540, 780), interval(900, 1080)]
                },
            })
            .collect(),
        holidays: vec!["2026-12-25".into()],
        update_time: None,
    }
}

fn messages(account: &str) -> rpb::AutomaticMessages {
    rpb::AutomaticMessages {
        channel_account_id: account.into(),
        out_of_hours: Some(rpb::OutOfHoursMessage {
            enabled: true,
            text: "Hola {{contact_name}}, abrimos a las 9.".into(),
            frequency: rpb::OutOfHoursFrequency::OncePerDayPerContact as i32,
        }),
        no_agent_available: Some(rpb::AutomaticMessage {
            enabled: true,
            text: "Sos el número {{queue_position}} ({{estimated_wait}}).".into(),
        }),
        all_at_capacity: Some(rpb::AutomaticMessage {
            enabled: false,
            text: String::new(),
        }),
        assigned: Some(rpb::AutomaticMessage {
            enabled: true,
            text: "{{agent_name}} te atenderá.".into(),
        }),
        skip_campaign_replies: true,
        update_time: None,
    }
}

async fn business_hours_and_automatic_messages_through_the_gateway(
    backend: Backend,
) -> anyhow::Result<()> {
    let mut g = GatewayWorld::new(backend).await?;
    let account = g.world.account.clone();
    let mut admin = g.admin.gateway.clone();
    let mut operator = g.member("Olga", Role::Operator, 3).await?.gateway;
    let mut agent = g.member("Abel", Role::Agent, 3).await?.gateway;
    let get_hours = |id: &str| pb::GetBusinessHoursRequest {
        channel_account_id: id.into(),
    };
    let set_hours = |id: &str, hours: Option<rpb::BusinessHours>| pb::UpdateBusinessHoursRequest {
        request_id: rid(),
        channel_account_id: id.into(),
        business_hours: hours,
    };

    // Nothing configured: always open.
    let none = admin
        .get_business_hours(get_hours(&account))
        .await?
        .into_inner();
    assert_eq!((none.business_hours, none.effective), (None, None));
    assert_eq!(none.source, BusinessHoursSource::None as i32);

    // The organization's schedule; the number follows it.
    let saved = admin
        .update_business_hours(set_hours("", Some(madrid())))
        .await?
        .into_inner()
        .business_hours
        .expect("saved");
    assert_eq!(
        (saved.time_zone.as_str(), &saved.days, &saved.holidays),
        ("Europe/Madrid", &madrid().days, &madrid().holidays)
    );
    assert!(saved.update_time.is_some());
    let followed = operator
        .get_business_hours(get_hours(&account))
        .await?
        .into_inner();
    assert_eq!(followed.business_hours, None);
    assert_eq!(followed.effective.as_ref(), Some(&saved));
    assert_eq!(followed.source, BusinessHoursSource::Organization as i32);

    // The number's own schedule wins; removing it falls back to the organization's.
    let santiago = every_day("America/Santiago", 480, 1200);
    admin
        .update_business_hours(set_hours(&account, Some(santiago.clone())))
        .await?;
    let own = admin
        .get_business_hours(get_hours(&account))
        .await?
        .into_inner();
    assert_eq!(own.source, BusinessHoursSource::ChannelAccount as i32);
    assert_eq!(
        own.effective.map(|h| h.time_zone),
        Some("America/Santiago".to_string())
    );
    admin
        .update_business_hours(set_hours(&account, None))
        .await?;
    let back = admin
        .get_business_hours(get_hours(&account))
        .await?
        .into_inner();
    assert_eq!(back.source, BusinessHoursSource::Organization as i32);

    // Bad input: every field named, nothing changed.
    let malformed = rpb::BusinessHours {
        time_zone: "Europe/Madrid".into(),
        days: vec![rpb::DayHours {
            weekday: rpb::Weekday::Monday as i32,
            intervals: vec![interval(-5, 600)],
        }],
        holidays: vec!["2026-13-01".into()],
        update_time: None,
    };
    let err = admin
        .update_business_hours(set_hours("", Some(malformed)))
        .await
        .expect_err("malformed");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(
        fields(&err),
        [
            "business_hours.days[0].intervals[0].start_minute",
            "business_hours.holidays[0]"
        ]
    );
    let invalid = rpb::BusinessHours {
        time_zone: "Mars/Olympus".into(),
        days: vec![
            rpb::DayHours {
                weekday: rpb::Weekday::Monday as i32,
                intervals: vec![interval(600, 600), interval(700, 1500)],
            },
            rpb::DayHours {
                weekday: rpb::Weekday::Unspecified as i32,
                intervals: vec![],
            },
        ],
        holidays: vec![],
        update_time: None,
    };
    let err = admin
        .update_business_hours(set_hours("", Some(invalid.clone())))
        .await
        .expect_err("invalid");
    assert_eq!(fields(&err), ["business_hours.days[1].weekday"]);
    let mut invalid = invalid;
    invalid.days.pop();
    let err = admin
        .update_business_hours(set_hours("", Some(invalid)))
        .await
        .expect_err("invalid");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(
        fields(&err),
        [
            "business_hours.time_zone",
            "business_hours.days[0].intervals[0].end_minute",
            "business_hours.days[0].intervals[1].end_minute",
        ]
    );
    let unchanged = admin.get_business_hours(get_hours("")).await?.into_inner();
    assert_eq!(unchanged.business_hours, Some(saved.clone()));

    // Automatic messages: all off until configured.
    let get_messages = |id: &str| pb::GetAutomaticMessagesRequest {
        channel_account_id: id.into(),
    };
    let off = operator
        .get_automatic_messages(get_messages(&account))
        .await?
        .into_inner()
        .automatic_messages
        .expect("messages");
    assert!(!off.out_of_hours.expect("out of hours").enabled);
    assert!(!off.assigned.expect("assigned").enabled);
    assert!(off.update_time.is_none());
    let request = pb::UpdateAutomaticMessagesRequest {
        request_id: rid(),
        automatic_messages: Some(messages(&account)),
    };
    let configured = admin
        .update_automatic_messages(request.clone())
        .await?
        .into_inner()
        .automatic_messages
        .expect("messages");
    let mut expected = messages(&account);
    expected.update_time = configured.update_time;
    assert_eq!(configured, expected);
    // A retry answers the same; the same key with another body is refused.
    let again = admin
        .update_automatic_messages(request.clone())
        .await?
        .into_inner()
        .automatic_messages;
    assert_eq!(again.as_ref(), Some(&configured));
    let mut other = request.clone();
    other
        .automatic_messages
        .as_mut()
        .expect("messages")
        .skip_campaign_replies = false;
    refused(
        "same key, other body",
        admin.update_automatic_messages(other).await,
        Code::InvalidArgument,
    );
    let read = operator
        .get_automatic_messages(get_messages(&account))
        .await?
        .into_inner()
        .automatic_messages;
    assert_eq!(read.as_ref(), Some(&configured));

    // Unknown variables, a variable the message does not have, an enabled message without
    // text: each named, nothing changed.
    let mut bad = messages(&account);
    bad.out_of_hours.as_mut().expect("set").text = "Hola {{nombre}}".into();
    bad.no_agent_available.as_mut().expect("set").text = "{{agent_name}} está ocupado".into();
    bad.assigned.as_mut().expect("set").text = " ".into();
    let err = admin
        .update_automatic_messages(pb::UpdateAutomaticMessagesRequest {
            request_id: rid(),
            automatic_messages: Some(bad),
        })
        .await
        .expect_err("bad texts");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(
        fields(&err),
        [
            "automatic_messages.out_of_hours.text",
            "automatic_messages.no_agent_available.text",
            "automatic_messages.assigned.text",
        ]
    );
    let read = admin
        .get_automatic_messages(get_messages(&account))
        .await?
        .into_inner()
        .automatic_messages;
    assert_eq!(read.as_ref(), Some(&configured), "nothing changed");

    // Roles: operators read, only admins write; agents neither.
    refused(
        "operator updates hours",
        operator
            .update_business_hours(set_hours("", Some(madrid())))
            .await,
        Code::PermissionDenied,
    );
    refused(
        "operator updates messages",
        operator
            .update_automatic_messages(pb::UpdateAutomaticMessagesRequest {
                request_id: rid(),
                automatic_messages: Some(messages(&account)),
            })
            .await,
        Code::PermissionDenied,
    );
    refused(
        "agent reads hours",
        agent.get_business_hours(get_hours("")).await,
        Code::PermissionDenied,
    );
    refused(
        "agent reads messages",
        agent.get_automatic_messages(get_messages(&account)).await,
        Code::PermissionDenied,
    );
    refused(
        "agent updates hours",
        agent
            .update_business_hours(set_hours("", Some(madrid())))
            .await,
        Code::PermissionDenied,
    );
    refused(
        "agent updates messages",
        agent
            .update_automatic_messages(pb::UpdateAutomaticMessagesRequest {
                request_id: rid(),
                automatic_messages: Some(messages(&account)),
            })
            .await,
        Code::PermissionDenied,
    );

    // Another organization's number: NOT_FOUND, and nothing is written for it.
    let mut routing = g.world.routing.clone();
    let other_org = routing
        .create_organization(rpb::CreateOrganizationRequest {
            request_id: rid(),
            name: "Otra".into(),
            default_agent_capacity: 3,
            ..Default::default()
        })
        .await?
        .into_inner()
        .organization
        .expect("organization")
        .id;
    let other_admin = routing
        .create_agent(rpb::CreateAgentRequest {
            request_id: rid(),
            organization_id: other_org.clone(),
            agent: Some(rpb::Agent {
                display_name: "Otro".into(),
                email: format!("otro-{}@otra.test", rid()),
                role: Role::Admin as i32,
                capacity: 3,
                ..Default::default()
            }),
            ..Default::default()
        })
        .await?
        .into_inner()
        .agent
        .expect("agent")
        .id;
    let foreign = channel_account(&g.world.suite, &other_org, &other_admin).await?;
    refused(
        "another organization's number: read hours",
        admin.get_business_hours(get_hours(&foreign)).await,
        Code::NotFound,
    );
    refused(
        "another organization's number: write hours",
        admin
            .update_business_hours(set_hours(&foreign, Some(madrid())))
            .await,
        Code::NotFound,
    );
    refused(
        "another organization's number: read messages",
        admin.get_automatic_messages(get_messages(&foreign)).await,
        Code::NotFound,
    );
    refused(
        "another organization's number: write messages",
        admin
            .update_automatic_messages(pb::UpdateAutomaticMessagesRequest {
                request_id: rid(),
                automatic_messages: Some(messages(&foreign)),
            })
            .await,
        Code::NotFound,
    );
    // Its own admin still sees nothing configured there.
    let theirs = routing
        .get_automatic_messages(rpb::GetAutomaticMessagesRequest {
            organization_id: other_org.clone(),
            actor_agent_id: other_admin.clone(),
            channel_account_id: foreign.clone(),
        })
        .await?
        .into_inner()
        .automatic_messages
        .expect("messages");
    assert!(theirs.update_time.is_none());
    let theirs = routing
        .get_business_hours(rpb::GetBusinessHoursRequest {
            organization_id: other_org,
            actor_agent_id: other_admin,
            channel_account_id: foreign,
        })
        .await?
        .into_inner();
    assert_eq!(theirs.source, BusinessHoursSource::None as i32);
    g.world.suite.stop().await
}
on_both_backends!(business_hours_and_automatic_messages_through_the_gateway);
