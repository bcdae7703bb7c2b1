//! The gRPC adapter: converts proto messages to domain calls and domain errors to statuses.
//! The trait impl only delegates; each RPC group lives in its own module.

pub mod convert;
mod organizations;

use switchboard_proto::routing::v1::{self as pb, routing_service_server::RoutingService};
use tonic::{Request, Response, Status};

use crate::app::Routing;

/// `switchboard.routing.v1.RoutingService`; RPCs not listed here answer UNIMPLEMENTED.
pub struct RoutingGrpc {
    app: Routing,
}

impl RoutingGrpc {
    pub fn new(app: Routing) -> Self {
        Self { app }
    }
}

/// Runs an RPC body and maps its domain error to a status.
macro_rules! rpc {
    ($self:ident, $module:ident :: $method:ident, $request:ident) => {
        $module::$method(&$self.app, $request.into_inner())
            .await
            .map(Response::new)
            .map_err(Status::from)
    };
}

#[tonic::async_trait]
impl RoutingService for RoutingGrpc {
    // ---- Organizations ----
    async fn create_organization(
        &self,
        request: Request<pb::CreateOrganizationRequest>,
    ) -> Result<Response<pb::CreateOrganizationResponse>, Status> {
        rpc!(self, organizations::create_organization, request)
    }

    async fn get_organization(
        &self,
        request: Request<pb::GetOrganizationRequest>,
    ) -> Result<Response<pb::GetOrganizationResponse>, Status> {
        rpc!(self, organizations::get_organization, request)
    }
}
