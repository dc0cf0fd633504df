"""Atoms: the small units of code the pipeline generates one by one."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

_NAME_LISTS = (
    "defines",
    "references",
    "type_references",
    "bases",
    "attribute_references",
    "members",
    "typed_names",
    "local_sources",
)


@dataclass(frozen=True)
class ImportRef:
    """`from <module> import <name> as <alias>` (name None for `import <module> as <alias>`).

    `kind` says when the import takes effect: `static` at import time, `type` for type checkers only
    (`if TYPE_CHECKING:`, `import type`), `late` inside a function body, `dynamic` for `import()`,
    `require` for CommonJS, `reexport` for `export ... from`. JavaScript modules are the specifier as
    written (`./util`, `@/lib/x`); Python modules are dotted, relative ones with their `level`.
    """

    module: str
    name: str | None
    alias: str
    level: int = 0
    kind: str = "static"


@dataclass(frozen=True)
class Atom:
    """A span of one file. The atoms of a file partition its bytes: joined in order they are the file."""

    id: str
    language: str
    file: str
    start_byte: int
    end_byte: int
    start_line: int
    end_line: int
    kind: str
    symbol: str
    parent: str | None
    loc: int
    complexity: int
    code: str
    defines: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    type_references: tuple[str, ...] = ()
    bases: tuple[str, ...] = ()
    # `owner.attr` reads (`a.b.c` chains in JS/TS); `<T>.k` is key k of an object literal checked against T.
    attribute_references: tuple[str, ...] = ()
    # Attributes it binds on a class, as `Class.name`: class-level fields, `self.name = ...` in a method, the
    # names a class body's `__slots__` lists (bound by the class).
    members: tuple[str, ...] = ()
    # What a name holds, where the code says so: `name:Type` for a parameter or variable annotated with a
    # named type (`x: Request`, `Optional[Request]`, `Request | None`), `name:Callee` for `name = Callee(...)`.
    # Python also: `name:Callee` for `await` or `with Callee(...) as name`, `name:y.z` for a copy `name = y.z`;
    # `[T]` is a sequence of T (`List[T]`), `xs[]` an element of xs (`xs[0]`, `for name in xs`), `f():T` a
    # function's return type.
    # JS/TS also: `f():R` / `f(0):A` (a signature), `x:f()` (a call's result), `x:o@k` (destructured
    # from o's member k), `x:xs@[]` (an element), `Alias:Part` (a union or intersection), `T:Bound` (a type
    # parameter), `C<>:T,U` (C's type parameters), `extends B:X,*` (the type arguments C gives its base B).
    typed_names: tuple[str, ...] = ()
    imports: tuple[ImportRef, ...] = field(default_factory=tuple)
    # For a block of a split unit: the ids of the earlier blocks of the same unit that bind a local name
    # (variable, nested function) it reads. Locals stay out of `references`, which resolve file-wide.
    local_sources: tuple[str, ...] = ()
    exported: bool = False

    def as_row(self) -> dict:
        row = asdict(self)
        row["imports"] = [asdict(i) for i in self.imports]
        for key in _NAME_LISTS:
            row[key] = list(row[key])
        return row

    @classmethod
    def from_row(cls, row: dict) -> Atom:
        """The inverse of `as_row`, also for rows read back from Parquet (lists arrive as arrays)."""
        values = {k: row[k] for k in cls.__dataclass_fields__ if k in row}
        for key in _NAME_LISTS:
            values[key] = tuple(_sequence(values.get(key)))
        values["imports"] = tuple(ImportRef(**dict(i)) for i in _sequence(row.get("imports")))
        values["exported"] = bool(values.get("exported", False))
        parent = values.get("parent")
        values["parent"] = parent if isinstance(parent, str) and parent else None  # Parquet gives NaN for None
        return cls(**values)


def evolve(atom: Atom, **changes: object) -> Atom:
    """`dataclasses.replace` without re-running `__init__`: a copy of the fields with `changes` (several
    times faster, and atomizing a codebase copies tens of thousands of atoms)."""
    copy = object.__new__(Atom)
    copy.__dict__.update(atom.__dict__, **changes)
    return copy


def _sequence(value: object) -> list:
    return [] if value is None else list(value)


def reassemble(atoms: list[Atom]) -> dict[str, str]:
    """Join the atoms of each file in byte order."""
    files: dict[str, list[Atom]] = {}
    for atom in atoms:
        files.setdefault(atom.file, []).append(atom)
    return {f: "".join(a.code for a in sorted(group, key=lambda a: a.start_byte)) for f, group in files.items()}


@dataclass(frozen=True)
class ParseError:
    """A place where a file does not parse: its atoms are still produced, around the error."""

    file: str
    line: int
    column: int
    kind: str  # `error` (unexpected text) or `missing` (a token the grammar expected)
    text: str
