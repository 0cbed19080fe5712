"""One small interface for every video-generation provider."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

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


class Provider(Protocol):
    name: str

    def submit(self, spec: RenderSpec) -> ProviderJob: ...

    def poll(self, provider_job_id: str) -> ProviderJob: ...

    def fetch_result(self, provider_job_id: str, destination: Path) -> Path: ...

    def cancel(self, provider_job_id: str) -> None: ...
