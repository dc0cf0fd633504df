"""Hard cases for the dependency analyzer: each a small project, the file edges it must have (exactly),
and atom edges it must contain. Shared by the tests and the accuracy benchmark."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Case:
    name: str
    files: dict[str, str]
    file_edges: set[tuple[str, str, str]]
    atom_edges: set[tuple[str, str, str]] = field(default_factory=set)
    broken_types: tuple[str, ...] = ()  # the types of the edges cycle breaking must drop


CASES = [
    Case(
        "python relative import from a parent package",
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "def f():\n    return 1\n",
            "pkg/sub/__init__.py": "",
            "pkg/sub/b.py": "from ..a import f\n\n\ndef g():\n    return f()\n",
        },
        {("pkg/sub/b.py", "pkg/a.py", "static")},
        {("pkg/sub/b.py::g", "pkg/a.py::f", "call"), ("pkg/sub/b.py::<module>", "pkg/a.py::f", "import")},
    ),
    Case(
        "python import a.b.c and attribute access through the module",
        {
            "pkg/__init__.py": "",
            "pkg/sub/__init__.py": "",
            "pkg/sub/mod.py": "def f():\n    return 1\n",
            "main.py": "import pkg.sub.mod as m\n\n\ndef run():\n    return m.f()\n",
        },
        {("main.py", "pkg/sub/mod.py", "static")},
        {("main.py::run", "pkg/sub/mod.py::f", "call")},
    ),
    Case(
        "python from x import y as z",
        {"lib.py": "def helper():\n    return 1\n", "app.py": "from lib import helper as h\n\nX = h()\n"},
        {("app.py", "lib.py", "static")},
        {("app.py::<module>", "lib.py::helper", "import")},
    ),
    Case(
        "python package __init__ re-export",
        {
            "pkg/__init__.py": "from .models import User\n",
            "pkg/models.py": "class User:\n    pass\n",
            "app.py": "from pkg import User\n\n\ndef make():\n    return User()\n",
        },
        {("app.py", "pkg/__init__.py", "static"), ("pkg/__init__.py", "pkg/models.py", "static")},
        {("app.py::make", "pkg/models.py::User", "call")},
    ),
    Case(
        "python star import",
        {
            "pkg/__init__.py": "",
            "pkg/tools.py": "def tool():\n    return 1\n",
            "use.py": "from pkg.tools import *\n\n\ndef run():\n    return tool()\n",
        },
        {("use.py", "pkg/tools.py", "static")},
        {("use.py::run", "pkg/tools.py::tool", "call")},
    ),
    Case(
        "python from package import submodule",
        {
            "pkg/__init__.py": "",
            "pkg/mod.py": "def f():\n    return 1\n",
            "use.py": "from pkg import mod\n\n\ndef run():\n    return mod.f()\n",
        },
        {("use.py", "pkg/mod.py", "static")},
        {("use.py::run", "pkg/mod.py::f", "call")},
    ),
    Case(
        "python TYPE_CHECKING import is a type edge",
        {
            "a.py": "from __future__ import annotations\nfrom typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n"
            "    from b import B\n\n\ndef use(x: B) -> None:\n    pass\n",
            "b.py": "class B:\n    pass\n",
        },
        {("a.py", "b.py", "type")},
        {("a.py::use", "b.py::B", "type")},
    ),
    Case(
        "python cycle broken on the late-bound side",
        {
            "a.py": "from b import g\n\n\ndef f():\n    return g()\n",
            "b.py": "def g():\n    from a import f\n    return f\n",
        },
        {("a.py", "b.py", "static"), ("b.py", "a.py", "late")},
        {("a.py::<module>", "b.py::g", "import"), ("b.py::g", "a.py::f", "import")},
        ("call",),
    ),
    Case(
        "python base class in another module",
        {"base.py": "class Base:\n    pass\n", "child.py": "from base import Base\n\n\nclass Child(Base):\n    pass\n"},
        {("child.py", "base.py", "static")},
        {("child.py::Child", "base.py::Base", "inherit")},
    ),
    Case(
        "python src layout",
        {"src/pkg/__init__.py": "", "src/pkg/b.py": "X = 1\n", "src/pkg/a.py": "from pkg.b import X\n\nY = X\n"},
        {("src/pkg/a.py", "src/pkg/b.py", "static")},
        {("src/pkg/a.py::<module>", "src/pkg/b.py::X", "import")},
    ),
    Case(
        "python relative import in a namespace package",
        {"ns/a.py": "from .b import x\n", "ns/b.py": "x = 1\n"},
        {("ns/a.py", "ns/b.py", "static")},
        {("ns/a.py::<module>", "ns/b.py::x", "import")},
    ),
    Case(
        "python function-local import",
        {"a.py": "def f():\n    import b\n    return b.g()\n", "b.py": "def g():\n    return 1\n"},
        {("a.py", "b.py", "late")},
        {("a.py::f", "b.py::g", "import")},
    ),
    Case(
        "python cycle through a type-only import drops the type edge",
        {
            "a.py": "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    from b import B\n\n\nclass A:\n"
            "    other: 'B'\n    peer: B\n",
            "b.py": "from a import A\n\n\nclass B(A):\n    pass\n",
        },
        {("a.py", "b.py", "type"), ("b.py", "a.py", "static")},
        {("b.py::B", "a.py::A", "inherit")},
        ("type",),
    ),
    Case(
        "javascript default export",
        {
            "App.js": "export default function App() {\n  return 1;\n}\n",
            "main.js": "import App from './App';\nconsole.log(App());\n",
        },
        {("main.js", "App.js", "static")},
        {("main.js::<module>", "App.js::App", "import")},
    ),
    Case(
        "typescript barrel with export * and a renamed re-export",
        {
            "lib/a.ts": "export function a(): number {\n  return 1;\n}\n",
            "lib/b.ts": "export const b = (): number => 2;\n",
            "lib/index.ts": "export * from './a';\nexport { b as bee } from './b';\n",
            "app.ts": "import { a, bee } from './lib';\n\nexport function run(): number {\n  return a() + bee();\n}\n",
        },
        {
            ("app.ts", "lib/index.ts", "static"),
            ("lib/index.ts", "lib/a.ts", "reexport"),
            ("lib/index.ts", "lib/b.ts", "reexport"),
        },
        {("app.ts::run", "lib/a.ts::a", "call"), ("app.ts::run", "lib/b.ts::b", "call")},
    ),
    Case(
        "typescript tsconfig paths alias",
        {
            "tsconfig.json": '{\n  // comments are allowed\n  "compilerOptions": {"baseUrl": ".",\n'
            '"paths": {"@/*": ["src/*"]},},\n}\n',
            "src/util/x.ts": "export const x = (): number => 1;\n",
            "src/app.ts": "import { x } from '@/util/x';\n\nexport const y = (): number => x();\n",
        },
        {("src/app.ts", "src/util/x.ts", "static")},
        {("src/app.ts::y", "src/util/x.ts::x", "call")},
    ),
    Case(
        "typescript baseUrl import",
        {
            "tsconfig.json": '{"compilerOptions": {"baseUrl": "src"}}',
            "src/lib/y.ts": "export function y(): number {\n  return 1;\n}\n",
            "src/main.ts": "import { y } from 'lib/y';\nimport { readFileSync } from 'fs';\n\ny();\n",
        },
        {("src/main.ts", "src/lib/y.ts", "static")},
        {("src/main.ts::<module>", "src/lib/y.ts::y", "import")},
    ),
    Case(
        "typescript type-only imports",
        {
            "types.ts": "export interface User {\n  name: string;\n}\n",
            "use.ts": "import type { User } from './types';\n\n"
            "export function greet(u: User): string {\n  return u.name;\n}\n",
        },
        {("use.ts", "types.ts", "type")},
        {("use.ts::greet", "types.ts::User", "type")},
    ),
    Case(
        "javascript dynamic import",
        {
            "lazy.js": "export function heavy() {\n  return 1;\n}\n",
            "main.js": "export async function load() {\n  const m = await import('./lazy.js');\n"
            "  return m.heavy();\n}\n",
        },
        {("main.js", "lazy.js", "dynamic")},
        set(),
    ),
    Case(
        "javascript require",
        {
            "util.js": "module.exports = { twice: (x) => 2 * x };\n",
            "main.js": "const util = require('./util');\nconsole.log(util.twice(2));\n",
        },
        {("main.js", "util.js", "require")},
        {("main.js::util", "util.js::<statements:1>", "import")},
    ),
    Case(
        "typescript ESM specifier with .js naming a .ts file",
        {"a.ts": "export const a = 1;\n", "b.ts": "import { a } from './a.js';\n\nexport const b = a + 1;\n"},
        {("b.ts", "a.ts", "static")},
        {("b.ts::<module>", "a.ts::a", "import")},
    ),
    Case(
        "typescript namespace import and member call",
        {
            "ns.ts": "export function f(): number {\n  return 1;\n}\n",
            "use.ts": "import * as ns from './ns';\n\nexport function g(): number {\n  return ns.f();\n}\n",
        },
        {("use.ts", "ns.ts", "static")},
        {("use.ts::g", "ns.ts::f", "call")},
    ),
    Case(
        "javascript directory index",
        {"dir/index.js": "export default 42;\n", "main.js": "import answer from './dir';\nconsole.log(answer);\n"},
        {("main.js", "dir/index.js", "static")},
        set(),
    ),
    Case(
        "tsx component used as JSX",
        {
            "Button.tsx": "export function Button(): JSX.Element {\n  return <button />;\n}\n",
            "App.tsx": "import { Button } from './Button';\n\n"
            "export function App(): JSX.Element {\n  return <Button />;\n}\n",
        },
        {("App.tsx", "Button.tsx", "static")},
        {("App.tsx::App", "Button.tsx::Button", "call")},
    ),
    Case(
        "typescript class extends an imported class, in a cycle with a type use",
        {
            "base.ts": "import type { Child } from './child';\n\nexport class Base {\n  kid?: Child;\n}\n",
            "child.ts": "import { Base } from './base';\n\nexport class Child extends Base {}\n",
        },
        {("base.ts", "child.ts", "type"), ("child.ts", "base.ts", "static")},
        {("child.ts::Child", "base.ts::Base", "inherit")},
        ("type",),
    ),
    Case(
        "javascript export default of a local name and of an object literal",
        {
            "f.js": "function f() {\n  return 1;\n}\nexport default f;\n",
            "u.js": "const a = 1;\nexport default { a };\n",
            "main.js": "import f from './f.js';\nimport u from './u.js';\n\n"
            "export function g() {\n  return f() + u.a;\n}\n",
        },
        {("main.js", "f.js", "static"), ("main.js", "u.js", "static")},
        {
            ("main.js::<module>", "f.js::f", "import"),
            ("main.js::g", "f.js::f", "call"),
            ("main.js::g", "u.js::a", "data"),
        },
    ),
    Case(
        "python attribute bound on self in __init__, read by a subclass method in another module",
        {
            "pkg/__init__.py": "",
            "pkg/base.py": "class Base:\n    def __init__(self):\n        self.size = 1\n\n"
            "    def helper(self):\n        return 2\n",
            "pkg/leaf.py": "from pkg.base import Base\n\n\nclass Leaf(Base):\n"
            "    def run(self):\n        return self.size + self.helper()\n",
        },
        {("pkg/leaf.py", "pkg/base.py", "static")},
        {
            ("pkg/leaf.py::Leaf", "pkg/base.py::Base", "inherit"),
            ("pkg/leaf.py::Leaf.run", "pkg/base.py::Base.__init__", "data"),
            ("pkg/leaf.py::Leaf.run", "pkg/base.py::Base.helper", "call"),
        },
    ),
    Case(
        "python namespace folder inside a regular package, relative imports up and across",
        {
            "pkg/__init__.py": "",
            "pkg/config.py": "class Config:\n    pass\n",
            "pkg/ns/app.py": "from ..config import Config\nfrom .tools import tool\n\n\n"
            "def make():\n    return tool(Config())\n",
            "pkg/ns/tools.py": "def tool(x):\n    return x\n",
        },
        {("pkg/ns/app.py", "pkg/config.py", "static"), ("pkg/ns/app.py", "pkg/ns/tools.py", "static")},
        {
            ("pkg/ns/app.py::make", "pkg/config.py::Config", "call"),
            ("pkg/ns/app.py::make", "pkg/ns/tools.py::tool", "call"),
        },
    ),
    Case(
        "python module deep in namespace folders inside a package: its dotted name only, no standard module shadowed",
        {
            "pkg/__init__.py": "",
            "pkg/tests/__init__.py": "",
            "pkg/tests/data/cases/random.py": "SEED = 1\n",
            "pkg/core.py": "import random\n\n\ndef roll():\n    return random.random()\n",
            "pkg/tests/test_data.py": "from .data.cases import random as sample\n\n\n"
            "def test_seed():\n    assert sample.SEED\n",
        },
        {("pkg/tests/test_data.py", "pkg/tests/data/cases/random.py", "static")},
        set(),
    ),
    Case(
        "python decorators of a class with methods are read by its header",
        {
            "deco.py": "def register(cls=None, *, slots=False):\n    return cls\n",
            "app.py": "from deco import register\n\n\n@register(slots=True)\nclass A:\n    x = 1\n\n"
            "    def m(self):\n        return self.x\n\n\n@register\nclass B:\n    def m(self):\n        return 2\n",
        },
        {("app.py", "deco.py", "static")},
        {("app.py::A", "deco.py::register", "call"), ("app.py::B", "deco.py::register", "call")},
    ),
    Case(
        "python split function: a nested function and a variable bound in one block, read in a later one",
        {
            "jobs.py": "def run(tasks):\n    done = []\n"
            + "".join(f"    a{i} = {i}\n" for i in range(8))
            + "\n    def record(task):\n        done.append(task)\n\n    count = 0\n"
            + "".join(f"    b{i} = {i}\n" for i in range(6))
            + "\n    for task in tasks:\n        record(task)\n        count += 1\n    return count, done\n",
        },
        set(),
        {
            ("jobs.py::run.<block:11>", "jobs.py::run", "parent"),
            ("jobs.py::run.<block:23>", "jobs.py::run", "parent"),
            ("jobs.py::run.<block:23>", "jobs.py::run.<block:11>", "data"),  # `record` and `count`
        },
    ),
    Case(
        "typescript split function: a nested function and a variable bound in one block, read in a later one",
        {
            "jobs.ts": "export function run(tasks: string[]) {\n  const done: string[] = [];\n"
            + "".join(f"  const a{i} = {i};\n" for i in range(8))
            + "  function record(task: string) {\n    done.push(task);\n  }\n  let count = 0;\n"
            + "".join(f"  const b{i} = {i};\n" for i in range(5))
            + "  for (const task of tasks) {\n    record(task);\n    count += 1;\n  }\n  return [count, done];\n}\n",
        },
        set(),
        {
            ("jobs.ts::run.<block:10>", "jobs.ts::run", "parent"),
            ("jobs.ts::run.<block:20>", "jobs.ts::run", "parent"),
            ("jobs.ts::run.<block:20>", "jobs.ts::run.<block:10>", "data"),  # `record` and `count`
        },
    ),
]
