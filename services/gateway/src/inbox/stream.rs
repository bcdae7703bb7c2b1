//! One `StreamInboxEvents` call: what the caller may see (a [`Viewer`]), and the loop that
//! replays the log after the cursor, then follows it live with keepalives.

use std::{collections::HashSet, time::Duration};

use switchboard_proto::gateway::v1::{
    self as pb, InboxEventKind as Kind, InboxScope, inbox_event::Payload,
};
use switchboard_runtime::clock::Clock;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tonic::Status;

use super::{
    Entry,
    cursor::{Cursor, Position},
    log::{InboxLog, LogError},
};

/// Whose events a stream carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Visibility {
    /// Everything of the organization (operators and admins).
    Organization,
    /// What an agent's own tabs show.
    Mine {
        agent_id: String,
        team_ids: HashSet<String>,
        /// Numbers the agent serves (its organization waiting list entries).
        channel_account_ids: HashSet<String>,
    },
}

/// What one stream lets through.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub visibility: Visibility,
    /// Only these kinds; empty for all (KEEPALIVE and RESYNC_REQUIRED always pass).
    pub kinds: HashSet<i32>,
}

impl Viewer {
    /// Whether this stream's caller gets `entry`.
    pub fn sees(&self, entry: &Entry) -> bool {
        let Some(event) = &entry.event else {
            return false;
        };
        if !self.kinds.is_empty() && !self.kinds.contains(&event.kind) {
            return false;
        }
        match &self.visibility {
            Visibility::Organization => true,
            Visibility::Mine {
                agent_id,
                team_ids,
                channel_account_ids,
            } => {
                let Some(audience) = &entry.audience else {
                    return false;
                };
                audience.agents.iter().any(|a| a == agent_id)
                    || (!audience.waiting_team_id.is_empty()
                        && team_ids.contains(&audience.waiting_team_id))
                    || (!audience.waiting_channel_account_id.is_empty()
                        && channel_account_ids.contains(&audience.waiting_channel_account_id))
            }
        }
    }
}

/// The scope and kinds of a request, checked: INVALID_ARGUMENT for unknown values,
/// PERMISSION_DENIED for the organization scope without the operator or admin role.
pub fn validate(
    request: &pb::StreamInboxEventsRequest,
    supervisor: bool,
) -> Result<(InboxScope, HashSet<i32>, Option<Cursor>), Status> {
    use switchboard_runtime::errors::{FieldViolation, invalid_argument};
    let mut violations = Vec::new();
    let scope = InboxScope::try_from(request.scope).unwrap_or_else(|_| {
        violations.push(FieldViolation::new("scope", "unknown scope"));
        InboxScope::Unspecified
    });
    let mut kinds = HashSet::new();
    for &k in &request.kinds {
        match Kind::try_from(k) {
            Ok(Kind::Unspecified) | Err(_) => {
                violations.push(FieldViolation::new("kinds", format!("unknown kind {k}")));
            }
            Ok(_) => {
                kinds.insert(k);
            }
        }
    }
    let cursor = if request.resume_cursor.is_empty() {
        None
    } else {
        match Cursor::decode(&request.resume_cursor) {
            Ok(c) => Some(c),
            Err(e) => {
                violations.push(FieldViolation::new("resume_cursor", e.to_string()));
                None
            }
        }
    };
    if !violations.is_empty() {
        return Err(invalid_argument(&violations));
    }
    if scope == InboxScope::Organization && !supervisor {
        return Err(Status::permission_denied(
            "the organization scope needs the operator or admin role",
        ));
    }
    Ok((scope, kinds, cursor))
}

/// What a running stream needs.
pub struct Run {
    pub log: std::sync::Arc<dyn InboxLog>,
    pub org: String,
    pub viewer: Viewer,
    pub clock: Clock,
    pub keepalive: Duration,
    pub closing: CancellationToken,
    /// `switchboard_gateway_inbox_resyncs_total{cause}`.
    pub resyncs: prometheus::IntCounterVec,
}

/// Entries read from the log at once.
const BATCH: usize = 200;

fn response(event: pb::InboxEvent) -> Result<pb::StreamInboxEventsResponse, Status> {
    Ok(pb::StreamInboxEventsResponse { event: Some(event) })
}

fn keepalive(cursor: Cursor) -> pb::InboxEvent {
    pb::InboxEvent {
        event_id: String::new(),
        cursor: cursor.encode(),
        kind: Kind::Keepalive as i32,
        event_time: None,
        actor: None,
        payload: Some(Payload::Keepalive(())),
    }
}

/// RESYNC_REQUIRED at `cursor` (the log's head when it was decided).
pub fn resync(cursor: Cursor, reason: &str) -> pb::InboxEvent {
    pb::InboxEvent {
        event_id: String::new(),
        cursor: cursor.encode(),
        kind: Kind::ResyncRequired as i32,
        event_time: None,
        actor: None,
        payload: Some(Payload::ResyncRequired(pb::ResyncRequiredEvent {
            reason: reason.to_string(),
        })),
    }
}

