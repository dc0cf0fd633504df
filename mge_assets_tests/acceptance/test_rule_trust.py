"""A rule's tests must fail on the service built without that rule: one that passes there is untrusted."""

import re

from mge_assets.acceptance.offline_build import offline_discovery, offline_suite
from mge_assets.acceptance.suite import TestCase
from mge_assets.acceptance.trust import rule_tests_blind_to_their_rule
from mge_assets_tests.conftest import example_path

BLIND = """

def test_must_02__product_price_inside_is_accepted(client, factory) -> None:
    assert factory.product(price=3.5)["price"] == 3.5
"""


def test_a_rule_test_that_passes_on_the_service_without_its_rule_is_found(tmp_path) -> None:
    discovery = offline_discovery(example_path("order_desk"))
    suite = offline_suite(discovery)
    path = "acceptance/test_must_02.py"
    files = {**suite.files, path: suite.files[path] + BLIND}
    own = [c for c in suite.cases if c.requirement_id == "MUST-02"]
    blind = TestCase(
        test_id=f"{path}::test_must_02__product_price_inside_is_accepted",
        requirement_id="MUST-02",
        file=path,
        name="test_must_02__product_price_inside_is_accepted",
    )
    crud = next(c for c in suite.cases if c.requirement_id == "MUST-11")  # not a rule: not judged here
    found = rule_tests_blind_to_their_rule(
        suite.model_copy(update={"files": files}), [*own, blind, crud], discovery, tmp_path
    )
    assert found == {blind.test_id: "passes on the service without the rule of MUST-02"}
    built = (tmp_path / "without-must-02" / "order_desk" / "rules" / "product.py").read_text()
    assert "_must_02_" not in built and re.search(r"_should_01_stock_bounds", built)  # only that rule is gone
