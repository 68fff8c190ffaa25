"""The lab's servers: one process and its files (`nodes`, `runtime_conf`), the master and its replica
(`pair`: up, down, stop, kill), sentinels and a cluster (`sentinel`, `cluster`, `tls`), throwaway servers for a check or a small
cache (`scratch`), what answers on the
ports (`health`), every redis-py client (`clients`), settings put back (`drift`), the lab as one object
(`context`: settings, passwords, key schema and clients, read once). Imports `lab.state` and below.

`lab.servers.up()` and the others are the pair's (the names every chapter and test knows)."""

from .pair import down, is_up, kill, pid, restore_users, start_node, status, stop, up

__all__ = ["up", "down", "status", "is_up", "stop", "kill", "pid", "start_node", "restore_users"]
