//! Reports (issue 16) over real gRPC, on both backends: hand-written, typed routing and channel
//! events with known instants are published on the real bus, the real `reporting.facts`
//! consumer writes facts, and GetReport / GetLeaderboard / ExportReport answer figures that
//! were computed by hand (see the comments at each fixture). Plus one flow through real
//! webhooks → channel → routing → reporting.

use std::time::Duration;

use sea_orm::{ConnectionTrait, Statement};
use switchboard_proto::{
    channel::v1::{self as ch, MessageAttached, MessageSent},
    common::v1::{ActorKind, Role, TimeRange},
    prost_types::Timestamp,
    reporting::v1::{self as pb, reporting_service_client::ReportingServiceClient},
    routing::v1::{ConversationChanged, ConversationState as S, TransitionCause as C},
};
use switchboard_runtime::{
    Service,
    ids::{AgentId, CampaignId, ChannelAccountId, ContactId, ConversationId, TeamId},
    outbox::Event,
};
use switchboard_testkit::Backend;
use tonic::transport::Channel;
use tonic_types::StatusExt;

use crate::{
    channel_support::ChannelWorld,
    on_both_backends,
    routing_support::rid,
    ticketing_support::{event, wa_id},
};

pub type Reporting = ReportingServiceClient<Channel>;

/// Unix milliseconds of an RFC 3339 instant.
pub fn ms(s: &str) -> i64 {
    s.parse::<chrono::DateTime<chrono::Utc>>()
        .expect("instant")
        .timestamp_millis()
}

pub fn ts(s: &str) -> Timestamp {
    let m = ms(s);
    Timestamp {
        seconds: m.div_euclid(1000),
        nanos: (m.rem_euclid(1000) * 1_000_000) as i32,
    }
}

pub fn range(start: &str, end: &str) -> Option<TimeRange> {
    Some(TimeRange {
        start_time: Some(ts(start)),
        end_time: Some(ts(end)),
    })
}

/// The six counts of a row.
pub fn counts(f: &pb::ReportFigures) -> [i64; 6] {
    [
        f.conversations_started,
        f.conversations_assigned,
        f.conversations_closed,
        f.conversations_expired,
        f.conversations_transferred,
        f.offers_timed_out,
    ]
}

fn millis(d: &Option<switchboard_proto::prost_types::Duration>) -> i64 {
    d.as_ref()
        .map_or(-1, |d| d.seconds * 1000 + i64::from(d.nanos) / 1_000_000)
}

/// (count, median, p90, mean) of a duration figure over the clock, in milliseconds.
pub fn stats(d: &Option<pb::DurationFigure>) -> (i64, i64, i64, i64) {
    let s = d.as_ref().and_then(|d| d.all_hours).unwrap_or_default();
    (s.count, millis(&s.median), millis(&s.p90), millis(&s.mean))
}

/// A conversation whose routing events a test writes by hand.
pub struct Conv {
    pub id: String,
    pub team: String,
    pub number: String,
    pub contact: String,
    pub campaign: String,
    pub created_ms: i64,
    pub version: i64,
    pub transfers: i32,
}

impl Conv {
    pub fn new(team: &str, number: &str, created: &str) -> Self {
        Self {
            id: ConversationId::generate().to_string(),
            team: team.into(),
            number: number.into(),
            contact: ContactId::generate().to_string(),
            campaign: String::new(),
            created_ms: ms(created),
            version: 0,
            transfers: 0,
        }
    }

    /// Its next `ConversationChanged`, in `state` at `at`, adjusted by `tune`.
    pub fn changed(
        &mut self,
        state: S,
        cause: C,
        at: &str,
        tune: impl FnOnce(&mut ConversationChanged),
    ) -> ConversationChanged {
        self.version += 1;
        let mut m = ConversationChanged {
            conversation_id: self.id.clone(),
            state: state as i32,
            cause: cause as i32,
            team_id: self.team.clone(),
            channel_account_id: self.number.clone(),
            contact_id: self.contact.clone(),
            campaign_id: self.campaign.clone(),
            version: self.version,
            created_ms: self.created_ms,
            changed_ms: ms(at),
            transfer_count: self.transfers,
            ..Default::default()
        };
        tune(&mut m);
        self.transfers = m.transfer_count;
        self.team = m.team_id.clone();
        m
    }

    pub fn customer(&self, at: &str) -> MessageAttached {
        MessageAttached {
            message_id: format!("msg_{}", rid()),
            conversation_id: self.id.clone(),
            channel_account_id: self.number.clone(),
            contact_id: self.contact.clone(),
            kind: "text".into(),
            text: "hola".into(),
            message_ms: ms(at),
        }
    }

    pub fn agent(&self, agent: &str, at: &str) -> MessageSent {
        MessageSent {
            message_id: format!("msg_{}", rid()),
            conversation_id: self.id.clone(),
            channel_account_id: self.number.clone(),
            contact_id: self.contact.clone(),
            sender_kind: ActorKind::Agent as i32,
            agent_id: agent.into(),
            sent_ms: ms(at),
        }
    }
}

/// Channel, routing, presence and reporting running; an operator; the bus to publish on.
pub struct ReportWorld {
    pub w: ChannelWorld,
    pub reporting: Reporting,
    pub operator: String,
    db: sea_orm::DatabaseConnection,
    published: i64,
}

