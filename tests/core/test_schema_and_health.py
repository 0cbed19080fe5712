import pytest
from django.core.management import call_command


def test_openapi_schema_validates_without_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    schema = (tmp_path / "schema.yaml").read_text()
    for path in ["/api/v1/auth/register", "/api/v1/me", "/api/v1/creators/{handle}/follow"]:
        assert f"{path}:" in schema


@pytest.mark.django_db
def test_schema_and_docs_are_served(api_client):
    assert api_client.get("/api/schema/").status_code == 200
    docs = api_client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content


def test_healthz_answers_while_the_process_lives(client):
    assert client.get("/healthz", HTTP_ACCEPT="application/json").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_readyz_checks_database_redis_and_storage(client):
    response = client.get("/readyz", HTTP_ACCEPT="application/json")
    assert response.status_code == 200, response.content
    checks = response.json()
    assert checks.pop("media_encoder") == "libx264 (in this FFmpeg build)"
    assert len(checks) == 5
    assert all(value == "OK" for value in checks.values()), checks
