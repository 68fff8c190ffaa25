"""The one exception a student should ever see: a sentence that names the problem and its fix."""

from __future__ import annotations

import sys

from .i18n import _


class LabError(Exception):
    """An expected problem (no binary, port taken, lab down...), explained in one sentence."""

    exit_code = 1


class UsageError(LabError):
    """A command line the lab does not understand (exit status 2)."""

    exit_code = 2


def redis_sentence(exc: BaseException) -> str | None:
    """One sentence for a redis-py error that reached the top (a server went away or hung mid-command), or
    None if `exc` is not one."""
    redis = sys.modules.get("redis")
    if redis is None or not isinstance(exc, redis.RedisError):
        return None
    from .fix import command  # (errors is imported by everyone: fix only when a sentence is made)

    if isinstance(exc, redis.AuthenticationError):
        return _("A lab server refused the lab's password (another program on its port?); run {doctor}.").format(
            doctor=command("doctor")
        )
    if isinstance(exc, redis.TimeoutError):
        said = _("A lab server stopped answering during this command (hung or busy); {status} says which, and "
                 "{restart} restarts the lab.")  # fmt: skip
        return said.format(status=command("status"), restart=command("down && up"))
    if isinstance(exc, redis.ConnectionError):
        return _("A lab server went away during this command (was the lab stopped?); start it with {up} and run "
                 "it again.").format(up=command("up"))  # fmt: skip
    return _("Redis refused a command ({error}); {doctor} checks the lab.").format(
        error=str(exc).splitlines()[0][:160], doctor=command("doctor")
    )


def install_notebook_handler() -> None:
    """In IPython, show a LabError as its sentence instead of a traceback."""
    if "IPython" not in sys.modules:  # plain Python: nothing to do, and no slow import
        return
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        return

    import redis
    from IPython.display import display

    def _show(shell, etype, value, tb, tb_offset=None):  # noqa: ARG001 - IPython's signature
        skipped = etype.__name__ == "ChapterSkipped"
        # a server that went away or hung in the middle of a cell: one sentence, not a redis-py traceback
        sentence = str(value) if issubclass(etype, LabError) else redis_sentence(value)
        display(chapter_stop("skipped" if skipped else "fail", sentence))

    shell.set_custom_exc((LabError, redis.RedisError), _show)


def chapter_stop(status: str, reason: str):
    """Why a chapter stopped, as a mark (kind "chapter", status skipped or fail): the sentence for the student,
    the data for the report. Its id is the chapter's number when the kernel knows its notebook (JupyterLab names
    it), else "00" — the report sets the id of what it collects anyway."""
    from .marks import Mark

    title = _("chapter") if status == "skipped" else _("the chapter ran to the end")
    return Mark(_chapter_id(), "chapter", status, title, reason)


def _chapter_id() -> str:
    import os
    import re

    found = re.match(r"(\d\d)_", os.path.basename(os.environ.get("JPY_SESSION_NAME", "")))
    return found.group(1) if found else "00"
