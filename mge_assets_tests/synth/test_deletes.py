"""What a delete does in both languages: it takes the rows that require the deleted one with it, clears
optional references to it, and keeps the computed fields those rows counted towards current."""

from pathlib import Path

import pytest

from mge_assets.acceptance.offline_build import offline_project_files, offline_suite, write_built_tree
from mge_assets.acceptance.results import parse_junit
from mge_assets.node import node_test_command, parse_node_junit
from mge_assets.plan import discover
from mge_assets.request import parse_request
from mge_assets.sandbox import run_in_sandbox
from mge_assets.validation import PYTEST

REQUEST = """---
name: shop
language: {language}
---
# Shop

## Entities
- Product: name (str, required), price (float, required)
- Basket: owner (str, required), total (int)
- Entry: basket (Basket, required), product (Product, required), quantity (int, required), note_of (Product)

## Requirements
### MUST
- Every entity can be created, read, updated, deleted and listed over HTTP.
- A Basket's total is the sum of its Entries' quantity.
"""

PYTHON_TEST = """
def test_deleting_a_product_takes_its_entries_and_keeps_totals_current(client, factory) -> None:
    basket, product, other = factory.basket(), factory.product(), factory.product()
    kept = factory.entry(basket_id=basket["id"], product_id=other["id"], quantity=3, note_of_id=product["id"])
    gone = factory.entry(basket_id=basket["id"], product_id=product["id"], quantity=2)
    assert client.get(f"/baskets/{basket['id']}").json()["total"] == 5
    assert client.delete(f"/products/{product['id']}").status_code == 204
    assert client.get(f"/entries/{gone['id']}").status_code == 404
    assert client.get(f"/entries/{kept['id']}").json()["note_of_id"] is None
    assert client.get(f"/baskets/{basket['id']}").json()["total"] == 3
    assert client.delete(f"/baskets/{basket['id']}").status_code == 204
    assert client.get(f"/entries/{kept['id']}").status_code == 404
"""

TYPESCRIPT_TEST = """
import assert from "node:assert/strict";
import { test } from "node:test";

import { withService } from "./fixtures.js";

test("deleting a product takes its entries and keeps totals current", () =>
  withService(async (client, factory) => {
    const basket = await factory.basket();
    const product = await factory.product();
    const other = await factory.product();
    const kept = await factory.entry({
      basket_id: basket.id, product_id: other.id, quantity: 3, note_of_id: product.id,
    });
    const gone = await factory.entry({ basket_id: basket.id, product_id: product.id, quantity: 2 });
    assert.equal((await client.get(`/baskets/${basket.id}`)).body.total, 5);
    assert.equal((await client.delete(`/products/${product.id}`)).status, 204);
    assert.equal((await client.get(`/entries/${gone.id}`)).status, 404);
    assert.equal((await client.get(`/entries/${kept.id}`)).body.note_of_id, null);
    assert.equal((await client.get(`/baskets/${basket.id}`)).body.total, 3);
    assert.equal((await client.delete(`/baskets/${basket.id}`)).status, 204);
    assert.equal((await client.get(`/entries/${kept.id}`)).status, 404);
  }));
"""


@pytest.mark.parametrize("language", ["python", "typescript"])
def test_a_delete_cascades_clears_and_refreshes(language: str, tmp_path: Path) -> None:
    discovery = discover(parse_request(REQUEST.format(language=language)))
    files = {**offline_project_files(discovery), **offline_suite(discovery).files}
    if language == "python":
        files["acceptance/test_deletes.py"] = PYTHON_TEST
        write_built_tree(tmp_path, files, language)
        run = run_in_sandbox([*PYTEST, "acceptance/test_deletes.py"], tmp_path, collect=("junit.xml",))
        outcomes = {name: o for name, (o, _, _) in parse_junit(run.files["junit.xml"]).items()}
    else:
        files["acceptance/test_deletes.ts"] = TYPESCRIPT_TEST
        write_built_tree(tmp_path, files, language)
        run = run_in_sandbox(
            node_test_command(["dist/acceptance/test_deletes.js"], 60), tmp_path, collect=("junit.xml",)
        )
        outcomes = {name: o for name, (o, _, _) in parse_node_junit(run.files["junit.xml"]).items()}
    assert outcomes and set(outcomes.values()) == {"passed"}, run.stdout[-3000:]
