"""Resolve what each atom references to the atoms that define it, across the project's files.

Edges point from an atom to what must exist before it. Types: `import` (an import statement needs the
name), `inherit` (a base class), `type` (used only in annotations or type positions, or imported for
types only), `call` (a function or class used), `data` (any other value read; and a Python redefinition
to the first definition of its name, which it rebinds), and `parent` (a method to
its class, a piece of a split unit to its head). An edge is late-bound when the use sits inside a
function body, or comes from a dynamic or function-local import.

Cycles are broken inside each strongly connected component with semantic guards: type-only edges go
first, then late-bound ones; inheritance, parent and import-time edges are never chosen while another
edge of the cycle can go. Every dropped edge is recorded with its reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache

import networkx as nx

from mge_assets.atomize.model import Atom, ImportRef
from mge_assets.graph.model import BrokenEdge, DependencyGraph, Edge, FileEdge, Unresolved
from mge_assets.graph.resolve import Resolver, TsConfig

_STRENGTH = {"inherit": 5, "parent": 5, "import": 4, "data": 3, "call": 2, "type": 1}
_LATE_KINDS = {"function", "method"}
_DEFINITION_KINDS = {"function", "method", "class", "class_header"}
_LATE_IMPORTS = {"late", "dynamic"}
_MEMBER_OWNERS = ("class", "class_header", "interface", "type")  # kinds of atom whose members are looked up
_CONTEXT_MANAGER = re.compile(r"@(\w+\.)*(contextmanager|asynccontextmanager)\b")
_PROPERTY = re.compile(r"@(\w+\.)*(property|cached_property|setter)\b")  # decorators making a property
_DOTTED_HEAD = re.compile(r"[^.(\[]*")
_VALUE_KINDS = {*_DEFINITION_KINDS, *_MEMBER_OWNERS}  # a name of these is its own value, never a variable
_TS_LANGUAGES = ("javascript", "typescript")
_TYPE_KINDS = ("interface", "type")  # declarations that are types only (a class is also a value)


def module_name(path: str) -> str:
    """`pkg/sub/mod.py` → `pkg.sub.mod`; `pkg/__init__.py` → `pkg`."""
    parts = path.removesuffix(".py").split("/")
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


class _Index:
    """Definitions, imports and first atom of every file, for name resolution."""

    def __init__(self, atoms: list[Atom], resolver: Resolver) -> None:
        self.resolver = resolver
        self.atoms = {a.id: a for a in atoms}
        self.defs: dict[str, dict[str, str]] = {}
        self.members: dict[str, dict[str, str]] = {}  # `Class.x` bound as a field or on self: first binder
        self.binders: dict[tuple[str, str], list[str]] = {}  # (file, `Class.x`): every atom binding it
        self.classes: dict[tuple[str, str, bool], Atom | None] = {}  # `_class_of`, memoised
        self.names: dict[tuple[str, str], str | None] = {}  # `resolve` of the names of types, memoised
        self.imports: dict[str, dict[str, ImportRef]] = {}
        self.stars: dict[str, list[ImportRef]] = {}
        self.first: dict[str, str] = {}
        self.spaces: dict[str, dict[str, dict[str, str]]] = {"type": {}, "value": {}}  # TypeScript's two
        self.resolving: set[tuple[str, str]] = set()  # stated types being resolved (they can refer in a cycle)
        self.late: set[str] = set()
        for atom in sorted(atoms, key=lambda a: (a.file, a.start_byte)):
            self.first.setdefault(atom.file, atom.id)
            if atom.kind in _LATE_KINDS or (atom.kind == "block" and atom.parent in self.late):
                self.late.add(atom.id)
            for name in atom.defines:
                self.defs.setdefault(atom.file, {}).setdefault(name, atom.id)
                if atom.language in _TS_LANGUAGES:
                    space = self.spaces["type" if atom.kind in _TYPE_KINDS else "value"]
                    space.setdefault(atom.file, {}).setdefault(name, atom.id)
            for name in atom.members:
                self.members.setdefault(atom.file, {}).setdefault(name, atom.id)
                self.binders.setdefault((atom.file, name), []).append(atom.id)
            for ref in atom.imports:
                if ref.name == "*":
                    self.stars.setdefault(atom.file, []).append(ref)
                elif ref.alias and (ref.kind not in _LATE_IMPORTS or ref.alias not in self.imports.get(atom.file, {})):
                    self.imports.setdefault(atom.file, {})[ref.alias] = ref

    def resolve(self, file: str, name: str, depth: int = 0, space: str | None = None) -> str | None:
        """The atom defining `name` as seen from `file`, following imports, re-exports and barrels. In
        TypeScript a type and a value may share a name (`const X = ...; type X = ...`): `space` ("type"
        or "value") picks the declaration of that kind first."""
        if depth > 12:
            return None
        found = self.spaces.get(space, {}).get(file, {}).get(name) if space else None
        found = found or self.defs.get(file, {}).get(name)
        if found is not None:
            return found
        ref = self.imports.get(file, {}).get(name)
        if ref is not None:
            if ref.kind == "export":  # `export { a as b }`: b is the local a
                return self.resolve(file, ref.name, depth + 1, space) if ref.name and ref.name != name else None
            target, target_name = self.resolver.resolve(file, ref)
            if target is None or target_name is None:
                return None
            return self.resolve(target, target_name, depth + 1, space)
        if name == "default":
            return None
        for star in self.stars.get(file, []):
            target, _ = self.resolver.resolve(file, star)
            if target is not None and target != file:
                found = self.resolve(target, name, depth + 1, space)
                if found is not None:
                    return found
        return None

    def module_of(self, file: str, alias: str) -> str | None:
        """The file an alias names when it is a module object (`import a.b as m`, `import * as ns`)."""
        ref = self.imports.get(file, {}).get(alias)
        if ref is None or ref.kind == "export":
            return None
        target, target_name = self.resolver.resolve(file, ref)
        return target if target_name is None else None


def build_graph(atoms: list[Atom], tsconfig: TsConfig | None = None, files: Iterable[str] = ()) -> DependencyGraph:
    """Edges from names defined, imported and referenced across files; cycles broken; waves computed.

    `files` names project files that have no atom (an empty `__init__.py` still makes a package)."""
    resolver = Resolver({a.file for a in atoms} | set(files), tsconfig)
    index = _Index(atoms, resolver)
    edges: dict[tuple[str, str], tuple[str, bool]] = {}
    unresolved: list[Unresolved] = []
    for atom in atoms:
        for target, kind, late in _dependencies(atom, index, unresolved):
            if target == atom.id:
                continue
            previous = edges.get((atom.id, target))
            if previous is None:
                edges[(atom.id, target)] = (kind, late)
            else:
                strongest = max(previous[0], kind, key=lambda k: _STRENGTH[k])
                edges[(atom.id, target)] = (strongest, previous[1] and late)
    graph = nx.DiGraph()  # bare: the edges' types stay in `edges`, not in a dict per networkx edge
    graph.add_nodes_from(a.id for a in atoms)
    graph.add_edges_from(edges)
    broken = _break_cycles(graph, edges)
    waves = [tuple(sorted(w)) for w in nx.topological_generations(graph.reverse(copy=False))]
    return DependencyGraph(
        nodes=tuple(a.id for a in atoms),
        edges=tuple(Edge(source=s, target=t, type=k, late=late) for (s, t), (k, late) in sorted(edges.items())),
        broken=tuple(sorted(broken, key=lambda b: (b.source, b.target))),
        unresolved=tuple(unresolved),
        waves=tuple(waves),
    )


def file_edges(atoms: list[Atom], tsconfig: TsConfig | None = None, files: Iterable[str] = ()) -> list[FileEdge]:
    """File-level import edges: every import, require, re-export and dynamic import that names a project
    file (for Python, `from p import m` names module `p.m` when it exists, else `p`)."""
    resolver = Resolver({a.file for a in atoms} | set(files), tsconfig)
    found: dict[tuple[str, str], str] = {}
    for atom in atoms:
        for ref in atom.imports:
            target, _ = resolver.resolve(atom.file, ref)
            if target is not None and target != atom.file:
                kind = "type" if ref.kind == "type" else ref.kind
                previous = found.get((atom.file, target))
                found[(atom.file, target)] = kind if previous is None or previous == "type" else previous
    return [FileEdge(source=s, target=t, kind=k) for (s, t), k in sorted(found.items())]


def _dependencies(atom: Atom, index: _Index, unresolved: list[Unresolved]) -> list[tuple[str, str, bool]]:
    found: list[tuple[str, str, bool]] = []
    late = atom.id in index.late
    if atom.parent:
        found.append((atom.parent, "parent", False))
    # A local bound in an earlier block of the same unit: both run in one call of the unit, in order,
    # so the use is never late-bound.
    found.extend((source, "data", False) for source in atom.local_sources if source in index.atoms)
    # A Python redefinition (an overload's implementation, a platform's variant, a property's setter)
    # rebinds the name when it runs: it follows the first definition, or that one would win. TypeScript's
    # overload signatures are one declaration, erased when compiled: no order between them.
    found.extend((first, "data", False) for first in _redefined(atom, index))
    for ref in atom.imports:
        found.extend(_import_edges(atom, ref, index, unresolved))
    for name in atom.references:
        for target in _declarations(index, atom, name):
            kind = _edge_type(atom, name, index.atoms[target])
            found.append((target, kind, late and kind in ("call", "data")))
    for name in atom.type_references:
        if name not in atom.references:
            found.extend((target, "type", False) for target in _declarations(index, atom, name))
    for dotted in atom.attribute_references:
        found.extend((target, kind, late) for target, kind in _resolve_attribute(atom, dotted, index))
    return found


def _redefined(atom: Atom, index: _Index) -> list[str]:
    if atom.kind not in _DEFINITION_KINDS or not atom.file.endswith(".py"):
        return []
    first = (index.defs.get(atom.file, {}).get(name) for name in atom.defines)
    return [f for f in first if f is not None and f != atom.id]


def _declarations(index: _Index, atom: Atom, name: str) -> list[str]:
    """The atoms declaring a name `atom` reads: in TypeScript, a type and a value sharing the name
    (`type X = ...; const X: X = ...`) are one symbol, and a use of it names both declarations."""
    if atom.language not in _TS_LANGUAGES:
        target = index.resolve(atom.file, name)
        return [target] if target else []
    return list(dict.fromkeys(t for t in (index.resolve(atom.file, name, space=s) for s in ("value", "type")) if t))


def _import_edges(
    atom: Atom, ref: ImportRef, index: _Index, unresolved: list[Unresolved]
) -> list[tuple[str, str, bool]]:
    if ref.kind == "export":
        return []
    kind = "type" if ref.kind == "type" else "import"
    late = ref.kind in _LATE_IMPORTS
    target_file, name = index.resolver.resolve(atom.file, ref)
    if target_file is None:
        if _is_internal_python(atom, ref, index) or (ref.module.startswith(".") and not atom.file.endswith(".py")):
            unresolved.append(Unresolved(atom=atom.id, name=ref.name or ref.module, module=ref.module))
        return []
    if name is None or name == "*":
        first = index.first.get(target_file)
        return [(first, kind, late)] if first and target_file != atom.file else []
    target = index.resolve(target_file, name)
    if target is not None:
        return [(target, kind, late)]
    first = index.first.get(target_file)
    if atom.file.endswith(".py") and ref.kind != "type":
        unresolved.append(Unresolved(atom=atom.id, name=name, module=index.resolver.absolute_module(atom.file, ref)))
    return [(first, kind, late)] if first and target_file != atom.file else []


def _is_internal_python(atom: Atom, ref: ImportRef, index: _Index) -> bool:
    if not atom.file.endswith(".py"):
        return False
    module = index.resolver.absolute_module(atom.file, ref)
    top = module.split(".")[0]
    return bool(ref.level) or top in index.resolver.top_level


def _resolve_attribute(atom: Atom, dotted: str, index: _Index) -> list[tuple[str, str]]:
    """The atom an `owner.attribute` read names, with the edge type: `call` for a definition (function,
    method, class), `data` for a variable or a class attribute bound as a field or on self (a later
    binding, as in `reset()`, depends on the first: that is where the attribute is declared). The owner
    may be a chain (`self.a.b`), looked up link by link on the types the code states."""
    if atom.language in _TS_LANGUAGES:
        return _resolve_ts_attribute(atom, dotted, index)
    owner, _, attribute = dotted.rpartition(".")
    module = index.module_of(atom.file, owner) if "." not in owner else None
    if module is not None:
        target = index.resolve(module, attribute)
        return [(target, _kind_of(index.atoms[target]))] if target else []
    if owner == "super()":  # the first base, in order, that has the attribute
        own = _own_class(index, atom)
        bases = [_resolve_dotted(index, own.file, base) for base in own.bases] if own is not None else []
        found = (
            _member(index, index.atoms[b], attribute) for b in bases if b and index.atoms[b].kind in _MEMBER_OWNERS
        )
        return next((f for f in found if f), [])
    klass = _class_of(index, atom, owner)
    return _member(index, klass, attribute) if klass is not None else []


def _resolve_name(index: _Index, file: str, name: str) -> str | None:
    key = (file, name)
    if key not in index.names:
        index.names[key] = index.resolve(file, name)
    return index.names[key]


def _own_class(index: _Index, atom: Atom) -> Atom | None:
    """The class (header) a method, a class header or one of their blocks belongs to."""
    if "." not in atom.symbol and atom.kind != "class_header":
        return None
    found = index.defs.get(atom.file, {}).get(atom.symbol.split(".")[0])
    return index.atoms[found] if found else None


def _class_of(index: _Index, atom: Atom, text: str, called: bool = False, depth: int = 0) -> Atom | None:
    """The class of the value an expression in `atom` names: a class itself, `self`, a name of a stated
    type, a module's attribute, or a member of another such value (a field's stated type, a method's or
    property's return type). `called`: the value is the result of calling `text` (`x = f()`), so a
    function stands for its return type."""
    if depth > 8:
        return None
    key = (atom.id, text, called)
    if key not in index.classes:
        index.classes[key] = _class_of_value(index, atom, text, called, depth)
    return index.classes[key]


def _class_of_value(index: _Index, atom: Atom, text: str, called: bool, depth: int) -> Atom | None:
    if text.endswith("()"):  # `f().x`: the value f returns
        return _class_of(index, atom, text[:-2], True, depth + 1)
    if text.endswith("[]"):  # `xs[0]`, `for x in xs`: an element of a sequence whose element type is stated
        element = _element_type(index, atom, text[:-2], depth + 1)
        return _class_of(index, element[0], element[1], True, depth + 1) if element else None
    if text.startswith("["):  # a sequence itself: its members are the builtins'
        return None
    head, _, last = text.rpartition(".")
    if not head:
        own = _own_class(index, atom) if text in ("self", "cls", "this") else None
        if own is not None:
            return own
        target = _resolve_name(index, atom.file, text)
        if target is not None and index.atoms[target].kind in _VALUE_KINDS:
            return _value_class(index, index.atoms[target], called, depth)
        declared = _declared_type(index, atom, text, target)
        return _class_of(index, declared[0], declared[1], True, depth + 1) if declared else None
    module = index.module_of(atom.file, head) if "." not in head else None
    if module is not None:
        target = index.resolve(module, last)
        return _value_class(index, index.atoms[target], called, depth) if target else None
    owner = _class_of(index, atom, head, depth=depth + 1)
    found = _member(index, owner, last) if owner is not None else []
    if not found:
        return None
    target, kind = found[0]
    if kind == "call":  # a method called or a property read: its return type; a nested class
        return _value_class(index, index.atoms[target], True, depth)
    stated = _stated_member_type(index, index.atoms[target], last)
    return _class_of(index, stated[0], stated[1], True, depth + 1) if stated else None


def _value_class(index: _Index, target: Atom, called: bool, depth: int) -> Atom | None:
    """A class names itself (and what calling it makes); a function called, the type it returns."""
    if target.kind in _MEMBER_OWNERS:
        return target
    returns = _returns(target) if called else None
    if returns is None:
        return None
    if returns.rsplit(".", 1)[-1] == "Self":
        return _own_class(index, target)
    if returns.startswith("[") and _CONTEXT_MANAGER.search(target.code.partition("def ")[0]):
        returns = returns[1:-1]  # a generator made a context manager: what it yields is what `with` gives
    return _class_of(index, target, returns, True, depth + 1)


def _returns(function: Atom) -> str | None:
    """The return type a function or method states (`def f() -> T`, recorded as `f():T`)."""
    if function.kind not in ("function", "method"):
        return None
    returns = f"{function.symbol.rsplit('.', 1)[-1]}():"
    return next((e.removeprefix(returns) for e in function.typed_names if e.startswith(returns)), None)


def _element_type(index: _Index, atom: Atom, text: str, depth: int, called: bool = False) -> tuple[Atom, str] | None:
    """(atom, element type) when the value of `text` is a sequence whose element type the code states
    (`List[X]`, recorded as `[X]`), following copies, return types and members as `_class_of` does."""
    if depth > 8:
        return None
    if text.startswith("[") and text.endswith("]"):
        return atom, text[1:-1]
    if text.endswith("()"):
        return _element_type(index, atom, text[:-2], depth + 1, True)
    head, _, last = text.rpartition(".")
    if not head:
        target = _resolve_name(index, atom.file, text)
        if target is not None and index.atoms[target].kind in _VALUE_KINDS:
            returns = _returns(index.atoms[target]) if called else None
            return _element_type(index, index.atoms[target], returns, depth + 1, True) if returns else None
        stated = _declared_type(index, atom, text, target)
    else:
        owner = _class_of(index, atom, head, depth=depth + 1)
        found = _member(index, owner, last) if owner is not None else []
        if not found:
            return None
        if found[0][1] == "call":  # a method called, or a property
            returns = _returns(index.atoms[found[0][0]])
            return _element_type(index, index.atoms[found[0][0]], returns, depth + 1, True) if returns else None
        stated = _stated_member_type(index, index.atoms[found[0][0]], last)
    return _element_type(index, stated[0], stated[1], depth + 1, True) if stated else None


def _stated_member_type(index: _Index, declarer: Atom, attribute: str) -> tuple[Atom, str] | None:
    """The type stated for a member where it is declared or bound (first such binder first): `x: T` in
    the class body, `self.x: T = ...` or `self.x = T(...)`, or `self.x = x` with a parameter `x: T` of
    the method (the usual constructor)."""
    member = next((m for m in declarer.members if m.rpartition(".")[2] == attribute), None)
    for binder in index.binders.get((declarer.file, member), [declarer.id]) if member else [declarer.id]:
        current: Atom | None = index.atoms[binder]
        while current is not None:
            stated = dict(entry.split(":", 1) for entry in current.typed_names)
            for name in (f"self.{attribute}", f"cls.{attribute}", f"this.{attribute}", attribute):
                if name in stated:
                    return current, stated[name]
            current = index.atoms.get(current.parent) if current.kind == "block" and current.parent else None
    return None


def _declared_type(index: _Index, atom: Atom, name: str, definition: str | None) -> tuple[Atom, str] | None:
    """(atom, type name) the code states for `name`: in this atom, an earlier piece of its unit binding
    the locals it reads (the latest first), or the unit's head (parameters, annotated or constructed
    locals), else where the name is defined (a module variable)."""
    current: Atom | None = atom
    while current is not None:
        for holder in (current, *(index.atoms[s] for s in reversed(current.local_sources) if s in index.atoms)):
            for entry in holder.typed_names:
                stated, _, type_name = entry.partition(":")
                if stated == name and _DOTTED_HEAD.match(type_name).group() != name:  # not `x = x.parent`
                    return holder, type_name
        current = index.atoms.get(current.parent) if current.kind == "block" and current.parent else None
    if definition is not None:
        holder = index.atoms[definition]
        for entry in holder.typed_names:
            if entry.partition(":")[0] == name:
                return holder, entry.partition(":")[2]
    return None


def _resolve_ts_attribute(atom: Atom, dotted: str, index: _Index) -> list[tuple[str, str]]:
    """JavaScript/TypeScript `a.x.y`: each link looked up on the types stated for the one before it
    (`this`, a class, a namespace import, a name with a stated or returned type); `new C()` is read as
    `C.constructor`, which names C's own constructor, else C itself (as the TypeScript compiler does)."""
    if dotted.startswith("<"):  # `<T>.k`: a key of an object literal checked against the type T
        context, _, rest = dotted[1:].rpartition(">.")
        types = _ts_types(index, atom, atom.file, context)
        if not types and context.endswith(")") and "." not in rest:  # `f(opts: { k: ... })`: k is f's
            return [(d, "type") for d in _ts_call_definers(index, atom, atom.file, context, f"@{rest}")]
        return _ts_path(index, types, rest.split("."))
    owner, *path = dotted.split(".")
    if owner == "this":
        if path[0] == "constructor":
            return []  # `this.constructor` is the built-in property
        own = _own_class(index, atom)
        types = [own.id] if own else []
    elif owner == "super":  # the bases of the class the atom belongs to
        own = _own_class(index, atom)
        bases = own.bases if own else ()
        types = [t for b in bases for t in (_resolve_dotted(index, atom.file, b, space="type"),) if t]
    else:
        types, path, found = _ts_owner_types(atom, owner, path, index)
        if found is not None:
            return found
    return _ts_path(index, types, path)


