"""The mutation operators: every mutant parses and differs from its original; equivalent sites are
skipped; the selection is spread over the operators and reproducible."""

import ast
from pathlib import Path

from mge_assets.acceptance.mutation import mutants_of, mutants_of_typescript, select_mutants

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
        return {"sql": "SELECT * FROM items ORDER BY id LIMIT 10"}
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


def _rules_of(example: str) -> tuple[dict[str, str], str, str]:
    from mge_assets.acceptance.offline_build import offline_discovery, offline_project_files
    from mge_assets_tests.conftest import example_path

    discovery = offline_discovery(example_path(example))
    return offline_project_files(discovery), discovery.package, discovery.language


def test_rule_operators_break_the_rules_of_a_python_service() -> None:
    files, package, _ = _rules_of("order_desk")
    order = [m for m in mutants_of(f"{package}/rules/order.py", files[f"{package}/rules/order.py"]) if m.rule]
    operators = {m.operator for m in order}
    assert {"bound_up", "bound_down", "allow_transition", "drop_rule_check"} <= operators
    moved = next(m for m in order if m.operator == "allow_transition")
    assert "'draft': ('placed', 'cancelled', 'shipped')" in moved.source  # draft may now ship at once
    quota = next(m for m in order if m.operator == "bound_up" and "limit 2" in m.description)
    assert ">= 3" in quota.source and ">= 2" not in quota.source
    for mutant in order:
        ast.parse(mutant.source)
    service = f"{package}/services/line.py"
    refreshes = [m for m in mutants_of(service, files[service]) if m.operator == "drop_refresh"]
    assert refreshes and all(m.rule for m in refreshes)
    repository = f"{package}/repositories/order.py"
    assert not any(m.rule for m in mutants_of(repository, files[repository]))  # no rule of its own


def test_rule_operators_break_the_rules_of_a_typescript_service() -> None:
    files, package, language = _rules_of("event_tickets_ts")
    rules = [m for m in mutants_of_typescript("src/rules/ticket.ts", files["src/rules/ticket.ts"]) if m.rule]
    assert {"bound_up", "bound_down", "allow_transition", "drop_rule_check"} <= {m.operator for m in rules}
    moved = next(m for m in rules if m.operator == "allow_transition")
    assert '"paid": ["refunded", "reserved"]' in moved.source
    chosen = select_mutants(files, package, 12, seed=1, language=language, rules=True)
    assert len(chosen) == 12 and all(m.rule for m in chosen)
    assert not any(m.rule for m in select_mutants(files, package, 12, seed=1, language=language, rules=False))


def test_the_language_operators_import_one_way() -> None:
    import mge_assets.acceptance.mutation.python as python_operators
    import mge_assets.acceptance.mutation.typescript as typescript_operators

    for module in (python_operators, typescript_operators):
        source = Path(module.__file__).read_text()
        assert "acceptance.mutation import" not in source  # only the model below them, never the package