impl ReportWorld {
    pub async fn new(backend: Backend) -> anyhow::Result<Self> {
        let mut w =
            ChannelWorld::with_targets(backend, Default::default(), |_| {}, &[Service::Reporting])
                .await?;
        let reporting =
            ReportingServiceClient::new(w.world.suite.channel(Service::Reporting).await?);
        let operator = w.world.agent_with_role("Olga", Role::Operator, 0).await?;
        let infra = w.world.suite.infra().expect("running");
        let db =
            switchboard_runtime::db::connect(&infra.settings.database, Service::Reporting).await?;
        Ok(Self {
            w,
            reporting,
            operator,
            db,
            published: 0,
        })
    }

    pub fn org(&self) -> String {
        self.w.world.org.clone()
    }

    /// Events `reporting.facts` applied (each event id once).
    pub async fn processed(&self) -> anyhow::Result<i64> {
        let row = self
            .db
            .query_one_raw(Statement::from_string(
                self.db.get_database_backend(),
                "SELECT count(*) AS n FROM processed_events WHERE consumer_group = 'reporting.facts'",
            ))
            .await?
            .expect("a count");
        Ok(row.try_get("", "n")?)
    }

    /// Publishes `e` as a producer's relay would, and waits until the consumer applied it
    /// (events are published one by one, in the order they happened).
    pub async fn publish(&mut self, e: &Event) -> anyhow::Result<()> {
        let bus = self.w.world.suite.infra().expect("running").bus.clone();
        bus.publish(e).await?;
        self.published += 1;
        let target = self.published;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        while self.processed().await? < target {
            anyhow::ensure!(
                tokio::time::Instant::now() < deadline,
                "event {} on {} was not applied",
                e.id,
                e.topic
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(())
    }

    pub async fn changed(&mut self, m: &ConversationChanged) -> anyhow::Result<()> {
        let org = self.org();
        self.publish(&event(&org, &m.conversation_id, m)).await
    }

    pub async fn attached(&mut self, m: &MessageAttached) -> anyhow::Result<()> {
        let org = self.org();
        self.publish(&event(&org, &m.message_id, m)).await
    }

    pub async fn sent(&mut self, m: &MessageSent) -> anyhow::Result<()> {
        let org = self.org();
        self.publish(&event(&org, &m.message_id, m)).await
    }

    pub fn request(
        &self,
        start: &str,
        end: &str,
        zone: &str,
        g: pb::Granularity,
    ) -> pb::GetReportRequest {
        pb::GetReportRequest {
            organization_id: self.org(),
            actor_agent_id: self.operator.clone(),
            time_range: range(start, end),
            time_zone: zone.into(),
            granularity: g as i32,
            filter: None,
            breakdown: pb::Breakdown::Unspecified as i32,
        }
    }

    pub async fn report(
        &mut self,
        r: pb::GetReportRequest,
    ) -> anyhow::Result<pb::GetReportResponse> {
        Ok(self.reporting.get_report(r).await?.into_inner())
    }

    /// A real contact of the organization with `tags`.
    pub async fn contact_with_tags(&mut self, tags: &[&str]) -> anyhow::Result<String> {
        Ok(self
            .w
            .channel
            .create_contact(ch::CreateContactRequest {
                request_id: rid(),
                organization_id: self.org(),
                actor_agent_id: self.w.world.admin.clone(),
                phone_number: format!("+{}", wa_id()),
                display_name: "Cliente".into(),
                tags: tags.iter().map(|t| (*t).to_string()).collect(),
                ..Default::default()
            })
            .await?
            .into_inner()
            .contact
            .expect("contact")
            .id)
    }
}

fn totals_by_key(r: &pb::GetReportResponse) -> Vec<(String, pb::ReportFigures)> {
    r.totals
        .iter()
        .map(|t| (t.key.clone(), t.figures.unwrap_or_default()))
        .collect()
}

fn total<'a>(r: &'a [(String, pb::ReportFigures)], key: &str) -> &'a pb::ReportFigures {
    &r.iter()
        .find(|(k, _)| k == key)
        .unwrap_or_else(|| {
            panic!(
                "no series {key:?} in {:?}",
                r.iter().map(|x| &x.0).collect::<Vec<_>>()
            )
        })
        .1
}

