"""A child started through backend.core.processes dies with its parent, even one killed with SIGKILL."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from django.conf import settings

from backend.core.processes import run_child

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")

PARENT = textwrap.dedent(
    """
    import subprocess, sys
    from backend.core.processes import run_child

    # The child writes its pid, then becomes `sleep` (same pid): a stand-in for a long FFmpeg run.
    command = ["sh", "-c", 'echo $$ > "$0"; exec sleep 60', sys.argv[2]]
    if sys.argv[1] == "helper":
        run_child(command, timeout=120)
    else:
        subprocess.run(command, capture_output=True, timeout=120)
    """
)


def alive(pid: int) -> bool:
    """Running, not a zombie waiting for a reaper (after its parent died, init may be slow to reap)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


def start_parent_and_child(tmp_path, how: str) -> tuple[subprocess.Popen, int]:
    pidfile = tmp_path / "child.pid"
    parent = subprocess.Popen([sys.executable, "-c", PARENT, how, str(pidfile)], cwd=settings.BASE_DIR)
    deadline = time.monotonic() + 30
    while not (pidfile.exists() and pidfile.read_text().strip()):
        assert time.monotonic() < deadline, "the child never started"
        assert parent.poll() is None, "the parent exited early"
        time.sleep(0.05)
    time.sleep(0.1)  # the shell has exec'ed sleep
    return parent, int(pidfile.read_text())


def kill_parent(parent: subprocess.Popen) -> None:
    parent.send_signal(signal.SIGKILL)
    parent.wait(timeout=10)


def gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_the_child_dies_when_its_parent_is_killed(tmp_path):
    parent, child = start_parent_and_child(tmp_path, "helper")
    assert alive(child)
    kill_parent(parent)
    assert gone_within(child, 3)


def test_without_the_helper_the_child_outlives_its_parent(tmp_path):
    """The failure the helper exists for: without it, the child renders on for nobody."""
    parent, child = start_parent_and_child(tmp_path, "plain")
    try:
        kill_parent(parent)
        assert not gone_within(child, 1)
    finally:
        os.kill(child, signal.SIGKILL)


def test_run_child_runs_a_command_and_captures_its_output():
    result = run_child(["sh", "-c", "echo out; echo err >&2; exit 3"], timeout=10)
    assert (result.returncode, result.stdout, result.stderr) == (3, b"out\n", b"err\n")
    with pytest.raises(subprocess.CalledProcessError):
        run_child(["false"], timeout=10, check=True)
