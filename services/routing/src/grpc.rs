//! The gRPC adapter: converts proto messages to domain calls and domain errors to statuses.

use switchboard_proto::routing::v1::{self as pb, routing_service_server::RoutingService};
use switchboard_runtime::ids::OrganizationId;
use tonic::{Request, Response, Status};

use crate::{
    domain::organization::{NewOrganization, Organization},
    error::RoutingError,
    store::Store,
};

/// `switchboard.routing.v1.RoutingService`; RPCs not listed here answer UNIMPLEMENTED until
/// their issue lands.
pub struct RoutingGrpc {
    store: Store,
}

impl RoutingGrpc {
    pub fn new(store: Store) -> Self {
        Self { store }
    }
}

fn parse_org(field: &str, value: &str) -> Result<OrganizationId, RoutingError> {
    OrganizationId::parse(value).map_err(|e| RoutingError::field(field, &e.to_string()))
}

fn to_pb(org: Organization) -> pb::Organization {
    pb::Organization {
        id: org.id.to_string(),
        name: org.name,
        default_agent_capacity: org.default_agent_capacity,
        create_time: Some(timestamp(org.created_at)),
        ..Default::default()
    }
}

fn timestamp(t: chrono::DateTime<chrono::Utc>) -> switchboard_proto::prost_types::Timestamp {
    switchboard_proto::prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

#[tonic::async_trait]
impl RoutingService for RoutingGrpc {
    async fn create_organization(
        &self,
        request: Request<pb::CreateOrganizationRequest>,
    ) -> Result<Response<pb::CreateOrganizationResponse>, Status> {
        let req = request.into_inner();
        let mut bad = Vec::new();
        if req.request_id.trim().is_empty() || req.request_id.len() > 128 {
            bad.push(switchboard_runtime::errors::FieldViolation::new(
                "request_id",
                "must be 1 to 128 characters (a client-generated idempotency key)",
            ));
        }
        let new = NewOrganization::parse(&req.name, req.default_agent_capacity);
        let new = match new {
            Ok(new) if bad.is_empty() => new,
            Ok(_) => return Err(RoutingError::InvalidArgument(bad).into()),
            Err(mut more) => {
                bad.append(&mut more);
                return Err(RoutingError::InvalidArgument(bad).into());
            }
        };
        let org = self.store.create_organization(&req.request_id, new).await?;
        Ok(Response::new(pb::CreateOrganizationResponse {
            organization: Some(to_pb(org)),
        }))
    }

    async fn get_organization(
        &self,
        request: Request<pb::GetOrganizationRequest>,
    ) -> Result<Response<pb::GetOrganizationResponse>, Status> {
        let req = request.into_inner();
        let id = parse_org("organization_id", &req.organization_id)?;
        let org = self.store.organization(&id).await?;
        Ok(Response::new(pb::GetOrganizationResponse {
            organization: Some(to_pb(org)),
        }))
    }
}
