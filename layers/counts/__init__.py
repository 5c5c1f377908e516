"""Traffic counts as time series: a station's hourly counts aggregated by hour, day or
week in the city's time zone (`series`), totals per ward and per road segment
(`wards`), and batches of observations pushed by the IOC (`observations`, `upsert`)."""