def _ts_path(index: _Index, types: list[str], path: list[str]) -> list[tuple[str, str]]:
    """The member the last link of `path` names, each link looked up on the types of the one before."""
    found: list[tuple[str, str]] = []
    for depth, attribute in enumerate(path):
        pairs = [(t, m) for t in types for m in _ts_member(index, index.atoms[t], attribute)]
        found = list(dict.fromkeys(m for _, m in pairs))
        if depth + 1 < len(path):
            stated = (
                _ts_member_types(index, index.atoms[m], attribute, receiver=index.atoms[t]) for t, (m, _) in pairs
            )
            types = list(dict.fromkeys(t for group in stated for t in group))
    return found


def _ts_owner_types(
    atom: Atom, owner: str, path: list[str], index: _Index
) -> tuple[list[str], list[str], list[tuple[str, str]] | None]:
    """The types `owner` stands for and the links left to look up on them; or the edges, when the
    first link settles it (a namespace's export, a constructor)."""
    module = index.module_of(atom.file, owner)
    if module is not None:
        target = index.resolve(module, path[0])
        if target is None or len(path) == 1:
            return [], [], [(target, _kind_of(index.atoms[target]))] if target else []
        return ([target] if index.atoms[target].kind in _MEMBER_OWNERS else []), path[1:], None
    target = index.resolve(atom.file, owner, space="value")
    kind = index.atoms[target].kind if target else None
    if path == ["constructor"] and target:
        klass = index.atoms[target]
        own = index.defs.get(klass.file, {}).get(f"{klass.symbol}.constructor") if kind in _MEMBER_OWNERS else None
        return [], [], [(own or target, "call")]
    if kind in ("class", "class_header"):
        return [target], path, None
    stated = _ts_stated_types(index, atom, owner, target)
    if not stated and len(path) == 1:
        found = _literal_key(index, atom, owner, target, path[0])
        if found:
            return [], [], [(found, "data")]
    return stated, path, None


