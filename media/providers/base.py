"""One small interface for every video-generation provider."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

from backend.core.http import ProviderPermanentError

State = Literal["queued", "running", "succeeded", "failed", "cancelled"]


@dataclass(frozen=True)
class RenderSpec:
    prompt: str
    duration_s: float
    aspect: str
    width: int
    height: int
    reference_images: list[Path] = field(default_factory=list)
    source_video: Path | None = None
    # Cameo owners' appearance notes and restrictions: every provider sends them.
    directions: list[str] = field(default_factory=list)
    seed: int | None = None
    caption: str = ""


@dataclass(frozen=True)
class ProviderJob:
    provider_job_id: str
    state: State
    progress: int = 0
    error_code: str = ""
    error_message: str = ""


class SpecRefused(ProviderPermanentError):
    """A request the provider's API would reject (a duration, an aspect, reference images it cannot take).

    The requester can change it: at request time it becomes a 400 with this ``code`` and ``details``
    (what the provider accepts), and no job is made.
    """

    def __init__(self, message: str, *, code: str = "render_spec_refused", details: dict | None = None):
        super().__init__(message, code=code)
        self.details = details or {}


class Provider(Protocol):
    name: str

    def validate(self, spec: RenderSpec) -> None:
        """Raise SpecRefused for a request the provider's API would reject.

        Looks at the request's shape only (durations, sizes, how many references): at request time the
        reference images and source video are named, not downloaded, so it never reads the files.
        """

    def submit(self, spec: RenderSpec, *, key: str) -> ProviderJob:
        """Start a render. ``key`` is the render job's id, the same on every attempt: a provider whose
        API takes a client-chosen id uses it, so submitting twice starts one render."""

    def poll(self, provider_job_id: str) -> ProviderJob: ...

    def fetch_result(self, provider_job_id: str, destination: Path) -> Path: ...

    def cancel(self, provider_job_id: str) -> None: ...