impl Run {
    /// Streams into `tx` from `start` (after a RESYNC_REQUIRED first when `resync` says why)
    /// until the client goes away, the server shuts down or the log fails (an UNAVAILABLE
    /// status then ends the stream; the client resumes with its last cursor).
    pub async fn stream(
        self,
        mut start: Position,
        resync_reason: Option<String>,
        tx: mpsc::Sender<Result<pb::StreamInboxEventsResponse, Status>>,
    ) {
        let mut changes = self.log.changes(&self.org);
        if let Some(reason) = resync_reason {
            let at = Cursor {
                position: start,
                asof_ms: self.clock.now_ms(),
            };
            if tx.send(response(resync(at, &reason))).await.is_err() {
                return;
            }
        }
        let mut last_sent = tokio::time::Instant::now();
        loop {
            let read = tokio::select! {
                _ = self.closing.cancelled() => return,
                read = self.log.read_after(&self.org, start, BATCH) => read,
            };
            match read {
                Ok(batch) if !batch.is_empty() => {
                    for (position, appended_ms, entry) in batch {
                        start = position;
                        if !self.viewer.sees(&entry) {
                            continue;
                        }
                        let Some(mut event) = entry.event else {
                            continue;
                        };
                        event.cursor = Cursor {
                            position,
                            asof_ms: appended_ms,
                        }
                        .encode();
                        if tx.send(response(event)).await.is_err() {
                            return;
                        }
                        last_sent = tokio::time::Instant::now();
                    }
                    if last_sent.elapsed() < self.keepalive {
                        continue;
                    }
                }
                Ok(_) => {}
                Err(LogError::Trimmed) => {
                    // This reader fell behind what the log keeps.
                    let head = match self.log.head(&self.org).await {
                        Ok(h) => h,
                        Err(e) => {
                            let _ = tx.send(Err(unavailable(&e))).await;
                            return;
                        }
                    };
                    start = head;
                    let at = Cursor {
                        position: head,
                        asof_ms: self.clock.now_ms(),
                    };
                    let reason = "the stream fell behind retention";
                    self.resyncs.with_label_values(&["behind"]).inc();
                    if tx.send(response(resync(at, reason))).await.is_err() {
                        return;
                    }
                    last_sent = tokio::time::Instant::now();
                    continue;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "inbox stream: log read failed");
                    let _ = tx.send(Err(unavailable(&e))).await;
                    return;
                }
            }
            let due = last_sent + self.keepalive;
            if tokio::time::Instant::now() >= due {
                let at = Cursor {
                    position: start,
                    asof_ms: self.clock.now_ms(),
                };
                if tx.send(response(keepalive(at))).await.is_err() {
                    return;
                }
                last_sent = tokio::time::Instant::now();
                continue;
            }
            tokio::select! {
                _ = self.closing.cancelled() => return,
                _ = tx.closed() => return,
                _ = changes.changed() => {}
                _ = tokio::time::sleep_until(due) => {}
            }
        }
    }
}

fn unavailable(e: &LogError) -> Status {
    switchboard_runtime::errors::unavailable(&format!("inbox log: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inbox::Audience;

    fn entry(kind: Kind, audience: Audience) -> Entry {
        Entry {
            event: Some(pb::InboxEvent {
                event_id: "evt_1".into(),
                kind: kind as i32,
                ..Default::default()
            }),
            audience: Some(audience),
        }
    }

    fn mine() -> Viewer {
        Viewer {
            visibility: Visibility::Mine {
                agent_id: "agt_me".into(),
                team_ids: ["team_mine".to_string()].into(),
                channel_account_ids: ["chacc_mine".to_string()].into(),
            },
            kinds: HashSet::new(),
        }
    }

    #[test]
    fn an_agent_sees_what_it_holds_held_or_could_pick_and_nothing_else() {
        let me = mine();
        let held = Audience {
            agents: vec!["agt_other".into(), "agt_me".into()],
            ..Default::default()
        };
        assert!(me.sees(&entry(Kind::ConversationAssigned, held)));
        let others = Audience {
            agents: vec!["agt_other".into()],
            ..Default::default()
        };
        assert!(!me.sees(&entry(Kind::ConversationAssigned, others.clone())));
        let my_queue = Audience {
            waiting_team_id: "team_mine".into(),
            ..Default::default()
        };
        assert!(me.sees(&entry(Kind::ConversationQueued, my_queue)));
        let other_queue = Audience {
            waiting_team_id: "team_other".into(),
            ..Default::default()
        };
        assert!(!me.sees(&entry(Kind::ConversationQueued, other_queue)));
        let my_number = Audience {
            waiting_channel_account_id: "chacc_mine".into(),
            ..Default::default()
        };
        assert!(me.sees(&entry(Kind::ConversationQueued, my_number)));
        let org = Viewer {
            visibility: Visibility::Organization,
            kinds: HashSet::new(),
        };
        assert!(org.sees(&entry(Kind::ConversationAssigned, others)));
    }

    #[test]
    fn the_kinds_filter_keeps_only_the_kinds_asked_for() {
        let mut me = mine();
        me.kinds = [Kind::ConversationAssigned as i32].into();
        let held = Audience {
            agents: vec!["agt_me".into()],
            ..Default::default()
        };
        assert!(me.sees(&entry(Kind::ConversationAssigned, held.clone())));
        assert!(!me.sees(&entry(Kind::PresenceChanged, held)));
    }

    #[test]
    fn requests_are_checked_field_by_field_and_the_org_scope_needs_a_supervisor() {
        let ok = pb::StreamInboxEventsRequest::default();
        assert!(validate(&ok, false).is_ok());
        let org = pb::StreamInboxEventsRequest {
            scope: InboxScope::Organization as i32,
            ..Default::default()
        };
        assert_eq!(
            validate(&org, false).expect_err("agent").code(),
            tonic::Code::PermissionDenied
        );
        assert!(validate(&org, true).is_ok());
        let bad = pb::StreamInboxEventsRequest {
            resume_cursor: "not a cursor!".into(),
            ..Default::default()
        };
        let status = validate(&bad, true).expect_err("malformed");
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        assert!(status.message().starts_with("resume_cursor:"), "{status:?}");
        let kinds = pb::StreamInboxEventsRequest {
            kinds: vec![0],
            ..Default::default()
        };
        assert_eq!(
            validate(&kinds, true).expect_err("kind").code(),
            tonic::Code::InvalidArgument
        );
    }
}
