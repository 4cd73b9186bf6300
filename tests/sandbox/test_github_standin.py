"""The GitHub stand-in answers like api.github.com: shapes (validated against the contract),
pagination, rate-limit headers and GitHub's error bodies."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import requests

from investigator.sandbox.github_standin import GitHubStandIn
from investigator.sandbox.scenario import GitHubWorld, load_scenario
from investigator.sandbox.standin import FaultKind, Injection

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
SUBSET = SHARED / "contracts" / "github" / "subset.json"
SCENARIO = SHARED / "scenarios" / "deploy-regression.yaml"
BILLING = "/repos/acme-hq/billing"
RATE_HEADERS = (
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
    "x-ratelimit-used",
    "x-ratelimit-resource",
)


def _nullable_to_json_schema(node: Any) -> Any:
    """OpenAPI 3.0 ``nullable: true`` -> JSON Schema ``anyOf [..., null]`` (recursively)."""
    if isinstance(node, list):
        return [_nullable_to_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _nullable_to_json_schema(v) for k, v in node.items() if k != "nullable"}
    if node.get("nullable") is True:
        return {"anyOf": [out, {"type": "null"}]}
    return out


@pytest.fixture(scope="module")
def components() -> dict[str, Any]:
    spec = json.loads(SUBSET.read_text())
    return {"components": _nullable_to_json_schema(spec["components"])}


def assert_shape(components: dict[str, Any], schema: str, instance: Any, *, array: bool = False) -> None:
    ref = {"$ref": f"#/components/schemas/{schema}"}
    root = {**components, **({"type": "array", "items": ref} if array else ref)}
    jsonschema.Draft7Validator(root).validate(instance)


@pytest.fixture
def standin() -> Iterator[GitHubStandIn]:
    scenario = load_scenario(SCENARIO)
    with GitHubStandIn(scenario.github) as server:
        yield server  # type: ignore[misc]


def get(server: GitHubStandIn, path: str, token: str | None = None, **params: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {token or server.token}", "Accept": "application/vnd.github+json"}
    return requests.get(server.url + path, params=params, headers=headers, timeout=5)


def test_helper_turns_nullable_into_null_alternative() -> None:
    converted = _nullable_to_json_schema({"type": "string", "nullable": True})
    assert converted == {"anyOf": [{"type": "string"}, {"type": "null"}]}


def test_shape_check_rejects_a_deployment_missing_required_fields(components: dict[str, Any]) -> None:
    with pytest.raises(jsonschema.ValidationError):
        assert_shape(components, "deployment", {"id": 1, "sha": "abc"})


def test_deployments_validate_and_come_newest_first(standin: GitHubStandIn, components: dict[str, Any]) -> None:
    response = get(standin, f"{BILLING}/deployments", environment="production")
    assert response.status_code == 200
    body = response.json()
    assert_shape(components, "deployment", body, array=True)
    assert [d["id"] for d in body] == [3419771361, 3419041763]
    assert "link" not in response.headers


def test_deployments_of_another_environment_are_filtered_out(standin: GitHubStandIn) -> None:
    assert get(standin, f"{BILLING}/deployments", environment="staging").json() == []


def test_deployments_paginate_with_a_link_header(standin: GitHubStandIn) -> None:
    first = get(standin, f"{BILLING}/deployments", environment="production", per_page=1)
    assert [d["id"] for d in first.json()] == [3419771361]
    assert 'rel="next"' in first.headers["link"] and 'rel="last"' in first.headers["link"]
    next_url = first.headers["link"].split(";")[0].strip("<>")
    second = requests.get(next_url, headers={"Authorization": f"Bearer {standin.token}"}, timeout=5)
    assert [d["id"] for d in second.json()] == [3419041763]
    assert 'rel="prev"' in second.headers["link"] and 'rel="next"' not in second.headers["link"]


def test_statuses_validate_and_come_newest_first(standin: GitHubStandIn, components: dict[str, Any]) -> None:
    body = get(standin, f"{BILLING}/deployments/3419771361/statuses").json()
    assert_shape(components, "deployment-status", body, array=True)
    assert [s["state"] for s in body] == ["success", "in_progress"]


def test_compare_between_two_deployments_lists_the_commits_and_files(
    standin: GitHubStandIn, components: dict[str, Any]
) -> None:
    body = get(standin, f"{BILLING}/compare/f87670f9bbb410132ade0183dbf025733f6679fe...ca24711").json()
    assert_shape(components, "commit-comparison", body)
    assert [c["sha"][:7] for c in body["commits"]] == ["ca24711"]
    assert body["total_commits"] == 1
    assert "billing/invoices/totals.py" in [f["filename"] for f in body["files"]]


def test_compare_with_an_unknown_sha_is_a_404(standin: GitHubStandIn) -> None:
    response = get(standin, f"{BILLING}/compare/0000000...ca24711")
    assert response.status_code == 404
    assert "message" in response.json()


def test_pulls_validate_and_are_found_by_merge_commit(standin: GitHubStandIn, components: dict[str, Any]) -> None:
    listed = get(standin, f"{BILLING}/pulls", state="closed", sort="updated", direction="desc").json()
    assert_shape(components, "pull-request-simple", listed, array=True)
    by_commit = get(standin, f"{BILLING}/commits/ca24711c1fa52ab572e2ab9e7fa33edc573b9b4e/pulls").json()
    assert [p["number"] for p in by_commit] == [814]
    one = get(standin, f"{BILLING}/pulls/814").json()
    assert one["title"] == "Invoices: compute line totals with Money/Decimal (half-even rounding)"
    assert get(standin, f"{BILLING}/pulls", state="open").json() == []


def test_codeowners_is_served_base64_at_its_path_and_absent_elsewhere(
    standin: GitHubStandIn, components: dict[str, Any]
) -> None:
    body = get(standin, f"{BILLING}/contents/.github/CODEOWNERS").json()
    assert_shape(components, "content-file", body)
    assert "/billing/invoices/   @acme-hq/billing" in base64.b64decode(body["content"]).decode()
    assert get(standin, f"{BILLING}/contents/CODEOWNERS").status_code == 404
    assert get(standin, f"{BILLING}/contents/docs/CODEOWNERS").status_code == 404


def test_releases_and_repository_validate(components: dict[str, Any]) -> None:
    world = GitHubWorld.model_validate(
        {"repos": {"acme-hq/api": {"releases": [{"tag_name": "v2.4.0", "published_at": "2026-11-17T10:00:00Z"}]}}}
    )
    with GitHubStandIn(world) as server:
        releases = get(server, "/repos/acme-hq/api/releases").json()
        repository = get(server, "/repos/acme-hq/api").json()
    assert_shape(components, "release", releases, array=True)
    assert_shape(components, "repository", repository)
    assert releases[0]["tag_name"] == "v2.4.0"


def test_unknown_repository_is_a_404_in_githubs_error_shape(standin: GitHubStandIn, components: dict[str, Any]) -> None:
    response = get(standin, "/repos/acme-hq/nope/deployments")
    assert response.status_code == 404
    assert_shape(components, "basic-error", response.json())
    assert response.json()["message"] == "Not Found"


def test_a_wrong_token_gets_401_bad_credentials(standin: GitHubStandIn) -> None:
    response = get(standin, f"{BILLING}/deployments", token="wrong")
    assert response.status_code == 401
    assert response.json()["message"] == "Bad credentials"


def test_every_response_carries_rate_limit_headers(standin: GitHubStandIn) -> None:
    ok = get(standin, f"{BILLING}/deployments")
    missing = get(standin, "/repos/acme-hq/nope")
    for response in (ok, missing):
        assert all(h in response.headers for h in RATE_HEADERS)
    assert int(missing.headers["x-ratelimit-used"]) == int(ok.headers["x-ratelimit-used"]) + 1
    assert int(ok.headers["x-ratelimit-reset"]) > time.time()


def test_secondary_rate_limit_fault_is_a_429_with_retry_after() -> None:
    with GitHubStandIn(GitHubWorld(), Injection(fault=FaultKind.RATE_LIMIT), retry_after_s=7) as server:
        response = get(server, f"{BILLING}/deployments")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "7"
    assert "secondary rate limit" in response.json()["message"]
    assert all(h in response.headers for h in RATE_HEADERS)


def test_primary_rate_limit_mode_is_a_403_with_nothing_remaining() -> None:
    with GitHubStandIn(GitHubWorld(), Injection(fault=FaultKind.RATE_LIMIT), rate_limit="primary") as server:
        response = get(server, f"{BILLING}/deployments")
    assert response.status_code == 403
    assert response.headers["x-ratelimit-remaining"] == "0"
    assert int(response.headers["x-ratelimit-reset"]) > time.time() + 600
    assert response.json()["message"].startswith("API rate limit exceeded")


def test_server_error_fault_answers_in_githubs_json_shape(components: dict[str, Any]) -> None:
    with GitHubStandIn(GitHubWorld(), Injection(fault=FaultKind.SERVER_ERROR)) as server:
        response = get(server, f"{BILLING}/deployments")
    assert response.status_code == 503
    assert_shape(components, "basic-error", response.json())


def test_fault_budget_fails_only_the_first_requests() -> None:
    scenario = load_scenario(SCENARIO)
    with GitHubStandIn(scenario.github, Injection(fault=FaultKind.SERVER_ERROR), fault_budget=1) as server:
        statuses = [get(server, f"{BILLING}/deployments").status_code for _ in range(3)]
    assert statuses == [503, 200, 200]
    assert len(server.calls) == 3


def test_connector_settings_point_at_the_standin(standin: GitHubStandIn) -> None:
    settings = standin.connector_settings(timeout_s=2)
    assert settings.base_url == standin.url
    assert settings.token is not None and settings.token.get_secret_value() == standin.token
    assert settings.timeout_s == 2
