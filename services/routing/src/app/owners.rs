//! Contact owners: add and remove (operator or admin; an agent may add or remove itself).

use switchboard_runtime::ids::{AgentId, ContactId, OrganizationId};

use super::Routing;
use crate::{
    domain::{
        config::{ContactOwner, OwnerSource},
        conversation::Actor,
    },
    error::RoutingError,
};

impl Routing {
    /// Makes an agent an owner of a contact (idempotent). Operator or admin; an agent may add
    /// itself.
    pub async fn add_contact_owner(
        &self,
        org: &OrganizationId,
        actor: Option<&AgentId>,
        contact: &ContactId,
        agent: &AgentId,
    ) -> Result<ContactOwner, RoutingError> {
        self.authorize_self_or_supervisor(org, actor, agent).await?;
        let owner = self.store.agent(org, agent).await?;
        if owner.disabled {
            return Err(RoutingError::not_found("agent", agent));
        }
        // Contacts live in the channel service: an unknown or another organization's contact
        // is NOT_FOUND, never an ownership of nothing.
        if !self.channel.contact_exists(org, contact).await? {
            return Err(RoutingError::not_found("contact", contact));
        }
        let added_by = actor.map_or_else(Actor::system, Actor::agent);
        self.store
            .add_contact_owner(
                org,
                &ContactOwner {
                    contact_id: contact.clone(),
                    agent_id: agent.clone(),
                    source: OwnerSource::Manual,
                    added_by,
                    created_ms: self.clock.now_ms(),
                },
            )
            .await
    }

    /// Removes an owner from a contact (idempotent). Operator or admin; an agent may remove
    /// itself.
    pub async fn remove_contact_owner(
        &self,
        org: &OrganizationId,
        actor: Option<&AgentId>,
        contact: &ContactId,
        agent: &AgentId,
    ) -> Result<(), RoutingError> {
        self.authorize_self_or_supervisor(org, actor, agent).await?;
        self.store.remove_contact_owner(org, contact, agent).await?;
        Ok(())
    }

    async fn authorize_self_or_supervisor(
        &self,
        org: &OrganizationId,
        actor: Option<&AgentId>,
        agent: &AgentId,
    ) -> Result<(), RoutingError> {
        match actor {
            Some(actor) => {
                let caller = self.caller(org, actor).await?;
                if !caller.role.supervises() && &caller.agent_id != agent {
                    return Err(RoutingError::denied(
                        "only an operator or an admin may change another agent's ownerships",
                    ));
                }
                Ok(())
            }
            None => self.store.organization(org).await.map(|_| ()),
        }
    }
}
