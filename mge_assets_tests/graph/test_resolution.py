"""The dependency graph: names resolved across modules into typed edges, cycles broken, waves."""

import networkx as nx

from mge_assets.atomize import atomize_files
from mge_assets.graph import Resolver, build_graph, module_name
from mge_assets.graph.build import _Index, _resolve_attribute

FILES = {
    "app/__init__.py": "from app.models import User\n",
    "app/models.py": "class Model:\n    pass\n\n\nclass User(Model):\n    name: str = ''\n",
    "app/service.py": (
        "from .models import User\nfrom app import models as m\n\n\n"
        "def make() -> User:\n    return User()\n\n\ndef base() -> type:\n    return m.Model\n"
    ),
    "app/cycle.py": "def ping(n: int) -> int:\n    return pong(n - 1) if n else 0\n\n\n"
    "def pong(n: int) -> int:\n    return ping(n - 1) if n else 1\n",
    "app/broken.py": "from app.models import Missing\n",
}


def _edges(graph) -> set[tuple[str, str, str]]:
    return {(e.source, e.target, e.type) for e in graph.edges}


def test_module_names() -> None:
    assert module_name("app/__init__.py") == "app" and module_name("app/sub/x.py") == "app.sub.x"


def test_edges_are_typed_and_resolved_through_relative_imports_and_module_aliases() -> None:
    graph = build_graph(atomize_files(FILES))
    edges = _edges(graph)
    assert ("app/models.py::User", "app/models.py::Model", "inherit") in edges
    assert ("app/service.py::make", "app/models.py::User", "call") in edges
    assert ("app/service.py::<module>", "app/models.py::User", "import") in edges
    assert ("app/service.py::base", "app/models.py::Model", "data") in edges or (
        "app/service.py::base",
        "app/models.py::Model",
        "call",
    ) in edges
    assert ("app/__init__.py::<module>", "app/models.py::User", "import") in edges


def test_unresolved_internal_imports_are_reported() -> None:
    graph = build_graph(atomize_files(FILES))
    assert [(u.atom, u.name) for u in graph.unresolved] == [("app/broken.py::<module>", "Missing")]


def test_cycles_are_broken_with_a_recorded_reason_and_waves_put_dependencies_first() -> None:
    graph = build_graph(atomize_files(FILES))
    assert len(graph.broken) == 1 and graph.broken[0].type == "call" and "late-bound" in graph.broken[0].reason
    assert nx.is_directed_acyclic_graph(nx.DiGraph([(e.source, e.target) for e in graph.edges]))
    wave = graph.wave_of()
    assert all(wave[e.target] < wave[e.source] for e in graph.edges)
    assert sum(len(w) for w in graph.waves) == len(graph.nodes)


def test_the_graph_is_identical_on_repeated_runs() -> None:
    assert build_graph(atomize_files(FILES)) == build_graph(atomize_files(FILES))


def test_atom_context_lists_signatures_and_scores_completeness() -> None:
    from mge_assets.graph.context import atom_contexts

    atoms = atomize_files({**FILES, "app/lost.py": "def lost() -> int:\n    return nowhere() + len([])\n"})
    contexts = atom_contexts(atoms)
    lines, score = contexts["app/service.py::make"]
    assert lines == ("app/models.py: class User(Model):",) and score == 1.0
    assert contexts["app/lost.py::lost"][1] == 0.6667  # `len` and `int` are builtins, `nowhere` is nowhere


def test_a_split_unit_head_reads_only_its_own_span_and_later_bindings_resolve_to_their_piece() -> None:
    header = "from app.models import User\n" + "".join(f"A{i} = {i}\n" for i in range(20)) + "LATE = User\n"
    use = "from app.consts import LATE\n\n\ndef f():\n    return LATE\n"
    files = {**FILES, "app/consts.py": header, "app/use.py": use}
    atoms = atomize_files(files, line_budget=5)
    head, *pieces = [a for a in atoms if a.file == "app/consts.py"]
    assert pieces and "User" not in head.references and "LATE" not in head.defines
    late = next(p for p in pieces if "LATE" in p.defines)
    edges = _edges(build_graph(atoms))
    assert ("app/use.py::f", late.id, "data") in edges  # not the head: the name exists only after its piece
    assert (head.id, "app/models.py::User", "import") in edges and (late.id, "app/models.py::User", "call") in edges


def test_methods_found_on_base_classes_across_modules() -> None:
    files = {
        "pkg/__init__.py": "",
        "pkg/base.py": "class Base:\n    def helper(self):\n        return 1\n",
        "pkg/mid.py": "from pkg import base\n\n\nclass Mid(base.Base):\n    def other(self):\n        return 2\n",
        "pkg/leaf.py": (
            "from pkg.mid import Mid\n\n\nclass Leaf(Mid):\n    def run(self):\n        return self.helper()\n\n"
            "    def more(self):\n        return Leaf.other(self)\n"
        ),
        "web/a.ts": "export class A {\n  help(): number {\n    return 1;\n  }\n}\n",
        "web/b.ts": (
            "import { A } from './a';\nexport class B extends A {\n  run(): number {\n    return this.help();\n  }\n}\n"
        ),
    }
    edges = _edges(build_graph(atomize_files(files)))
    assert ("pkg/leaf.py::Leaf.run", "pkg/base.py::Base.helper", "call") in edges  # through a module attribute
    assert ("pkg/leaf.py::Leaf.more", "pkg/mid.py::Mid.other", "call") in edges
    assert ("web/b.ts::B.run", "web/a.ts::A.help", "call") in edges