/// Five conversations, every instant chosen by hand (UTC):
///
/// - c1 (team X, number N, contact tagged vip): created 10:00, queued; a1 assigned 10:01 (wait
///   60 s); customer writes 10:00; a1 answers 10:03 (first response 180 s); customer writes
///   10:05 and 10:06, a1 answers 10:07 (reply 120 s, from the first unanswered one); closed
///   10:30 (resolution 1800 s).
/// - c2 (team X, vip): created 11:00; a2 assigned 11:03 (wait 180 s); a2's offer times out at
///   11:05 and a1 gets it; a1 answers 11:06 (first response 360 s); closed 12:00 (3600 s).
/// - c3 (team X → Y, tagged vip and mayorista): created 12:00; a1 assigned 12:00:30 (wait 30 s),
///   answers 12:01 (60 s); transferred to team Y at 12:10 (queued); a2 assigned 12:12 (wait
///   120 s), answers 12:15 (first response after the hand-off: 300 s); expired 13:00.
/// - c4 (team X, number M): created 23:30 (00:30 on Nov 3 in Madrid), never assigned.
/// - c5 (team X, campaign K): created Nov 3 09:00; a2 assigned 09:10 (600 s); closed 09:20
///   (1200 s).
async fn report_figures_match_a_hand_computed_fixture(backend: Backend) -> anyhow::Result<()> {
    let mut r = ReportWorld::new(backend).await?;
    let (team_x, team_y) = (
        TeamId::generate().to_string(),
        TeamId::generate().to_string(),
    );
    let (n, m) = (
        ChannelAccountId::generate().to_string(),
        ChannelAccountId::generate().to_string(),
    );
    let (a1, a2) = (
        AgentId::generate().to_string(),
        AgentId::generate().to_string(),
    );
    let campaign = CampaignId::generate().to_string();
    let vip = r.contact_with_tags(&["vip"]).await?;
    let vip_mayorista = r.contact_with_tags(&["vip", "mayorista"]).await?;

    // c1
    let mut c1 = Conv::new(&team_x, &n, "2026-11-02T10:00:00Z");
    c1.contact = vip.clone();
    let e = c1.changed(S::Queued, C::Routed, "2026-11-02T10:00:00Z", |e| {
        e.queued_ms = ms("2026-11-02T10:00:00Z")
    });
    r.changed(&e).await?;
    r.attached(&c1.customer("2026-11-02T10:00:00Z")).await?;
    let assigned = ms("2026-11-02T10:01:00Z");
    let e = c1.changed(S::Assigned, C::SlotFreed, "2026-11-02T10:01:00Z", |e| {
        e.assignee_agent_id = a1.clone();
        e.assigned_ms = assigned;
    });
    r.changed(&e).await?;
    let e = c1.changed(S::Open, C::Opened, "2026-11-02T10:02:00Z", |e| {
        e.assignee_agent_id = a1.clone();
        e.assigned_ms = assigned;
        e.opened_ms = ms("2026-11-02T10:02:00Z");
    });
    r.changed(&e).await?;
    r.sent(&c1.agent(&a1, "2026-11-02T10:03:00Z")).await?;
    r.attached(&c1.customer("2026-11-02T10:05:00Z")).await?;
    r.attached(&c1.customer("2026-11-02T10:06:00Z")).await?;
    r.sent(&c1.agent(&a1, "2026-11-02T10:07:00Z")).await?;
    // A second agent message answers nobody: no reply time.
    r.sent(&c1.agent(&a1, "2026-11-02T10:08:00Z")).await?;
    let closing = c1.changed(S::Closed, C::Closed, "2026-11-02T10:30:00Z", |e| {
        e.previous_agent_id = a1.clone();
        e.assigned_ms = assigned;
        e.ended_ms = ms("2026-11-02T10:30:00Z");
    });
    let closing_event = event(&r.org(), &c1.id, &closing);
    r.publish(&closing_event).await?;

    // c2
    let mut c2 = Conv::new(&team_x, &n, "2026-11-02T11:00:00Z");
    c2.contact = vip.clone();
    let e = c2.changed(S::Queued, C::Routed, "2026-11-02T11:00:00Z", |e| {
        e.queued_ms = ms("2026-11-02T11:00:00Z")
    });
    r.changed(&e).await?;
    let e = c2.changed(S::Assigned, C::SlotFreed, "2026-11-02T11:03:00Z", |e| {
        e.assignee_agent_id = a2.clone();
        e.assigned_ms = ms("2026-11-02T11:03:00Z");
    });
    r.changed(&e).await?;
    let e = c2.changed(S::Assigned, C::OfferTimeout, "2026-11-02T11:05:00Z", |e| {
        e.assignee_agent_id = a1.clone();
        e.previous_agent_id = a2.clone();
        e.assigned_ms = ms("2026-11-02T11:05:00Z");
    });
    r.changed(&e).await?;
    r.sent(&c2.agent(&a1, "2026-11-02T11:06:00Z")).await?;
    let e = c2.changed(S::Closed, C::Closed, "2026-11-02T12:00:00Z", |e| {
        e.previous_agent_id = a1.clone();
        e.ended_ms = ms("2026-11-02T12:00:00Z");
    });
    r.changed(&e).await?;

    // c3
    let mut c3 = Conv::new(&team_x, &n, "2026-11-02T12:00:00Z");
    c3.contact = vip_mayorista.clone();
    let e = c3.changed(S::Queued, C::Routed, "2026-11-02T12:00:00Z", |e| {
        e.queued_ms = ms("2026-11-02T12:00:00Z")
    });
    r.changed(&e).await?;
    let e = c3.changed(S::Assigned, C::SlotFreed, "2026-11-02T12:00:30Z", |e| {
        e.assignee_agent_id = a1.clone();
        e.assigned_ms = ms("2026-11-02T12:00:30Z");
    });
    r.changed(&e).await?;
    r.sent(&c3.agent(&a1, "2026-11-02T12:01:00Z")).await?;
    let y = team_y.clone();
    let e = c3.changed(S::Queued, C::Transferred, "2026-11-02T12:10:00Z", |e| {
        e.team_id = y;
        e.previous_agent_id = a1.clone();
        e.transfer_count = 1;
        e.queued_ms = ms("2026-11-02T12:10:00Z");
    });
    r.changed(&e).await?;
    let e = c3.changed(S::Assigned, C::SlotFreed, "2026-11-02T12:12:00Z", |e| {
        e.assignee_agent_id = a2.clone();
        e.assigned_ms = ms("2026-11-02T12:12:00Z");
    });
    r.changed(&e).await?;
    r.sent(&c3.agent(&a2, "2026-11-02T12:15:00Z")).await?;
    let e = c3.changed(S::Expired, C::Expired, "2026-11-02T13:00:00Z", |e| {
        e.previous_agent_id = a2.clone();
        e.ended_ms = ms("2026-11-02T13:00:00Z");
    });
    r.changed(&e).await?;

    // c4
    let mut c4 = Conv::new(&team_x, &m, "2026-11-02T23:30:00Z");
    let e = c4.changed(S::Queued, C::Routed, "2026-11-02T23:30:00Z", |e| {
        e.queued_ms = ms("2026-11-02T23:30:00Z")
    });
    r.changed(&e).await?;

    // c5
    let mut c5 = Conv::new(&team_x, &n, "2026-11-03T09:00:00Z");
    c5.campaign = campaign.clone();
    let e = c5.changed(S::Queued, C::Routed, "2026-11-03T09:00:00Z", |e| {
        e.queued_ms = ms("2026-11-03T09:00:00Z")
    });
    r.changed(&e).await?;
    let e = c5.changed(S::Assigned, C::SlotFreed, "2026-11-03T09:10:00Z", |e| {
        e.assignee_agent_id = a2.clone();
        e.assigned_ms = ms("2026-11-03T09:10:00Z");
    });
    r.changed(&e).await?;
    let e = c5.changed(S::Closed, C::Closed, "2026-11-03T09:20:00Z", |e| {
        e.previous_agent_id = a2.clone();
        e.ended_ms = ms("2026-11-03T09:20:00Z");
    });
    r.changed(&e).await?;

    // Redelivered events (the same event id) are applied once: c1's close again, and the bus
    // delivering it twice. A sentinel on the same topic proves the duplicates were consumed.
    let bus = r.w.world.suite.infra().expect("running").bus.clone();
    bus.publish(&closing_event).await?;
    bus.publish(&closing_event).await?;
    let mut sentinel = Conv::new(&team_x, &n, "2025-01-01T00:00:00Z");
    let e = sentinel.changed(S::Queued, C::Routed, "2025-01-01T00:00:00Z", |_| {});
    r.changed(&e).await?;

    // ---- Totals and days, UTC ----
    let day = r
        .report(r.request(
            "2026-11-02T00:00:00Z",
            "2026-11-04T00:00:00Z",
            "",
            pb::Granularity::Day,
        ))
        .await?;
    assert_eq!(day.time_zone, "UTC");
    assert_eq!(day.rows.len(), 2);
    assert_eq!(day.rows[0].bucket_label, "2026-11-02");
    assert_eq!(day.rows[0].bucket_start, Some(ts("2026-11-02T00:00:00Z")));
    let t = day.totals[0].figures.unwrap_or_default();
    // started, assigned (c1, c2 twice, c3 twice, c5), closed, expired, transferred, timed out.
    assert_eq!(counts(&t), [5, 6, 3, 1, 1, 1]);
    // Queue waits 30, 60, 120, 180, 600 s: median 120; p90 at rank 3.6: 180 + 0.6·420 = 432;
    // mean 990/5 = 198.
    assert_eq!(stats(&t.queue_wait), (5, 120_000, 432_000, 198_000));
    // First responses 60, 180, 300, 360 s: median 240; p90 at 2.7: 300 + 0.7·60 = 342; mean 225.
    assert_eq!(
        stats(&t.first_response_time),
        (4, 240_000, 342_000, 225_000)
    );
    assert_eq!(stats(&t.reply_time), (1, 120_000, 120_000, 120_000));
    // Resolutions 1200, 1800, 3600 s: median 1800; p90 at 1.8: 1800 + 0.8·1800 = 3240; mean 2200.
    assert_eq!(
        stats(&t.resolution_time),
        (3, 1_800_000, 3_240_000, 2_200_000)
    );
    assert!(
        t.resolution_time
            .as_ref()
            .is_some_and(|d| d.business_hours.is_none()),
        "no business hours configured: unset"
    );
    let d1 = day.rows[0].figures.unwrap_or_default();
    assert_eq!(counts(&d1), [4, 5, 2, 1, 1, 1]);
    // Day one's waits 30, 60, 120, 180 s: median 90; p90 at 2.7: 120 + 0.7·60 = 162; mean 97.5.
    assert_eq!(stats(&d1.queue_wait), (4, 90_000, 162_000, 97_500));
    let d2 = day.rows[1].figures.unwrap_or_default();
    assert_eq!(counts(&d2), [1, 1, 1, 0, 0, 0]);
    assert_eq!(
        stats(&d2.resolution_time),
        (1, 1_200_000, 1_200_000, 1_200_000)
    );

    // ---- The same days in Madrid: c4 (23:30 UTC) is on Nov 3 there ----
    let madrid = r
        .report(r.request(
            "2026-11-01T23:00:00Z",
            "2026-11-03T23:00:00Z",
            "Europe/Madrid",
            pb::Granularity::Day,
        ))
        .await?;
    assert_eq!(madrid.time_zone, "Europe/Madrid");
    let started: Vec<(String, i64)> = madrid
        .rows
        .iter()
        .map(|row| {
            (
                row.bucket_label.clone(),
                row.figures.as_ref().map_or(0, |f| f.conversations_started),
            )
        })
        .collect();
    assert_eq!(
        started,
        [("2026-11-02".to_string(), 3), ("2026-11-03".to_string(), 2)]
    );

    // ---- Breakdowns ----
    let by = |b: pb::Breakdown| {
        let mut q = r.request(
            "2026-11-02T00:00:00Z",
            "2026-11-04T00:00:00Z",
            "UTC",
            pb::Granularity::Day,
        );
        q.breakdown = b as i32;
        q
    };
    let agents = by(pb::Breakdown::Agent);
    let teams = by(pb::Breakdown::Team);
    let numbers = by(pb::Breakdown::ChannelAccount);
    let campaigns = by(pb::Breakdown::Campaign);
    let tags = by(pb::Breakdown::Tag);
    let agents = totals_by_key(&r.report(agents).await?);
    // a1: assigned c1, c2 (second offer), c3 (first); closed c1, c2; transferred c3 away.
    assert_eq!(counts(total(&agents, &a1)), [0, 3, 2, 0, 1, 0]);
    // a2: assigned c2 (timed out), c3 after the transfer, c5; closed c5; c3 expired with it.
    assert_eq!(counts(total(&agents, &a2)), [0, 3, 1, 1, 0, 1]);
    // a1's first responses 180 (c1), 360 (c2), 60 (c3): median 180, p90 at 1.8: 180 + 0.8·180.
    assert_eq!(
        stats(&total(&agents, &a1).first_response_time),
        (3, 180_000, 324_000, 200_000)
    );
    // Starts belong to no agent.
    assert_eq!(counts(total(&agents, "")), [5, 0, 0, 0, 0, 0]);
    let teams = totals_by_key(&r.report(teams).await?);
    // After the transfer c3's assignment, first response and expiry count for team Y; the
    // transfer counts for the team it left.
    assert_eq!(counts(total(&teams, &team_y)), [0, 1, 0, 1, 0, 0]);
    assert_eq!(counts(total(&teams, &team_x)), [5, 5, 3, 0, 1, 1]);
    let numbers = totals_by_key(&r.report(numbers).await?);
    assert_eq!(counts(total(&numbers, &m)), [1, 0, 0, 0, 0, 0]);
    assert_eq!(counts(total(&numbers, &n))[0], 4);
    let campaigns = totals_by_key(&r.report(campaigns).await?);
    assert_eq!(counts(total(&campaigns, &campaign)), [1, 1, 1, 0, 0, 0]);
    let tags = totals_by_key(&r.report(tags).await?);
    // vip: c1, c2, c3; mayorista: c3 only. Untagged conversations are in no tag's series.
    assert_eq!(counts(total(&tags, "vip")), [3, 5, 2, 1, 1, 1]);
    assert_eq!(counts(total(&tags, "mayorista")), [1, 2, 0, 1, 1, 0]);
    assert_eq!(tags.len(), 2);

    // ---- Filters ----
    let mut q = r.request(
        "2026-11-02T00:00:00Z",
        "2026-11-04T00:00:00Z",
        "",
        pb::Granularity::Week,
    );
    q.filter = Some(pb::ReportFilter {
        tags: vec!["mayorista".into()],
        ..Default::default()
    });
    let only = r.report(q.clone()).await?;
    assert_eq!(only.rows.len(), 1, "one week: {:?}", only.rows);
    assert_eq!(only.rows[0].bucket_label, "2026-W45");
    let f = only.totals[0].figures.unwrap_or_default();
    assert_eq!(counts(&f), [1, 2, 0, 1, 1, 0]);
    assert_eq!(
        stats(&f.first_response_time),
        (2, 180_000, 276_000, 180_000)
    );
    q.filter = Some(pb::ReportFilter {
        agent_ids: vec![a2.clone()],
        team_ids: vec![team_y.clone()],
        ..Default::default()
    });
    let f = r.report(q).await?.totals[0].figures.unwrap_or_default();
    assert_eq!(counts(&f), [0, 1, 0, 1, 0, 0]);
    assert_eq!(
        stats(&f.first_response_time),
        (1, 300_000, 300_000, 300_000)
    );

    // ---- Leaderboard: by closed, then median first response ----
    let board = r
        .reporting
        .get_leaderboard(pb::GetLeaderboardRequest {
            organization_id: r.org(),
            actor_agent_id: r.operator.clone(),
            time_range: range("2026-11-02T00:00:00Z", "2026-11-04T00:00:00Z"),
            filter: None,
        })
        .await?
        .into_inner();
    let ranks: Vec<(String, i32, i64)> = board
        .rows
        .iter()
        .map(|row| {
            (
                row.agent_id.clone(),
                row.rank,
                row.figures.as_ref().map_or(0, |f| f.conversations_closed),
            )
        })
        .collect();
    assert_eq!(ranks, [(a1.clone(), 1, 2), (a2.clone(), 2, 1)]);

    // ---- CSV: exactly what the RPC answered ----
    let mut q = r.request(
        "2026-11-02T00:00:00Z",
        "2026-11-04T00:00:00Z",
        "Europe/Madrid",
        pb::Granularity::Day,
    );
    q.breakdown = pb::Breakdown::Agent as i32;
    let answered = r.report(q.clone()).await?;
    let export = r
        .reporting
        .export_report(pb::ExportReportRequest {
            report: Some(pb::export_report_request::Report::ReportRequest(q)),
        })
        .await?
        .into_inner();
    assert_eq!(export.content_type, "text/csv; charset=utf-8");
    assert_eq!(export.file_name, "report-2026-11-02-2026-11-04.csv");
    assert_csv_matches_report(&export.content, &answered)?;
    let export = r
        .reporting
        .export_report(pb::ExportReportRequest {
            report: Some(pb::export_report_request::Report::LeaderboardRequest(
                pb::GetLeaderboardRequest {
                    organization_id: r.org(),
                    actor_agent_id: r.operator.clone(),
                    time_range: range("2026-11-02T00:00:00Z", "2026-11-04T00:00:00Z"),
                    filter: None,
                },
            )),
        })
        .await?
        .into_inner();
    let lines = parse_csv(std::str::from_utf8(&export.content)?)?;
    assert_eq!(lines[0][..2], ["rank".to_string(), "agent_id".to_string()]);
    assert_eq!(lines.len(), 1 + board.rows.len());
    for (line, row) in lines[1..].iter().zip(&board.rows) {
        assert_eq!(line[0], row.rank.to_string());
        assert_eq!(line[1], row.agent_id);
        assert_eq!(
            line[2..],
            figure_fields(row.figures.as_ref().expect("figures"))[..]
        );
    }
    r.w.stop().await
}
on_both_backends!(report_figures_match_a_hand_computed_fixture);

