//! Suite-level integration tests: real services over real gRPC, on the embedded default (SQLite,
//! in-process bus) and on the cluster setup (PostgreSQL, Redis). Every behaviour runs on both.

mod automatic_messages;
mod channel_contacts;
mod channel_send;
mod channel_support;
mod channel_webhook;
mod channel_window;
mod cluster_nonroot;
mod cluster_rolling_restart;
mod cluster_support;
mod contracts_replay;
mod contracts_tenancy;
mod dead_letters;
mod gateway_admin;
mod gateway_auth;
mod gateway_browser;
mod gateway_console;
mod gateway_coverage;
mod gateway_forwarding;
mod gateway_inbox;
mod gateway_integrations;
mod gateway_limits;
mod gateway_messages;
mod gateway_reports;
mod gateway_supervision;
mod gateway_support;
mod health;
mod integrations;
mod integrations_support;
mod loadgen;
mod metrics;
mod organizations;
mod outbox;
mod paging;
mod presence;
mod reporting_live;
mod reporting_reports;
mod routing_config;
mod routing_contracts;
mod routing_flow;
mod routing_liveness;
mod routing_queue_property;
mod routing_replicas;
mod routing_rules;
mod routing_support;
mod routing_work_items;
mod ticketing;
mod ticketing_close;
mod ticketing_replicas;
mod ticketing_support;

/// Runs an async test body once per backend, as `<name>::embedded` and `<name>::cluster`.
#[macro_export]
macro_rules! on_both_backends {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn embedded() {
                super::$name(switchboard_testkit::Backend::Embedded)
                    .await
                    .expect("embedded backend");
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn cluster() {
                super::$name(switchboard_testkit::Backend::Cluster)
                    .await
                    .expect("cluster backend");
            }
        }
    };
}
