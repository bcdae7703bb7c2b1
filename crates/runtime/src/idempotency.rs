//! Idempotency keys of creates and commands: a retried call (same organization, method and
//! request id) answers with what the first call made instead of doing it again. Each service
//! creates the `idempotency_keys` table in its own migrations:
//! `(organization_id, method, request_id) → result_id, created_ms`.

use sea_orm::{ActiveValue::Set, ConnectionTrait, DbErr, EntityTrait, sea_query::OnConflict};

use crate::ids::OrganizationId;

/// The `idempotency_keys` table.
pub mod entity {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "idempotency_keys")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub organization_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub method: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub request_id: String,
        pub result_id: String,
        pub created_ms: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// What the first call with this key recorded, if any.
pub async fn recall<C: ConnectionTrait>(
    conn: &C,
    org: &OrganizationId,
    method: &str,
    request_id: &str,
) -> Result<Option<String>, DbErr> {
    Ok(
        entity::Entity::find_by_id((org.to_string(), method.to_string(), request_id.to_string()))
            .one(conn)
            .await?
            .map(|row| row.result_id),
    )
}

/// Records the key (in the caller's transaction, when there is one). Returns false when a
/// concurrent call with the same key recorded it first (roll back and answer with [`recall`]).
pub async fn remember<C: ConnectionTrait>(
    conn: &C,
    org: &OrganizationId,
    method: &str,
    request_id: &str,
    result_id: &str,
    now_ms: i64,
) -> Result<bool, DbErr> {
    let inserted = entity::Entity::insert(entity::ActiveModel {
        organization_id: Set(org.to_string()),
        method: Set(method.to_string()),
        request_id: Set(request_id.to_string()),
        result_id: Set(result_id.to_string()),
        created_ms: Set(now_ms),
    })
    .on_conflict(
        OnConflict::columns([
            entity::Column::OrganizationId,
            entity::Column::Method,
            entity::Column::RequestId,
        ])
        .do_nothing()
        .to_owned(),
    )
    .exec_without_returning(conn)
    .await?;
    Ok(inserted == 1)
}

/// Replayable calls: `(organization, method, request_id)` → a fingerprint of the request and
/// the answer, so every mutating RPC keeps `common.proto`'s promise in one place. Same key and
/// body: the first answer, without a second effect (also when other calls changed the same
/// things meanwhile). Same key, another body: INVALID_ARGUMENT `IDEMPOTENCY_KEY_REUSED`. A
/// call still running under the key: ABORTED (retry). Keys last 24 hours.
///
/// The key is claimed before the effect and its answer stored after it, so a process dying in
/// between leaves a claim that another call may take over after [`CLAIM_LEASE_MS`]; a failed
/// call frees its key so a retry runs again.
pub mod calls {
    use std::future::Future;

