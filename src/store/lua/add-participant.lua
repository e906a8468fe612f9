-- KEYS[1] users; ARGV[1] user id, ARGV[2] ttl in ms.
redis.call('SADD', KEYS[1], ARGV[1])
return redis.call('PEXPIRE', KEYS[1], ARGV[2])
