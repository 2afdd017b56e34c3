--[[
  Decide "new or duplicate" and enqueue, for every event the accept path took in one turn of its
  event loop, in one call. Per event it is the same atomic step as ever (SET NX then XADD, nothing
  else runs in between), so no event is marked as seen without being queued, and a second delivery
  in the same batch is a duplicate of the first.

  KEYS[1]    {ns}:events                     the stream the workers read
  KEYS[1+i]  {ns}:idem:<idempotency key>     of event i (1..n)

  ARGV[1]    idempotency TTL, seconds
  then three per event i, from ARGV[2 + 3(i-1)]:
    request_id, head (the event's JSON up to its payload: queued-event.ts), payload (the raw JSON body);
    the stream entry's one field, "event", is the head followed by the payload

  Returns one reply per event, in order: 0 when accepted, else the request_id of the first delivery.
]]
local stream = KEYS[1]
local ttl = ARGV[1]
local out = {}
for i = 2, #KEYS do
  local a = 2 + (i - 2) * 3
  if redis.call("SET", KEYS[i], ARGV[a], "NX", "EX", ttl) then
    redis.call("XADD", stream, "*", "event", ARGV[a + 1] .. ARGV[a + 2])
    out[i - 1] = 0
  else
    out[i - 1] = redis.call("GET", KEYS[i])
  end
end
return out
