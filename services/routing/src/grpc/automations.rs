//! Business hours and automatic messages RPCs: get and replace the organization's or a
//! number's business hours, and a number's automatic messages.

use switchboard_hours::{DayHours, Interval, ScheduleSpec, Weekday};
use switchboard_proto::routing::v1 as pb;
use switchboard_runtime::ids::ChannelAccountId;

use super::convert::{Check, timestamp_ms};
use crate::{
    app::{
        Routing,
        automations::{HoursSource, HoursView},
    },
    domain::automations::{AutomaticMessages, Frequency, Message},
    error::RoutingError,
    store::automations::StoredHours,
};

fn weekday_from_pb(w: i32) -> Option<Weekday> {
    Some(match pb::Weekday::try_from(w).ok()? {
        pb::Weekday::Monday => Weekday::Mon,
        pb::Weekday::Tuesday => Weekday::Tue,
        pb::Weekday::Wednesday => Weekday::Wed,
        pb::Weekday::Thursday => Weekday::Thu,
        pb::Weekday::Friday => Weekday::Fri,
        pb::Weekday::Saturday => Weekday::Sat,
        pb::Weekday::Sunday => Weekday::Sun,
        pb::Weekday::Unspecified => return None,
    })
}

fn weekday_to_pb(w: Weekday) -> pb::Weekday {
    match w {
        Weekday::Mon => pb::Weekday::Monday,
        Weekday::Tue => pb::Weekday::Tuesday,
        Weekday::Wed => pb::Weekday::Wednesday,
        Weekday::Thu => pb::Weekday::Thursday,
        Weekday::Fri => pb::Weekday::Friday,
        Weekday::Sat => pb::Weekday::Saturday,
        Weekday::Sun => pb::Weekday::Sunday,
    }
}

/// A schedule from the API: the fields that are not even of the right shape (no weekday,
/// negative minutes, a malformed date) are reported here; the schedule's own rules (zone,
/// ranges, overlaps) by `switchboard_hours` in the app.
fn spec_from_pb(check: &mut Check, hours: &pb::BusinessHours) -> ScheduleSpec {
    let minute = |check: &mut Check, field: String, value: i32| -> u32 {
        u32::try_from(value).unwrap_or_else(|_| {
            check.bad(&field, "must not be negative");
            0
        })
    };
    let days = hours
        .days
        .iter()
        .enumerate()
        .filter_map(|(i, d)| {
            let weekday = weekday_from_pb(d.weekday);
            if weekday.is_none() {
                check.bad(
                    &format!("business_hours.days[{i}].weekday"),
                    "must name a day of the week",
                );
            }
            let intervals = d
                .intervals
                .iter()
                .enumerate()
                .map(|(j, iv)| Interval {
                    start_minute: minute(
                        check,
                        format!("business_hours.days[{i}].intervals[{j}].start_minute"),
                        iv.start_minute,
                    ),
                    end_minute: minute(
                        check,
                        format!("business_hours.days[{i}].intervals[{j}].end_minute"),
                        iv.end_minute,
                    ),
                })
                .collect();
            Some(DayHours {
                weekday: weekday?,
                intervals,
            })
        })
        .collect();
    let holidays = hours
        .holidays
        .iter()
        .enumerate()
        .filter_map(|(i, h)| {
            chrono::NaiveDate::parse_from_str(h.trim(), "%Y-%m-%d")
                .inspect_err(|_| {
                    check.bad(
                        &format!("business_hours.holidays[{i}]"),
                        "must be a date written YYYY-MM-DD",
                    )
                })
                .ok()
        })
        .collect();
    check.at_most("business_hours.time_zone", &hours.time_zone, 64);
    ScheduleSpec {
        time_zone: hours.time_zone.clone(),
        days,
        holidays,
    }
}

fn hours_to_pb(stored: &StoredHours) -> pb::BusinessHours {
    pb::BusinessHours {
        time_zone: stored.spec.time_zone.clone(),
        days: stored
            .spec
            .days
            .iter()
            .map(|d| pb::DayHours {
                weekday: weekday_to_pb(d.weekday) as i32,
                intervals: d
                    .intervals
                    .iter()
                    .map(|iv| pb::TimeInterval {
                        start_minute: iv.start_minute as i32,
                        end_minute: iv.end_minute as i32,
                    })
                    .collect(),
            })
            .collect(),
        holidays: stored
            .spec
            .holidays
            .iter()
            .map(ToString::to_string)
            .collect(),
        update_time: Some(timestamp_ms(stored.updated_ms)),
    }
}

fn view_to_pb(view: HoursView) -> pb::GetBusinessHoursResponse {
    pb::GetBusinessHoursResponse {
        business_hours: view.configured.as_ref().map(hours_to_pb),
        effective: view.effective.as_ref().map(hours_to_pb),
        source: match view.source {
            HoursSource::None => pb::BusinessHoursSource::None,
            HoursSource::Organization => pb::BusinessHoursSource::Organization,
            HoursSource::ChannelAccount => pb::BusinessHoursSource::ChannelAccount,
        } as i32,
    }
}

pub async fn get_business_hours(
    app: &Routing,
    req: pb::GetBusinessHoursRequest,
) -> Result<pb::GetBusinessHoursResponse, RoutingError> {
    let mut check = Check::default();
    let org = check.org(&req.organization_id);
    let actor = check.actor(&req.actor_agent_id);
    let account: Option<ChannelAccountId> =
        check.opt_id("channel_account_id", &req.channel_account_id);
    check.done()?;
    let view = app
        .get_business_hours(&org.expect("validated"), actor.as_ref(), account.as_ref())
        .await?;
    Ok(view_to_pb(view))
}

