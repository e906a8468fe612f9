-- KEYS[1] lock, KEYS[2] state, KEYS[3] users; ARGV[1] token, ARGV[2] ttl in ms, ARGV[3] user id or '',
-- ARGV[4] users ttl in ms. {1, state or nil} when taken (the user recorded), {0} when held.
if redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then
  if ARGV[3] ~= '' then
    redis.call('SADD', KEYS[3], ARGV[3])
    redis.call('PEXPIRE', KEYS[3], ARGV[4])
  end
  return {1, redis.call('GET', KEYS[2])}
end
return {0}
