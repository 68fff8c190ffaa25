"""The one exception a student should ever see: a sentence that names the problem and its fix."""

from __future__ import annotations

import sys


class LabError(Exception):
    """An expected problem (no binary, port taken, lab down...), explained in one sentence."""

    exit_code = 1


class UsageError(LabError):
    """A command line the lab does not understand (exit status 2)."""

    exit_code = 2


def install_notebook_handler() -> None:
    """In IPython, show a LabError as its sentence instead of a traceback."""
    if "IPython" not in sys.modules:  # plain Python: nothing to do, and no slow import
        return
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        return

    def _show(shell, etype, value, tb, tb_offset=None):  # noqa: ARG001 - IPython's signature
        print(f"{'⏭️' if etype.__name__ == 'ChapterSkipped' else '❌'} {value}")

    shell.set_custom_exc((LabError,), _show)
