//! Presence in Redis. Every key of an organization shares the hash tag `{<prefix>:<org>}`, so
//! each script touches one slot and runs on Redis Cluster; each mutation is one Lua script, so
//! "check available, check load < capacity, take" is one atomic step whatever the number of
//! presence replicas.
//!
//! Keys (`P` = `<prefix>:{<prefix>:<org>}`): `P:epoch` (loads known), `P:agents` (set of ids),
//! `P:a:<agent>` (hash: capacity, teams, channels, status, reason, status_ms, load, hb_ms,
//! hb_exp, last_assign), `P:t:<team>` (set of agent ids), `P:r:<reservation>` (hash),
//! `P:rr:<team>` (round-robin cursor); `<prefix>:hb` (zset "org agent" by heartbeat expiry).

use async_trait::async_trait;
use redis::{Script, aio::ConnectionManager};
use switchboard_runtime::{
    clock::Clock,
    ids::{AgentId, ChannelAccountId, OrganizationId, ReservationId, TeamId},
};

use super::{PresenceStore, ReserveResult, StoreError};
use crate::domain::{
    AgentState, Candidate, Profile, Reservation, ReserveDecision, ReserveOutcome, ReserveRequest,
    Status, Strategy,
};

/// Shared Lua helpers, prepended to every script.
const LUA_PRELUDE: &str = r#"
local P = ARGV[1]
local function agent_key(a) return P .. ':a:' .. a end
local function listed(list, item) return string.find(list, ',' .. item .. ',', 1, true) ~= nil end
local function effective(st, hb_exp, now)
  if st ~= 'offline' and (tonumber(hb_exp) or 0) < now then return 'offline' end
  return st
end
"#;

const UPSERT: &str = r#"
local a, cap, teams, chans = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local k = agent_key(a)
local old = redis.call('HGET', k, 'teams')
if old then
  for t in string.gmatch(old, '[^,]+') do redis.call('SREM', P .. ':t:' .. t, a) end
else
  redis.call('HSET', k, 'status', 'offline', 'reason', '', 'status_ms', 0, 'load', 0,
    'hb_ms', 0, 'hb_exp', 0, 'last_assign', 0)
end
redis.call('HSET', k, 'capacity', cap, 'teams', teams, 'channels', chans)
for t in string.gmatch(teams, '[^,]+') do redis.call('SADD', P .. ':t:' .. t, a) end
redis.call('SADD', P .. ':agents', a)
return 1
"#;

const REMOVE: &str = r#"
local a = ARGV[2]
local k = agent_key(a)
local teams = redis.call('HGET', k, 'teams')
if not teams then return 0 end
for t in string.gmatch(teams, '[^,]+') do redis.call('SREM', P .. ':t:' .. t, a) end
redis.call('DEL', k)
redis.call('SREM', P .. ':agents', a)
return 1
"#;

const SET_STATUS: &str = r#"
local a, st, reason, now = ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
local k = agent_key(a)
local cur = redis.call('HMGET', k, 'status', 'hb_exp')
if not cur[1] then return false end
local prev = effective(cur[1], cur[2], now)
if cur[1] ~= st then redis.call('HSET', k, 'status_ms', now) end
redis.call('HSET', k, 'status', st, 'reason', reason)
return prev
"#;

const HEARTBEAT: &str = r#"
local a, now, exp = ARGV[2], ARGV[3], ARGV[4]
local k = agent_key(a)
if redis.call('EXISTS', k) == 0 then return 0 end
redis.call('HSET', k, 'hb_ms', now, 'hb_exp', exp)
return 1
"#;

const SET_CAPACITY: &str = r#"
local k = agent_key(ARGV[2])
if redis.call('EXISTS', k) == 0 then return 0 end
redis.call('HSET', k, 'capacity', ARGV[3])
return 1
"#;

/// Pick and reserve. Returns {outcome, agent, created_ms, candidates...}; outcome is GRANTED,
/// NONE, NOT_AVAILABLE, AT_CAPACITY, NOT_LINKED or REBUILD.
const RESERVE: &str = r#"
local rid, strategy, team, chan, named = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local exclude, subject, now, allow_na = ARGV[7], ARGV[8], tonumber(ARGV[9]), ARGV[10] == '1'
if redis.call('EXISTS', P .. ':epoch') == 0 then return {'REBUILD'} end
local rk = P .. ':r:' .. rid
local held = redis.call('HMGET', rk, 'agent', 'created')
if held[1] then return {'GRANTED', held[1], held[2], 'replay'} end

