"""What the chapters measure and show, each measurement a result that owns its checks (`results`, their base):
replication (`replication`, and `replica_limits`: what it does not promise, resyncs included), chapter 03's lessons (`cache_lessons`), latency
(`bench`), TTLs (`ttl`), failovers (`failover`), a cache that fills up (`eviction`), the cluster's lessons (`cluster_lessons`), their pictures
(`plots`), progress bars (`progress`), and small display helpers (`notebook`). Imports `lab.cache` and below."""
