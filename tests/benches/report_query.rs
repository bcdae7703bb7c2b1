//! Benchmark: GetReport latency through reporting's gRPC API over the facts of 1,000,000
//! conversations bulk-loaded into PostgreSQL, next to a raw aggregate SQL query over the same
//! rows (`date_trunc('day', … AT TIME ZONE …)`, `percentile_cont`, `avg`, GROUP BY day and
//! kind) on the same database, in the same run. Prints a table and `ratio …` lines. Run with
//! `make bench-reports` (PostgreSQL + Redis, as for tests).
//!
//! The report asked: a 30-day range in Europe/Madrid by day, no breakdown (every figure:
//! counts, median/p90/mean of four durations, and the totals).
//!
//! Environment: BENCH_CONVERSATIONS (default 1000000), BENCH_QUERIES (default 20),
//! BENCH_RANGE_DAYS (default 30).

use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use switchboard_proto::{
    common::v1::{Role, TimeRange},
    prost_types::Timestamp,
    reporting::v1::{self as rp, reporting_service_client::ReportingServiceClient},
    routing::v1::{self as pb, routing_service_client::RoutingServiceClient},
};
use switchboard_runtime::{Service, db};
use switchboard_testkit::{Backend, TestEnv};

fn env_num(key: &str, default: u64) -> u64 {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The facts start here (2026-08-01T00:00:00Z) and spread over 92 days.
const BASE_MS: i64 = 1_785_542_400_000;
const SPREAD_MS: i64 = 92 * 86_400_000;

/// Loads the facts of conversations `from..=to`: each one started, assigned (with its queue
/// wait), answered (first response), closed (with its resolution). Values vary with the
/// conversation number.
async fn load(
    conn: &DatabaseConnection,
    org: &str,
    n: u64,
    from: u64,
    to: u64,
) -> anyhow::Result<()> {
    let step = SPREAD_MS / n as i64;
    let sql = format!(
        "INSERT INTO report_facts (event_id, kind, organization_id, conversation_id, occurrence, \
           instant_ms, value_ms, value_bh_ms, team_id, agent_id, channel_account_id, campaign_id) \
         SELECT 'evt_bench' || g || k.kind, k.kind, $1, 'conv_bench' || g, 0, \
           {BASE_MS} + g * {step} + k.at * ((g * 7919) % 600000) / 1000 + k.after, \
           CASE k.kind \
             WHEN 'queue_wait' THEN (g * 7919) % 600000 \
             WHEN 'first_response' THEN (g * 104729) % 900000 \
             WHEN 'resolution' THEN 600000 + (g * 15485863) % 7200000 \
             ELSE 0 END, \
           NULL, 'team_bench' || (g % 10), \
           CASE WHEN k.kind = 'conversation_started' THEN '' ELSE 'agt_bench' || (g % 200) END, \
           'chacc_bench' || (g % 5), '' \
         FROM generate_series($2::bigint, $3::bigint) g \
         CROSS JOIN (VALUES ('conversation_started', 0, 0), ('conversation_assigned', 1000, 0), \
           ('queue_wait', 1000, 0), ('first_response', 1000, 900000), \
           ('conversation_closed', 1000, 8000000), ('resolution', 1000, 8000000)) \
           AS k(kind, at, after)"
    );
    conn.execute_raw(Statement::from_sql_and_values(
        conn.get_database_backend(),
        sql,
        [org.into(), (from as i64).into(), (to as i64).into()],
    ))
    .await?;
    Ok(())
}

/// The raw aggregate: the same figures straight from the table, grouped by local day.
async fn raw_query(
    conn: &DatabaseConnection,
    org: &str,
    start: i64,
    end: i64,
) -> anyhow::Result<usize> {
    let rows = conn
        .query_all_raw(Statement::from_sql_and_values(
            conn.get_database_backend(),
            "SELECT date_trunc('day', to_timestamp(instant_ms / 1000.0) AT TIME ZONE 'Europe/Madrid') AS d, \
               kind, count(*), \
               percentile_cont(0.5) WITHIN GROUP (ORDER BY value_ms), \
               percentile_cont(0.9) WITHIN GROUP (ORDER BY value_ms), avg(value_ms) \
             FROM report_facts WHERE organization_id = $1 AND instant_ms >= $2 AND instant_ms < $3 \
             GROUP BY 1, 2",
            [org.into(), start.into(), end.into()],
        ))
        .await?;
    Ok(rows.len())
}

fn ts(ms: i64) -> Timestamp {
    Timestamp {
        seconds: ms / 1000,
        nanos: 0,
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n = env_num("BENCH_CONVERSATIONS", 1_000_000);
    let nq = env_num("BENCH_QUERIES", 20);
    let days = env_num("BENCH_RANGE_DAYS", 30) as i64;
    let env = TestEnv::new(Backend::Cluster).await?;
    let suite = env.start(&[Service::Routing, Service::Reporting]).await?;
    let mut routing = RoutingServiceClient::new(suite.channel(Service::Routing).await?);
    let mut reporting = ReportingServiceClient::new(suite.channel(Service::Reporting).await?);
    let rid = || uuid::Uuid::now_v7().simple().to_string();
    let org = routing
        .create_organization(pb::CreateOrganizationRequest {
            request_id: rid(),
            name: "Bench".into(),
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
                display_name: "Ana".into(),
                email: "ana@bench.test".into(),
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

    let conn = db::connect(&env.settings.database, Service::Reporting).await?;
    let loading = Instant::now();
    let chunk = 100_000;
    let mut from = 1;
    while from <= n {
        let to = (from + chunk - 1).min(n);
        load(&conn, &org, n, from, to).await?;
        from = to + 1;
    }
    conn.execute_unprepared("ANALYZE report_facts").await?;
    let load_secs = loading.elapsed().as_secs_f64();
    let facts: i64 = conn
        .query_one_raw(Statement::from_string(
            conn.get_database_backend(),
            "SELECT count(*) AS n FROM report_facts",
        ))
        .await?
        .expect("count")
        .try_get("", "n")?;

    // The last `days` days of the spread, starting at a Madrid midnight.
    let end = BASE_MS + SPREAD_MS - 86_400_000 - 3_600_000;
    let start = end - days * 86_400_000;
    let request = || rp::GetReportRequest {
        organization_id: org.clone(),
        actor_agent_id: admin.clone(),
        time_range: Some(TimeRange {
            start_time: Some(ts(start)),
            end_time: Some(ts(end)),
        }),
        time_zone: "Europe/Madrid".into(),
        granularity: rp::Granularity::Day as i32,
        filter: None,
        breakdown: rp::Breakdown::Unspecified as i32,
    };
    // Warm both paths, then measure one query at a time (latency, not throughput).
    let first = reporting.get_report(request()).await?.into_inner();
    let counted = first.totals[0]
        .figures
        .as_ref()
        .map_or(0, |f| f.conversations_started);
    raw_query(&conn, &org, start, end).await?;
    let mut service = Vec::with_capacity(nq as usize);
    let mut raw = Vec::with_capacity(nq as usize);
    for _ in 0..nq {
        let t = Instant::now();
        reporting.get_report(request()).await?;
        service.push(t.elapsed());
        let t = Instant::now();
        raw_query(&conn, &org, start, end).await?;
        raw.push(t.elapsed());
    }
    service.sort();
    raw.sort();
    let (s50, s99) = (percentile(&service, 0.5), percentile(&service, 0.99));
    let (r50, r99) = (percentile(&raw, 0.5), percentile(&raw, 0.99));
    println!(
        "report query, PostgreSQL, {n} conversations ({facts} facts), {days}-day range by day \
         in Europe/Madrid ({counted} conversations started in it), {nq} queries"
    );
    println!(
        "  bulk load: {load_secs:.1} s ({:.0} facts/s)",
        facts as f64 / load_secs
    );
    println!("| path | p50 ms | p99 ms |");
    println!("| --- | ---: | ---: |");
    println!(
        "| GetReport (gRPC; counts, median/p90/mean of 4 durations, buckets and totals) | {:.1} | {:.1} |",
        ms(s50),
        ms(s99)
    );
    println!(
        "| raw aggregate SQL (date_trunc day, percentile_cont, avg; GROUP BY day, kind) | {:.1} | {:.1} |",
        ms(r50),
        ms(r99)
    );
    println!("ratio report_vs_raw_aggregate_p50 {:.3}", ms(s50) / ms(r50));
    println!("ratio report_vs_raw_aggregate_p99 {:.3}", ms(s99) / ms(r99));
    suite.stop().await
}
