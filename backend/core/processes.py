"""Child processes (FFmpeg) that die with the process that started them.

A worker killed with SIGKILL (the OOM killer, a deploy, Celery's hard time limit) runs no cleanup;
its FFmpeg would render on for minutes into a folder nobody reads. On Linux the child asks the
kernel for SIGKILL when its parent goes (prctl PR_SET_PDEATHSIG), set between fork and exec.
Elsewhere children are started plainly.

Linux sends the signal when the *thread* that started the child ends, not the process: start
children from a thread that lives as long as the work (a Celery task's, a request's).
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence

_PR_SET_PDEATHSIG = 1

if sys.platform.startswith("linux"):
    _libc = ctypes.CDLL(None, use_errno=True)
    _prctl = _libc.prctl
else:  # pragma: no cover - development on macOS
    _prctl = None


def die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` that has the child killed when its parent dies (None where unsupported)."""
    if _prctl is None:
        return None
    parent = os.getpid()

    def preexec() -> None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:
            # The parent died between fork and prctl: nobody will send the signal.
            os._exit(1)

    return preexec


def run_child(command: Sequence[str], *, timeout: float, check: bool = False) -> subprocess.CompletedProcess:
    """``subprocess.run`` with output captured and the child tied to this process's life."""
    return subprocess.run(
        list(command), capture_output=True, timeout=timeout, check=check, preexec_fn=die_with_parent()
    )
