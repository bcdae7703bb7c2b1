//! A consumer never acknowledges an event it could not read: an undecodable event on a real
//! topic (presence's status changes, consumed by routing's `routing.presence` group) lands in
//! routing's `dead_letters` table, counted in `switchboard_bus_dead_lettered_total` on the
//! process's /metrics, while the group goes on with the next events; a replay delivers it
//! again, byte for byte.

use std::time::Duration;

use switchboard_proto::{
    common::v1::AgentStatus,
    events::TypedEvent,
    presence::v1::{AgentPresence, AgentStatusChanged},
};
use switchboard_runtime::{
    Service, db,
    dead_letters::{self, DeadLetter, Selector},
    ids::{AgentId, EventId, OrganizationId},
    metrics::sum_samples,
    outbox::{Event, NewEvent},
};
use switchboard_testkit::{Backend, Suite, TestEnv};

use crate::on_both_backends;

const GROUP: &str = "routing.presence";

async fn scrape(suite: &Suite) -> anyhow::Result<String> {
    Ok(reqwest::get(format!("http://{}/metrics", suite.metrics))
        .await?
        .text()
        .await?)
}

fn counted(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    sum_samples(text, name, labels).unwrap_or(0.0)
}

fn status_changed(org: &OrganizationId, payload: Vec<u8>) -> Event {
    Event {
        id: EventId::generate(),
        organization_id: org.to_string(),
        topic: AgentStatusChanged::TOPIC.into(),
        aggregate_id: AgentId::generate().to_string(),
        payload,
        traceparent: None,
        occurred_at: chrono::Utc::now(),
    }
}

