-- KEYS[1] settings; ARGV[1] updatedBy, ARGV[2] updatedAtMs, then field/value pairs (value '' clears
-- the field). {fields before…, '|', fields after…} as flat HGETALL lists, so the caller logs exactly this change.
local before = redis.call('HGETALL', KEYS[1])
for i = 3, #ARGV, 2 do
  if ARGV[i + 1] == '' then redis.call('HDEL', KEYS[1], ARGV[i])
  else redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
end
redis.call('HSET', KEYS[1], '_updatedBy', ARGV[1], '_updatedAtMs', ARGV[2])
local after = redis.call('HGETALL', KEYS[1])
local out = {}
for _, v in ipairs(before) do out[#out + 1] = v end
out[#out + 1] = '|'
for _, v in ipairs(after) do out[#out + 1] = v end
return out