def test_class_fields_and_attributes_bound_on_self_are_members_their_readers_depend_on() -> None:
    files = {
        "pkg/__init__.py": "",
        "pkg/conf.py": (
            "class Conf:\n    debug = False\n\n    def __init__(self):\n        self.name, self.size = 'x', 1\n\n"
            "    def reset(self):\n        self.size = 0\n\n    def show(self):\n        return self.name, self.debug\n"
        ),
        "pkg/sub.py": "from pkg.conf import Conf\n\n\nclass Sub(Conf):\n"
        "    def grow(self):\n        return self.size\n",
    }
    atoms = atomize_files(files)
    assert {a.id: a.members for a in atoms if a.members} == {
        "pkg/conf.py::Conf": ("Conf.debug",),
        "pkg/conf.py::Conf.__init__": ("Conf.name", "Conf.size"),
        "pkg/conf.py::Conf.reset": ("Conf.size",),
    }
    edges = _edges(build_graph(atoms))
    assert ("pkg/conf.py::Conf.show", "pkg/conf.py::Conf.__init__", "data") in edges
    assert ("pkg/sub.py::Sub.grow", "pkg/conf.py::Conf.__init__", "data") in edges  # the first binder, inherited
    assert ("pkg/conf.py::Conf.reset", "pkg/conf.py::Conf.__init__", "data") in edges  # rebinds what __init__ declares


def test_javascript_class_fields_and_this_bindings_are_members() -> None:
    files = {
        "a.ts": "export class A {\n  x = 1;\n  #y = 2;\n  m(): number {\n    this.z = 3;\n    return this.#y;\n  }\n"
        "  n(): number {\n    return this.z + this.x;\n  }\n}\n",
        "b.js": "class B {\n  w = 1;\n  constructor() {\n    this.v = 2;\n  }\n  get() {\n    return this.v;\n  }\n}\n",
    }
    atoms = atomize_files(files)
    assert {a.id: a.members for a in atoms if a.members} == {
        "a.ts::A": ("A.x", "A.#y"),
        "a.ts::A.m": ("A.z",),
        "b.js::B": ("B.w",),
        "b.js::B.constructor": ("B.v",),
    }
    edges = _edges(build_graph(atoms))
    assert ("a.ts::A.n", "a.ts::A.m", "data") in edges and ("b.js::B.get", "b.js::B.constructor", "data") in edges


def test_attributes_of_names_whose_type_the_code_states_resolve_on_that_class() -> None:
    files = {
        "pkg/__init__.py": "",
        "pkg/models.py": "class Request:\n    def __init__(self):\n        self.url = ''\n\n"
        "    def read(self):\n        return b''\n",
        "pkg/state.py": "from pkg.models import Request\n\ncurrent: Request = Request()\n",
        "pkg/use.py": (
            "from typing import Optional\n\nfrom pkg import models\nfrom pkg.models import Request\n"
            "from pkg.state import current\n\n\n"
            "def send(request: Optional[Request], other: 'models.Request' = None):\n"
            "    made = models.Request()\n    return request.url, other.read(), made.read()\n\n\n"
            "def peek():\n    return current.url\n"
        ),
    }
    atoms = atomize_files(files)
    assert next(a for a in atoms if a.id == "pkg/use.py::send").typed_names == (
        "request:Request",
        "other:models.Request",
        "made:models.Request",
    )
    edges = _edges(build_graph(atoms))
    assert {
        ("pkg/use.py::send", "pkg/models.py::Request.__init__", "data"),
        ("pkg/use.py::send", "pkg/models.py::Request.read", "call"),
        ("pkg/use.py::peek", "pkg/models.py::Request.__init__", "data"),  # a module variable's stated type
    } <= edges


def test_typescript_members_of_interfaces_and_object_types_reached_through_stated_types() -> None:
    files = {
        "x.ts": "export interface I {\n  a: number;\n  m(): void;\n}\nexport type T = { b: string };\n"
        "export class K {\n  run(): number {\n    return 1;\n  }\n}\n",
        "u.ts": "import { I, T, K } from './x';\n\nexport function f(x: I, y?: T | undefined): number {\n"
        "  const k = new K();\n  x.m();\n  return x.a + y.b.length + k.run();\n}\n",
    }
    atoms = atomize_files(files)
    assert {a.id: (a.members, a.typed_names) for a in atoms if a.members or a.typed_names} == {
        "x.ts::I": (("I.a", "I.m"), ()),
        "x.ts::T": (("T.b",), ()),
        "u.ts::f": ((), ("f(0):I", "f(1):T", "x:I", "y:T", "k:K")),
    }
    edges = _edges(build_graph(atoms))
    assert {("u.ts::f", "x.ts::I", "type"), ("u.ts::f", "x.ts::T", "type"), ("u.ts::f", "x.ts::K.run", "call")} <= edges


def test_names_in_string_annotations_are_type_references() -> None:
    files = {
        "pkg/__init__.py": "",
        "pkg/console.py": "class Console:\n    pass\n",
        "pkg/use.py": "from typing import TYPE_CHECKING, List\n\nif TYPE_CHECKING:\n    from pkg import console\n"
        "    from pkg.console import Console\n\n\n"
        "def show(c: 'Console', many: List['console.Console']) -> 'Console':\n    return c\n",
    }
    atoms = atomize_files(files)
    show = next(a for a in atoms if a.id == "pkg/use.py::show")
    assert {"Console", "console"} <= set(show.type_references)
    assert ("pkg/use.py::show", "pkg/console.py::Console", "type") in _edges(build_graph(atoms))