local function describe(a)
  local f = redis.call('HMGET', agent_key(a), 'status', 'hb_exp', 'load', 'capacity',
    'last_assign', 'teams', 'channels')
  if not f[1] then return nil end
  local linked = (team == '' or listed(f[6], team)) and (chan == '' or listed(f[7], chan))
  return { id = a, status = effective(f[1], f[2], now), load = tonumber(f[3]),
    cap = tonumber(f[4]), last = tonumber(f[5]), linked = linked,
    excluded = listed(exclude, a) }
end
local function encode(c)
  return c.id .. '|' .. c.status .. '|' .. c.load .. '|' .. c.cap .. '|' .. c.last .. '|' ..
    (c.linked and '1' or '0') .. '|' .. (c.excluded and '1' or '0')
end

local chosen = nil
local out = {}
if strategy == 'named' then
  local c = describe(named)
  if not c then return {'NOT_LINKED', '', ''} end
  if not c.linked then return {'NOT_LINKED', '', '', encode(c)} end
  if c.status ~= 'available' and not allow_na then return {'NOT_AVAILABLE', '', '', encode(c)} end
  if c.load >= c.cap then return {'AT_CAPACITY', '', '', encode(c)} end
  chosen = c
  out[1] = encode(c)
else
  local members
  if team == '' then members = redis.call('SMEMBERS', P .. ':agents')
  else members = redis.call('SMEMBERS', P .. ':t:' .. team) end
  table.sort(members)
  local eligible = {}
  for _, a in ipairs(members) do
    local c = describe(a)
    if c then
      out[#out + 1] = encode(c)
      if c.linked and not c.excluded and c.status == 'available' and c.load < c.cap then
        eligible[#eligible + 1] = c
      end
    end
  end
  if #eligible == 0 then
    local r = {'NONE', '', ''}
    for _, e in ipairs(out) do r[#r + 1] = e end
    return r
  end
  if strategy == 'least_open' then
    for _, c in ipairs(eligible) do
      if not chosen or c.load < chosen.load
        or (c.load == chosen.load and c.last < chosen.last)
        or (c.load == chosen.load and c.last == chosen.last and c.id < chosen.id) then
        chosen = c
      end
    end
  else
    local cursor = redis.call('GET', P .. ':rr:' .. team)
    if cursor then
      for _, c in ipairs(eligible) do
        if c.id > cursor then chosen = c break end
      end
    end
    if not chosen then chosen = eligible[1] end
    redis.call('SET', P .. ':rr:' .. team, chosen.id)
  end
end
redis.call('HINCRBY', agent_key(chosen.id), 'load', 1)
redis.call('HSET', agent_key(chosen.id), 'last_assign', now)
redis.call('HSET', rk, 'agent', chosen.id, 'team', team, 'chan', chan, 'subject', subject,
  'created', now)
local r = {'GRANTED', chosen.id, tostring(now)}
for _, e in ipairs(out) do r[#r + 1] = e end
return r
"#;

/// Release: {agent, load} or false when the reservation was not held.
const RELEASE: &str = r#"
local rk = P .. ':r:' .. ARGV[2]
local a = redis.call('HGET', rk, 'agent')
if not a then return false end
redis.call('DEL', rk)
local k = agent_key(a)
if redis.call('EXISTS', k) == 0 then return {a, 0} end
local load = redis.call('HINCRBY', k, 'load', -1)
if load < 0 then redis.call('HSET', k, 'load', 0) load = 0 end
return {a, load}
"#;

/// Rebuild one agent: ARGV[2] agent, [3] capacity, [4] teams, [5] channels, then reservation
/// triples (id, team, channel, subject, created).
const REBUILD_AGENT: &str = r#"
local a = ARGV[2]
local k = agent_key(a)
local old = redis.call('HGET', k, 'teams')
if old then
  for t in string.gmatch(old, '[^,]+') do redis.call('SREM', P .. ':t:' .. t, a) end
else
  redis.call('HSET', k, 'status', 'offline', 'reason', '', 'status_ms', 0, 'hb_ms', 0,
    'hb_exp', 0, 'last_assign', 0)
end
local n = 0
local i = 6
while ARGV[i] do
  redis.call('HSET', P .. ':r:' .. ARGV[i], 'agent', a, 'team', ARGV[i + 1], 'chan', ARGV[i + 2],
    'subject', ARGV[i + 3], 'created', ARGV[i + 4])
  n = n + 1
  i = i + 5
end
redis.call('HSET', k, 'capacity', ARGV[3], 'teams', ARGV[4], 'channels', ARGV[5], 'load', n)
for t in string.gmatch(ARGV[4], '[^,]+') do redis.call('SADD', P .. ':t:' .. t, a) end
redis.call('SADD', P .. ':agents', a)
return n
"#;

const EXPIRE: &str = r#"
local a, now, reason = ARGV[2], tonumber(ARGV[3]), ARGV[4]
local k = agent_key(a)
local f = redis.call('HMGET', k, 'status', 'hb_exp')
if not f[1] or f[1] == 'offline' or tonumber(f[2]) >= now then return false end
redis.call('HSET', k, 'status', 'offline', 'reason', reason, 'status_ms', now)
return f[1]
"#;

struct Scripts {
    upsert: Script,
    remove: Script,
    set_status: Script,
    heartbeat: Script,
    set_capacity: Script,
    reserve: Script,
    release: Script,
    rebuild_agent: Script,
    expire: Script,
}

fn script(body: &str) -> Script {
    Script::new(&format!("{LUA_PRELUDE}{body}"))
}

/// Presence in Redis (standalone or cluster).
pub struct RedisStore {
    conn: ConnectionManager,
    prefix: String,
    scripts: Scripts,
    clock: Clock,
}

impl RedisStore {
    pub fn new(conn: ConnectionManager, prefix: &str) -> Self {
        Self {
            conn,
            prefix: format!("{prefix}:presence"),
            scripts: Scripts {
                upsert: script(UPSERT),
                remove: script(REMOVE),
                set_status: script(SET_STATUS),
                heartbeat: script(HEARTBEAT),
                set_capacity: script(SET_CAPACITY),
                reserve: script(RESERVE),
                release: script(RELEASE),
                rebuild_agent: script(REBUILD_AGENT),
                expire: script(EXPIRE),
            },
            clock: Clock::default(),
        }
    }

    /// Reads time from `clock` (the infra's) instead of the plain wall clock.
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// `P`: the organization's key prefix carrying its hash tag.
    fn org_prefix(&self, org: &OrganizationId) -> String {
        format!("{0}:{{{0}:{1}}}", self.prefix, org)
    }

    fn heartbeat_index(&self) -> String {
        format!("{}:hb", self.prefix)
    }

    /// Runs `s` with the org prefix as ARGV[1]; KEYS[1] (the epoch key) routes it to the slot.
    fn invoke<'a>(&self, s: &'a Script, org: &OrganizationId) -> redis::ScriptInvocation<'a> {
        let p = self.org_prefix(org);
        let mut inv = s.prepare_invoke();
        inv.key(format!("{p}:epoch")).arg(p);
        inv
    }

    async fn read_state(
        &self,
        org: &OrganizationId,
        agent: &AgentId,
    ) -> Result<Option<AgentState>, StoreError> {
        let key = format!("{}:a:{}", self.org_prefix(org), agent);
        let mut conn = self.conn.clone();
        let map: std::collections::HashMap<String, String> = redis::cmd("HGETALL")
            .arg(&key)
            .query_async(&mut conn)
            .await?;
        if map.is_empty() {
            return Ok(None);
        }
        parse_state(agent.clone(), &map).map(Some)
    }
}

fn join_ids<T: std::fmt::Display>(ids: &[T]) -> String {
    if ids.is_empty() {
        return String::new();
    }
    let mut s = String::from(",");
    for id in ids {
        s.push_str(&id.to_string());
        s.push(',');
    }
    s
}

fn split_ids<T: std::str::FromStr>(s: &str) -> Vec<T> {
    s.split(',')
        .filter(|p| !p.is_empty())
        .filter_map(|p| p.parse().ok())
        .collect()
}

fn num<T: std::str::FromStr + Default>(
    map: &std::collections::HashMap<String, String>,
    k: &str,
) -> T {
    map.get(k).and_then(|v| v.parse().ok()).unwrap_or_default()
}

fn parse_state(
    agent: AgentId,
    map: &std::collections::HashMap<String, String>,
) -> Result<AgentState, StoreError> {
    let status = map
        .get("status")
        .and_then(|s| Status::parse(s))
        .ok_or_else(|| StoreError::Corrupt(format!("agent {agent} has no status")))?;
    Ok(AgentState {
        profile: Profile {
            agent_id: agent,
            capacity: num(map, "capacity"),
            team_ids: split_ids(map.get("teams").map_or("", String::as_str)),
            channel_account_ids: split_ids(map.get("channels").map_or("", String::as_str)),
        },
        status,
        status_reason: map.get("reason").cloned().unwrap_or_default(),
        status_changed_ms: num(map, "status_ms"),
        load: num(map, "load"),
        last_heartbeat_ms: num(map, "hb_ms"),
        heartbeat_expires_ms: num(map, "hb_exp"),
        last_assignment_ms: num(map, "last_assign"),
    })
}

fn parse_candidate(s: &str) -> Result<Candidate, StoreError> {
    let f: Vec<&str> = s.split('|').collect();
    let bad = || StoreError::Corrupt(format!("bad candidate {s}"));
    if f.len() != 7 {
        return Err(bad());
    }
    Ok(Candidate {
        agent_id: AgentId::parse(f[0]).map_err(|_| bad())?,
        status: Status::parse(f[1]).ok_or_else(bad)?,
        load: f[2].parse().map_err(|_| bad())?,
        capacity: f[3].parse().map_err(|_| bad())?,
        last_assignment_ms: f[4].parse().map_err(|_| bad())?,
        linked: f[5] == "1",
        excluded: f[6] == "1",
    })
}

#[async_trait]
impl PresenceStore for RedisStore {
    async fn is_initialized(&self, org: &OrganizationId) -> Result<bool, StoreError> {
        let mut conn = self.conn.clone();
        let n: i64 = redis::cmd("EXISTS")
            .arg(format!("{}:epoch", self.org_prefix(org)))
            .query_async(&mut conn)
            .await?;
        Ok(n == 1)
    }

    async fn initialize(&self, org: &OrganizationId) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        let _: () = redis::cmd("SET")
            .arg(format!("{}:epoch", self.org_prefix(org)))
            .arg(self.clock.now_ms())
            .query_async(&mut conn)
            .await?;
        Ok(())
    }

    async fn upsert_profile(
        &self,
        org: &OrganizationId,
        profile: &Profile,
    ) -> Result<AgentState, StoreError> {
        let mut inv = self.invoke(&self.scripts.upsert, org);
        inv.arg(profile.agent_id.as_str())
            .arg(profile.capacity)
            .arg(join_ids(&profile.team_ids))
            .arg(join_ids(&profile.channel_account_ids));
        let mut conn = self.conn.clone();
        let _: i64 = inv.invoke_async(&mut conn).await?;
        self.read_state(org, &profile.agent_id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("agent vanished after upsert".into()))
    }

    async fn remove_agent(
        &self,
        org: &OrganizationId,
        agent: &AgentId,
    ) -> Result<bool, StoreError> {
        let mut inv = self.invoke(&self.scripts.remove, org);
        inv.arg(agent.as_str());
        let mut conn = self.conn.clone();
        let n: i64 = inv.invoke_async(&mut conn).await?;
        Ok(n == 1)
    }

    async fn set_status(
        &self,
        org: &OrganizationId,
        agent: &AgentId,
        status: Status,
        reason: &str,
        now_ms: i64,
    ) -> Result<Option<(AgentState, Status)>, StoreError> {
        let mut inv = self.invoke(&self.scripts.set_status, org);
        inv.arg(agent.as_str())
            .arg(status.as_str())
            .arg(reason)
            .arg(now_ms);
        let mut conn = self.conn.clone();
        let prev: Option<String> = inv.invoke_async(&mut conn).await?;
        let Some(prev) = prev.and_then(|p| Status::parse(&p)) else {
            return Ok(None);
        };
        Ok(self.read_state(org, agent).await?.map(|s| (s, prev)))
    }

    async fn heartbeat(
        &self,
        org: &OrganizationId,
        agent: &AgentId,
        now_ms: i64,
        expires_ms: i64,
    ) -> Result<Option<AgentState>, StoreError> {
        let mut inv = self.invoke(&self.scripts.heartbeat, org);
        inv.arg(agent.as_str()).arg(now_ms).arg(expires_ms);
        let mut conn = self.conn.clone();
        let n: i64 = inv.invoke_async(&mut conn).await?;
        if n == 0 {
            return Ok(None);
        }
        // The expiry index lives outside the org's slot: a separate command.
        let _: i64 = redis::cmd("ZADD")
            .arg(self.heartbeat_index())
            .arg(expires_ms)
            .arg(format!("{org} {agent}"))
            .query_async(&mut conn)
            .await?;
        self.read_state(org, agent).await
    }

    async fn set_capacity(
        &self,
        org: &OrganizationId,
        agent: &AgentId,
        capacity: u32,
    ) -> Result<Option<AgentState>, StoreError> {
        let mut inv = self.invoke(&self.scripts.set_capacity, org);
        inv.arg(agent.as_str()).arg(capacity);
        let mut conn = self.conn.clone();
        let n: i64 = inv.invoke_async(&mut conn).await?;
        if n == 0 {
            return Ok(None);
        }
        self.read_state(org, agent).await
    }

    async fn get(
        &self,
        org: &OrganizationId,
        agent: &AgentId,
    ) -> Result<Option<AgentState>, StoreError> {
        self.read_state(org, agent).await
    }

    async fn list(&self, org: &OrganizationId) -> Result<Vec<AgentState>, StoreError> {
        let mut conn = self.conn.clone();
        let mut ids: Vec<String> = redis::cmd("SMEMBERS")
            .arg(format!("{}:agents", self.org_prefix(org)))
            .query_async(&mut conn)
            .await?;
        ids.sort();
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let agent = AgentId::parse(&id).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            if let Some(state) = self.read_state(org, &agent).await? {
                out.push(state);
            }
        }
        Ok(out)
    }

    async fn reserve(
        &self,
        org: &OrganizationId,
        req: &ReserveRequest,
        now_ms: i64,
    ) -> Result<ReserveResult, StoreError> {
        let mut inv = self.invoke(&self.scripts.reserve, org);
        let (strategy, named) = match &req.strategy {
            Strategy::LeastOpen => ("least_open", ""),
            Strategy::RoundRobin => ("round_robin", ""),
            Strategy::Named(a) => ("named", a.as_str()),
        };
        inv.arg(req.reservation_id.as_str())
            .arg(strategy)
            .arg(req.team_id.as_ref().map_or("", TeamId::as_str))
            .arg(
                req.channel_account_id
                    .as_ref()
                    .map_or("", ChannelAccountId::as_str),
            )
            .arg(named)
            .arg(join_ids(&req.exclude))
            .arg(&req.subject_id)
            .arg(now_ms)
            .arg(if req.allow_not_available { "1" } else { "0" });
        let mut conn = self.conn.clone();
        let reply: Vec<String> = inv.invoke_async(&mut conn).await?;
        let Some(outcome) = reply.first() else {
            return Err(StoreError::Corrupt("empty reserve reply".into()));
        };
        if outcome == "REBUILD" {
            return Ok(ReserveResult::Rebuilding);
        }
        let replay = reply.get(3).is_some_and(|s| s == "replay");
        let candidates = if replay {
            Vec::new()
        } else {
            reply
                .iter()
                .skip(3)
                .map(|s| parse_candidate(s))
                .collect::<Result<Vec<_>, _>>()?
        };
        let took_slot = outcome == "GRANTED" && !replay;
        let outcome = match outcome.as_str() {
            "GRANTED" => {
                let agent_id = AgentId::parse(reply.get(1).map_or("", String::as_str))
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                let created_ms = reply.get(2).and_then(|s| s.parse().ok()).unwrap_or(now_ms);
                if replay {
                    // The stored grant is the truth for a replayed id.
                    let key = format!("{}:r:{}", self.org_prefix(org), req.reservation_id);
                    let map: std::collections::HashMap<String, String> = redis::cmd("HGETALL")
                        .arg(&key)
                        .query_async(&mut conn)
                        .await?;
                    ReserveOutcome::Granted(Reservation {
                        id: req.reservation_id.clone(),
                        agent_id,
                        team_id: map.get("team").and_then(|t| TeamId::parse(t).ok()),
                        channel_account_id: map
                            .get("chan")
                            .and_then(|c| ChannelAccountId::parse(c).ok()),
                        subject_id: map.get("subject").cloned().unwrap_or_default(),
                        created_ms,
                    })
                } else {
                    ReserveOutcome::Granted(Reservation {
                        id: req.reservation_id.clone(),
                        agent_id,
                        team_id: req.team_id.clone(),
                        channel_account_id: req.channel_account_id.clone(),
                        subject_id: req.subject_id.clone(),
                        created_ms,
                    })
                }
            }
            "NONE" => ReserveOutcome::NoAgentAvailable,
            "NOT_AVAILABLE" => ReserveOutcome::AgentNotAvailable,
            "AT_CAPACITY" => ReserveOutcome::AgentAtCapacity,
            "NOT_LINKED" => ReserveOutcome::AgentNotLinked,
            other => return Err(StoreError::Corrupt(format!("reserve outcome {other}"))),
        };
        Ok(ReserveResult::Decided(ReserveDecision {
            outcome,
            candidates,
            took_slot,
        }))
    }

    async fn release(
        &self,
        org: &OrganizationId,
        reservation: &ReservationId,
    ) -> Result<Option<(AgentId, u32)>, StoreError> {
        let mut inv = self.invoke(&self.scripts.release, org);
        inv.arg(reservation.as_str());
        let mut conn = self.conn.clone();
        let reply: Option<(String, i64)> = inv.invoke_async(&mut conn).await?;
        reply
            .map(|(a, load)| {
                AgentId::parse(&a)
                    .map(|a| (a, load.max(0) as u32))
                    .map_err(|e| StoreError::Corrupt(e.to_string()))
            })
            .transpose()
    }

    async fn rebuild(
        &self,
        org: &OrganizationId,
        agents: &[(Profile, Vec<Reservation>)],
    ) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        for (profile, reservations) in agents {
            let mut inv = self.invoke(&self.scripts.rebuild_agent, org);
            inv.arg(profile.agent_id.as_str())
                .arg(profile.capacity)
                .arg(join_ids(&profile.team_ids))
                .arg(join_ids(&profile.channel_account_ids));
            for r in reservations {
                inv.arg(r.id.as_str())
                    .arg(r.team_id.as_ref().map_or("", TeamId::as_str))
                    .arg(
                        r.channel_account_id
                            .as_ref()
                            .map_or("", ChannelAccountId::as_str),
                    )
                    .arg(&r.subject_id)
                    .arg(r.created_ms);
            }
            let _: i64 = inv.invoke_async(&mut conn).await?;
        }
        // Loads are known only once every agent is written.
        self.initialize(org).await
    }

    async fn stale_heartbeats(
        &self,
        now_ms: i64,
    ) -> Result<Vec<(OrganizationId, AgentId)>, StoreError> {
        let mut conn = self.conn.clone();
        let members: Vec<String> = redis::cmd("ZRANGEBYSCORE")
            .arg(self.heartbeat_index())
            .arg("-inf")
            .arg(format!("({now_ms}"))
            .arg("LIMIT")
            .arg(0)
            .arg(1000)
            .query_async(&mut conn)
            .await?;
        Ok(members
            .iter()
            .filter_map(|m| {
                let (o, a) = m.split_once(' ')?;
                Some((OrganizationId::parse(o).ok()?, AgentId::parse(a).ok()?))
            })
            .collect())
    }

    async fn expire_heartbeat(
        &self,
        org: &OrganizationId,
        agent: &AgentId,
        now_ms: i64,
    ) -> Result<Option<(AgentState, Status)>, StoreError> {
        let mut inv = self.invoke(&self.scripts.expire, org);
        inv.arg(agent.as_str())
            .arg(now_ms)
            .arg(crate::domain::HEARTBEAT_EXPIRED);
        let mut conn = self.conn.clone();
        let prev: Option<String> = inv.invoke_async(&mut conn).await?;
        // Off the index either way: expired now, or a fresher heartbeat re-added it.
        let member = format!("{org} {agent}");
        let score: Option<i64> = redis::cmd("ZSCORE")
            .arg(self.heartbeat_index())
            .arg(&member)
            .query_async(&mut conn)
            .await?;
        if score.is_some_and(|s| s < now_ms) {
            let _: i64 = redis::cmd("ZREM")
                .arg(self.heartbeat_index())
                .arg(&member)
                .query_async(&mut conn)
                .await?;
        }
        let Some(prev) = prev.and_then(|p| Status::parse(&p)) else {
            return Ok(None);
        };
        Ok(self.read_state(org, agent).await?.map(|s| (s, prev)))
    }
}
