//! Routing decisions: the routing order as a pure plan, and the record that explains every
//! decision (the rule that matched, the candidates considered, the one chosen and why).

use serde::{Deserialize, Serialize};
use switchboard_runtime::ids::{AgentId, CampaignId, RoutingDecisionId};

use super::{
    config::{Campaign, OrganizationSettings, Strategy, Target},
    string_enum,
};

string_enum!(
    /// The routing steps, in the order they are tried, and the non-rule routes.
    Rule {
        Campaign = "campaign",
        ContactOwner = "contact_owner",
        ChannelDefault = "channel_default",
        WaitingList = "waiting_list",
        ExplicitTarget = "explicit_target",
        Requeue = "requeue",
    }
);

string_enum!(
    /// What triggered a decision.
    Trigger {
        New = "new",
        Transfer = "transfer",
        OfferTimeout = "offer_timeout",
        AgentOffline = "agent_offline",
        SlotFreed = "slot_freed",
        Sweep = "sweep",
        OwnerWaitExpired = "owner_wait_expired",
    }
);

string_enum!(
    /// The outcome of a decision.
    Outcome { Assigned = "assigned", Queued = "queued", WaitingForOwner = "waiting_for_owner" }
);

string_enum!(
    /// Why a candidate was or was not eligible.
    Verdict {
        Eligible = "eligible",
        NotAvailable = "not_available",
        AtCapacity = "at_capacity",
        NotLinked = "not_linked",
        Excluded = "excluded",
        Outranked = "outranked",
        ReservationLost = "reservation_lost",
    }
);

/// How one routing step was evaluated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evaluation {
    pub rule: String,
    pub matched: bool,
    pub detail: String,
}

/// One agent considered, as presence saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    pub agent_id: String,
    /// The agent's display name when the decision was made (explanations use it).
    #[serde(default)]
    pub name: String,
    /// "available", "away" or "offline".
    pub status: String,
    pub load: i32,
    pub capacity: i32,
    pub last_assignment_ms: Option<i64>,
    pub verdict: String,
}

/// The stored detail of a decision.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DecisionDetail {
    pub evaluations: Vec<Evaluation>,
    pub candidates: Vec<Candidate>,
    pub excluded: Vec<String>,
}

/// A stored routing decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub id: RoutingDecisionId,
    pub subject_id: String,
    pub trigger: Trigger,
    pub rule: Rule,
    pub target: Target,
    pub strategy: Option<Strategy>,
    pub outcome: Outcome,
    pub chosen_agent: Option<AgentId>,
    pub reservation_id: Option<String>,
    pub explanation: String,
    pub detail: DecisionDetail,
    pub created_ms: i64,
}

/// What the routing order needs to know about a new conversation.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    pub settings: &'a OrganizationSettings,
    /// The campaign the contact replied to, if any.
    pub campaign: Option<&'a Campaign>,
    pub campaign_id: Option<&'a CampaignId>,
    /// The contact's owners in routing order.
    pub owners: &'a [AgentId],
    /// The channel account's default target.
    pub channel_default: &'a Target,
    /// Skip the owner step (its wait ran out).
    pub skip_owner: bool,
}

/// One step of the plan: try this target; `fallback_wait_secs` > 0 on the owner step means
/// "wait that long for the owner before trying the next step".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub rule: Rule,
    pub target: Target,
    pub fallback_wait_secs: i64,
}