/// Polls `check` every 100 ms for up to 10 s.
async fn eventually<T, F, Fut>(what: &str, mut check: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<Option<T>>>,
{
    for _ in 0..100 {
        if let Some(v) = check().await? {
            return Ok(v);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("{what}: not within 10 s")
}

async fn undecodable_event_is_dead_lettered_and_replayed(backend: Backend) -> anyhow::Result<()> {
    let env = TestEnv::new(backend).await?;
    let suite = env.start(&[Service::Routing]).await?;
    let bus = suite.infra().expect("running").bus.clone();
    let conn = db::connect(&env.settings.database, Service::Routing).await?;
    let org = OrganizationId::generate();
    let dead_lettered = [("group", GROUP), ("topic", AgentStatusChanged::TOPIC)];

    // Garbage where an AgentStatusChanged should be (a truncated varint).
    let garbage = status_changed(&org, vec![0xff, 0xff, 0xff]);
    bus.publish(&garbage).await?;
    let letters: Vec<DeadLetter> = eventually("dead letter stored", || async {
        let l = dead_letters::list(&conn, &Selector::default()).await?;
        Ok((!l.is_empty()).then_some(l))
    })
    .await?;
    assert_eq!(letters.len(), 1, "{letters:?}");
    let letter = &letters[0];
    assert_eq!(letter.group, GROUP);
    assert_eq!(letter.event.id, garbage.id);
    assert_eq!(letter.event.topic, AgentStatusChanged::TOPIC);
    assert_eq!(letter.event.organization_id, org.to_string());
    assert_eq!(letter.event.payload, garbage.payload, "kept byte for byte");
    assert_eq!(letter.attempts, 1);
    assert!(
        letter.last_error.contains("undecodable"),
        "{}",
        letter.last_error
    );
    let text = scrape(&suite).await?;
    assert_eq!(
        counted(&text, "switchboard_bus_dead_lettered_total", &dead_lettered),
        1.0,
        "{text}"
    );

    // The group goes on: a valid event after it is handled (an agent going away changes
    // nothing in routing) and not dead-lettered.
    let ok_before = counted(
        &text,
        "switchboard_bus_consumed_total",
        &[("group", GROUP), ("outcome", "ok")],
    );
    let away = AgentStatusChanged {
        agent: Some(AgentPresence {
            agent_id: AgentId::generate().to_string(),
            organization_id: org.to_string(),
            status: AgentStatus::Away as i32,
            ..Default::default()
        }),
        previous_status: AgentStatus::Available as i32,
    };
    let valid = status_changed(
        &org,
        NewEvent::typed(org.to_string(), "agent", &away).payload,
    );
    bus.publish(&valid).await?;
    eventually("valid event handled", || async {
        let text = scrape(&suite).await?;
        let ok = counted(
            &text,
            "switchboard_bus_consumed_total",
            &[("group", GROUP), ("outcome", "ok")],
        );
        Ok((ok > ok_before).then_some(()))
    })
    .await?;
    assert_eq!(
        dead_letters::list(&conn, &Selector::default()).await?.len(),
        1
    );

    // Replay: handed back (through routing's outbox and relay), delivered again to the group,
    // which still cannot read it and dead-letters it again.
    let by_group = Selector {
        group: Some(GROUP.into()),
        ..Selector::default()
    };
    assert_eq!(dead_letters::replay(&conn, &by_group).await?, 1);
    eventually(
        "replayed event delivered and dead-lettered again",
        || async {
            let text = scrape(&suite).await?;
            let n = counted(&text, "switchboard_bus_dead_lettered_total", &dead_lettered);
            Ok((n >= 2.0).then_some(()))
        },
    )
    .await?;
    let again = eventually("dead letter stored again", || async {
        let l = dead_letters::list(&conn, &Selector::default()).await?;
        Ok((!l.is_empty()).then_some(l))
    })
    .await?;
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].event.id, garbage.id, "the same event came back");
    assert_eq!(again[0].event.payload, garbage.payload);

    conn.close().await?;
    suite.stop().await
}
on_both_backends!(undecodable_event_is_dead_lettered_and_replayed);

/// On Redis, an entry whose envelope is not even an event (written by something else) is not
/// skipped and left pending forever: it is dead-lettered with its raw fields.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_stream_entry_is_dead_lettered() {
    async fn run() -> anyhow::Result<()> {
        let env = TestEnv::new(Backend::Cluster).await?;
        let suite = env.start(&[Service::Routing]).await?;
        let conn = db::connect(&env.settings.database, Service::Routing).await?;
        let client = redis::Client::open(switchboard_testkit::redis_url())?;
        let mut redis = client.get_multiplexed_async_connection().await?;
        let key = format!(
            "{}:{{events}}:{}",
            env.redis_prefix,
            AgentStatusChanged::TOPIC
        );
        let _: String = redis::cmd("XADD")
            .arg(&key)
            .arg("*")
            .arg("event")
            .arg("not json at all")
            .query_async(&mut redis)
            .await?;
        let letters = eventually("raw entry dead-lettered", || async {
            let l = dead_letters::list(&conn, &Selector::default()).await?;
            Ok((!l.is_empty()).then_some(l))
        })
        .await?;
        assert_eq!(letters[0].group, GROUP);
        assert_eq!(letters[0].event.topic, AgentStatusChanged::TOPIC);
        assert!(
            String::from_utf8_lossy(&letters[0].event.payload).contains("not json at all"),
            "{:?}",
            letters[0]
        );
        // Acknowledged once stored: nothing left pending in the group.
        eventually("entry acknowledged", || {
            let (key, mut redis) = (key.clone(), redis.clone());
            async move {
                // [count, smallest id, greatest id, consumers]
                let summary: Vec<redis::Value> = redis::cmd("XPENDING")
                    .arg(&key)
                    .arg(GROUP)
                    .query_async(&mut redis)
                    .await?;
                Ok(matches!(summary.first(), Some(redis::Value::Int(0))).then_some(()))
            }
        })
        .await?;
        conn.close().await?;
        suite.stop().await
    }
    run().await.expect("cluster backend");
}
