--[[
  The collecting turn of a stream's workers (workers/collecting-turn.ts): take it if it is free, keep it if it is
  already ours, or give it up. Only the holder lingers over a stream that is not backlogged, so a
  quiet or steady stream is written by one worker in full batches while the others wait.

  KEYS[1]  {ns}:turn      the holder's consumer name, expiring unless the holder renews it
  ARGV[1]  consumer name
  ARGV[2]  how long the turn is held without a renewal, ms; 0 gives it up

  Returns 1 when the caller holds the turn afterwards, else 0.
]]
local holder = redis.call("GET", KEYS[1])
if ARGV[2] == "0" then
  if holder == ARGV[1] then redis.call("DEL", KEYS[1]) end
  return 0
end
if holder == false or holder == ARGV[1] then
  redis.call("SET", KEYS[1], ARGV[1], "PX", ARGV[2])
  return 1
end
return 0