def test_constructing_a_class_with_keywords_or_new_depends_on_its_constructor() -> None:
    files = {
        "pkg/__init__.py": "",
        "pkg/m.py": "class C:\n    def __init__(self, x=0):\n        self.x = x\n\n\n"
        "def plain():\n    return C(1)\n\n\ndef named():\n    return C(x=1)\n",
        "e.ts": "export class E {\n  constructor(public n: number) {}\n}\nexport const make = () => new E(1);\n",
    }
    edges = _edges(build_graph(atomize_files(files)))
    assert ("pkg/m.py::named", "pkg/m.py::C.__init__", "call") in edges  # the keywords are its parameters
    assert ("e.ts::make", "e.ts::E.constructor", "call") in edges


def test_attributes_of_self_members_resolve_on_the_type_stated_where_the_member_is_declared() -> None:
    files = {
        "pkg/__init__.py": "",
        "pkg/m.py": "class Stream:\n    def expect(self):\n        return 1\n\n\nclass Env:\n    is_async = False\n\n\n"
        "class Parser:\n    env: Env\n\n    def __init__(self, stream: Stream):\n        self.stream = stream\n"
        "        self.other = Stream()\n\n    def parse(self):\n"
        "        return self.stream.expect(), self.other.expect(), self.env.is_async\n",
        "q.ts": "class S {\n  run(): number {\n    return 1;\n  }\n}\nexport class P {\n  private s: S;\n"
        "  go(): number {\n    return this.s.run();\n  }\n}\n",
    }
    edges = _edges(build_graph(atomize_files(files)))
    assert {
        ("pkg/m.py::Parser.parse", "pkg/m.py::Stream.expect", "call"),  # a parameter's type, and a constructed one
        ("pkg/m.py::Parser.parse", "pkg/m.py::Env", "data"),  # a field annotated in the class body
        ("q.ts::P.go", "q.ts::S.run", "call"),
    } <= edges


def test_attributes_listed_in_slots_are_defined_by_their_class() -> None:
    files = {
        "pkg/__init__.py": "",
        "pkg/m.py": "class C:\n    __slots__ = ('x', \"y\", 'z')\n\n    def __init__(self):\n        self.x = 1\n"
        "        self.y = 2\n        self.z: int = 3\n\n\nclass Plain:\n    def __init__(self):\n        self.x = 1\n",
        "pkg/u.py": "from pkg.m import C, Plain\n\n\ndef use(c: C, p: Plain):\n    return c.y, p.x\n\n\n"
        "def zed(c: C):\n    return c.z\n",
    }
    atoms = atomize_files(files)
    assert next(a for a in atoms if a.id == "pkg/m.py::C").members == ("C.x", "C.y", "C.__slots__")
    assert next(a for a in atoms if a.id == "pkg/m.py::C.__init__").members == ("C.x", "C.y", "C.z")
    edges = _edges(build_graph(atoms))
    assert ("pkg/u.py::use", "pkg/m.py::C", "data") in edges  # the slot descriptor, made by the class
    assert ("pkg/u.py::use", "pkg/m.py::C.__init__", "data") not in edges
    assert ("pkg/u.py::use", "pkg/m.py::Plain.__init__", "data") in edges  # no slots: the first binder
    assert ("pkg/u.py::zed", "pkg/m.py::C.__init__", "data") in edges  # an annotation declares it there


def test_quoted_names_inside_subscripted_annotations_are_type_references_and_stated_types() -> None:
    files = {
        "pkg/__init__.py": "",
        "pkg/ctx.py": "class Ctx:\n    def __init__(self):\n        self.obj = None\n",
        "pkg/use.py": "import typing as t\n\nif t.TYPE_CHECKING:\n    from pkg.ctx import Ctx\n\n"
        "NAMES = {'Ctx': 1}\n\n\n"
        "def show(c: t.Optional['Ctx'], many: t.List[t.Tuple[str, 'Ctx']]) -> int:\n"
        "    return c.obj, NAMES['Ctx']\n",
    }
    atoms = atomize_files(files)
    show = next(a for a in atoms if a.id == "pkg/use.py::show")
    assert "Ctx" in show.type_references and show.typed_names == ("show():int", "c:Ctx")
    assert "Ctx" not in next(a for a in atoms if a.id == "pkg/use.py::<module>").type_references  # a dict key
    edges = _edges(build_graph(atoms))
    assert ("pkg/use.py::show", "pkg/ctx.py::Ctx.__init__", "data") in edges  # `c.obj` on the stated type


def test_values_are_typed_by_the_return_types_of_the_functions_methods_and_properties_making_them() -> None:
    files = {
        "pkg/__init__.py": "",
        "pkg/tok.py": "import typing as t\n\n\nclass Token:\n    def test(self):\n        return True\n\n\n"
        "class Stream:\n    __slots__ = ('env',)\n\n    def __init__(self, env: 'Env'):\n        self.env = env\n\n"
        "    @property\n    def current(self) -> Token:\n        return Token()\n\n"
        "    def copy(self) -> t.Self:\n        return self\n\n\nclass Env:\n    is_async = False\n\n"
        "    def tokenize(self) -> 'Stream':\n        return Stream(self)\n\n\n"
        "def make(env: Env) -> t.Optional[Stream]:\n    return env.tokenize()\n",
        "pkg/use.py": "from pkg.tok import Env, make\n\n\nclass Parser:\n    def __init__(self, env: Env):\n"
        "        self.stream = env.tokenize()\n\n    def parse(self):\n"
        "        return self.stream.current.test(), self.stream.env.is_async\n\n\n"
        "def run():\n    stream = make(Env())\n    return stream.copy().current, stream.env\n",
    }
    atoms = atomize_files(files)
    assert "tokenize():Stream" in next(a for a in atoms if a.id == "pkg/tok.py::Env.tokenize").typed_names
    edges = _edges(build_graph(atoms))
    assert {
        ("pkg/use.py::Parser.parse", "pkg/tok.py::Stream.current", "call"),  # self.stream = env.tokenize()
        ("pkg/use.py::Parser.parse", "pkg/tok.py::Token.test", "call"),  # a property's return type
        ("pkg/use.py::Parser.parse", "pkg/tok.py::Env", "data"),  # a slot typed by the constructor's parameter
        ("pkg/use.py::run", "pkg/tok.py::Stream.copy", "call"),  # stream = make(...): Optional[Stream]
        ("pkg/use.py::run", "pkg/tok.py::Stream", "data"),  # the slot `env`, defined by its class
    } <= edges
    assert ("pkg/use.py::Parser.parse", "pkg/tok.py::Stream.__init__", "data") not in edges


