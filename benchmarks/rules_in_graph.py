"""What business rules add to the code MGE generates and executes: atoms, edges and waves per example.

For every shipped example: the offline synthesizer's project (the files the pipeline drafts and
atomizes, tests included) built from the discovery document as it is, and from the same document with
its rules removed; both are atomized and graphed as the `atoms` and `dependency_graph` stages do.
Prints, per example, the rules, the atoms (with the rules modules' share), the edges by type, the
edges between the files of different entities, and the waves and critical path.

    python benchmarks/rules_in_graph.py
    python benchmarks/rules_in_graph.py --examples order_desk --json rules.json
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from mge_assets.acceptance.offline_build import offline_discovery
from mge_assets.atomize import atomize_files
from mge_assets.graph import build_graph
from mge_assets.plan import DiscoveryDocument, plan_project
from mge_assets.synth.render import draft_task

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "requests"


def figures(discovery: DiscoveryDocument) -> dict[str, object]:
    files: dict[str, str] = {}
    for task in plan_project(discovery).tasks:
        files.update(draft_task(discovery, task))
    atoms = atomize_files(files)
    graph = build_graph(atoms)
    by_file = {a.id: a.file for a in atoms}
    entity_of = {path: Path(path).stem for path in files if "/" in path}
    crossing = sum(
        1
        for e in graph.edges
        if e.type != "parent" and entity_of.get(by_file[e.source]) != entity_of.get(by_file[e.target])
    )
    return {
        "files": len(files),
        "atoms": len(atoms),
        "rule_atoms": sum("/rules/" in a.file for a in atoms),
        "loc": sum(a.loc for a in atoms),
        "edges": len(graph.edges),
        "edges_by_type": dict(sorted(Counter(e.type for e in graph.edges).items())),
        "edges_across_entities": crossing,  # between files of different entities (or shared ones)
        "waves": len(graph.waves),
        "widest_wave": max(len(w) for w in graph.waves),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", nargs="*", help="example names (default: every shipped example)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    paths = sorted(EXAMPLES.glob("*.md"))
    if args.examples:
        paths = [p for p in paths if p.stem in args.examples]
    rows = []
    header = f"{'example':<17} {'rules':>5} {'atoms':>11} {'rule atoms':>10} {'edges':>11} {'across':>11} {'waves':>7}"
    print(header)
    for path in paths:
        discovery = offline_discovery(path)
        with_rules = figures(discovery)
        without = figures(discovery.model_copy(update={"rules": ()}))
        rows.append(
            {"example": path.stem, "rules": len(discovery.rules), "with_rules": with_rules, "without_rules": without}
        )

        atoms, edges, across, waves = (
            f"{without[k]}→{with_rules[k]}" for k in ("atoms", "edges", "edges_across_entities", "waves")
        )
        print(
            f"{path.stem:<17} {len(discovery.rules):>5} {atoms:>11} {with_rules['rule_atoms']:>10} "
            f"{edges:>11} {across:>11} {waves:>7}",
            flush=True,
        )
    for row in rows:
        before, after = row["without_rules"]["edges_by_type"], row["with_rules"]["edges_by_type"]
        kinds = sorted(set(before) | set(after))
        print(
            f"  {row['example']}: edges by type "
            + ", ".join(f"{k} {before.get(k, 0)}→{after.get(k, 0)}" for k in kinds)
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
