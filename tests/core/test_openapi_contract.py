"""The OpenAPI schema is precise enough to build the apps from: every response typed, every
refusal documented in the one error envelope, with the codes it may carry."""

import pytest
import yaml
from django.core.management import call_command

ENVELOPE = "#/components/schemas/ErrorEnvelope"
# Free-form on purpose: what ``details`` holds depends on the code (the field errors of ``invalid``,
# ``retry_after_seconds`` of ``throttled``...), and it says so in its description.
FREE_FORM = {"#/components/schemas/ErrorOutput/properties/details"}
METHODS = {"get", "put", "post", "patch", "delete"}


@pytest.fixture(scope="module")
def schema(tmp_path_factory):
    path = tmp_path_factory.mktemp("schema") / "schema.yaml"
    # As `make schema` does: a warning (an untyped field, an enum name collision) fails the build.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(path))
    return yaml.safe_load(path.read_text())


def operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield f"{method.upper()} {path}", operation


def bare_objects(node, where: str):
    """Every schema of type object that names no properties and no typed values: a bare OBJECT."""
    if isinstance(node, dict):
        if (
            node.get("type") == "object"
            and not node.get("properties")
            and node.get("additionalProperties")
            in (
                None,
                True,
                {},
            )
        ):
            yield where
        for key, value in node.items():
            yield from bare_objects(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from bare_objects(value, f"{where}/{index}")


def test_no_response_is_a_bare_object(schema):
    found = [where for name, operation in operations(schema) for where in bare_objects(operation["responses"], name)]
    found += list(bare_objects(schema["components"]["schemas"], "#/components/schemas"))
    assert [where for where in found if where not in FREE_FORM] == []


def test_every_refusal_is_the_error_envelope_with_its_codes(schema):
    for name, operation in operations(schema):
        responses = operation["responses"]
        refusals = {status: response for status, response in responses.items() if status[0] in "45"}
        assert "503" in refusals, name  # any request may meet a store out of reach
        for status, response in refusals.items():
            assert response["content"]["application/json"]["schema"] == {"$ref": ENVELOPE}, (name, status)
            codes = response["x-error-codes"]
            assert codes and all(isinstance(code, str) and code for code in codes), (name, status)
            assert all(f"`{code}`" in response["description"] for code in codes), (name, status)


def test_only_operations_that_need_a_caller_answer_401(schema):
    for name, operation in operations(schema):
        anonymous = not operation.get("security") or {} in operation["security"]
        codes = operation["responses"].get("401", {}).get("x-error-codes", [])
        if anonymous:
            # Open to anyone; only the sign-in operations refuse what they are sent with a 401.
            assert "not_authenticated" not in codes, name
        else:
            assert {"not_authenticated", "token_not_valid"} <= set(codes), name


def test_the_rules_of_core_and_of_the_views_are_both_documented(schema):
    paths = schema["paths"]
    render = paths["/api/v1/renders"]["post"]["responses"]
    assert "account_suspended" in render["403"]["x-error-codes"]  # core.permissions, for every write
    assert "cameo_not_allowed" in render["403"]["x-error-codes"]  # the render request's own rule
    assert render["409"]["x-error-codes"] == ["idempotency_key_reused"]
    assert "email_unverified" in paths["/api/v1/videos/{video_id}/publish"]["post"]["responses"]["403"]["x-error-codes"]
    # Deleting one's own cameo is allowed while suspended: no account_suspended to document.
    assert "403" not in paths["/api/v1/cameos/{cameo_id}"]["delete"]["responses"]
    assert "404" not in paths["/api/v1/feed"]["get"]["responses"]  # nothing in its path to miss
    assert paths["/api/v1/auth/token"]["post"]["responses"]["401"]["x-error-codes"] == ["no_active_account"]


def test_main_operations_carry_examples(schema):
    def examples(operation):
        request = [c.get("examples") for c in operation.get("requestBody", {}).get("content", {}).values()]
        response = [c.get("examples") for r in operation["responses"].values() for c in r.get("content", {}).values()]
        return [e for e in request + response if e]

    paths = schema["paths"]
    for path, method in [("/api/v1/renders", "post"), ("/api/v1/cameos", "post"), ("/api/v1/feed", "get"),
                         ("/api/v1/videos/{video_id}/remix", "post"), ("/api/v1/videos/{video_id}/publish", "post"),
                         ("/api/v1/auth/register", "post"), ("/api/v1/auth/token", "post")]:  # fmt: skip
        assert examples(paths[path][method]), (method, path)


def test_enums_have_names_of_their_own(schema):
    names = [name for name, component in schema["components"]["schemas"].items() if "enum" in component]
    generic = {"StatusEnum", "KindEnum", "TypeEnum", "StageEnum", "ReasonEnum", "ScopeEnum", "TierEnum"}
    assert not generic & set(names)
    # drf-spectacular names a collision after its serializer (``DataExportOutputStatusEnum``).
    assert not [name for name in names if "Output" in name or "Input" in name]