def test_a_local_typed_in_an_earlier_piece_of_a_split_function_types_its_reads_in_later_ones() -> None:
    files = {
        "pkg/__init__.py": "",
        "pkg/b.py": "class Builder:\n    def add(self):\n        return self\n",
        "pkg/run.py": "from pkg.b import Builder\n\n\ndef run(n):\n"
        + "".join(f"    a{i} = {i}\n" for i in range(12))
        + "    builder = Builder()\n\n    if n:\n"
        + "".join(f"        b{i} = {i}\n" for i in range(10))
        + "        builder.add()\n    return builder\n",
    }
    atoms = atomize_files(files)
    reader = next(
        a for a in atoms if a.id.startswith("pkg/run.py::run.<block") and "builder.add" in a.attribute_references
    )
    assert reader.local_sources and not any(t.startswith("builder:") for t in reader.typed_names)
    assert (reader.id, "pkg/b.py::Builder.add", "call") in _edges(build_graph(atoms))


def test_attributes_of_call_results_and_of_super_resolve_on_the_class_returned_or_the_bases() -> None:
    files = {
        "pkg/__init__.py": "",
        "pkg/base.py": "class Mixin:\n    pass\n\n\nclass Base:\n    def __init__(self, x):\n        self.x = x\n\n"
        "    def show(self):\n        return self.x\n\n\ndef make() -> Base:\n    return Base(1)\n",
        "pkg/leaf.py": "from pkg.base import Base, Mixin, make\n\n\nclass Leaf(Mixin, Base):\n"
        "    def __init__(self):\n        super().__init__(2)\n\n    def show(self):\n"
        "        return super().show(), make().x, Base(3).show()\n",
    }
    atoms = atomize_files(files)
    leaf_show = next(a for a in atoms if a.id == "pkg/leaf.py::Leaf.show")
    assert {"super().show", "make().x", "Base().show"} <= set(leaf_show.attribute_references)
    edges = _edges(build_graph(atoms))
    assert {
        ("pkg/leaf.py::Leaf.__init__", "pkg/base.py::Base.__init__", "call"),
        ("pkg/leaf.py::Leaf.show", "pkg/base.py::Base.show", "call"),
        ("pkg/leaf.py::Leaf.show", "pkg/base.py::Base.__init__", "data"),
    } <= edges


def test_a_conditional_value_made_by_one_callee_in_each_branch_has_that_callee_as_its_type() -> None:
    files = {
        "pkg/__init__.py": "",
        "pkg/u.py": "class URL:\n    def join(self):\n        return self\n\n\nclass Other:\n    def join(self):\n"
        "        return self\n\n\nclass Request:\n    def __init__(self, url, params=None):\n"
        "        self.url = URL(url) if params is None else URL(url, params)\n"
        "        self.alt = URL(url) if params else Other()\n\n\n"
        "def send(request: Request):\n    return request.url.join(), request.alt.join()\n",
    }
    atoms = atomize_files(files)
    assert next(a for a in atoms if a.id == "pkg/u.py::Request.__init__").typed_names == ("self.url:URL",)
    edges = _edges(build_graph(atoms))
    assert ("pkg/u.py::send", "pkg/u.py::URL.join", "call") in edges
    assert ("pkg/u.py::send", "pkg/u.py::Other.join", "call") not in edges  # two callees: no stated type


def test_a_copied_name_or_attribute_types_a_local_and_rebinding_a_name_from_itself_keeps_its_stated_type() -> None:
    files = {
        "pkg/__init__.py": "",
        "pkg/s.py": "class Style:\n    @classmethod\n    def parse(cls, text):\n        return cls()\n\n\n"
        "class Node:\n    def __init__(self, parent: 'Node'):\n        self.parent = parent\n"
        "        self.style = Style()\n\n"
        "    def root(self):\n        node = self\n        while node.parent:\n            node = node.parent\n"
        "        return node.parent\n\n\n"
        "def render(node: Node):\n    S = Style\n    style = node.style\n    return S.parse(''), style.parse('')\n\n\n"
        "def top(node: Node):\n"
        + "".join(f"    a{i} = {i}\n" for i in range(12))
        + "    if node:\n"
        + "".join(f"        b{i} = {i}\n" for i in range(10))
        + "        node = node.parent\n        return node.style\n",
    }
    atoms = atomize_files(files)
    assert next(a for a in atoms if a.id == "pkg/s.py::render").typed_names[-2:] == ("S:Style", "style:node.style")
    edges = _edges(build_graph(atoms))
    assert ("pkg/s.py::render", "pkg/s.py::Style.parse", "call") in edges
    reader = next(a for a in atoms if "node.style" in a.attribute_references and a.id.startswith("pkg/s.py::top"))
    assert "node:node.parent" in reader.typed_names
    assert (reader.id, "pkg/s.py::Node.__init__", "data") in edges  # `node = node.parent`: still a Node


