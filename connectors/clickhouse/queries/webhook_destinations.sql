-- Every tenant's outbound deliveries of the service while the tenant's deliveries were failing:
-- attempts and failures per destination, to tell a customer endpoint from our own side.
WITH toUInt16OrZero(SpanAttributes[{status_attr:String}]) AS status
SELECT
    SpanAttributes[{url_attr:String}] AS url,
    count() AS attempts,
    countIf(status >= 400 OR status = 0 OR StatusCode = 'Error') AS failures
FROM $table
WHERE Timestamp >= {start:DateTime64(3, 'UTC')}
  AND Timestamp <= {end:DateTime64(3, 'UTC')}
  AND SpanKind = 'Client'
  AND ServiceName = {service:String}
GROUP BY url
ORDER BY url
