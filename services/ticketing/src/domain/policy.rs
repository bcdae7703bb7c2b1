//! The close policy: whether an organization requires a linked ticket before a conversation
//! closes, optionally only for some numbers or teams.

use switchboard_runtime::ids::{ChannelAccountId, TeamId};

/// An organization's close policy (`require_ticket` false when never set).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClosePolicy {
    pub require_ticket: bool,
    /// Only these numbers; empty means all.
    pub channel_account_ids: Vec<ChannelAccountId>,
    /// Only conversations of these teams; empty means all.
    pub team_ids: Vec<TeamId>,
    pub update_ms: i64,
}

impl ClosePolicy {
    /// Whether a conversation on `account` of `team` needs a linked ticket to close.
    pub fn requires_ticket(
        &self,
        account: Option<&ChannelAccountId>,
        team: Option<&TeamId>,
    ) -> bool {
        if !self.require_ticket {
            return false;
        }
        let account_ok = self.channel_account_ids.is_empty()
            || account.is_some_and(|a| self.channel_account_ids.contains(a));
        let team_ok = self.team_ids.is_empty() || team.is_some_and(|t| self.team_ids.contains(t));
        account_ok && team_ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_narrow_the_requirement_to_their_numbers_and_teams() {
        let a = ChannelAccountId::generate();
        let b = ChannelAccountId::generate();
        let t = TeamId::generate();
        let off = ClosePolicy::default();
        assert!(!off.requires_ticket(Some(&a), Some(&t)));
        let all = ClosePolicy {
            require_ticket: true,
            ..Default::default()
        };
        assert!(all.requires_ticket(Some(&a), None));
        let only_a = ClosePolicy {
            require_ticket: true,
            channel_account_ids: vec![a.clone()],
            ..Default::default()
        };
        assert!(only_a.requires_ticket(Some(&a), None));
        assert!(!only_a.requires_ticket(Some(&b), None));
        let only_team = ClosePolicy {
            require_ticket: true,
            team_ids: vec![t.clone()],
            ..Default::default()
        };
        assert!(only_team.requires_ticket(Some(&a), Some(&t)));
        assert!(!only_team.requires_ticket(Some(&a), None));
    }
}