def _literal_key(index: _Index, atom: Atom, owner: str, target: str | None, key: str) -> str | None:
    """The atom spelling `key` in the object literal `owner` holds: a module-level `x = { key }` (or an
    imported `export default {...}`), or, for `x = f()`, the literal f returns."""
    declared = _ts_declared(index, atom, owner, target)
    if declared is not None and declared[1].endswith("()") and "." not in declared[1]:
        function = _resolve_dotted(index, declared[0], declared[1][:-2], space="value")
        holder = index.atoms[function] if function else None
        name = f"{holder.symbol}().{key}" if holder else None
        return index.members.get(holder.file, {}).get(name) if holder and name else None
    literal = index.atoms[target] if target else None
    keys = index.members.get(literal.file, {}) if literal else {}
    return next((keys[f"{n}.{key}"] for n in literal.defines if f"{n}.{key}" in keys), None) if literal else None


def _ts_stated_types(index: _Index, atom: Atom, name: str, definition: str | None) -> list[str]:
    declared = _ts_declared(index, atom, name, definition)
    return _ts_types(index, atom, *declared) if declared is not None else []


def _ts_declared(index: _Index, atom: Atom, name: str, definition: str | None) -> tuple[str, str] | None:
    """`_declared_type` (which also looks in the earlier blocks binding the atom's locals), as the file
    the type is stated in and the type's name."""
    declared = _declared_type(index, atom, name, definition)
    return (declared[0].file, declared[1]) if declared is not None else None


