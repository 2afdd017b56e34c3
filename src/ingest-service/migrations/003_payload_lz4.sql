-- 003: payloads are TOASTed (a webhook is ~6 KB) and pglz, the default, was the largest single cost
-- of storing an event (measured with bench/batch-writes.ts); lz4 compresses them at a fraction of the
-- CPU. New rows only. A server built without lz4 keeps pglz rather than failing to migrate.
do $$
begin
  alter table webhook_events alter column payload set compression lz4;
exception when feature_not_supported or invalid_parameter_value then
  raise notice 'lz4 is not available here; payloads stay compressed with %', current_setting('default_toast_compression');
end $$;