/// The routing order (DESIGN.md): campaign reply → contact owner → number default →
/// organization waiting list. Returns the evaluations of the rules that did not apply, and the
/// steps to try, in order. The owner step may yield one step per owner; the last step is always
/// the waiting list.
pub fn plan(facts: &Facts<'_>) -> (Vec<Evaluation>, Vec<Step>) {
    let mut evaluations = Vec::new();
    let mut steps = Vec::new();
    let skip = |evaluations: &mut Vec<Evaluation>, rule: Rule, detail: String| {
        evaluations.push(Evaluation {
            rule: rule.as_str().into(),
            matched: false,
            detail,
        })
    };

    match (facts.campaign, facts.campaign_id) {
        (None, None) => skip(
            &mut evaluations,
            Rule::Campaign,
            "not a campaign reply".into(),
        ),
        (None, Some(id)) => skip(
            &mut evaluations,
            Rule::Campaign,
            format!("campaign {id} unknown"),
        ),
        (Some(c), _) if c.archived => skip(
            &mut evaluations,
            Rule::Campaign,
            format!("campaign {} is archived", c.id),
        ),
        (Some(c), _) if !c.continue_with_human => skip(
            &mut evaluations,
            Rule::Campaign,
            format!("campaign {} has continue_with_human off", c.id),
        ),
        (Some(c), _) if c.human_target == Target::None => skip(
            &mut evaluations,
            Rule::Campaign,
            format!("campaign {} names no team or agent", c.id),
        ),
        (Some(c), _) => steps.push(Step {
            rule: Rule::Campaign,
            target: c.human_target.clone(),
            fallback_wait_secs: 0,
        }),
    }

    if !facts.settings.owner_routing_enabled {
        skip(
            &mut evaluations,
            Rule::ContactOwner,
            "owner routing is off".into(),
        );
    } else if facts.owners.is_empty() {
        skip(
            &mut evaluations,
            Rule::ContactOwner,
            "the contact has no owner".into(),
        );
    } else if facts.skip_owner {
        skip(
            &mut evaluations,
            Rule::ContactOwner,
            "the wait for the owner ran out".into(),
        );
    } else {
        for owner in facts.owners {
            steps.push(Step {
                rule: Rule::ContactOwner,
                target: Target::Agent(owner.clone()),
                fallback_wait_secs: facts.settings.owner_fallback_wait_secs,
            });
        }
    }

    match facts.channel_default {
        Target::None => skip(
            &mut evaluations,
            Rule::ChannelDefault,
            "the number has no default target".into(),
        ),
        target => steps.push(Step {
            rule: Rule::ChannelDefault,
            target: target.clone(),
            fallback_wait_secs: 0,
        }),
    }

    steps.push(Step {
        rule: Rule::WaitingList,
        target: Target::None,
        fallback_wait_secs: 0,
    });
    (evaluations, steps)
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_runtime::ids::{ChannelAccountId, TeamId};

    fn campaign(continue_with_human: bool, target: Target) -> Campaign {
        Campaign {
            id: CampaignId::generate(),
            name: "promo".into(),
            channel_account_id: ChannelAccountId::generate(),
            continue_with_human,
            human_target: target,
            reply_window_secs: 72 * 3600,
            form_fields: vec![],
            archived: false,
            created_ms: 0,
            updated_ms: 0,
        }
    }

    #[test]
    fn the_routing_order_is_campaign_owner_default_waiting_list() {
        let sales = TeamId::generate();
        let support = TeamId::generate();
        let owner = AgentId::generate();
        let settings = OrganizationSettings {
            owner_routing_enabled: true,
            owner_fallback_wait_secs: 60,
            ..Default::default()
        };
        let c = campaign(true, Target::Team(sales.clone()));
        let default = Target::Team(support.clone());
        let owners = [owner.clone()];
        let facts = Facts {
            settings: &settings,
            campaign: Some(&c),
            campaign_id: Some(&c.id),
            owners: &owners,
            channel_default: &default,
            skip_owner: false,
        };
        let (evaluations, steps) = plan(&facts);
        assert!(evaluations.is_empty());
        let rules: Vec<_> = steps.iter().map(|s| s.rule).collect();
        assert_eq!(
            rules,
            [
                Rule::Campaign,
                Rule::ContactOwner,
                Rule::ChannelDefault,
                Rule::WaitingList
            ]
        );
        assert_eq!(steps[0].target, Target::Team(sales));
        assert_eq!(steps[1].target, Target::Agent(owner));
        assert_eq!(steps[1].fallback_wait_secs, 60);
        assert_eq!(steps[2].target, Target::Team(support));
    }

    #[test]
    fn rules_that_do_not_apply_say_why() {
        let settings = OrganizationSettings::default();
        let c = campaign(false, Target::None);
        let facts = Facts {
            settings: &settings,
            campaign: Some(&c),
            campaign_id: Some(&c.id),
            owners: &[],
            channel_default: &Target::None,
            skip_owner: false,
        };
        let (evaluations, steps) = plan(&facts);
        let details: Vec<_> = evaluations.iter().map(|e| e.detail.as_str()).collect();
        assert!(
            details[0].contains("continue_with_human off"),
            "{details:?}"
        );
        assert_eq!(details[1], "owner routing is off");
        assert_eq!(details[2], "the number has no default target");
        assert_eq!(steps.len(), 1);
        assert_eq!(steps[0].rule, Rule::WaitingList);
    }
}
