-- Every tenant on the anomalous (service, route) pairs: the period after each pair's onset
-- [onset, end) against the period before it [start, onset), for the blast radius.
-- Pairs are keys 'service<TAB>route'; onsets_ms/ends_ms are epoch ms, one per key.
WITH
    indexOf({keys:Array(String)}, concat(ServiceName, '\t', $route)) AS k,
    toUnixTimestamp64Milli(Timestamp) AS t_ms,
    toUInt16OrZero(SpanAttributes[{status_attr:String}]) AS status,
    (t_ms >= arrayElement({onsets_ms:Array(Int64)}, k) AND t_ms < arrayElement({ends_ms:Array(Int64)}, k)) AS during,
    (t_ms < arrayElement({onsets_ms:Array(Int64)}, k)) AS before
SELECT
    ServiceName AS service,
    $route AS route,
    SpanAttributes[{tenant_attr:String}] AS tenant,
    countIf(during) AS requests,
    countIf(before) AS baseline_requests,
    sumMapIf(map(status, toUInt64(1)), during) AS statuses,
    sumMapIf(map(status, toUInt64(1)), before) AS baseline_statuses,
    quantilesIf(0.5, 0.95, 0.99)(Duration, during) AS q,
    quantilesIf(0.5, 0.95, 0.99)(Duration, before) AS baseline_q
FROM $table
WHERE Timestamp >= {start:DateTime64(3, 'UTC')}
  AND Timestamp < {end:DateTime64(3, 'UTC')}
  AND SpanKind = 'Server'
  AND ServiceName IN {services:Array(String)}
  AND $route IN {routes:Array(String)}
  AND k > 0
GROUP BY service, route, tenant
ORDER BY service, route, tenant
