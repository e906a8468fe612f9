-- KEYS: several scopes' usage of one day (one hash tag). One HGETALL list per key.
local out = {}
for i, key in ipairs(KEYS) do out[i] = redis.call('HGETALL', key) end
return out