/// Parses RFC 4180 CSV (quoted fields, doubled quotes, CRLF).
pub fn parse_csv(text: &str) -> anyhow::Result<Vec<Vec<String>>> {
    let mut lines = Vec::new();
    let mut line = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => line.push(std::mem::take(&mut field)),
            (false, '\r') => {
                anyhow::ensure!(chars.next() == Some('\n'), "CR without LF");
                line.push(std::mem::take(&mut field));
                lines.push(std::mem::take(&mut line));
            }
            (false, c) => field.push(c),
        }
    }
    anyhow::ensure!(
        field.is_empty() && line.is_empty(),
        "last line without CRLF"
    );
    Ok(lines)
}

fn seconds(d: &Option<switchboard_proto::prost_types::Duration>) -> String {
    let m = millis(d);
    format!("{}.{:03}", m / 1000, m % 1000)
}

fn stats_fields(s: Option<&pb::DurationStats>) -> Vec<String> {
    match s {
        Some(s) => vec![
            s.count.to_string(),
            seconds(&s.median),
            seconds(&s.p90),
            seconds(&s.mean),
        ],
        None => vec![String::new(); 4],
    }
}

/// A row's figures as the CSV must write them (recomputed here from the RPC's answer).
pub fn figure_fields(f: &pb::ReportFigures) -> Vec<String> {
    let mut out: Vec<String> = counts(f).iter().map(ToString::to_string).collect();
    for d in [
        &f.first_response_time,
        &f.reply_time,
        &f.resolution_time,
        &f.queue_wait,
    ] {
        let d = (*d).unwrap_or_default();
        out.extend(stats_fields(d.all_hours.as_ref()));
        out.extend(stats_fields(d.business_hours.as_ref()));
    }
    out
}

