"""Work folders of renders and post-processing: all under RENDER_WORK_ROOT, named for their job.

A worker removes its folder when it is done with it; a killed worker cannot. The name
(``render-<job id>-…``, ``post-<job id>-…``) tells a sweep whose folder it is, so it can remove
those whose job no worker runs any more (``render_work_dirs_sweep``).
"""

from __future__ import annotations

import re
import tempfile
import time
from pathlib import Path
from uuid import UUID

from django.conf import settings

KINDS = ("render", "post")
_NAME = re.compile(r"^(?:render|post)-(?P<job_id>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})-")


def work_root() -> Path:
    root = Path(settings.RENDER_WORK_ROOT)
    root.mkdir(parents=True, exist_ok=True)
    return root


def work_dir_make(*, kind: str, job_id: UUID | str) -> Path:
    """A new, empty folder for one step of one job; the caller removes it."""
    if kind not in KINDS:
        raise ValueError(f"unknown work folder kind: {kind}")
    return Path(tempfile.mkdtemp(prefix=f"{kind}-{job_id}-", dir=work_root()))


def work_dirs_by_job(*, older_than_s: float) -> dict[str, list[Path]]:
    """Job folders untouched for ``older_than_s``, by job id. Anything else in the root is left alone."""
    cutoff = time.time() - older_than_s
    found: dict[str, list[Path]] = {}
    for path in work_root().iterdir():
        match = _NAME.match(path.name)
        if match is None:
            continue
        try:
            if not path.is_dir() or path.stat().st_mtime >= cutoff:
                continue
        except FileNotFoundError:
            continue  # its worker removed it meanwhile
        found.setdefault(match["job_id"], []).append(path)
    return found
