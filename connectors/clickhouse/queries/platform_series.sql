-- Platform-wide server traffic (all tenants) per (service, route) and time bucket, for an
-- investigation whose tenant is unknown: requests, requests by status code, duration quantiles (ns).
WITH
    toUInt16OrZero(SpanAttributes[{status_attr:String}]) AS status,
    toUnixTimestamp64Milli(Timestamp) AS t_ms
SELECT
    ServiceName AS service,
    $route AS route,
    SpanKind AS kind,
    '' AS url,
    '' AS event,
    intDiv(t_ms - {start_ms:Int64}, {bucket_ms:Int64}) AS bucket,
    count() AS requests,
    sumMap(map(status, toUInt64(1))) AS statuses,
    quantiles(0.5, 0.95, 0.99)(Duration) AS q,
    minIf(t_ms, status >= 400) AS first_failure_ms,
    maxIf(t_ms, status >= 400) AS last_failure_ms,
    minIf(t_ms, status < 400) AS first_ok_ms
FROM $table
WHERE Timestamp >= {start:DateTime64(3, 'UTC')}
  AND Timestamp < {end:DateTime64(3, 'UTC')}
  AND SpanKind = 'Server'
GROUP BY service, route, kind, bucket
ORDER BY service, route, kind, bucket