pub fn assert_csv_matches_report(
    content: &[u8],
    answered: &pb::GetReportResponse,
) -> anyhow::Result<()> {
    let lines = parse_csv(std::str::from_utf8(content)?)?;
    assert_eq!(
        lines[0][..5],
        [
            "bucket_start",
            "bucket_label",
            "key",
            "conversations_started",
            "conversations_assigned"
        ]
        .map(String::from)
    );
    assert_eq!(lines.len(), 1 + answered.rows.len() + answered.totals.len());
    for (line, row) in lines[1..]
        .iter()
        .zip(answered.rows.iter().chain(&answered.totals))
    {
        let start = match &row.bucket_start {
            Some(t) => chrono::DateTime::from_timestamp(t.seconds, 0)
                .expect("instant")
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            None => String::new(),
        };
        assert_eq!(line[0], start);
        assert_eq!(line[1], row.bucket_label);
        assert_eq!(line[2], row.key);
        assert_eq!(
            line[3..],
            figure_fields(row.figures.as_ref().expect("figures"))[..]
        );
    }
    Ok(())
}

/// Hourly buckets cut in Madrid: 2026-03-29 has 23 hours (02:00 is skipped), 2026-10-25 has
/// 25 (02:00 happens twice, once at +02:00 and once at +01:00); each conversation lands in the
/// local hour it started in.
async fn hourly_buckets_follow_daylight_saving_time(backend: Backend) -> anyhow::Result<()> {
    let mut r = ReportWorld::new(backend).await?;
    let team = TeamId::generate().to_string();
    let number = ChannelAccountId::generate().to_string();
    for created in [
        "2026-03-29T01:30:00Z", // 03:30 CEST
        "2026-10-25T00:30:00Z", // 02:30 CEST
        "2026-10-25T01:30:00Z", // 02:30 CET
        "2026-10-25T01:45:00Z", // 02:45 CET
    ] {
        let mut c = Conv::new(&team, &number, created);
        let e = c.changed(S::Queued, C::Routed, created, |_| {});
        r.changed(&e).await?;
    }
    let spring = r
        .report(r.request(
            "2026-03-28T23:00:00Z",
            "2026-03-29T22:00:00Z",
            "Europe/Madrid",
            pb::Granularity::Hour,
        ))
        .await?;
    assert_eq!(spring.rows.len(), 23);
    let labels: Vec<&str> = spring
        .rows
        .iter()
        .map(|r| r.bucket_label.as_str())
        .collect();
    assert_eq!(
        labels[..3],
        [
            "2026-03-29T00:00+01:00",
            "2026-03-29T01:00+01:00",
            "2026-03-29T03:00+02:00"
        ]
    );
    let started: Vec<i64> = spring
        .rows
        .iter()
        .map(|r| r.figures.as_ref().map_or(0, |f| f.conversations_started))
        .collect();
    assert_eq!(started.iter().sum::<i64>(), 1);
    assert_eq!(started[2], 1, "03:30 CEST is in the third hour");

    let autumn = r
        .report(r.request(
            "2026-10-24T22:00:00Z",
            "2026-10-25T23:00:00Z",
            "Europe/Madrid",
            pb::Granularity::Hour,
        ))
        .await?;
    assert_eq!(autumn.rows.len(), 25);
    assert_eq!(autumn.rows[2].bucket_label, "2026-10-25T02:00+02:00");
    assert_eq!(autumn.rows[3].bucket_label, "2026-10-25T02:00+01:00");
    assert_eq!(
        autumn.rows[3].bucket_start,
        Some(ts("2026-10-25T01:00:00Z"))
    );
    let started: Vec<i64> = autumn
        .rows
        .iter()
        .map(|r| r.figures.as_ref().map_or(0, |f| f.conversations_started))
        .collect();
    assert_eq!(
        (started[2], started[3], started.iter().sum::<i64>()),
        (1, 2, 3)
    );
    // Empty buckets are there, with zeros.
    assert_eq!(
        counts(autumn.rows[0].figures.as_ref().expect("figures")),
        [0; 6]
    );
    // The 25-hour day is one day bucket.
    let days = r
        .report(r.request(
            "2026-10-24T22:00:00Z",
            "2026-10-26T23:00:00Z",
            "Europe/Madrid",
            pb::Granularity::Day,
        ))
        .await?;
    assert_eq!(days.rows.len(), 2);
    assert_eq!(
        days.rows[1]
            .bucket_start
            .as_ref()
            .map(|t| t.seconds)
            .zip(days.rows[0].bucket_start.as_ref().map(|t| t.seconds))
            .map(|(b, a)| b - a),
        Some(25 * 3600)
    );
    assert_eq!(
        days.rows[0]
            .figures
            .as_ref()
            .map(|f| f.conversations_started),
        Some(3)
    );
    r.w.stop().await
}
on_both_backends!(hourly_buckets_follow_daylight_saving_time);