    use prost::Message;
    use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, Statement, Value as DbValue};
    use sha2::{Digest, Sha256};
    use tonic::Status;

    use crate::{clock::Clock, errors};

    /// How long a key is remembered.
    pub const KEY_TTL_MS: i64 = 24 * 3600 * 1000;
    /// How long a claimed key whose call never finished blocks its retries.
    pub const CLAIM_LEASE_MS: i64 = 30_000;

    /// A mutating request: the organization it acts in and its idempotency key.
    pub trait Keyed: Message + Clone {
        fn organization_id(&self) -> &str;
        fn request_id(&self) -> &str;
        /// The request without its key (what the fingerprint covers).
        fn without_request_id(&self) -> Self;
        /// Whether the proto documents `request_id` as optional (a naturally idempotent
        /// call); a required key that is empty is INVALID_ARGUMENT before anything runs.
        const KEY_OPTIONAL: bool = false;
    }

    /// Implements [`Keyed`] for request messages with `organization_id` and `request_id`
    /// (required); `keyed!(optional: …)` for those whose proto says the key is optional.
    #[macro_export]
    macro_rules! keyed {
        (optional: $($t:ty),+ $(,)?) => {$(
            $crate::keyed!(@impl $t, true);
        )+};
        ($($t:ty),+ $(,)?) => {$(
            $crate::keyed!(@impl $t, false);
        )+};
        (@impl $t:ty, $optional:literal) => {
            impl $crate::idempotency::calls::Keyed for $t {
                const KEY_OPTIONAL: bool = $optional;
                fn organization_id(&self) -> &str {
                    &self.organization_id
                }
                fn request_id(&self) -> &str {
                    &self.request_id
                }
                fn without_request_id(&self) -> Self {
                    let mut r = self.clone();
                    r.request_id.clear();
                    r
                }
            }
        };
    }

    crate::keyed!(
        switchboard_proto::routing::v1::UpdateOrganizationRequest,
        switchboard_proto::routing::v1::CreateAgentRequest,
        switchboard_proto::routing::v1::UpdateAgentRequest,
        switchboard_proto::routing::v1::DeleteAgentRequest,
        switchboard_proto::routing::v1::CreateTeamRequest,
        switchboard_proto::routing::v1::UpdateTeamRequest,
        switchboard_proto::routing::v1::DeleteTeamRequest,
        switchboard_proto::routing::v1::AddTeamMemberRequest,
        switchboard_proto::routing::v1::RemoveTeamMemberRequest,
        switchboard_proto::routing::v1::UpdateChannelAccountRoutingRequest,
        switchboard_proto::routing::v1::CreateCampaignRequest,
        switchboard_proto::routing::v1::UpdateCampaignRequest,
        switchboard_proto::routing::v1::DeleteCampaignRequest,
        switchboard_proto::routing::v1::AddContactOwnerRequest,
        switchboard_proto::routing::v1::RemoveContactOwnerRequest,
        switchboard_proto::routing::v1::UpdateBusinessHoursRequest,
        switchboard_proto::routing::v1::UpdateAutomaticMessagesRequest,
        switchboard_proto::routing::v1::StartConversationRequest,
        switchboard_proto::routing::v1::PickConversationRequest,
        switchboard_proto::routing::v1::OpenConversationRequest,
        switchboard_proto::routing::v1::CloseConversationRequest,
        switchboard_proto::routing::v1::FinalizeConversationRequest,
        switchboard_proto::routing::v1::TransferConversationRequest,
        switchboard_proto::routing::v1::UpdateConversationFormRequest,
        switchboard_proto::routing::v1::RouteWorkItemRequest,
        switchboard_proto::routing::v1::AcceptWorkItemRequest,
        switchboard_proto::routing::v1::CompleteWorkItemRequest,
        switchboard_proto::routing::v1::CancelWorkItemRequest,
        switchboard_proto::channel::v1::CreateChannelAccountRequest,
        switchboard_proto::channel::v1::UpdateChannelAccountRequest,
        switchboard_proto::channel::v1::DeleteChannelAccountRequest,
        switchboard_proto::channel::v1::CreateContactRequest,
        switchboard_proto::channel::v1::UpdateContactRequest,
        switchboard_proto::channel::v1::AddContactTagsRequest,
        switchboard_proto::channel::v1::RemoveContactTagsRequest,
        switchboard_proto::channel::v1::SendTextMessageRequest,
        switchboard_proto::channel::v1::SendMediaMessageRequest,
        switchboard_proto::channel::v1::SendReactionRequest,
        switchboard_proto::channel::v1::SendTemplateMessageRequest,
        switchboard_proto::channel::v1::MarkMessageReadRequest,
        switchboard_proto::channel::v1::UploadMediaRequest,
        switchboard_proto::channel::v1::SendCampaignRequest,
        switchboard_proto::channel::v1::SyncTemplatesRequest,
        switchboard_proto::ticketing::v1::CreateTicketRequest,
        switchboard_proto::ticketing::v1::UpdateTicketRequest,
        switchboard_proto::ticketing::v1::AddTicketCommentRequest,
        switchboard_proto::ticketing::v1::LinkConversationRequest,
        switchboard_proto::ticketing::v1::UnlinkConversationRequest,
        switchboard_proto::ticketing::v1::UpdateClosePolicyRequest,
        switchboard_proto::ticketing::v1::ConfirmTicketProposalRequest,
        switchboard_proto::ticketing::v1::RejectTicketProposalRequest,
        switchboard_proto::integrations::v1::CreateWebhookEndpointRequest,
        switchboard_proto::integrations::v1::UpdateWebhookEndpointRequest,
        switchboard_proto::integrations::v1::DeleteWebhookEndpointRequest,
        switchboard_proto::integrations::v1::RotateWebhookEndpointSecretRequest,
        switchboard_proto::integrations::v1::ReplayWebhookDeliveryRequest,
    );

    crate::keyed!(
        optional: switchboard_proto::routing::v1::RecordCustomerMessageRequest,
        switchboard_proto::routing::v1::RecordAgentReplyRequest,
        switchboard_proto::routing::v1::NotifySlotFreedRequest,
        switchboard_proto::routing::v1::NotifyAgentOfflineRequest,
        switchboard_proto::presence::v1::HeartbeatRequest,
        switchboard_proto::presence::v1::ReserveRequest,
        switchboard_proto::presence::v1::ReleaseRequest,
        switchboard_proto::ticketing::v1::AppendConversationHistoryRequest,
        switchboard_proto::ticketing::v1::ProposeTicketLinkRequest,
    );
    crate::keyed!(
        switchboard_proto::presence::v1::SetStatusRequest,
        switchboard_proto::presence::v1::SetCapacityRequest,
        switchboard_proto::presence::v1::SyncAgentRequest,
        switchboard_proto::presence::v1::RemoveAgentRequest,
        switchboard_proto::presence::v1::RebuildLoadsRequest,
    );

    /// Organizations are created outside any organization: their keys live in the empty one.
    impl Keyed for switchboard_proto::routing::v1::CreateOrganizationRequest {
        fn organization_id(&self) -> &str {
            ""
        }
        fn request_id(&self) -> &str {
            &self.request_id
        }
        fn without_request_id(&self) -> Self {
            Self {
                request_id: String::new(),
                ..self.clone()
            }
        }
    }

    /// In a gRPC adapter with `app` and `calls` fields: runs the mutating RPC body
    /// `$module::$method(&app, request)` through [`Calls::run`] under the method's name, so a
    /// retry with the same body gets the first answer and another body under the same key
    /// INVALID_ARGUMENT.
    #[macro_export]
    macro_rules! replay {
        ($self:ident, $module:ident :: $method:ident, $request:ident, $name:literal) => {{
            let app = &$self.app;
            $self
                .calls
                .run($name, $request.into_inner(), |r| async move {
                    $module::$method(app, r)
                        .await
                        .map_err(::tonic::Status::from)
                })
                .await
                .map(::tonic::Response::new)
        }};
    }

    /// The fingerprint of a request under a method: SHA-256 of its encoding without the key.
    pub fn fingerprint<R: Keyed>(method: &str, request: &R) -> String {
        let mut hash = Sha256::new();
        hash.update(method.as_bytes());
        hash.update([0]);
        hash.update(request.without_request_id().encode_to_vec());
        hex::encode(hash.finalize())
    }

    /// What a key says when a call claims it.
    #[derive(Debug, PartialEq, Eq)]
    enum Claim {
        /// This call runs the effect.
        Fresh,
        /// A call with the same body answered this (prost bytes).
        Answered(Vec<u8>),
        /// The key was used with another body.
        Reused,
        /// A call with the same key is running.
        InProgress,
    }

    /// The replay store of one service (its `idempotent_calls` table).
    #[derive(Clone)]
    pub struct Calls {
        db: DatabaseConnection,
        clock: Clock,
    }

    impl Calls {
        pub fn new(db: DatabaseConnection, clock: Clock) -> Self {
            Self { db, clock }
        }

        /// Runs `effect` once per key: a retry with the same body gets the first answer.
        /// A request without a key is INVALID_ARGUMENT (`request_id`), unless its key is
        /// optional: then it runs as it is.
        pub async fn run<Req, Resp, F, Fut>(
            &self,
            method: &'static str,
            request: Req,
            effect: F,
        ) -> Result<Resp, Status>
        where
            Req: Keyed,
            Resp: Message + Default,
            F: FnOnce(Req) -> Fut,
            Fut: Future<Output = Result<Resp, Status>>,
        {
            if request.request_id().trim().is_empty() {
                if Req::KEY_OPTIONAL {
                    return effect(request).await;
                }
                return Err(errors::invalid_argument(&[errors::FieldViolation::new(
                    "request_id",
                    "is required: a client-generated idempotency key of 1 to 128 characters",
                )]));
            }
            let org = request.organization_id().to_string();
            let key = request.request_id().to_string();
            let print = fingerprint(method, &request);
            let claimed = self
                .claim(&org, method, &key, &print)
                .await
                .map_err(|e| storage(&e))?;
            match claimed {
                Claim::Answered(bytes) => {
                    Resp::decode(bytes.as_slice()).map_err(|e| errors::internal(&e))
                }
                Claim::Reused => Err(reused()),
                Claim::InProgress => Err(errors::reasoned(
                    errors::Reason::ConcurrentUpdate,
                    "a call with this request_id is still running; retry it",
                )),
                Claim::Fresh => match effect(request).await {
                    Ok(response) => {
                        if let Err(e) = self
                            .answer(&org, method, &key, &response.encode_to_vec())
                            .await
                        {
                            // The effect happened: answer it; a retry within the lease gets
                            // ABORTED, after it runs again (the inner checks still hold).
                            tracing::warn!(method, error = %e, "idempotent answer not stored");
                        }
                        Ok(response)
                    }
                    Err(status) => {
                        if let Err(e) = self.release(&org, method, &key).await {
                            tracing::warn!(method, error = %e, "idempotency claim not released");
                        }
                        Err(status)
                    }
                },
            }
        }

        fn stmt(&self, sql: &str, values: Vec<DbValue>) -> Statement {
            crate::db::statement(self.db.get_database_backend(), sql, values)
        }

        async fn claim(
            &self,
            org: &str,
            method: &str,
            key: &str,
            print: &str,
        ) -> Result<Claim, DbErr> {
            let now = self.clock.now_ms();
            for _ in 0..3 {
                let inserted = self
                    .db
                    .execute_raw(self.stmt(
                        "INSERT INTO idempotent_calls (organization_id, method, request_id, fingerprint, response, created_ms, updated_ms) \
                         VALUES (?, ?, ?, ?, NULL, ?, ?) ON CONFLICT DO NOTHING",
                        vec![
                            org.into(),
                            method.into(),
                            key.into(),
                            print.into(),
                            now.into(),
                            now.into(),
                        ],
                    ))
                    .await?
                    .rows_affected();
                if inserted == 1 {
                    return Ok(Claim::Fresh);
                }
                let Some(row) = self
                    .db
                    .query_one_raw(self.stmt(
                        "SELECT fingerprint, response, created_ms, updated_ms FROM idempotent_calls \
                         WHERE organization_id = ? AND method = ? AND request_id = ?",
                        vec![org.into(), method.into(), key.into()],
                    ))
                    .await?
                else {
                    continue;
                };
                let stored: String = row.try_get("", "fingerprint")?;
                let response: Option<String> = row.try_get("", "response")?;
                let created: i64 = row.try_get("", "created_ms")?;
                let updated: i64 = row.try_get("", "updated_ms")?;
                let expired = created < now - KEY_TTL_MS;
                let abandoned = response.is_none() && updated < now - CLAIM_LEASE_MS;
                if expired || abandoned {
                    // Take the key over: only one caller's update matches the old stamp.
                    let taken = self
                        .db
                        .execute_raw(self.stmt(
                            "UPDATE idempotent_calls SET fingerprint = ?, response = NULL, created_ms = ?, updated_ms = ? \
                             WHERE organization_id = ? AND method = ? AND request_id = ? AND updated_ms = ?",
                            vec![
                                print.into(),
                                now.into(),
                                now.into(),
                                org.into(),
                                method.into(),
                                key.into(),
                                updated.into(),
                            ],
                        ))
                        .await?
                        .rows_affected();
                    if taken == 1 {
                        return Ok(Claim::Fresh);
                    }
                    continue;
                }
                if stored != print {
                    return Ok(Claim::Reused);
                }
                return Ok(match response {
                    Some(hex_bytes) => Claim::Answered(
                        hex::decode(hex_bytes)
                            .map_err(|e| DbErr::Custom(format!("stored answer: {e}")))?,
                    ),
                    None => Claim::InProgress,
                });
            }
            Ok(Claim::InProgress)
        }

        async fn answer(
            &self,
            org: &str,
            method: &str,
            key: &str,
            response: &[u8],
        ) -> Result<(), DbErr> {
            self.db
                .execute_raw(self.stmt(
                    "UPDATE idempotent_calls SET response = ?, updated_ms = ? \
                     WHERE organization_id = ? AND method = ? AND request_id = ?",
                    vec![
                        hex::encode(response).into(),
                        self.clock.now_ms().into(),
                        org.into(),
                        method.into(),
                        key.into(),
                    ],
                ))
                .await?;
            Ok(())
        }

        async fn release(&self, org: &str, method: &str, key: &str) -> Result<(), DbErr> {
            self.db
                .execute_raw(self.stmt(
                    "DELETE FROM idempotent_calls \
                     WHERE organization_id = ? AND method = ? AND request_id = ? AND response IS NULL",
                    vec![org.into(), method.into(), key.into()],
                ))
                .await?;
            Ok(())
        }

        /// Forgets expired keys every `every` until `shutdown`: the service's upkeep task.
        pub fn keep_forgetting(
            &self,
            every: std::time::Duration,
            shutdown: tokio_util::sync::CancellationToken,
        ) -> tokio::task::JoinHandle<()> {
            let calls = self.clone();
            tokio::spawn(async move {
                loop {
                    tokio::select! {
                        _ = shutdown.cancelled() => return,
                        _ = tokio::time::sleep(every) => {}
                    }
                    match calls.forget_expired().await {
                        Ok(0) => {}
                        Ok(n) => {
                            tracing::debug!(forgotten = n, "expired idempotency keys forgotten")
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "forgetting expired idempotency keys failed")
                        }
                    }
                }
            })
        }

        /// Forgets keys older than [`KEY_TTL_MS`]; returns how many.
        pub async fn forget_expired(&self) -> Result<u64, DbErr> {
            Ok(self
                .db
                .execute_raw(self.stmt(
                    "DELETE FROM idempotent_calls WHERE created_ms < ?",
                    vec![(self.clock.now_ms() - KEY_TTL_MS).into()],
                ))
                .await?
                .rows_affected())
        }
    }

    fn reused() -> Status {
        let mut err = errors::ServiceError::new(
            errors::Reason::IdempotencyKeyReused,
            "request_id: already used with a different request",
        );
        err.field_violations.push(errors::FieldViolation::new(
            "request_id",
            "already used with a different request; use a new request_id for a new request",
        ));
        err.into()
    }

    fn storage(e: &DbErr) -> Status {
        if errors::is_connection_error(e) {
            errors::unavailable(e)
        } else {
            errors::internal(e)
        }
    }

    /// The `idempotent_calls` table, in each service's own migrations.
    pub const CREATE_IDEMPOTENT_CALLS: crate::db::SqlMigration = crate::db::SqlMigration {
        name: "m0100_create_idempotent_calls",
        up: &[
            "CREATE TABLE IF NOT EXISTS idempotent_calls (
                organization_id TEXT NOT NULL,
                method TEXT NOT NULL,
                request_id TEXT NOT NULL,
                fingerprint TEXT NOT NULL,
                response TEXT NULL,
                created_ms BIGINT NOT NULL,
                updated_ms BIGINT NOT NULL,
                PRIMARY KEY (organization_id, method, request_id))",
            "CREATE INDEX IF NOT EXISTS idempotent_calls_age ON idempotent_calls (created_ms)",
        ],
        down: &["DROP TABLE idempotent_calls"],
    };

    #[cfg(test)]
    mod tests {
        use super::*;

        #[derive(Clone, PartialEq, prost::Message)]
        struct Req {
            #[prost(string, tag = "1")]
            request_id: String,
            #[prost(string, tag = "2")]
            organization_id: String,
            #[prost(string, tag = "3")]
            name: String,
        }
        crate::keyed!(Req);

        fn req(key: &str, name: &str) -> Req {
            Req {
                request_id: key.into(),
                organization_id: "org_1".into(),
                name: name.into(),
            }
        }

        #[test]
        fn the_fingerprint_covers_the_body_and_method_not_the_key() {
            assert_eq!(
                fingerprint("M", &req("a", "x")),
                fingerprint("M", &req("b", "x"))
            );
            assert_ne!(
                fingerprint("M", &req("a", "x")),
                fingerprint("M", &req("a", "y"))
            );
            assert_ne!(
                fingerprint("M", &req("a", "x")),
                fingerprint("N", &req("a", "x"))
            );
        }

        async fn calls() -> Calls {
            let db = sea_orm::Database::connect("sqlite::memory:")
                .await
                .expect("sqlite");
            let manager = sea_orm_migration::SchemaManager::new(&db);
            sea_orm_migration::MigrationTrait::up(&CREATE_IDEMPOTENT_CALLS, &manager)
                .await
                .expect("migrated");
            Calls::new(db, Clock::default())
        }

        #[tokio::test]
        async fn same_key_same_body_answers_once_other_body_is_refused() {
            let calls = calls().await;
            let effects = std::sync::atomic::AtomicUsize::new(0);
            let run = |r: Req| {
                let effects = &effects;
                calls.run("Create", r, move |r: Req| async move {
                    let n = effects.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    Ok::<_, Status>(Req {
                        name: format!("{}#{n}", r.name),
                        ..r
                    })
                })
            };
            let first = run(req("k1", "ana")).await.expect("first");
            let again = run(req("k1", "ana")).await.expect("replayed");
            assert_eq!(first, again, "the first answer");
            assert_eq!(
                effects.load(std::sync::atomic::Ordering::SeqCst),
                1,
                "one effect"
            );
            let reused = run(req("k1", "beto")).await.expect_err("another body");
            assert_eq!(reused.code(), tonic::Code::InvalidArgument);
            use tonic_types::StatusExt;
            assert_eq!(
                reused.get_details_error_info().expect("info").reason,
                "ERROR_REASON_IDEMPOTENCY_KEY_REUSED"
            );
            run(req("k2", "beto")).await.expect("a new key runs");
            assert_eq!(effects.load(std::sync::atomic::Ordering::SeqCst), 2);
        }

        #[tokio::test]
        async fn a_failed_call_frees_its_key_and_expired_keys_run_again() {
            let calls = calls().await;
            let failed = calls
                .run("Create", req("k", "ana"), |_| async {
                    Err::<Req, _>(Status::unavailable("down"))
                })
                .await;
            assert!(failed.is_err());
            let ok = calls
                .run("Create", req("k", "ana"), |r| async { Ok::<_, Status>(r) })
                .await
                .expect("the retry runs");
            assert_eq!(ok.name, "ana");
            calls
                .clock
                .advance(std::time::Duration::from_millis((KEY_TTL_MS + 1) as u64));
            let other = calls
                .run("Create", req("k", "beto"), |r| async { Ok::<_, Status>(r) })
                .await
                .expect("an expired key is free again");
            assert_eq!(other.name, "beto");
            assert_eq!(calls.forget_expired().await.expect("forget"), 0);
        }
    }
}
