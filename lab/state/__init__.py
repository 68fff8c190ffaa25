"""The lab's state on this machine: every setting (`settings`), private files (`private`), passwords
(`credentials`), ports (`ports`), an external endpoint (`endpoint`, `urls`), the platform and the Redis binaries
(`platform`, `binaries`), this lab's processes and who listens on its ports (`processes`, `listeners`), every key name the lab writes (`keys`: `KeySchema`).
It imports only `lab.core`."""