/// Bad requests name their field; agents (not operators) and strangers are refused.
async fn reports_validate_and_authorize(backend: Backend) -> anyhow::Result<()> {
    let mut r = ReportWorld::new(backend).await?;
    let field_of = |s: &tonic::Status| -> Vec<String> {
        s.get_error_details()
            .bad_request()
            .map(|b| b.field_violations.iter().map(|v| v.field.clone()).collect())
            .unwrap_or_default()
    };
    let good = r.request(
        "2026-11-01T00:00:00Z",
        "2026-11-02T00:00:00Z",
        "",
        pb::Granularity::Day,
    );
    let mut bad = good.clone();
    bad.time_zone = "Europe/Atlantis".into();
    let err = r.reporting.get_report(bad).await.expect_err("bad zone");
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    assert_eq!(field_of(&err), ["time_zone"]);
    let mut bad = good.clone();
    bad.time_range = Some(TimeRange {
        start_time: Some(ts("2026-11-01T00:00:00Z")),
        end_time: None,
    });
    bad.granularity = 0;
    let err = r.reporting.get_report(bad).await.expect_err("no end");
    assert_eq!(field_of(&err), ["time_range.end_time", "granularity"]);
    let mut bad = good.clone();
    bad.time_range = range("2025-01-01T00:00:00Z", "2026-11-01T00:00:00Z");
    let err = r.reporting.get_report(bad).await.expect_err("too long");
    assert_eq!(field_of(&err), ["time_range"]);
    let mut bad = good.clone();
    bad.filter = Some(pb::ReportFilter {
        team_ids: vec!["nope".into()],
        ..Default::default()
    });
    let err = r.reporting.get_report(bad).await.expect_err("bad id");
    assert_eq!(field_of(&err), ["filter.team_ids[0]"]);

    let agent = r.w.agent.clone();
    let mut as_agent = good.clone();
    as_agent.actor_agent_id = agent;
    let err = r
        .reporting
        .get_report(as_agent.clone())
        .await
        .expect_err("agent");
    assert_eq!(err.code(), tonic::Code::PermissionDenied);
    let err = r
        .reporting
        .export_report(pb::ExportReportRequest {
            report: Some(pb::export_report_request::Report::ReportRequest(as_agent)),
        })
        .await
        .expect_err("agent export");
    assert_eq!(err.code(), tonic::Code::PermissionDenied);
    let mut stranger = good.clone();
    stranger.actor_agent_id = AgentId::generate().to_string();
    let err = r
        .reporting
        .get_report(stranger)
        .await
        .expect_err("stranger");
    assert_eq!(err.code(), tonic::Code::PermissionDenied);
    // The admin reads an empty day: one row of zeros and its total.
    let mut admin = good;
    admin.actor_agent_id = r.w.world.admin.clone();
    let empty = r.report(admin).await?;
    assert_eq!((empty.rows.len(), empty.totals.len()), (1, 1));
    assert_eq!(
        counts(empty.totals[0].figures.as_ref().expect("figures")),
        [0; 6]
    );
    r.w.stop().await
}
on_both_backends!(reports_validate_and_authorize);