def test_elements_of_sequences_whose_element_type_is_stated_are_typed_in_loops_and_subscripts() -> None:
    files = {
        "pkg/__init__.py": "",
        "pkg/col.py": "class Column:\n    def render(self):\n        return ''\n\n\nclass Row:\n    def cells(self):\n"
        "        return []\n",
        "pkg/table.py": "import typing as t\n\nfrom pkg.col import Column, Row\n\n\nclass Table:\n"
        "    def __init__(self, columns: t.List['Column']):\n        self.columns = columns\n\n"
        "    def rows(self) -> t.Iterator[Row]:\n        yield Row()\n\n"
        "    def render(self):\n"
        "        first = self.columns[0]\n        out = [row.cells() for row in self.rows()]\n"
        "        for column in self.columns:\n            out.append(column.render())\n"
        "        return first.render(), out\n",
    }
    atoms = atomize_files(files)
    render = next(a for a in atoms if a.id == "pkg/table.py::Table.render")
    assert {"first:self.columns[]", "row:self.rows()[]", "column:self.columns[]"} <= set(render.typed_names)
    assert "rows():[Row]" in next(a for a in atoms if a.id == "pkg/table.py::Table.rows").typed_names
    edges = _edges(build_graph(atoms))
    assert {
        ("pkg/table.py::Table.render", "pkg/col.py::Column.render", "call"),
        ("pkg/table.py::Table.render", "pkg/col.py::Row.cells", "call"),
    } <= edges


def test_assigning_a_property_a_base_defines_calls_its_setter_rather_than_binding_a_new_attribute() -> None:
    files = {
        "pkg/__init__.py": "",
        "pkg/base.py": "class App:\n    @property\n    def debug(self):\n        return False\n\n"
        "    @debug.setter\n    def debug(self, value):\n        pass\n\n    def help(self):\n        return 1\n",
        "pkg/sub.py": "from pkg.base import App\n\n\nclass Flask(App):\n    debug_field: bool = False\n\n"
        "    def run(self):\n        self.debug = True\n        self.help = 2\n\n"
        "    def show(self):\n        return self.debug, self.help\n",
    }
    edges = _edges(build_graph(atomize_files(files)))
    assert ("pkg/sub.py::Flask.show", "pkg/base.py::App.debug", "call") in edges  # the property
    assert ("pkg/sub.py::Flask.show", "pkg/sub.py::Flask.run", "data") in edges  # a method is shadowed


def test_with_targets_awaited_results_and_context_managers_resolve() -> None:
    files = {
        "pkg/__init__.py": "",
        "pkg/c.py": "import contextlib\nimport typing as t\n\n\n"
        "class Response:\n    def read(self):\n        return b''\n\n\n"
        "class Client:\n    def __enter__(self):\n        return self\n\n    def get(self) -> Response:\n"
        "        return Response()\n\n    async def aget(self) -> Response:\n        return Response()\n\n"
        "    @contextlib.contextmanager\n    def stream(self) -> t.Iterator[Response]:\n        yield Response()\n\n"
        "    @property\n    def timeout(self):\n        return 1\n\n    @timeout.setter\n    def timeout(self, v):\n"
        "        pass\n",
        "pkg/u.py": "from pkg.c import Client\n\n\ndef use():\n    with Client() as client:\n"
        "        with client.stream() as response:\n            return client.get(), response.read()\n\n\n"
        "async def ause(client: Client):\n    response = await client.aget()\n    return response.read()\n",
    }
    atoms = atomize_files(files)
    assert {"client:Client", "response:client.stream"} <= set(
        next(a for a in atoms if a.id == "pkg/u.py::use").typed_names
    )
    edges = _edges(build_graph(atoms))
    assert {
        ("pkg/u.py::use", "pkg/c.py::Client.get", "call"),  # `with Client() as client`
        ("pkg/u.py::use", "pkg/c.py::Response.read", "call"),  # what a context manager's generator yields
        ("pkg/u.py::ause", "pkg/c.py::Response.read", "call"),  # what the awaited call returns
    } <= edges


def test_a_python_redefinition_follows_the_first_definition_a_typescript_overload_does_not() -> None:
    files = {
        "pkg/__init__.py": "",
        "pkg/o.py": "import typing as t\n\n\n@t.overload\ndef f(x: int) -> int: ...\n\n\n"
        "@t.overload\ndef f(x: str) -> str: ...\n\n\ndef f(x):\n    return x\n\n\nclass C:\n"
        "    @property\n    def size(self):\n        return 1\n\n    @size.setter\n    def size(self, v):\n"
        "        pass\n",
        "o.ts": "export function g(x: number): number;\nexport function g(x: string): string;\n"
        "export function g(x: any): any {\n  return x;\n}\n",
    }
    graph = build_graph(atomize_files(files))
    edges = _edges(graph)
    assert {
        ("pkg/o.py::f#2", "pkg/o.py::f", "data"),
        ("pkg/o.py::f#3", "pkg/o.py::f", "data"),
        ("pkg/o.py::C.size#2", "pkg/o.py::C.size", "data"),  # the setter rebinds the property's name
    } <= edges
    pairs = {(s, t) for s, t, _ in edges}
    assert ("o.ts::g#2", "o.ts::g") not in pairs and ("o.ts::g#3", "o.ts::g") not in pairs  # one declaration
    assert not graph.broken


