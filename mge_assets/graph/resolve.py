"""Which file an import names: Python modules and packages, JavaScript/TypeScript specifiers.

Python follows the interpreter's rules on the project's own files: a module's dotted name is its path
from the nearest folder that is not a package (so `src/` layouts work), relative imports count from
the importing package, and `from p import m` names the module `p.m` when there is one, else `p`.
JavaScript and TypeScript follow Node's and TypeScript's resolution: relative specifiers with the
usual extensions and `index` files (a `.js` specifier may name a `.ts` file), `tsconfig.json` `paths`
patterns such as `@/*` and `baseUrl`. Anything else (the standard library, `node_modules`) is outside
the project and resolves to nothing.
"""

from __future__ import annotations

import json
import posixpath
import re
from dataclasses import dataclass, field

from mge_assets.atomize.model import ImportRef

_JS_EXTENSIONS = (".ts", ".tsx", ".d.ts", ".js", ".jsx", ".mjs", ".cjs", ".mts", ".cts")
_JS_TO_TS = {".js": (".ts", ".tsx"), ".jsx": (".tsx",), ".mjs": (".mts",), ".cjs": (".cts",)}


@dataclass(frozen=True)
class TsConfig:
    """The parts of `tsconfig.json` that change resolution: `baseUrl` and `paths`, relative to the root."""

    base_url: str | None = None
    paths: tuple[tuple[str, tuple[str, ...]], ...] = ()


def parse_tsconfig(text: str, folder: str = "") -> TsConfig:
    """`compilerOptions.baseUrl` and `paths` of a tsconfig (comments and trailing commas allowed)."""
    data = json.loads(_strip_jsonc(text))
    options = data.get("compilerOptions", {}) if isinstance(data, dict) else {}
    base = options.get("baseUrl")
    base_url = posixpath.normpath(posixpath.join(folder, base)) if base else None
    anchor = base_url if base_url is not None else (folder or ".")
    paths = tuple(
        (pattern, tuple(posixpath.normpath(posixpath.join(anchor, t)) for t in targets))
        for pattern, targets in sorted((options.get("paths") or {}).items())
    )
    return TsConfig(base_url=base_url, paths=paths)


def _strip_jsonc(text: str) -> str:
    pattern = re.compile(r'("(?:\\.|[^"\\])*")|//[^\n]*|/\*.*?\*/', re.S)
    text = pattern.sub(lambda m: m.group(1) or "", text)
    return re.sub(r",(\s*[}\]])", r"\1", text)


def python_module_names(path: str, packages: set[str]) -> list[str]:
    """Dotted names a Python file is imported by: from the nearest folder that is neither a package nor a
    namespace portion inside one, at any depth (`pkg/ns/` and `pkg/ns/deeper/` without `__init__.py`
    are `pkg.ns` and `pkg.ns.deeper`), and its full path."""
    parts = path.removesuffix(".py").split("/")
    if parts[-1] == "__init__":
        parts = parts[:-1]
    folder_parts = path.split("/")[:-1]
    start = len(folder_parts)
    while start > 0 and {"/".join(folder_parts[:depth]) for depth in range(1, start + 1)} & packages:
        start -= 1
    names = [".".join(parts[start:]), ".".join(parts)]
    return [n for n in dict.fromkeys(names) if n]


@dataclass
class Resolver:
    """Resolves imports among a fixed set of project files (paths relative to the project root)."""

    files: set[str]
    tsconfig: TsConfig | None = None
    modules: dict[str, str] = field(default_factory=dict)
    own_name: dict[str, str] = field(default_factory=dict)
    top_level: set[str] = field(default_factory=set)  # first parts of the project's module names

    def __post_init__(self) -> None:
        python = sorted(f for f in self.files if f.endswith(".py"))
        packages = {f.rsplit("/", 1)[0] for f in python if f.endswith("/__init__.py")}
        for path in python:
            names = python_module_names(path, packages)
            self.own_name[path] = names[0] if names else ""
            for name in names:
                self.modules.setdefault(name, path)
                self.top_level.add(name.split(".")[0])

    def is_package(self, path: str) -> bool:
        return path.endswith("__init__.py")

    def resolve(self, importer: str, ref: ImportRef) -> tuple[str | None, str | None]:
        """(target file, name looked up in it); the name is None when the import is of a module object."""
        if importer.endswith(".py"):
            return self._python(importer, ref)
        if ref.kind == "export" or not ref.module:
            return None, None
        target = self.javascript_file(importer, ref.module)
        return target, ref.name

    # -- Python ---------------------------------------------------------------------------------

    def absolute_module(self, importer: str, ref: ImportRef) -> str:
        if not ref.level:
            return ref.module
        base = self.own_name.get(importer, "").split(".")
        if not self.is_package(importer):
            base = base[:-1]
        base = base[: len(base) - (ref.level - 1)] if ref.level > 1 else base
        return ".".join(p for p in [*base, ref.module] if p)

    def _python(self, importer: str, ref: ImportRef) -> tuple[str | None, str | None]:
        module = self.absolute_module(importer, ref)
        if ref.name not in (None, "*"):
            submodule = self.modules.get(f"{module}.{ref.name}" if module else ref.name)
            if submodule is not None:
                return submodule, None
        return self.modules.get(module), ref.name

    def python_file(self, module: str) -> str | None:
        return self.modules.get(module)

    # -- JavaScript / TypeScript ----------------------------------------------------------------

    def javascript_file(self, importer: str, specifier: str) -> str | None:
        for base in self._bases(importer, specifier):
            found = self._with_extension(base)
            if found is not None:
                return found
        return None

    def _bases(self, importer: str, specifier: str) -> list[str]:
        if specifier.startswith("."):
            return [posixpath.normpath(posixpath.join(posixpath.dirname(importer), specifier))]
        config = self.tsconfig
        if config is None:
            return []
        bases = []
        for pattern, targets in config.paths:
            captured = _match(pattern, specifier)
            if captured is not None:
                bases.extend(t.replace("*", captured, 1) for t in targets)
        if config.base_url is not None:
            bases.append(posixpath.normpath(posixpath.join(config.base_url, specifier)))
        return bases

    def _with_extension(self, base: str) -> str | None:
        base = base.removeprefix("./")
        if base in self.files:
            return base
        stem, dot, suffix = base.rpartition(".")
        for replacement in _JS_TO_TS.get(f".{suffix}", ()) if dot else ():
            if stem + replacement in self.files:
                return stem + replacement
        for extension in _JS_EXTENSIONS:
            if base + extension in self.files:
                return base + extension
        for extension in _JS_EXTENSIONS:
            if f"{base}/index{extension}" in self.files:
                return f"{base}/index{extension}"
        return None


def _match(pattern: str, specifier: str) -> str | None:
    """What `*` stands for when `specifier` matches a tsconfig `paths` pattern ('' for an exact match)."""
    if "*" not in pattern:
        return "" if pattern == specifier else None
    prefix, _, suffix = pattern.partition("*")
    if specifier.startswith(prefix) and specifier.endswith(suffix) and len(specifier) >= len(prefix) + len(suffix):
        return specifier[len(prefix) : len(specifier) - len(suffix)]
    return None
