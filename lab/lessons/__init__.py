"""What the chapters measure and show: replication (`replication`, `replica_limits`), latency (`bench`), TTLs
(`ttl`), failovers (`failover`), chapter 03's lessons (`cache_lessons`), their pictures (`plots`), progress bars
(`progress`), and small display helpers (`notebook`). Imports `lab.cache` and below."""
