//! Live figures: per team, per number and per agent, kept as events are consumed.
