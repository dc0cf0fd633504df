"""What an atom's prompt tells the model about the code it depends on."""

from __future__ import annotations

from mge_assets.atomize.model import Atom
from mge_assets.graph.model import DependencyGraph
from mge_assets.llm.prompts import normalized_code


def signature(atom: Atom) -> str:
    """The line that introduces an atom's unit: `def ...:` / `class ...:`, else its first code line."""
    lines = [line.strip() for line in atom.code.splitlines() if line.strip()]
    for line in lines:
        if line.startswith(("def ", "async def ", "class ")):
            return line
    return next((line for line in lines if not line.startswith(("#", "@"))), atom.symbol)


def dependency_context(
    atom: Atom, graph: DependencyGraph, atoms: dict[str, Atom], final_code: dict[str, str] | None = None
) -> list[str]:
    """One entry per dependency: where it lives, and its final code once written (else its signature)."""
    targets = sorted(graph.dependencies().get(atom.id, ()))
    entries = []
    for target in (t for t in targets if t in atoms):
        dependency = atoms[target]
        code = (final_code or {}).get(target)
        if code is None:
            entries.append(f"- {dependency.file}: `{signature(dependency)}`")
        else:
            # normalized as code_digest is: a dependency asked again that comes out as before, trailing
            # spaces aside, leaves this prompt (and so this atom's reuse key) as it was
            entries.append(f"- {dependency.file}, `{dependency.symbol}`:\n```python\n{normalized_code(code)}\n```")
    return entries