/// A customer writes through the real webhook; routing creates and assigns the conversation;
/// the agent opens it, answers through channel and closes it: the report shows it, from the
/// real events alone.
async fn facts_arrive_from_real_webhooks_and_flows(backend: Backend) -> anyhow::Result<()> {
    let mut r = ReportWorld::new(backend).await?;
    // Business hours come from routing: open all day, every day, so each business-hours
    // figure equals its clock figure (and is set at all only because routing answered).
    use switchboard_proto::routing::v1 as rt;
    r.w.world
        .routing
        .update_business_hours(rt::UpdateBusinessHoursRequest {
            request_id: rid(),
            organization_id: r.org(),
            actor_agent_id: r.w.world.admin.clone(),
            channel_account_id: String::new(),
            business_hours: Some(rt::BusinessHours {
                time_zone: "UTC".into(),
                days: (1..=7)
                    .map(|weekday| rt::DayHours {
                        weekday,
                        intervals: vec![rt::TimeInterval {
                            start_minute: 0,
                            end_minute: 1440,
                        }],
                    })
                    .collect(),
                ..Default::default()
            }),
        })
        .await?;
    let wa = wa_id();
    let before = chrono::Utc::now() - chrono::Duration::minutes(1);
    r.w.customer_writes(&wa, "Ana", "hola, necesito ayuda")
        .await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let contact = loop {
        if let Some(c) = r.w.contact(&wa).await? {
            break c;
        }
        anyhow::ensure!(tokio::time::Instant::now() < deadline, "no contact");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let message = r.w.routed_messages(&contact.id, 1).await?.remove(0);
    let conversation = message.conversation_id.clone();
    let agent = r.w.agent.clone();
    r.w.world
        .until(&conversation, "assigned to Lucía", |c| {
            c.assignee_agent_id == agent
        })
        .await?;
    // Routing may be applying the flow's own changes meanwhile (ABORTED): read again, retry.
    let mut tries = 0;
    while let Err(e) = r.w.world.open(&agent, &conversation).await {
        tries += 1;
        anyhow::ensure!(e.code() == tonic::Code::Aborted && tries < 20, "open: {e}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    r.w.channel
        .send_text_message(ch::SendTextMessageRequest {
            request_id: rid(),
            organization_id: r.org(),
            actor_agent_id: agent.clone(),
            conversation_id: conversation.clone(),
            text: Some(ch::TextContent {
                body: "¿En qué te ayudo?".into(),
                preview_url: false,
            }),
            reply_to_message_id: String::new(),
        })
        .await?;
    let mut tries = 0;
    while let Err(e) = r.w.world.close(&agent, &conversation).await {
        tries += 1;
        anyhow::ensure!(e.code() == tonic::Code::Aborted && tries < 20, "close: {e}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let after = chrono::Utc::now() + chrono::Duration::minutes(1);
    let fmt =
        |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut q = r.request(&fmt(before), &fmt(after), "", pb::Granularity::Hour);
    q.breakdown = pb::Breakdown::Agent as i32;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let mine = loop {
        let report = r.report(q.clone()).await?;
        let by = totals_by_key(&report);
        if let Some((_, f)) = by.iter().find(|(k, _)| *k == agent)
            && f.conversations_closed == 1
            && stats(&f.first_response_time).0 == 1
        {
            break (by.clone(), *f);
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "the flow's facts never arrived: {by:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let (by, f) = mine;
    assert_eq!(counts(&f), [0, 1, 1, 0, 0, 0]);
    assert_eq!(stats(&f.resolution_time).0, 1);
    assert_eq!(stats(&f.queue_wait).0, 1);
    let in_hours = f
        .resolution_time
        .as_ref()
        .and_then(|d| d.business_hours)
        .expect("routing's business hours reach the facts");
    let clock = f.resolution_time.as_ref().and_then(|d| d.all_hours);
    assert_eq!(
        Some(in_hours),
        clock,
        "always open: in business hours = on the clock"
    );
    assert_eq!(counts(total(&by, "")), [1, 0, 0, 0, 0, 0]);
    r.w.stop().await
}
on_both_backends!(facts_arrive_from_real_webhooks_and_flows);