def test_a_subclass_assigning_what_a_base_annotates_in_its_body_refers_to_the_base_declaration() -> None:
    files = {
        "pkg/__init__.py": "",
        "pkg/base.py": "class Group:\n    def add(self):\n        return 1\n\n\nclass Scaffold:\n    cli: Group\n"
        "    name: str\n\n    def run(self):\n        return self.cli\n",
        "pkg/app.py": "from pkg.base import Group, Scaffold\n\n\nclass App(Scaffold):\n    def __init__(self):\n"
        "        self.cli = Group()\n        self.name: str = 'app'\n\n    def go(self):\n"
        "        return self.cli.add(), self.name\n",
    }
    edges = _edges(build_graph(atomize_files(files)))
    assert ("pkg/app.py::App.go", "pkg/base.py::Scaffold", "data") in edges  # `cli: Group` declares it
    assert ("pkg/app.py::App.go", "pkg/base.py::Group.add", "call") in edges
    assert ("pkg/app.py::App.go", "pkg/app.py::App.__init__", "data") in edges  # `self.name: str` declares it


def test_typescript_members_reached_through_unions_chains_calls_and_object_literals() -> None:
    files = {
        "t.ts": "export interface A {\n  kind: 'a';\n  next: B;\n}\n"
        "export interface B {\n  kind: 'b';\n  size: number;\n}\n"
        "export type Either = A | B;\nexport type Wide = Partial<B> & { extra: string };\n"
        "export interface C extends B {\n  own: A;\n}\n"
        "export function make(): A {\n  return { kind: 'a', next: { kind: 'b', size: 1 } };\n}\n"
        "export function take(e: Either): void {}\nexport type Handler = (e: Either) => void;\n",
        "u.ts": "import { make, take, C, Wide, Handler } from './t';\n\n"
        "export function chain(c: C): number {\n  return c.own.next.size;\n}\n"
        "export function called(): number {\n  const a = make();\n  return a.next.size;\n}\n"
        "export function literal(): void {\n  take({ kind: 'a' });\n}\n"
        "export function wide(w: Wide): string {\n  return w.extra + w.size;\n}\n"
        "export function parts({ size }: C): number {\n  return size;\n}\n"
        "export const handle: Handler = (e) => {\n  console.log(e.kind);\n};\n",
    }
    edges = {(s, t) for s, t, _ in _edges(build_graph(atomize_files(files)))}
    assert {
        ("u.ts::chain", "t.ts::B"),  # c: C, C.own: A, A.next: B, B.size
        ("u.ts::chain", "t.ts::A"),
        ("u.ts::called", "t.ts::B"),  # a = make(), make(): A, A.next: B
        ("u.ts::literal", "t.ts::A"),  # take(e: Either): the key `kind` is a member of A and of B
        ("u.ts::literal", "t.ts::B"),
        ("u.ts::wide", "t.ts::B"),  # Partial<B> keeps B's members
        ("u.ts::parts", "t.ts::B"),  # `{ size }: C`, size inherited from the interface B
        ("u.ts::handle", "t.ts::A"),  # e is Handler's parameter, an Either
    } <= edges
    assert ("u.ts::chain", "t.ts::Either") not in edges


def test_new_names_the_constructor_the_class_declares_else_the_class() -> None:
    files = {
        "k.ts": "export class K {\n  constructor(public n: number) {}\n}\nexport class L {\n  x = 1;\n}\n",
        "m.ts": "import { K, L } from './k';\n\n"
        "export function make(): number {\n  return new K(1).n + new L().x;\n}\n",
    }
    edges = {(s, t) for s, t, _ in _edges(build_graph(atomize_files(files)))}
    assert {("m.ts::make", "k.ts::K.constructor"), ("m.ts::make", "k.ts::L")} <= edges
    assert ("m.ts::make", "k.ts::K") not in edges  # reached through the constructor's parent edge


def test_keys_of_module_level_object_literals_are_members_their_readers_depend_on() -> None:
    files = {
        "conf.js": "export const limits = {\n  retries: 3,\n};\n\nexport default {\n  timeout: 1,\n};\n",
        "use.js": "import conf, { limits } from './conf.js';\n\n"
        "export function f() {\n  return limits.retries + conf.timeout;\n}\n",
    }
    atoms = atomize_files(files)
    assert {m for a in atoms for m in a.members} == {"limits.retries", "default.timeout"}
    index = _Index(atoms, Resolver({a.file for a in atoms}))
    use = next(a for a in atoms if a.id == "use.js::f")
    assert _resolve_attribute(use, "conf.timeout", index) == [("conf.js::limits", "data")]  # the atom of both
    assert _resolve_attribute(use, "conf.missing", index) == []


def test_a_typescript_type_and_value_sharing_a_name_are_both_named_by_its_uses() -> None:
    files = {
        "s.ts": "export type State = { done: boolean };\n\nexport const State: State = { done: false };\n",
        "u.ts": "import { State } from './s';\n\nexport function f(): boolean {\n  return State.done;\n}\n"
        "export class Box<T extends State> {\n  m(t: T): boolean {\n    return t.done;\n  }\n}\n",
    }
    edges = {(s, t) for s, t, _ in _edges(build_graph(atomize_files(files)))}
    assert {("u.ts::f", "s.ts::State"), ("u.ts::f", "s.ts::State#2")} <= edges
    assert ("u.ts::Box.m", "s.ts::State") in edges  # T's constraint, stated on the class


