-- Slack answered 429 (see Ledger.limited): lowers the allowance and blocks the bucket until
-- Retry-After. KEYS[1]: the bucket. ARGV: configured, window ms, retry-after ms, now or '', state
-- ttl, decrease, floor share.
-- Redis's clock is the one all replicas share; tests pass their own.
local now
if ARGV[4] ~= '' then
  now = tonumber(ARGV[4])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local configured = tonumber(ARGV[1])
local retryAfter = tonumber(ARGV[3])
local stateTtl = tonumber(ARGV[5])
local f = {}
local raw = redis.call('HGETALL', KEYS[1])
for j = 1, #raw, 2 do f[raw[j]] = raw[j + 1] end
local allowance = tonumber(f.a)
local proven = tonumber(f.p)
local blocked = tonumber(f.blk) or 0
if tonumber(f.c) ~= configured or allowance == nil then
  redis.call('DEL', KEYS[1])
  allowance = configured
  proven = configured
  blocked = 0
  redis.call('HSET', KEYS[1], 'probe', '-1e15')
end
allowance = math.max(math.max(1, tonumber(ARGV[7]) * configured), allowance * tonumber(ARGV[6]))
proven = math.min(proven, allowance)
blocked = math.max(blocked, now + retryAfter)
redis.call('HSET', KEYS[1], 'c', configured, 'a', tostring(allowance), 'p', tostring(proven),
  'lim', tostring(now), 'blk', tostring(blocked))
redis.call('HDEL', KEYS[1], 'busy')
redis.call('PEXPIRE', KEYS[1], math.max(stateTtl, 2 * tonumber(ARGV[2])))
return tostring(allowance)
