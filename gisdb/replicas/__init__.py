"""Scale-out on PostgreSQL's own streaming replication: read replicas chosen per request
(`router`), WAL positions that carry read-your-writes (`lsn`), each replica's health and
lag (`health`), which server a pool reaches after a failover (`server_log`), and the
embedded cluster's own streaming standby (`standby`). See docs/scale_out.md."""
