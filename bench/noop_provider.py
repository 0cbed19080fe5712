"""A provider that returns a ready-made clip at once: isolates the pipeline's own cost."""

import shutil
from pathlib import Path

from media.providers.base import ProviderJob


class NoopProvider:
    name = "noop"

    def __init__(self, *, source: str):
        self.source = Path(source)

    def validate(self, spec):
        pass

    def submit(self, spec, *, key):
        return ProviderJob(provider_job_id="noop", state="succeeded", progress=100)

    def poll(self, provider_job_id):
        return ProviderJob(provider_job_id=provider_job_id, state="succeeded", progress=100)

    def fetch_result(self, provider_job_id, destination):
        shutil.copyfile(self.source, destination)
        return destination

    def cancel(self, provider_job_id):
        pass
