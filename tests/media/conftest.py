"""An in-process render provider and a recorder for the messages media services send."""

import shutil

import pytest
from django.core.files.storage import storages

from media.providers.base import ProviderJob
from tests.media_files import make_clip


class ClipProvider:
    """Finishes every render at once with the same clip; ``fail_with`` makes ``submit`` raise."""

    name = "clip"
    clip = None
    fail_with: Exception | None = None
    on_submit = None
    calls: list[str] = []

    def __init__(self, **options):
        pass

    def validate(self, spec) -> None:
        pass

    def submit(self, spec, *, key) -> ProviderJob:
        ClipProvider.calls.append("submit")
        if ClipProvider.fail_with is not None:
            raise ClipProvider.fail_with
        if ClipProvider.on_submit is not None:
            ClipProvider.on_submit()
        return ProviderJob("clip-1", "succeeded", 100)

    def poll(self, provider_job_id) -> ProviderJob:
        return ProviderJob(provider_job_id, "succeeded", 100)

    def fetch_result(self, provider_job_id, destination):
        ClipProvider.calls.append("fetch_result")
        shutil.copyfile(ClipProvider.clip, destination)
        return destination

    def cancel(self, provider_job_id) -> None:
        ClipProvider.calls.append(f"cancel {provider_job_id}")


@pytest.fixture(scope="session")
def clip(tmp_path_factory):
    return make_clip(tmp_path_factory.mktemp("clip") / "clip.mp4", seconds=1.5)


@pytest.fixture
def provider(settings, clip):
    settings.RENDER_PROVIDER_CLASSES = {"clip": f"{__name__}.ClipProvider"}
    settings.RENDER_PROVIDER = "clip"
    ClipProvider.clip, ClipProvider.fail_with, ClipProvider.on_submit, ClipProvider.calls = clip, None, None, []
    yield ClipProvider
    ClipProvider.fail_with, ClipProvider.on_submit, ClipProvider.calls = None, None, []


@pytest.fixture
def sent(monkeypatch):
    """The messages services send after commit, by task."""
    messages = {"render": [], "postprocess": [], "provider_cancel": []}
    monkeypatch.setattr("media.tasks.render_job_execute.delay", lambda **kwargs: messages["render"].append(kwargs))
    monkeypatch.setattr(
        "media.tasks.render_job_postprocess.delay", lambda **kwargs: messages["postprocess"].append(kwargs)
    )
    monkeypatch.setattr(
        "media.tasks.render_provider_job_cancel.delay", lambda **kwargs: messages["provider_cancel"].append(kwargs)
    )
    return messages


def private_files(job) -> list[str]:
    """What the private store holds under a job's originals folder."""
    store = storages["default"]
    folder = f"renders/{job.id}"
    return sorted(store.listdir(folder)[1]) if store.exists(folder) else []
