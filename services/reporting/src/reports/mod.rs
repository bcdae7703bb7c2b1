//! Reporting facts, written as events are consumed (idempotent by event id), and the reports
//! built from them: counts and durations over a time range in a time zone, a leaderboard of
//! agents, CSV. A report reads only `report_facts` (and the tags captured at each
//! conversation's start), never another service's tables.
//!
//! - [`facts`]: what each event means as facts (pure).
//! - [`buckets`], [`report`], [`csv`]: buckets in a zone, statistics, rows, CSV (pure).
//! - [`store`]: facts in storage and the aggregate queries.
//! - [`consumer`]: the `reporting.facts` consumer group.
//! - [`directory`], [`calendar`]: roles and contact tags from routing and channel; business
//!   hours.

pub mod buckets;
pub mod calendar;
pub mod consumer;
pub mod csv;
pub mod directory;
pub mod error;
pub mod facts;
pub mod migration;
pub mod report;
pub mod store;

use std::sync::Arc;

use calendar::BusinessCalendar;
use directory::{Directory, Role};
use error::ReportsError;
use report::{Breakdown, Filter, LeaderboardRow, Report, ReportQuery};
use store::{FactQuery, Store};

/// The reports' logic.
#[derive(Clone)]
pub struct Reports {
    pub(crate) store: Store,
    pub(crate) directory: Arc<dyn Directory>,
    pub(crate) calendar: Arc<dyn BusinessCalendar>,
}

impl Reports {
    pub fn new(
        store: Store,
        directory: Arc<dyn Directory>,
        calendar: Arc<dyn BusinessCalendar>,
    ) -> Self {
        Self {
            store,
            directory,
            calendar,
        }
    }

    /// Only an operator or admin of the organization reads reports.
    pub async fn authorize(&self, org: &str, actor: &str) -> Result<(), ReportsError> {
        match self.directory.role(org, actor).await? {
            Some(role) if role >= Role::Operator => Ok(()),
            Some(_) => Err(ReportsError::denied("reports are for operators and admins")),
            None => Err(ReportsError::denied(
                "the actor is not an agent of this organization",
            )),
        }
    }

    /// The zone asked for, else the organization's business-hours zone, else UTC.
    async fn zone(
        &self,
        org: &str,
        asked: Option<chrono_tz::Tz>,
    ) -> Result<chrono_tz::Tz, ReportsError> {
        if let Some(tz) = asked {
            return Ok(tz);
        }
        Ok(self
            .calendar
            .schedule(org, "")
            .await?
            .map_or(chrono_tz::UTC, |s| s.time_zone()))
    }

    /// A report (the caller was authorized).
    pub async fn report(&self, org: &str, q: &ReportQuery) -> Result<Report, ReportsError> {
        let tz = self.zone(org, q.time_zone).await?;
        let (start, end) = (
            chrono::DateTime::from_timestamp_millis(q.start_ms).unwrap_or_default(),
            chrono::DateTime::from_timestamp_millis(q.end_ms).unwrap_or_default(),
        );
        let buckets = buckets::buckets(start, end, tz, q.granularity);
        let starts: Vec<i64> = buckets.iter().map(|b| b.start_ms).collect();
        let aggregates = self
            .store
            .aggregates(&FactQuery {
                organization_id: org,
                start_ms: q.start_ms,
                end_ms: q.end_ms,
                filter: &q.filter,
                breakdown: q.breakdown,
                bucket_starts: &starts,
            })
            .await?;
        Ok(report::assemble(
            &buckets,
            &aggregates,
            q.breakdown,
            tz.name(),
        ))
    }

    /// The leaderboard over `[start_ms, end_ms)` (the caller was authorized).
    pub async fn leaderboard(
        &self,
        org: &str,
        start_ms: i64,
        end_ms: i64,
        filter: &Filter,
    ) -> Result<Vec<LeaderboardRow>, ReportsError> {
        let aggregates = self
            .store
            .aggregates(&FactQuery {
                organization_id: org,
                start_ms,
                end_ms,
                filter,
                breakdown: Breakdown::Agent,
                bucket_starts: &[start_ms],
            })
            .await?;
        let totals = report::assemble(&[], &aggregates, Breakdown::Agent, "UTC").totals;
        Ok(report::leaderboard(&totals))
    }
}
