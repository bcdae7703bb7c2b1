//! Ticket numbers under replicas (cluster backend): three ticketing processes on one PostgreSQL
//! database create 1,500 tickets concurrently in one organization (and 300 in another, at the
//! same time): 1..=1500 and 1..=300, each number once.

use std::collections::BTreeSet;

use futures::{StreamExt, stream};
use switchboard_proto::ticketing::v1::{
    self as pb, ticketing_service_client::TicketingServiceClient,
};
use switchboard_runtime::{Service, ids::OrganizationId};
use switchboard_testkit::{Backend, TestEnv};

use crate::{routing_support::rid, ticketing_support::new_ticket};

const TICKETS: usize = 1_500;
const OTHER: usize = 300;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_number_1500_concurrent_tickets_without_gaps_or_duplicates()
-> anyhow::Result<()> {
    let env = TestEnv::new(Backend::Cluster).await?;
    let replicas = [
        env.start(&[Service::Ticketing]).await?,
        env.start(&[Service::Ticketing]).await?,
        env.start(&[Service::Ticketing]).await?,
    ];
    let mut clients = Vec::new();
    for r in &replicas {
        clients.push(TicketingServiceClient::new(
            r.channel(Service::Ticketing).await?,
        ));
    }
    let org = OrganizationId::generate().to_string();
    let other = OrganizationId::generate().to_string();
    let started = std::time::Instant::now();
    let jobs = (0..TICKETS + OTHER).map(|i| {
        let mut client = clients[i % clients.len()].clone();
        let organization_id = if i % 6 == 5 && i / 6 < OTHER {
            other.clone()
        } else {
            org.clone()
        };
        async move {
            let t = client
                .create_ticket(pb::CreateTicketRequest {
                    request_id: rid(),
                    organization_id: organization_id.clone(),
                    actor_agent_id: String::new(),
                    ticket: Some(new_ticket(&format!("Ticket {i}"), "")),
                })
                .await?
                .into_inner()
                .ticket
                .expect("ticket");
            anyhow::Ok((organization_id, t.number))
        }
    });
    let results: Vec<_> = stream::iter(jobs).buffer_unordered(48).collect().await;
    let elapsed = started.elapsed();
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    for r in results {
        let (o, n) = r?;
        if o == org {
            ours.push(n)
        } else {
            theirs.push(n)
        }
    }
    let distinct: BTreeSet<i64> = ours.iter().copied().collect();
    assert_eq!(ours.len(), TICKETS);
    assert_eq!(distinct.len(), TICKETS, "no number given twice");
    assert_eq!(distinct, (1..=TICKETS as i64).collect(), "1..=1500, no gap");
    let distinct: BTreeSet<i64> = theirs.iter().copied().collect();
    assert_eq!(
        distinct,
        (1..=OTHER as i64).collect(),
        "the other organization counts on its own"
    );
    eprintln!(
        "{} tickets over 3 replicas in {:.2} s ({:.0}/s)",
        TICKETS + OTHER,
        elapsed.as_secs_f64(),
        (TICKETS + OTHER) as f64 / elapsed.as_secs_f64()
    );
    for r in replicas {
        r.stop().await?;
    }
    Ok(())
}
