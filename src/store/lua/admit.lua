-- KEYS[1] claim, KEYS[2] lock, KEYS[3] state, KEYS[4] users; ARGV[1] claim ttl in ms, ARGV[2] user
-- id or '', ARGV[3] users ttl in ms, ARGV[4] lock token or '' (do not lock), ARGV[5] lock ttl in ms.
-- {0} for a duplicate (nothing written); {1, 0} admitted; {1, 1, state or nil} admitted with the lock.
if not redis.call('SET', KEYS[1], '1', 'PX', ARGV[1], 'NX') then return {0} end
if ARGV[2] ~= '' then
  redis.call('SADD', KEYS[4], ARGV[2])
  redis.call('PEXPIRE', KEYS[4], ARGV[3])
end
if ARGV[4] ~= '' and redis.call('SET', KEYS[2], ARGV[4], 'PX', ARGV[5], 'NX') then
  return {1, 1, redis.call('GET', KEYS[3])}
end
return {1, 0}
