//! Shared by the configuration modules: who may change what (roles from `actor_agent_id`; no
//! actor means internal provisioning) and references that must exist.

use std::collections::BTreeSet;

use switchboard_runtime::{
    errors::FieldViolation,
    ids::{AgentId, OrganizationId, TeamId},
};

use super::Routing;
use crate::{
    domain::{config::Role, conversation::Caller},
    error::RoutingError,
};

/// The least role an action needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Operator or admin.
    Supervisor,
    /// Admin.
    Admin,
}

pub(super) fn invalid(field: String, description: &str) -> RoutingError {
    RoutingError::InvalidArgument(vec![FieldViolation::new(field, description)])
}

impl Routing {
    /// Checks the actor's role. No actor is internal provisioning: allowed, once the
    /// organization is known to exist.
    pub async fn authorize(
        &self,
        org: &OrganizationId,
        actor: Option<&AgentId>,
        need: Need,
    ) -> Result<Option<Caller>, RoutingError> {
        let Some(actor) = actor else {
            self.store.organization(org).await?;
            return Ok(None);
        };
        let caller = self.caller(org, actor).await?;
        let allowed = match need {
            Need::Supervisor => caller.role.supervises(),
            Need::Admin => caller.role == Role::Admin,
        };
        if !allowed {
            return Err(RoutingError::denied(match need {
                Need::Supervisor => "only an operator or an admin may do this",
                Need::Admin => "only an admin may do this",
            }));
        }
        Ok(Some(caller))
    }

    pub(super) async fn require_teams(
        &self,
        org: &OrganizationId,
        ids: &[TeamId],
        field: &str,
    ) -> Result<(), RoutingError> {
        let found = self.store.existing_team_ids(org, ids).await?;
        let bad: Vec<_> = ids
            .iter()
            .enumerate()
            .filter(|(_, id)| !found.contains(*id))
            .map(|(i, _)| {
                FieldViolation::new(format!("{field}[{i}]"), "no such team in the organization")
            })
            .collect();
        if bad.is_empty() {
            Ok(())
        } else {
            Err(RoutingError::InvalidArgument(bad))
        }
    }

    pub(super) async fn require_agents(
        &self,
        org: &OrganizationId,
        ids: &[AgentId],
        field: &str,
    ) -> Result<(), RoutingError> {
        let found: BTreeSet<AgentId> = self.store.existing_agent_ids(org, ids).await?;
        let bad: Vec<_> = ids
            .iter()
            .enumerate()
            .filter(|(_, id)| !found.contains(*id))
            .map(|(i, _)| {
                FieldViolation::new(format!("{field}[{i}]"), "no such agent in the organization")
            })
            .collect();
        if bad.is_empty() {
            Ok(())
        } else {
            Err(RoutingError::InvalidArgument(bad))
        }
    }
}