def _ts_types(index: _Index, context: Atom, file: str, type_name: str, depth: int = 0) -> list[str]:
    """The atoms of a stated type: a class, interface or alias (`T`, `ns.T`), or the stated return type
    of a function or of a method of the class `context` belongs to (`f()`, `this.m()`)."""
    key = (context.id, type_name)
    if depth > 4 or key in index.resolving:
        return []
    index.resolving.add(key)
    try:
        return _ts_stated(index, context, file, type_name, depth)
    finally:
        index.resolving.discard(key)


def _ts_stated(index: _Index, context: Atom, file: str, type_name: str, depth: int) -> list[str]:
    if type_name.endswith("@[]"):  # `xs@[]`: an element of the array xs
        return _ts_elements(index, context, type_name[:-3], depth)
    if "@" in type_name:  # `x@k`, `<f()>@k`: the type of member k of x (a destructured `{ k } = x`)
        owner, _, key = type_name.rpartition("@")
        members = [m for m, _ in _resolve_ts_attribute(context, f"{owner}.{key}", index)]
        types = [t for m in members for t in _ts_member_types(index, index.atoms[m], key, depth + 1)]
        if not types and owner.startswith("<") and owner.endswith(")>"):  # `f(): { k: T }`
            types = _ts_call_types(index, context, file, owner[1:-1], f"@{key}", depth)
        return list(dict.fromkeys(types))
    if type_name.endswith(")"):  # `f()`, `a.m()`: a return type; `f(0)`: a parameter's type
        return _ts_call_types(index, context, file, type_name, "", depth)
    klass = _resolve_dotted(index, file, type_name, space="type")
    if klass is None and "." not in type_name:  # a type parameter: its constraint, stated where it is declared
        holder: Atom | None = context
        while holder is not None:
            bounds = [b for b in _stated(holder, type_name) if b != type_name]
            if bounds:
                return [t for b in bounds for t in _ts_types(index, holder, holder.file, b, depth + 1)]
            holder = index.atoms.get(holder.parent) if holder.parent else None
    return [klass] if klass and index.atoms[klass].kind in _MEMBER_OWNERS else []


