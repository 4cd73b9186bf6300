-- The first successful delivery to a destination after its last failure (epoch ms; 0 when none).
WITH toUInt16OrZero(SpanAttributes[{status_attr:String}]) AS status
SELECT
    minIf(toUnixTimestamp64Milli(Timestamp), status BETWEEN 100 AND 399 AND StatusCode != 'Error') AS recovered_ms
FROM $table
WHERE Timestamp > {after:DateTime64(3, 'UTC')}
  AND Timestamp < {end:DateTime64(3, 'UTC')}
  AND SpanKind = 'Client'
  AND ServiceName = {service:String}
  AND SpanAttributes[{tenant_attr:String}] = {tenant:String}
  AND SpanAttributes[{url_attr:String}] = {url:String}
