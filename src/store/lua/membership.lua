-- KEYS[1] users, KEYS[2] state; ARGV[1] user id. {active, participant}. State written before the
-- users SET existed keeps its participants in the JSON: read them there (only for such threads).
if redis.call('EXISTS', KEYS[1]) == 1 then
  return {1, redis.call('SISMEMBER', KEYS[1], ARGV[1])}
end
local raw = redis.call('GET', KEYS[2])
if not raw then return {0, 0} end
local ok, state = pcall(cjson.decode, raw)
if not ok or type(state) ~= 'table' or type(state.participants) ~= 'table' then return {0, 0} end
for _, id in ipairs(state.participants) do
  if id == ARGV[1] then return {1, 1} end
end
return {1, 0}