def _ts_elements(index: _Index, context: Atom, chain: str, depth: int) -> list[str]:
    """The element type of the array a value chain holds, as stated (`xs: T[]`, `items: Array<T>`)."""
    owner, _, last = chain.rpartition(".")
    if not owner:
        declared = _ts_declared(index, context, chain, index.resolve(context.file, chain, space="value"))
        where = [(declared[0], declared[1])] if declared is not None else []
    else:
        members = [index.atoms[m] for m, _ in _resolve_ts_attribute(context, chain, index)]
        where = [(m.file, s) for m in members for s in _stated(m, last) or _stated(m, f"this.{last}")]
    arrays = [(file, stated[:-2]) for file, stated in where if stated.endswith("[]")]
    return list(
        dict.fromkeys(t for file, element in arrays for t in _ts_types(index, context, file, element, depth + 1))
    )


def _callees(index: _Index, context: Atom, file: str, callee: str) -> list[str]:
    """The atoms defining a callee: a name, or a member chain (`a.m`, `this.m`, `<f()>.m`)."""
    if "." in callee or callee.startswith("<"):
        return [m for m, _ in _resolve_ts_attribute(context, callee, index)]
    found = _resolve_dotted(index, file, callee)
    return [found] if found else []


def _ts_call_definers(index: _Index, context: Atom, file: str, call: str, suffix: str) -> list[str]:
    """The atoms stating the signature entry a call names (`f(0)@k`: f declares k inline)."""
    callee, _, position = call[:-1].rpartition("(")
    last = callee.rsplit(".", 1)[-1]
    return [d for d in _callees(index, context, file, callee) if _stated(index.atoms[d], f"{last}({position}){suffix}")]


