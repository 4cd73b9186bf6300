-- Configuration check: does the traces table exist?
SELECT count() AS tables
FROM system.tables
WHERE database = {database:String} AND name = {table:String}
