--[[
  Decide "new or duplicate" and enqueue in one atomic step, so no event is ever marked as seen
  without being queued (a sender retrying after any failure never gets "duplicate" for a lost event).

  KEYS[1]  {ns}:idem:<idempotency key>   remembers the request_id that first carried this key
  KEYS[2]  {ns}:events                    the stream the workers read

  ARGV[1]  request_id        ARGV[2]  idempotency TTL, seconds
  ARGV[3]  idempotency_key   ARGV[4]  ordering_key ("" when none)
  ARGV[5]  seq ("" when none) ARGV[6]  received_at (ISO 8601)
  ARGV[7]  payload (the raw JSON body)

  Returns {"accepted", request_id} or {"duplicate", request_id of the first delivery}.
]]
if redis.call("SET", KEYS[1], ARGV[1], "NX", "EX", ARGV[2]) then
  redis.call("XADD", KEYS[2], "*",
    "request_id", ARGV[1],
    "idempotency_key", ARGV[3],
    "ordering_key", ARGV[4],
    "seq", ARGV[5],
    "received_at", ARGV[6],
    "payload", ARGV[7])
  return {"accepted", ARGV[1]}
end
return {"duplicate", redis.call("GET", KEYS[1])}
