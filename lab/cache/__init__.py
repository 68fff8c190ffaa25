"""The workshop's cache: the cache-aside lookup (`lookup`: `CacheAside`; `single_flight`: concurrent misses of one
key sharing one database read), the slow database (`slowdb`), the form
(`widgets`, loaded only when asked for: it needs ipywidgets), what the workshop's Flask app needs around its
routes (`web`: keys from requests, the page's words, serving it), replacement policies computed offline on a
request trace (`policies`: an exact LRU and Belady's optimum, for chapter 08) and a small cache that fills up on
a throwaway server (`small_cache`, chapter 08 too); every key name is
`lab.state.keys`'s `KeySchema`, given here too. Imports `lab.servers` and below.

    from lab.cache import CacheAside, SlowDB, KeySchema, CacheForm
"""

from ..state.keys import KeySchema
from .lookup import NEGATIVE_TTL, NOT_FOUND, BadKey, CacheAside, LookupResult, validate_key
from .slowdb import SlowDB

__all__ = ["CacheAside", "LookupResult", "BadKey", "validate_key", "SlowDB", "KeySchema", "CacheForm",
           "NEGATIVE_TTL", "NOT_FOUND"]  # fmt: skip


def __getattr__(name: str):
    if name == "CacheForm":
        from .widgets import CacheForm

        return CacheForm
    raise AttributeError(f"module 'lab.cache' has no attribute {name!r}")