def _ts_call_types(index: _Index, context: Atom, file: str, call: str, suffix: str, depth: int) -> list[str]:
    """The types stated for a call `f()` (its result) or `f(0)` (its first parameter), where the callee
    is defined; with `suffix` `@k`, for member k of an inline result type."""
    callee, _, position = call[:-1].rpartition("(")
    definers = _callees(index, context, file, callee)
    if not definers and "." not in callee and not callee.startswith("<"):
        # a function declared in the unit itself (an earlier block, or this one)
        local = [context.id, *(s for s in context.local_sources if s in index.atoms)]
        definers = [s for s in local if _stated(index.atoms[s], f"{callee}({position}){suffix}")]
    types = []
    for definer in definers:
        holder = index.atoms[definer]
        names = dict.fromkeys((callee.rsplit(".", 1)[-1], holder.symbol.rsplit(".", 1)[-1]))
        stated = [(holder, s) for name in names for s in _stated(holder, f"{name}({position}){suffix}")]
        if not stated:  # `m?: Handler` with `type Handler = (a: A) => R`: the signature is Handler's
            member_types = [s for name in names for s in _stated(holder, name)]
            aliases = [t for s in member_types for t in _ts_types(index, holder, holder.file, s, depth + 1)]
            for alias in (index.atoms[a] for a in aliases):
                stated.extend((alias, s) for s in _stated(alias, f"{alias.symbol}({position}){suffix}"))
        types.extend(t for where, s in stated for t in _ts_types(index, where, where.file, s, depth + 1))
    return list(dict.fromkeys(types))


