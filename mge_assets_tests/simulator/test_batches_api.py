"""The simulator's Message Batches endpoints over plain HTTP: the API's shapes for create, retrieve,
results (JSONL) and cancel, its errors (401, 400, 404), errored and expired shares, and /v1/messages
left as it was."""

import json
import time
from datetime import datetime, timedelta

import httpx
import pytest

from mge_assets.llm.anthropic_backend import AnthropicBackend
from mge_assets.simulator import SimulatorSettings, running_simulator
from mge_assets_tests.simulator.test_sdk_paths import atom_request

KEY = {"x-api-key": "test-key"}
BATCHES = "/v1/messages/batches"


def params(atom_id: str) -> dict:
    """The Messages parameters the anthropic backend sends for an atom request."""
    return AnthropicBackend("test-key", "claude-sonnet-4-6").params(atom_request(atom_id))


def body(*atom_ids: str) -> dict:
    return {"requests": [{"custom_id": f"req-{a}", "params": params(a)} for a in atom_ids]}


def ended(http: httpx.Client, batch_id: str) -> dict:
    """Poll until the batch has ended (no timing asserted: the loop only waits for it)."""
    for _ in range(500):
        batch = http.get(f"{BATCHES}/{batch_id}").json()
        if batch["processing_status"] == "ended":
            return batch
        time.sleep(0.02)
    raise AssertionError(f"batch {batch_id} never ended: {batch}")


def results(http: httpx.Client, batch: dict) -> list[dict]:
    answer = http.get(batch["results_url"])
    assert answer.status_code == 200, answer.text
    return [json.loads(line) for line in answer.text.splitlines()]


