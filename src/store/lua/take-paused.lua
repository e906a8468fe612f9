-- KEYS[1] paused; ARGV[1] approval id. The value, deleted, when it is that approval's; else nil.
local value = redis.call('GET', KEYS[1])
if value and string.sub(value, 1, string.len(ARGV[1]) + 1) == ARGV[1] .. '\n' then
  redis.call('DEL', KEYS[1])
  return value
end
return false
