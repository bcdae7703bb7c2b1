//! A message's delivery status and the rule that it only moves forward, whatever order
//! WhatsApp's callbacks arrive in.

use serde::{Deserialize, Serialize};

/// Delivery status of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Outbound, not yet accepted by WhatsApp.
    Pending,
    /// Outbound, accepted (WhatsApp returned a wamid).
    Sent,
    /// Outbound, on the customer's phone.
    Delivered,
    /// Outbound: read by the customer. Inbound: marked read by an agent.
    Read,
    /// Outbound, failed (final).
    Failed,
    /// Inbound, stored.
    Received,
}

impl Status {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Sent => "sent",
            Status::Delivered => "delivered",
            Status::Read => "read",
            Status::Failed => "failed",
            Status::Received => "received",
        }
    }

    /// Parses a stored name or a webhook `status` value.
    pub fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "pending" => Status::Pending,
            "sent" => Status::Sent,
            "delivered" => Status::Delivered,
            "read" => Status::Read,
            "failed" => Status::Failed,
            "received" => Status::Received,
            _ => return None,
        })
    }

    /// Position on the forward path; a status only replaces one of a lower rank. FAILED ranks
    /// above DELIVERED (a failure after delivery is a late report of the same fact) but below
    /// READ (a message read was delivered, whatever a later report says), and nothing replaces it.
    pub fn rank(self) -> i32 {
        match self {
            Status::Pending => 0,
            Status::Sent => 1,
            Status::Received => 1,
            Status::Delivered => 2,
            Status::Failed => 3,
            Status::Read => 4,
        }
    }

    /// Whether a message in `self` moves to `next`.
    pub fn advances_to(self, next: Status) -> bool {
        self != Status::Failed && next.rank() > self.rank()
    }
}

#[cfg(test)]
mod tests {
    use super::Status::{self, *};

    #[test]
    fn statuses_only_move_forward_and_failed_is_final() {
        assert!(Pending.advances_to(Sent));
        assert!(Sent.advances_to(Read));
        assert!(!Read.advances_to(Delivered));
        assert!(!Delivered.advances_to(Sent));
        assert!(Delivered.advances_to(Failed));
        assert!(!Failed.advances_to(Read));
        assert!(!Read.advances_to(Failed));
        assert!(Received.advances_to(Read));
    }

    #[test]
    fn any_order_of_reports_ends_in_the_furthest_status() {
        let reports = [Sent, Delivered, Read];
        let orders = [
            [0, 1, 2],
            [0, 2, 1],
            [1, 0, 2],
            [1, 2, 0],
            [2, 0, 1],
            [2, 1, 0],
        ];
        for order in orders {
            let mut status: Status = Pending;
            for i in order {
                if status.advances_to(reports[i]) {
                    status = reports[i];
                }
            }
            assert_eq!(status, Read, "order {order:?}");
        }
    }
}
