-- One ledger call (see ledger.ts, BucketRequest and BucketGrant; memory-ledger.ts is the same
-- algorithm in TypeScript). KEYS: buckets (one workspace's, so one Cluster slot). ARGV: replica,
-- hold ttl, state ttl, now or '', step ms, step share, probe gap, slots per window, then 11 numbers
-- per bucket (see BucketRequest).
local replica = ARGV[1]
local holdTtl = tonumber(ARGV[2])
local stateTtl = tonumber(ARGV[3])
-- Redis's clock is the one all replicas share; tests pass their own.
local now
if ARGV[4] ~= '' then
  now = tonumber(ARGV[4])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local stepMs = tonumber(ARGV[5])
local stepShare = tonumber(ARGV[6])
local probeGap = tonumber(ARGV[7])
local slotsPerWindow = tonumber(ARGV[8])
local NUM = 11
local list = {}
local allNeed = true
for i = 1, #KEYS do
  local b = 8 + (i - 1) * NUM
  local r = {
    configured = tonumber(ARGV[b + 1]), ceiling = tonumber(ARGV[b + 2]), windowMs = tonumber(ARGV[b + 3]),
    reserve = tonumber(ARGV[b + 4]), held = tonumber(ARGV[b + 5]), used = tonumber(ARGV[b + 6]),
    need = tonumber(ARGV[b + 7]), needNow = tonumber(ARGV[b + 8]), extra = tonumber(ARGV[b + 9]),
    inter = tonumber(ARGV[b + 10]), demand = tonumber(ARGV[b + 11]),
  }
  local raw = redis.call('HGETALL', KEYS[i])
  local f = {}
  for j = 1, #raw, 2 do f[raw[j]] = raw[j + 1] end
  local s = {}
  if tonumber(f.c) ~= r.configured or f.a == nil then
    redis.call('DEL', KEYS[i])
    f = {}
    s.allowance = r.configured
    s.proven = r.configured
    s.limitedAt = -1e15
    s.blockedUntil = 0
    s.busy = nil
    s.probeAt = -1e15
  else
    s.allowance = tonumber(f.a)
    s.proven = tonumber(f.p)
    s.limitedAt = tonumber(f.lim)
    s.blockedUntil = tonumber(f.blk)
    s.busy = tonumber(f.busy)
    s.probeAt = tonumber(f.probe)
  end
  local slotMs = math.max(1, math.floor(r.windowMs / slotsPerWindow))
  local used = 0
  local earliest = nil
  local holds = 0
  local demand = 0
  for field, value in pairs(f) do
    local prefix = string.sub(field, 1, 2)
    if prefix == 'w:' then
      local freeAt = (tonumber(string.sub(field, 3)) + 1) * slotMs + r.windowMs
      if freeAt <= now then
        redis.call('HDEL', KEYS[i], field)
      else
        used = used + tonumber(value)
        if earliest == nil or freeAt < earliest then earliest = freeAt end
      end
    elseif prefix == 'e:' then
      local who = string.sub(field, 3)
      if who ~= replica then
        if tonumber(value) > now then
          holds = holds + (tonumber(f['h:' .. who]) or 0)
          demand = demand + (tonumber(f['d:' .. who]) or 0)
        else
          redis.call('HDEL', KEYS[i], field, 'h:' .. who, 'd:' .. who)
        end
      end
    end
  end
  local count = used + r.used + holds + r.held
  local blocked = s.blockedUntil > now
  local priorityCap = math.floor(math.min(s.allowance, s.proven))
  local needOk = r.need == 0 or ((not blocked) and count + r.need <= priorityCap)
  if not needOk then allNeed = false end
  list[i] = { r = r, s = s, used = used, earliest = earliest, holds = holds, demand = demand, count = count,
    blocked = blocked, priorityCap = priorityCap, slotMs = slotMs, needOk = needOk }
end
local out = {}
for i = 1, #KEYS do
  local e = list[i]
  local r = e.r
  local s = e.s
  local need = 0
  if allNeed then need = r.need end
  local total = e.count + need
  local extra = 0
  if allNeed and not e.blocked then extra = math.min(r.extra, math.max(0, e.priorityCap - total)) end
  total = total + extra
  local inter = 0
  if not e.blocked then inter = math.min(r.inter, math.max(0, math.floor(s.allowance) - r.reserve - total)) end
  if inter > 0 and total + inter > e.priorityCap then
    local within = math.max(0, e.priorityCap - r.reserve - total)
    if now - s.probeAt >= probeGap then
      inter = math.min(inter, within + 1)
      if inter > within then s.probeAt = now end
    else
      inter = math.min(inter, within)
    end
  end
  total = total + inter
  local entering = r.used
  if allNeed then entering = entering + r.needNow end
  if entering > 0 then
    local slot = math.floor(now / e.slotMs)
    redis.call('HINCRBY', KEYS[i], 'w:' .. slot, entering)
    local freeAt = (slot + 1) * e.slotMs + r.windowMs
    if e.earliest == nil or freeAt < e.earliest then e.earliest = freeAt end
  end
  local held = r.held + need + extra + inter
  if allNeed then held = held - r.needNow end
  if held > 0 or r.demand > 0 then
    redis.call('HSET', KEYS[i], 'h:' .. replica, held, 'e:' .. replica, now + holdTtl, 'd:' .. replica, r.demand)
  else
    redis.call('HDEL', KEYS[i], 'h:' .. replica, 'e:' .. replica, 'd:' .. replica)
  end
  local short = (not e.needOk) or inter < r.inter
  if total >= 0.8 * s.allowance or short then
    if s.busy == nil then s.busy = now end
  elseif total < 0.5 * s.allowance then
    s.busy = nil
  end
  if s.busy ~= nil and now - s.busy >= stepMs and now - s.limitedAt >= stepMs and s.allowance < r.ceiling then
    s.allowance = math.min(r.ceiling, s.allowance + stepShare * r.configured)
    s.busy = now
  end
  local made = e.used + entering
  if now - s.limitedAt >= r.windowMs and made > s.proven then s.proven = math.min(s.allowance, made) end
  local wait = 0
  if short then
    if e.blocked then
      wait = math.max(1, math.ceil(s.blockedUntil - now))
    else
      local untilFree = e.slotMs
      if e.earliest ~= nil then untilFree = math.ceil(e.earliest - now) end
      if e.holds > 0 then untilFree = math.min(untilFree, 2000) end
      wait = math.max(1, untilFree)
    end
  end
  local busy = ''
  if s.busy ~= nil then busy = tostring(s.busy) end
  redis.call('HSET', KEYS[i], 'c', r.configured, 'a', tostring(s.allowance), 'p', tostring(s.proven),
    'lim', tostring(s.limitedAt), 'blk', tostring(s.blockedUntil), 'busy', busy, 'probe', tostring(s.probeAt))
  if busy == '' then redis.call('HDEL', KEYS[i], 'busy') end
  redis.call('PEXPIRE', KEYS[i], math.max(stateTtl, 2 * r.windowMs))
  local needGranted = 0
  if allNeed then needGranted = 1 end
  local needOk = 0
  if e.needOk then needOk = 1 end
  local limited = 0
  if e.blocked then limited = 1 end
  out[i] = { needGranted, needOk, extra, inter, math.floor(s.allowance) - total, tostring(s.allowance),
    e.demand + r.demand, wait, limited }
end
return out
