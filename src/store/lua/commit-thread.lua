-- KEYS[1] lock, KEYS[2] state, KEYS[3] users; ARGV[1] token, ARGV[2] state JSON, ARGV[3] ttl in ms.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
  redis.call('PEXPIRE', KEYS[3], ARGV[3])
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