def _stated(atom: Atom, name: str) -> list[str]:
    """The types `atom` states for `name` (`name:T` entries)."""
    return [entry.split(":", 1)[1] for entry in atom.typed_names if entry.split(":", 1)[0] == name]


def _ts_member(index: _Index, klass: Atom, attribute: str, depth: int = 0) -> list[tuple[str, str]]:
    """`attribute` on a class, interface or alias and its bases; on an alias of a union or intersection,
    on each of its parts that has it (the compiler relates the use to every one)."""
    found = _member(index, klass, attribute)
    if found or klass.kind != "type" or depth > 6:
        return found
    for part in _stated(klass, klass.symbol):
        target = _resolve_dotted(index, klass.file, part, space="type")
        if target and target != klass.id and index.atoms[target].kind in _MEMBER_OWNERS:
            found.extend(m for m in _ts_member(index, index.atoms[target], attribute, depth + 1) if m not in found)
    return found


def _ts_member_types(
    index: _Index, member: Atom, attribute: str, depth: int = 0, receiver: Atom | None = None
) -> list[str]:
    """The types stated for a member where it is bound: a field or property `x: T`, `x = new T()`, or
    `this.x = x` with a parameter `x: T`; a type parameter of the member's class as the `receiver` (a
    subclass) binds it (`_def: Def` in `Base<Def>`, read on `class C extends Base<CDef>`)."""
    stated = _stated(member, attribute) or _stated(member, f"this.{attribute}")
    if receiver is not None and stated:
        bound = [b for s in stated for b in _bound(index, receiver, member, s)]
        if bound:
            return [t for b in bound for t in _ts_types(index, receiver, receiver.file, b, depth)]
    head: Atom | None = member  # an object type written in the member's annotation: looked up on the type
    while not stated and head is not None and head.kind == "block":
        head = index.atoms.get(head.parent) if head.parent else None
    if not stated and head is not None and head.kind in _TYPE_KINDS:
        return [head.id]
    return [t for s in stated for t in _ts_types(index, member, member.file, s, depth)]


def _bound(index: _Index, receiver: Atom, member: Atom, name: str) -> list[str]:
    """The type a subclass gives a type parameter of the class declaring `member`, following its bases
    (`extends Base<X>`); empty when the parameter is not bound by a named type on the way."""
    declaring: Atom | None = member
    while declaring is not None and declaring.kind == "block":
        declaring = index.atoms.get(declaring.parent) if declaring.parent else None
    parameters = _stated(declaring, f"{declaring.symbol}<>") if declaring is not None else []
    if not parameters or name not in parameters[0].split(","):
        return []
    position, current = parameters[0].split(",").index(name), receiver
    for _ in range(8):
        if current.id == declaring.id:
            return []
        targets = [(b, _resolve_dotted(index, current.file, b, space="type")) for b in current.bases]
        base, target = next(((b, t) for b, t in targets if t), (None, None))
        if target is None:
            return []
        if target == declaring.id:
            given = (_stated(current, f"extends {base}") or [""])[0].split(",")
            return [given[position]] if position < len(given) and given[position] != "*" else []
        current = index.atoms[target]
    return []


def _kind_of(target: Atom) -> str:
    return "call" if target.kind in _DEFINITION_KINDS else "data"


def _member(index: _Index, klass: Atom, attribute: str, depth: int = 0) -> list[tuple[str, str]]:
    """The atom defining `attribute` on a class or, failing that, on its bases (in their order)."""
    name = f"{klass.symbol}.{attribute}"
    found = index.defs.get(klass.file, {}).get(name)
    if found is not None:
        return [(found, _kind_of(index.atoms[found]))]
    found = index.members.get(klass.file, {}).get(name)
    if found is not None and klass.file.endswith(".py") and not _declared_here(index, klass, name, attribute):
        declared = _inherited_declaration(index, klass, attribute)  # `self.x = v` on what a base declares
        if declared is not None:
            return [declared]
    if found is not None or depth > 12:  # a member of an interface or object type exists only for types
        return [(found, "type" if klass.kind in ("interface", "type") else "data")] if found else []
    for base in klass.bases:
        target = _resolve_dotted(index, klass.file, base)
        if target and index.atoms[target].kind in _MEMBER_OWNERS and target != klass.id:
            inherited = _member(index, index.atoms[target], attribute, depth + 1)
            if inherited:
                return inherited
    return []


