-- The tenant's traffic aggregated once: per (service, route, span kind, destination url, event type)
-- and time bucket (index counted from {start}): requests, requests by status code, duration
-- quantiles (ns), and the first/last failure and first success in the bucket (epoch ms).
WITH
    toUInt16OrZero(SpanAttributes[{status_attr:String}]) AS status,
    (status >= 400 OR StatusCode = 'Error' OR (SpanKind = 'Client' AND status = 0)) AS failed,
    toUnixTimestamp64Milli(Timestamp) AS t_ms
SELECT
    ServiceName AS service,
    $route AS route,
    SpanKind AS kind,
    SpanAttributes[{url_attr:String}] AS url,
    SpanAttributes[{event_attr:String}] AS event,
    intDiv(t_ms - {start_ms:Int64}, {bucket_ms:Int64}) AS bucket,
    count() AS requests,
    sumMap(map(status, toUInt64(1))) AS statuses,
    quantiles(0.5, 0.95, 0.99)(Duration) AS q,
    minIf(t_ms, failed) AS first_failure_ms,
    maxIf(t_ms, failed) AS last_failure_ms,
    minIf(t_ms, NOT failed) AS first_ok_ms
FROM $table
WHERE Timestamp >= {start:DateTime64(3, 'UTC')}
  AND Timestamp < {end:DateTime64(3, 'UTC')}
  AND SpanAttributes[{tenant_attr:String}] = {tenant:String}
GROUP BY service, route, kind, url, event, bucket
ORDER BY service, route, kind, url, event, bucket