def test_the_object_literal_a_function_returns_gives_the_members_of_its_result() -> None:
    files = {
        "m.ts": "export function create() {\n  return {\n    batch: () => 1,\n  } as const;\n}\n\n"
        "export const manager = create();\n",
        "u.ts": "import { manager } from './m';\n\nexport function f(): number {\n  return manager.batch();\n}\n",
    }
    atoms = atomize_files(files)
    assert "create().batch" in next(a for a in atoms if a.id == "m.ts::create").members
    assert ("u.ts::f", "m.ts::create", "data") in _edges(build_graph(atoms))


def test_names_destructured_from_a_typed_value_have_the_type_of_that_member() -> None:
    files = {
        "t.ts": "export interface Router {\n  def: Def;\n}\nexport interface Def {\n  config: number;\n}\n"
        "export interface Opts {\n  router: Router;\n}\n",
        "u.ts": "import { Opts, Def } from './t';\n\nexport function f(opts: Opts): number {\n"
        "  const { router } = opts;\n  return router.def.config;\n}\n"
        "export function g({ router: r }: Opts): Def {\n  return r.def;\n}\n"
        "function parts(): { d: Def } {\n  return { d: { config: 1 } };\n}\n"
        "export function h(): number {\n  const { d } = parts();\n  return d.config;\n}\n",
    }
    atoms = atomize_files(files)
    assert "router:opts@router" in next(a for a in atoms if a.id == "u.ts::f").typed_names
    edges = {(s, t) for s, t, _ in _edges(build_graph(atoms))}
    assert {("u.ts::f", "t.ts::Def"), ("u.ts::g", "t.ts::Router"), ("u.ts::h", "t.ts::Def")} <= edges


def test_a_member_typed_with_a_function_type_alias_takes_that_signature() -> None:
    files = {
        "t.ts": "export interface Info {\n  path: string;\n}\nexport type Handler = (info: Info) => void;\n"
        "export interface Options {\n  onError?: Handler;\n}\n",
        "u.ts": "import { Options } from './t';\n\nexport function f(opts: Options): void {\n"
        "  opts.onError?.({ path: '' });\n}\n",
    }
    assert ("u.ts::f", "t.ts::Info", "type") in _edges(build_graph(atomize_files(files)))


def test_a_local_typed_in_an_earlier_block_of_a_split_function_keeps_its_type() -> None:
    files = {
        "s.ts": "export class S {\n  run(): number {\n    return 1;\n  }\n}\n",
        "u.ts": "import { S } from './s';\n\nexport function f(): number {\n  const s: S = make();\n"
        "  let n = 0;\n  n += 1;\n  n += 2;\n  n += 3;\n  n += 4;\n  n += 5;\n  n += 6;\n  n += 7;\n"
        "  return n + s.run();\n}\n",
    }
    atoms = atomize_files(files, line_budget=4)
    last = next(a for a in atoms if a.file == "u.ts" and "s.run" in a.attribute_references)
    assert last.kind == "block" and "s:S" not in last.typed_names
    assert (last.id, "s.ts::S.run", "call") in _edges(build_graph(atoms))


def test_indexed_access_types_read_the_member_they_name() -> None:
    files = {
        "t.ts": "export interface Def {\n  config: number;\n}\nexport interface Router {\n  def: Def;\n}\n"
        "export class Base {\n  out!: string;\n}\n",
        "u.ts": "import { Base, Router } from './t';\n\nexport type Config<R extends Router> = R['def']['config'];\n"
        "export class Child extends Base {\n  get(): this['out'] {\n    return '';\n  }\n}\n",
    }
    atoms = atomize_files(files)
    assert "<<R>@def>.config" in next(a for a in atoms if a.id == "u.ts::Config").attribute_references
    edges = {(s, t) for s, t, _ in _edges(build_graph(atoms))}
    assert {("u.ts::Config", "t.ts::Def"), ("u.ts::Child.get", "t.ts::Base")} <= edges


def test_a_typescript_namespace_is_a_name_and_its_exports_are_its_members() -> None:
    files = {
        "n.ts": "export namespace util {\n  export const keys = (o: object) => Object.keys(o);\n"
        "  export type Message = string;\n}\n",
        "u.ts": "import { util } from './n';\n\nexport function f(m: util.Message): string[] {\n"
        "  return util.keys({});\n}\n",
    }
    atoms = atomize_files(files)
    namespace = next(a for a in atoms if a.file == "n.ts")
    assert "util" in namespace.defines and {"util.keys", "util.Message"} <= set(namespace.members)
    index = _Index(atoms, Resolver({a.file for a in atoms}))
    f = next(a for a in atoms if a.id == "u.ts::f")
    assert _resolve_attribute(f, "util.keys", index) == [(namespace.id, "data")]
    assert (f.id, namespace.id) in {(s, t) for s, t, _ in _edges(build_graph(atoms))}


def test_a_type_reading_a_value_of_its_own_name_depends_on_that_value() -> None:
    files = {"k.ts": "export const KIND = 'k' as const;\n\nexport type KIND = typeof KIND;\n"}
    atoms = atomize_files(files)
    assert ("k.ts::KIND#2", "k.ts::KIND") in {(s, t) for s, t, _ in _edges(build_graph(atoms))}


def test_members_of_an_object_type_annotating_an_interface_member_are_looked_up_on_the_interface() -> None:
    files = {
        "p.ts": "export interface Kind {\n  name: string;\n}\n"
        "export interface Procedure {\n  _def: {\n    kind: Kind;\n  };\n}\n",
        "u.ts": "import { Procedure } from './p';\n\nexport function f(p: Procedure): string {\n"
        "  return p._def.kind.name;\n}\n",
    }
    atoms = atomize_files(files)
    procedure = next(a for a in atoms if a.id == "p.ts::Procedure")
    assert {"Procedure._def", "Procedure.kind"} <= set(procedure.members) and "kind:Kind" in procedure.typed_names
    assert ("u.ts::f", "p.ts::Kind", "type") in _edges(build_graph(atoms))