def _unit_kind(index: _Index, atom_id: str) -> str:
    """The kind of the unit an atom is a piece of (a block's head's kind)."""
    atom = index.atoms[atom_id]
    while atom.kind == "block" and atom.parent in index.atoms:
        atom = index.atoms[atom.parent]
    return atom.kind


@cache  # an attribute's pattern is asked for again for every class that binds it
def _annotation_on_self(attribute: str) -> re.Pattern[str]:
    return re.compile(rf"\b(self|cls)\.{re.escape(attribute)}\s*:(?!=)")


def _declared_here(index: _Index, klass: Atom, member: str, attribute: str) -> bool:
    """Whether a Python class declares a member itself: in its body, or annotated on self (`self.x: T`)."""
    binders = index.binders.get((klass.file, member), ())
    if any(_unit_kind(index, binder) != "method" for binder in binders):
        return True
    annotated = _annotation_on_self(attribute) if binders else None
    return any(annotated.search(index.atoms[binder].code) for binder in binders) if annotated else False


def _inherited_declaration(index: _Index, klass: Atom, attribute: str, depth: int = 0) -> tuple[str, str] | None:
    """What a Python base class declares `attribute` as, if a subclass's `self.x = v` only assigns it:
    a property (the assignment calls its setter) or a field annotated in the base's class body."""
    for base in klass.bases if depth <= 12 else ():
        target = _resolve_dotted(index, klass.file, base)
        if not target or index.atoms[target].kind not in _MEMBER_OWNERS or target == klass.id:
            continue
        name = f"{index.atoms[target].symbol}.{attribute}"
        found = index.defs.get(index.atoms[target].file, {}).get(name)
        if found is not None and _PROPERTY.search(index.atoms[found].code.partition("def ")[0]):
            return found, "call"
        field = index.members.get(index.atoms[target].file, {}).get(name)
        if (
            field is not None
            and _unit_kind(index, field) != "method"
            and any(e.startswith(f"{attribute}:") for e in index.atoms[field].typed_names)
        ):
            return field, "data"
        found = _inherited_declaration(index, index.atoms[target], attribute, depth + 1)
        if found is not None:
            return found
    return None


def _resolve_dotted(index: _Index, file: str, name: str, space: str | None = None) -> str | None:
    """A name (`Base`) or a module attribute (`sansio.App`) as seen from `file`."""
    owner, _, attribute = name.partition(".")
    if not attribute:
        return index.resolve(file, name, space=space)
    module = index.module_of(file, owner)
    return index.resolve(module, attribute, space=space) if module is not None and "." not in attribute else None


def _edge_type(atom: Atom, name: str, target: Atom) -> str:
    if name in atom.bases:
        return "inherit"
    if name in atom.type_references and target.kind in ("class", "class_header", "interface", "type", "enum"):
        return "type"
    if target.kind in _DEFINITION_KINDS:
        return "call"
    return "data"


def _break_cycles(graph: nx.DiGraph, edges: dict[tuple[str, str], tuple[str, bool]]) -> list[BrokenEdge]:
    """Inside each strongly connected component, drop the cheapest edge of a cycle, then look again.
    A dropped edge leaves both `graph` and `edges` (its type and lateness)."""
    broken: list[BrokenEdge] = []
    pending = _cyclic_components(graph)
    while pending:
        component = pending.pop()
        sub = graph.subgraph(component)
        cycle = nx.find_cycle(sub, source=min(component))
        source, target = min(cycle, key=lambda e: (_cost(*edges[e[0], e[1]]), e))
        kind, late = edges.pop((source, target))
        broken.append(BrokenEdge(source=source, target=target, type=kind, reason=_reason(kind, late)))
        graph.remove_edge(source, target)
        pending.extend(_cyclic_components(graph.subgraph(component)))
    return broken


def _cyclic_components(graph: nx.DiGraph) -> list[set[str]]:
    """Strongly connected components with a cycle, the one to handle first last (popped first)."""
    found = [c for c in nx.strongly_connected_components(graph) if len(c) > 1]
    return sorted(found, key=min, reverse=True)


def _cost(kind: str, late: bool) -> int:
    """Which edge of a cycle goes first: type-only, then late-bound, then the rest (never by choice)."""
    if kind == "type":
        return 0
    if late:
        return 1
    return 2 + _STRENGTH[kind]


def _reason(kind: str, late: bool) -> str:
    if kind == "type":
        return "type-only use: the annotation can refer to the name before it exists"
    if late:
        return "late-bound: the use is inside a function body, after both atoms exist"
    return (
        f"cycle of import-time edges only; dropped this `{kind}` edge to keep going "
        "(the code relies on partially initialised modules)"
    )
