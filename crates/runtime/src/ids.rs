//! Typed, prefixed identifiers (`conv_…`, `agt_…`): UUIDv7 underneath, so they sort by creation
//! time, and never bare strings in domain code.

/// Declares a typed id with a prefix.
#[macro_export]
macro_rules! typed_id {
    ($(#[$meta:meta])* $name:ident, $prefix:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// The id's prefix, separator included.
            pub const PREFIX: &'static str = concat!($prefix, "_");

            /// A new, time-ordered id.
            pub fn generate() -> Self {
                Self(format!("{}{}", Self::PREFIX, $crate::ids::uuid_v7_simple()))
            }

            /// The id as stored and sent.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// Parses an id, checking its prefix and body.
            pub fn parse(value: &str) -> Result<Self, $crate::ids::IdError> {
                $crate::ids::check(value, Self::PREFIX).map(|()| Self(value.to_string()))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl TryFrom<String> for $name {
            type Error = $crate::ids::IdError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                $crate::ids::check(&value, Self::PREFIX).map(|()| Self(value))
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::ids::IdError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }
    };
}

/// Why a string is not a valid id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("expected an id starting with `{expected}`")]
    Prefix { expected: &'static str },
    #[error("id body must be 1 to 64 characters of [0-9a-zA-Z]")]
    Body,
}

#[doc(hidden)]
pub fn check(value: &str, prefix: &'static str) -> Result<(), IdError> {
    let body = value
        .strip_prefix(prefix)
        .ok_or(IdError::Prefix { expected: prefix })?;
    if body.is_empty() || body.len() > 64 || !body.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(IdError::Body);
    }
    Ok(())
}

#[doc(hidden)]
pub fn uuid_v7_simple() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

typed_id!(
    /// An organization (tenant).
    OrganizationId, "org"
);
typed_id!(
    /// An agent (a person who answers conversations).
    AgentId, "agt"
);
typed_id!(
    /// A team of agents.
    TeamId, "team"
);
typed_id!(
    /// A channel account (one WhatsApp business number).
    ChannelAccountId, "chacc"
);
typed_id!(
    /// A campaign (broadcast) whose replies may route to a team or agent.
    CampaignId, "cmp"
);
typed_id!(
    /// A contact (customer).
    ContactId, "ct"
);
typed_id!(
    /// A conversation ("atención").
    ConversationId, "conv"
);
typed_id!(
    /// A WhatsApp or internal message.
    MessageId, "msg"
);
typed_id!(
    /// A presence slot reservation.
    ReservationId, "rsv"
);
typed_id!(
    /// A support ticket.
    TicketId, "tkt"
);
typed_id!(
    /// A generic work item routed for an internal service.
    WorkItemId, "wi"
);
typed_id!(
    /// An outbox event.
    EventId, "evt"
);
typed_id!(
    /// One recorded transfer of a conversation.
    TransferId, "trf"
);
typed_id!(
    /// One stored routing decision (what `ExplainRouting` serves).
    RoutingDecisionId, "rdec"
);
typed_id!(
    /// One action in a ticket's history.
    TicketActionId, "tka"
);
typed_id!(
    /// A ticket proposed for a conversation, waiting for an agent's confirmation.
    TicketProposalId, "tkp"
);

typed_id!(
    /// An organization's outgoing webhook endpoint.
    WebhookEndpointId, "whep"
);
typed_id!(
    /// One feed event for one webhook endpoint, with its attempts.
    WebhookDeliveryId, "whdl"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_carry_their_prefix_and_parse_back() {
        let id = ConversationId::generate();
        assert!(id.as_str().starts_with("conv_"));
        assert_eq!(ConversationId::parse(id.as_str()).expect("parses"), id);
    }

    #[test]
    fn wrong_prefix_or_body_is_refused() {
        assert_eq!(
            ConversationId::parse("agt_0190"),
            Err(IdError::Prefix { expected: "conv_" })
        );
        assert_eq!(ConversationId::parse("conv_"), Err(IdError::Body));
        assert_eq!(ConversationId::parse("conv_a-b"), Err(IdError::Body));
    }

    #[test]
    fn ids_sort_by_creation() {
        let a = EventId::generate();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = EventId::generate();
        assert!(a < b);
    }
}