def test_create_retrieve_and_results_have_the_api_shapes():
    with running_simulator() as (url, simulator), httpx.Client(base_url=url, headers=KEY) as http:
        created = http.post(BATCHES, json=body("a", "b", "c"))
        assert created.status_code == 200, created.text
        batch = created.json()
        assert batch["id"].startswith("msgbatch_") and batch["type"] == "message_batch"
        assert batch["processing_status"] == "in_progress" and batch["results_url"] is None
        assert batch["request_counts"] == {"processing": 3, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
        created_at = datetime.fromisoformat(batch["created_at"])
        assert datetime.fromisoformat(batch["expires_at"]) - created_at == timedelta(hours=24)
        assert batch["ended_at"] is None and batch["cancel_initiated_at"] is None
        done = ended(http, batch["id"])
        assert done["request_counts"] == {"processing": 0, "succeeded": 3, "errored": 0, "canceled": 0, "expired": 0}
        assert datetime.fromisoformat(done["ended_at"]) >= created_at
        assert done["results_url"] == f"{url}{BATCHES}/{batch['id']}/results"  # the simulator itself
        lines = results(http, done)
    assert sorted(line["custom_id"] for line in lines) == ["req-a", "req-b", "req-c"]
    for line in lines:
        assert line["result"]["type"] == "succeeded"
        message = line["result"]["message"]
        assert message["type"] == "message" and message["model"] == "claude-sonnet-4-6"
        assert "def add" in message["content"][0]["text"]
        assert set(message["usage"]) == {
            "input_tokens",
            "output_tokens",
            "cache_creation_input_tokens",
            "cache_read_input_tokens",
            "cache_creation",
        }
        assert message["usage"]["input_tokens"] > 0 and message["usage"]["output_tokens"] > 0
    assert simulator.stats.batches == 1 and simulator.stats.batch_requests == 3
    assert simulator.stats.batch_results == {"succeeded": 3}
    # batch requests are not /v1/messages requests: those stats stay as they were
    assert (simulator.stats.requests, simulator.stats.answered, dict(simulator.stats.status)) == (0, 0, {})
    assert simulator.stats.by_kind["write_atom"] == 3


def test_errors_have_the_api_shape():
    with running_simulator() as (url, _), httpx.Client(base_url=url) as http:
        assert http.post(BATCHES, json=body("a")).status_code == 401
        assert http.get(f"{BATCHES}/msgbatch_x").status_code == 401
        http.headers.update(KEY)
        missing = http.get(f"{BATCHES}/msgbatch_unknown")
        assert missing.status_code == 404
        assert missing.json()["type"] == "error" and missing.json()["error"]["type"] == "not_found_error"
        assert http.get(f"{BATCHES}/msgbatch_unknown/results").status_code == 404
        assert http.post(f"{BATCHES}/msgbatch_unknown/cancel").status_code == 404
        malformed = {
            "empty": {"requests": []},
            "no requests": {},
            "duplicate": {"requests": [{"custom_id": "same", "params": params("a")}] * 2},
            "bad custom_id": {"requests": [{"custom_id": "has space", "params": params("a")}]},
            "no params": {"requests": [{"custom_id": "x"}]},
        }
        for name, sent in malformed.items():
            answer = http.post(BATCHES, json=sent)
            assert answer.status_code == 400, name
            assert answer.json()["error"]["type"] == "invalid_request_error", name
        assert "more than one request" in http.post(BATCHES, json=malformed["duplicate"]).json()["error"]["message"]
        assert http.post(BATCHES, content=b"not json").status_code == 400


def test_results_are_not_served_before_the_batch_ends_and_cancel_ends_it():
    with (
        running_simulator(SimulatorSettings(batch_latency_s=600)) as (url, simulator),
        httpx.Client(base_url=url, headers=KEY) as http,
    ):
        batch = http.post(BATCHES, json=body("a", "b")).json()
        assert http.get(f"{BATCHES}/{batch['id']}/results").status_code == 400
        canceling = http.post(f"{BATCHES}/{batch['id']}/cancel").json()
        assert canceling["processing_status"] == "canceling" and canceling["cancel_initiated_at"]
        done = ended(http, batch["id"])
        assert done["request_counts"]["canceled"] == 2
        assert [line["result"] for line in results(http, done)] == [{"type": "canceled"}] * 2
    assert simulator.stats.batch_results == {"canceled": 2}


@pytest.mark.parametrize(
    ("rates", "kind"), [({"batch_error_rate": 1.0}, "errored"), ({"batch_expire_rate": 1.0}, "expired")]
)
def test_shares_of_errored_and_expired_results(rates, kind):
    ids = [f"a{i}" for i in range(12)]
    with (
        running_simulator(SimulatorSettings(batch_latency_s=0.05, **rates)) as (url, simulator),
        httpx.Client(base_url=url, headers=KEY) as http,
    ):
        batch = ended(http, http.post(BATCHES, json=body(*ids)).json()["id"])
        lines = results(http, batch)
    assert batch["request_counts"][kind] == 12 and simulator.stats.batch_results == {kind: 12}
    assert {line["result"]["type"] for line in lines} == {kind}
    if kind == "errored":
        errors = [line["result"]["error"] for line in lines]
        assert all(e["type"] == "error" and e["request_id"] for e in errors)
        assert {e["error"]["type"] for e in errors} == {"api_error", "overloaded_error"}


def test_a_share_of_results_errored_or_expired_and_the_rest_succeeded():
    ids = [f"a{i}" for i in range(200)]
    settings = SimulatorSettings(batch_latency_s=0.05, batch_error_rate=0.2, batch_expire_rate=0.3, seed=5)
    with running_simulator(settings) as (url, _), httpx.Client(base_url=url, headers=KEY) as http:
        counts = ended(http, http.post(BATCHES, json=body(*ids)).json()["id"])["request_counts"]
    assert sum(counts.values()) == 200
    assert 20 <= counts["errored"] <= 60 and 40 <= counts["expired"] <= 80 and counts["succeeded"] >= 80


def test_an_invalid_request_is_errored_alone():
    refused = {**params("b"), "temperature": 0.5}
    sent = {"requests": [{"custom_id": "ok", "params": params("a")}, {"custom_id": "bad", "params": refused}]}
    with running_simulator() as (url, _), httpx.Client(base_url=url, headers=KEY) as http:
        lines = {
            line["custom_id"]: line["result"]
            for line in results(http, ended(http, http.post(BATCHES, json=sent).json()["id"]))
        }
    assert lines["ok"]["type"] == "succeeded"
    assert lines["bad"]["type"] == "errored"
    assert lines["bad"]["error"]["error"]["type"] == "invalid_request_error"
    assert "temperature" in lines["bad"]["error"]["error"]["message"]
