"""A model's discovery document is held to the request's rules: every way it does not fit is named."""

import json

import pytest

from mge_assets.errors import ModelOutputError
from mge_assets.plan import discover
from mge_assets.plan.discovery import discovery_from_answer, discovery_problems
from mge_assets.request import parse_request
from mge_assets_tests.conftest import example_path


@pytest.fixture
def order_desk():
    request = parse_request(example_path("order_desk").read_bytes())
    return request, json.loads(discover(request).model_dump_json())


def refused(raw: dict, request) -> str:
    with pytest.raises(ModelOutputError) as error:
        discovery_from_answer(raw, request)
    return str(error.value)


def test_the_offline_document_fits_its_request(order_desk) -> None:
    request, raw = order_desk
    document = discovery_from_answer(raw, request)
    assert document == discover(request) and not discovery_problems(document, request)


def test_a_wrong_language_and_a_field_type_of_another_language_are_refused(order_desk) -> None:
    request, raw = order_desk
    raw["language"] = "Python"
    assert "'language': Input should be 'python' or 'typescript'" in refused(raw, request)
    raw["language"] = "typescript"
    assert "'language' is 'typescript' but the request is written for 'python'" in refused(raw, request)
    raw["language"] = "python"
    raw["entities"][0]["fields"][0]["type"] = "string"
    assert "field 'name' of Customer has unknown type 'string'" in refused(raw, request)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda raw: raw["rules"][0]["parameters"].update(field="cost"), "Product has no field 'cost'"),
        (lambda raw: raw["rules"][0].update(entity="Invoice"), "entity 'Invoice' is not declared"),
        (lambda raw: raw["rules"][0].update(requirement_id="MUST-99"), "no requirement has the id MUST-99"),
        (
            lambda raw: next(r for r in raw["rules"] if r["kind"] == "lifecycle")["parameters"]["transitions"].update(
                draft=["archived"]
            ),
            "'archived' is not a value of Order.status",
        ),
        (
            lambda raw: next(r for r in raw["rules"] if r["kind"] == "quota")["parameters"].update(via="product"),
            "Order.product is not a reference to Customer",
        ),
        (lambda raw: raw["relations"].pop(), "'relations' must list exactly the reference fields"),
        (lambda raw: raw["rules"][0].update(kind="quota"), "a quota rule carries bound parameters"),
        (lambda raw: raw["rules"][0]["parameters"].update(minimum=None), "a bound needs a minimum, a maximum or both"),
    ],
)
def test_each_inconsistency_is_named(order_desk, change, problem) -> None:
    request, raw = order_desk
    change(raw)
    assert problem in refused(raw, request)


def test_the_request_decides_the_requirements_and_where_each_rule_comes_from(order_desk) -> None:
    request, raw = order_desk
    raw["requirements"] = [{"id": "MUST-01", "level": "MUST", "text": "made up", "line": 1}]
    raw["rules"][0]["line"] = 999
    document = discovery_from_answer(raw, request)
    assert document.requirements == discover(request).requirements
    lines = request.text.splitlines()
    assert all(r.text in lines[r.line - 1] for r in document.rules)