pub async fn update_business_hours(
    app: &Routing,
    req: pb::UpdateBusinessHoursRequest,
) -> Result<pb::UpdateBusinessHoursResponse, RoutingError> {
    let mut check = Check::default();
    let org = check.org(&req.organization_id);
    let actor = check.actor(&req.actor_agent_id);
    let account: Option<ChannelAccountId> =
        check.opt_id("channel_account_id", &req.channel_account_id);
    let spec = req
        .business_hours
        .as_ref()
        .map(|h| spec_from_pb(&mut check, h));
    check.done()?;
    let saved = app
        .update_business_hours(
            &org.expect("validated"),
            actor.as_ref(),
            account.as_ref(),
            spec,
        )
        .await?;
    Ok(pb::UpdateBusinessHoursResponse {
        business_hours: saved.as_ref().map(hours_to_pb),
    })
}

fn message_to_pb(m: &Message) -> pb::AutomaticMessage {
    pb::AutomaticMessage {
        enabled: m.enabled,
        text: m.text.clone(),
    }
}

fn messages_to_pb(account: &ChannelAccountId, m: &AutomaticMessages) -> pb::AutomaticMessages {
    pb::AutomaticMessages {
        channel_account_id: account.to_string(),
        out_of_hours: Some(pb::OutOfHoursMessage {
            enabled: m.out_of_hours.enabled,
            text: m.out_of_hours.text.clone(),
            frequency: match m.out_of_hours_frequency {
                Frequency::OncePerConversation => pb::OutOfHoursFrequency::OncePerConversation,
                Frequency::OncePerDayPerContact => pb::OutOfHoursFrequency::OncePerDayPerContact,
            } as i32,
        }),
        no_agent_available: Some(message_to_pb(&m.no_agent_available)),
        all_at_capacity: Some(message_to_pb(&m.all_at_capacity)),
        assigned: Some(message_to_pb(&m.assigned)),
        skip_campaign_replies: m.skip_campaign_replies,
        update_time: m.updated_ms.map(timestamp_ms),
    }
}

pub async fn get_automatic_messages(
    app: &Routing,
    req: pb::GetAutomaticMessagesRequest,
) -> Result<pb::GetAutomaticMessagesResponse, RoutingError> {
    let mut check = Check::default();
    let org = check.org(&req.organization_id);
    let actor = check.actor(&req.actor_agent_id);
    let account: Option<ChannelAccountId> = check.id("channel_account_id", &req.channel_account_id);
    check.done()?;
    let account = account.expect("validated");
    let config = app
        .get_automatic_messages(&org.expect("validated"), actor.as_ref(), &account)
        .await?;
    Ok(pb::GetAutomaticMessagesResponse {
        automatic_messages: Some(messages_to_pb(&account, &config)),
    })
}

pub async fn update_automatic_messages(
    app: &Routing,
    req: pb::UpdateAutomaticMessagesRequest,
) -> Result<pb::UpdateAutomaticMessagesResponse, RoutingError> {
    let mut check = Check::default();
    let org = check.org(&req.organization_id);
    let actor = check.actor(&req.actor_agent_id);
    if req.automatic_messages.is_none() {
        check.bad("automatic_messages", "is required");
    }
    let m = req.automatic_messages.unwrap_or_default();
    let account: Option<ChannelAccountId> = check.id(
        "automatic_messages.channel_account_id",
        &m.channel_account_id,
    );
    let frequency = match m.out_of_hours.as_ref().map(|o| o.frequency) {
        None | Some(0) => Frequency::OncePerConversation,
        Some(f) => match pb::OutOfHoursFrequency::try_from(f) {
            Ok(pb::OutOfHoursFrequency::OncePerDayPerContact) => Frequency::OncePerDayPerContact,
            Ok(_) => Frequency::OncePerConversation,
            Err(_) => {
                check.bad(
                    "automatic_messages.out_of_hours.frequency",
                    "must be ONCE_PER_CONVERSATION or ONCE_PER_DAY_PER_CONTACT",
                );
                Frequency::OncePerConversation
            }
        },
    };
    check.done()?;
    let message = |m: Option<&pb::AutomaticMessage>| Message {
        enabled: m.is_some_and(|m| m.enabled),
        text: m.map(|m| m.text.clone()).unwrap_or_default(),
    };
    let config = AutomaticMessages {
        out_of_hours: Message {
            enabled: m.out_of_hours.as_ref().is_some_and(|o| o.enabled),
            text: m
                .out_of_hours
                .as_ref()
                .map(|o| o.text.clone())
                .unwrap_or_default(),
        },
        out_of_hours_frequency: frequency,
        no_agent_available: message(m.no_agent_available.as_ref()),
        all_at_capacity: message(m.all_at_capacity.as_ref()),
        assigned: message(m.assigned.as_ref()),
        skip_campaign_replies: m.skip_campaign_replies,
        updated_ms: None,
    };
    let account = account.expect("validated");
    let saved = app
        .update_automatic_messages(&org.expect("validated"), actor.as_ref(), &account, config)
        .await?;
    Ok(pb::UpdateAutomaticMessagesResponse {
        automatic_messages: Some(messages_to_pb(&account, &saved)),
    })
}
