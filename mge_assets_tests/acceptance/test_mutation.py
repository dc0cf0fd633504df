"""The mutation operators: every mutant parses and differs from its original; equivalent sites are
skipped; the selection is spread over the operators and reproducible."""

import ast

from mge_assets.acceptance.mutation import mutants_of, select_mutants
from mge_assets.acceptance.mutation_typescript import mutants_of_typescript

SOURCE = """
from fastapi import APIRouter, Query, Response

router = APIRouter()


@router.delete("/{item_id}", status_code=204)
def delete_item(item_id: int) -> Response:
    if not remove(item_id):
        raise KeyError(item_id)
    return Response(status_code=204)


@router.post("", status_code=201)
def create_item(limit: int = Query(ge=1), strict: bool = False) -> dict:
    audit.record(limit)
    if limit > 3 and limit is not None:
        return {"sql": "SELECT * FROM items ORDER BY id"}
    return {}
"""


def test_every_operator_makes_a_parseable_change() -> None:
    mutants = mutants_of("pkg/api/items.py", SOURCE)
    operators = {m.operator for m in mutants}
    assert operators == {
        "drop_route",
        "status_code",
        "flip_compare",
        "swap_bool_op",
        "negate_if",
        "drop_raise",
        "drop_call",
        "drop_keyword",
        "reverse_order",
        "flip_bool",
    }
    original = ast.unparse(ast.parse(SOURCE))
    for mutant in mutants:
        assert ast.unparse(ast.parse(mutant.source)) != original, mutant.description


def test_a_decorator_status_overridden_by_the_response_is_not_mutated() -> None:
    statuses = [m for m in mutants_of("pkg/api/items.py", SOURCE) if m.operator == "status_code"]
    lines = sorted(m.line for m in statuses)
    assert 7 not in lines  # delete_item returns Response(status_code=204) itself
    assert 11 in lines and 14 in lines


def test_selection_is_spread_over_operators_and_reproducible() -> None:
    files = {"pkg/api/items.py": SOURCE, "tests/test_x.py": "assert 1 == 1\n"}
    first = select_mutants(files, "pkg", 10, seed=3)
    assert len(first) == 10 and len({m.operator for m in first}) == 10
    assert all(m.file.startswith("pkg/") for m in first)
    assert [m.description for m in first] == [m.description for m in select_mutants(files, "pkg", 10, seed=3)]


TS_SOURCE = """
export type Row = { id: number; done: boolean };

function listRows(request: ApiRequest): ApiAnswer {
  if (request.id !== 0 && request.strict) {
    throw new NotFoundError("Row", request.id);
  }
  this.audit.record(request);
  rows.sort((a, b) => a.id - b.id);
  return { status: 200, body: rows, cached: false };
}

export const rowRoutes: Route[] = [
  { method: "GET", path: "/rows", handle: listRows },
];
"""


def test_every_typescript_operator_makes_a_change_outside_types() -> None:
    mutants = mutants_of_typescript("src/routes/row.ts", TS_SOURCE)
    assert {m.operator for m in mutants} == {
        "drop_route",
        "status_code",
        "flip_compare",
        "swap_bool_op",
        "negate_if",
        "drop_raise",
        "drop_call",
        "reverse_order",
        "flip_bool",
    }
    for mutant in mutants:
        assert mutant.source != TS_SOURCE, mutant.description
        assert "export type Row = { id: number; done: boolean };" in mutant.source  # types untouched
    dropped = next(m for m in mutants if m.operator == "drop_route")
    assert "/rows" not in dropped.source and "listRows(request" in dropped.source


def test_typescript_selection_takes_the_service_sources_only() -> None:
    files = {"src/routes/row.ts": TS_SOURCE, "src/main.ts": "main(true);\n", "tests/row.test.ts": "f(true);\n"}
    chosen = select_mutants(files, "pkg", 50, seed=1, language="typescript")
    assert chosen and {m.file for m in chosen} == {"src/routes/row.ts"}
