import json

import boto3
import pytest

from backend.settings import s3_public_url_options
from tests.fake_providers import fake_veo_as_provider
from tests.media_files import make_clip
from tests.workers import MotoServer, WorkerProcess

VEO_MODEL = "veo-3.1-generate-preview"
VEO_SUBMIT = f"POST /v1beta/models/{VEO_MODEL}:predictLongRunning"

S3_ENV = {
    "S3_BUCKET": "remix-test-private",
    "S3_PUBLIC_BUCKET": "remix-test-public",
    "S3_ACCESS_KEY_ID": "testing",
    "S3_SECRET_ACCESS_KEY": "testing",
    "S3_REGION": "us-east-1",
}


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory):
    server = MotoServer(tmp_path_factory.mktemp("moto") / "moto.log")
    yield server
    server.stop()


def public_read_policy(bucket: str) -> dict:
    """The bucket policy of the README's "Media delivery": GetObject for anyone, under public/ only."""
    resource = f"arn:aws:s3:::{bucket}/public/*"
    statement = {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": resource}
    return {"Version": "2012-10-17", "Statement": [statement]}


def _s3_storage(bucket: str, endpoint: str, location: str) -> dict:
    """The same configuration backend/settings.py builds from the S3_* variables."""
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            "location": location,
            "endpoint_url": endpoint,
            "access_key": S3_ENV["S3_ACCESS_KEY_ID"],
            "secret_key": S3_ENV["S3_SECRET_ACCESS_KEY"],
            "region_name": S3_ENV["S3_REGION"],
            "file_overwrite": False,
            # Public renditions at plain, unsigned URLs; private media signed.
            **({"querystring_auth": True} if location == "private" else s3_public_url_options("", cache_seconds=60)),
        },
    }


@pytest.fixture
def s3(moto_server, settings):
    """Both media stores on S3 (moto over HTTP), in this process and for workers."""
    client = boto3.client(
        "s3",
        endpoint_url=moto_server.endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    for bucket in (S3_ENV["S3_BUCKET"], S3_ENV["S3_PUBLIC_BUCKET"]):
        client.create_bucket(Bucket=bucket)
        # As the README says to set up a bucket: anyone may read what is under public/, nothing else.
        client.put_bucket_policy(Bucket=bucket, Policy=json.dumps(public_read_policy(bucket)))
    settings.STORAGES = {
        **settings.STORAGES,
        "default": _s3_storage(S3_ENV["S3_BUCKET"], moto_server.endpoint, "private"),
        "public": _s3_storage(S3_ENV["S3_PUBLIC_BUCKET"], moto_server.endpoint, "public"),
    }
    settings.S3_BUCKET = S3_ENV["S3_BUCKET"]
    yield {"client": client, "env": {**S3_ENV, "S3_ENDPOINT_URL": moto_server.endpoint}}
    for bucket in (S3_ENV["S3_BUCKET"], S3_ENV["S3_PUBLIC_BUCKET"]):
        for item in client.list_objects_v2(Bucket=bucket).get("Contents", []):
            client.delete_object(Bucket=bucket, Key=item["Key"])
        client.delete_bucket(Bucket=bucket)


def bucket_keys(s3, bucket_env: str) -> list[str]:
    listing = s3["client"].list_objects_v2(Bucket=s3["env"][bucket_env])
    return sorted(item["Key"] for item in listing.get("Contents", []))


@pytest.fixture
def start_worker(tmp_path, s3):
    """Start real Celery workers on every queue (or those named); they are stopped after the test."""
    workers = []

    def start(
        *, concurrency: int = 2, env: dict | None = None, queues: str = "default,renders,media,feeds"
    ) -> WorkerProcess:
        worker = WorkerProcess(
            queues=queues,
            concurrency=concurrency,
            extra_env={**s3["env"], **(env or {})},
            log_path=tmp_path / f"worker-{len(workers)}.log",
        )
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()


@pytest.fixture
def veo(settings, tmp_path):
    """Renders go to Veo, answered by the fake Gemini API (tests/fake_providers.py): the fake, and the
    environment that points a worker at it."""
    clip = make_clip(tmp_path / "veo.mp4", seconds=4, size="360x640")
    fake = fake_veo_as_provider(settings, clip=clip, model=VEO_MODEL)
    yield fake, {"VEO_BASE_URL": fake.url, "VEO_API_KEY": "test-key", "VEO_MODEL": VEO_MODEL}
    fake.stop()
