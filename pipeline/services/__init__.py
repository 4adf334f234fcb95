"""Services: the only place that sequences steps (ingest a scan, publish a record, run services)."""