def test_keys_passed_to_a_parameter_typed_inline_are_the_functions_and_nested_literals_go_deeper() -> None:
    files = {
        "t.ts": "export interface Issue {\n  code: string;\n}\n"
        "export function makeIssue(params: { data: unknown; issue: Issue }): void {}\n",
        "u.ts": "import { makeIssue } from './t';\n\nexport function f(): void {\n"
        "  makeIssue({ data: 1, issue: { code: 'x' } });\n}\n",
    }
    atoms = atomize_files(files)
    assert {"makeIssue(0)@data:*", "makeIssue(0)@issue:Issue"} <= set(
        next(a for a in atoms if a.id == "t.ts::makeIssue").typed_names
    )
    f = next(a for a in atoms if a.id == "u.ts::f")
    assert "<<makeIssue(0)>@issue>.code" in f.attribute_references
    edges = _edges(build_graph(atoms))
    assert {("u.ts::f", "t.ts::Issue", "type"), ("u.ts::f", "t.ts::makeIssue", "call")} <= edges


def test_a_member_typed_with_a_type_parameter_has_the_type_a_subclass_binds_it_to() -> None:
    files = {
        "t.ts": "export interface BaseDef {\n  name: string;\n}\nexport interface StringDef extends BaseDef {\n"
        "  checks: number;\n}\nexport class Type<Output, Def extends BaseDef> {\n  _def!: Def;\n}\n"
        "export class Str extends Type<string, StringDef> {\n  count(): number {\n    return this._def.checks;\n"
        "  }\n}\n",
    }
    atoms = atomize_files(files)
    assert "extends Type:*,StringDef" in next(a for a in atoms if a.id == "t.ts::Str").typed_names
    assert ("t.ts::Str.count", "t.ts::StringDef", "type") in _edges(build_graph(atoms))


def test_elements_of_arrays_in_for_of_loops_and_array_callbacks_have_the_element_type() -> None:
    files = {
        "t.ts": "export interface Item {\n  size: number;\n}\nexport interface Bag {\n  items: Item[];\n"
        "  more: Array<Item>;\n}\n",
        "u.ts": "import { Bag } from './t';\n\nexport function total(bag: Bag): number {\n  let n = 0;\n"
        "  for (const item of bag.items) {\n    n += item.size;\n  }\n  return n;\n}\n"
        "export function sizes(bag: Bag): number[] {\n  return bag.more.map((item) => item.size);\n}\n",
    }
    atoms = atomize_files(files)
    assert "item:bag.items@[]" in next(a for a in atoms if a.id == "u.ts::total").typed_names
    edges = {(s, t) for s, t, _ in _edges(build_graph(atoms))}
    assert {("u.ts::total", "t.ts::Item"), ("u.ts::sizes", "t.ts::Item")} <= edges


def test_chains_through_calls_and_super_resolve_on_the_stated_results() -> None:
    files = {
        "t.ts": "export interface Result {\n  isError: boolean;\n}\nexport class Cache {\n"
        "  notify(event: { kind: string }): void {}\n}\nexport class Client {\n  cache(): Cache {\n"
        "    return new Cache();\n  }\n}\nexport class Base {\n  result(): Result {\n    return { isError: false };\n"
        "  }\n}\n",
        "u.ts": "import { Base, Client } from './t';\n\nexport class Child extends Base {\n  client!: Client;\n"
        "  check(): boolean {\n    this.client.cache().notify({ kind: 'x' });\n"
        "    return super.result().isError;\n  }\n}\n",
    }
    atoms = atomize_files(files)
    check = next(a for a in atoms if a.id == "u.ts::Child.check")
    assert {"<this.client.cache()>.notify", "<super.result()>.isError"} <= set(check.attribute_references)
    edges = {(s, t) for s, t, _ in _edges(build_graph(atoms))}
    assert {("u.ts::Child.check", "t.ts::Cache.notify"), ("u.ts::Child.check", "t.ts::Result")} <= edges


def test_a_value_cast_with_as_has_the_type_it_is_cast_to() -> None:
    files = {
        "t.ts": "export interface Result {\n  data: number;\n}\n",
        "u.ts": "import type { Result } from './t';\n\nexport function f(raw: unknown): number {\n"
        "  const result = raw as Result | undefined;\n  return result.data;\n}\n",
    }
    atoms = atomize_files(files)
    assert "result:Result" in next(a for a in atoms if a.id == "u.ts::f").typed_names
    assert ("u.ts::f", "t.ts::Result", "type") in _edges(build_graph(atoms))


def test_methods_of_an_object_literal_checked_against_a_type_take_its_members_parameter_types() -> None:
    files = {
        "t.ts": "export interface Info {\n  path: string;\n}\n"
        "export type Handler = {\n  parse: (opts: Info) => string;\n};\n",
        "u.ts": "import type { Handler } from './t';\n\nexport const handler: Handler = {\n"
        "  parse(opts) {\n    return opts.path;\n  },\n};\n",
    }
    atoms = atomize_files(files)
    assert "opts:<Handler>.parse(0)" in next(a for a in atoms if a.file == "u.ts" and a.typed_names).typed_names
    assert ("u.ts::<module>", "t.ts::Info", "type") in _edges(build_graph(atoms))  # Info is not named in u.ts
