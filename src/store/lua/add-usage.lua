-- KEYS: the scopes' usage of one day; ARGV[1] ttl in ms, then field/amount pairs.
for _, key in ipairs(KEYS) do
  for i = 2, #ARGV, 2 do redis.call('HINCRBY', key, ARGV[i], ARGV[i + 1]) end
  redis.call('PEXPIRE', key, ARGV[1])
end
return #KEYS
