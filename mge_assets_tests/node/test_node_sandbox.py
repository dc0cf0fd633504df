"""Node in the sandbox: it reads its own installation and what it is given (the compiler), nothing
else of the host, and writes only its own folder; node --test's report is read per test."""

from pathlib import Path

import pytest

from mge_assets.node import NODE, compile_project, node_test_command, parse_node_junit, typescript_paths
from mge_assets.node.testing import FILE_LEVEL
from mge_assets.sandbox import run_in_sandbox


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    return root


def node(code: str, project: Path, **kwargs) -> object:
    return run_in_sandbox([NODE, "--input-type=module", "-e", code], project, **kwargs)


def test_node_cannot_read_or_write_outside_its_folder(project: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("host secret")
    outside = tmp_path / "written-by-node.txt"
    code = (
        "import { readFileSync, writeFileSync } from 'node:fs';\n"
        "for (const path of [process.argv[1], '/etc/shadow']) {\n"
        "  try { console.log('read', readFileSync(path, 'utf8')); } catch (e) { console.log('denied', e.code); }\n"
        "}\n"
        "try { writeFileSync(process.argv[2], 'x'); console.log('wrote'); }\n"
        "catch (e) { console.log('denied', e.code); }\n"
        "writeFileSync('inside.txt', 'ok');\n"
        "console.log('inside ok');\n"
    )
    result = run_in_sandbox([NODE, "--input-type=module", "-e", code, str(secret), str(outside)], project)
    assert result.ok, result.stderr
    assert "host secret" not in result.stdout and result.stdout.count("denied EACCES") == 3, result.stdout
    assert "inside ok" in result.stdout and not outside.exists()
    assert result.isolation["filesystem"].startswith("Landlock")


def test_the_compiler_is_readable_only_when_it_is_given(project: Path) -> None:
    tsc, _ = typescript_paths()
    code = "import { readFileSync } from 'node:fs'; readFileSync(process.argv[1]); console.log('read it');"
    command = [NODE, "--input-type=module", "-e", code, str(tsc)]
    assert "read it" not in run_in_sandbox(command, project).stdout
    assert "read it" in run_in_sandbox(command, project, read_only=(str(tsc.parents[1]),)).stdout


def test_node_test_outcomes_per_test(project: Path) -> None:
    (project / "t.mjs").write_text(
        "import { test } from 'node:test';\n"
        "import assert from 'node:assert/strict';\n"
        "test('test_must_01__passes', () => assert.equal(1, 1));\n"
        "test('test_must_01__fails', () => assert.equal(1, 2));\n"
        "test('test_must_01__hangs', () => new Promise(() => setInterval(() => {}, 1000)));\n"
    )
    run = run_in_sandbox(node_test_command(["t.mjs"], 1.0), project, timeout_s=60, collect=("junit.xml",))
    outcomes = {name: outcome for name, (outcome, _, _) in parse_node_junit(run.files["junit.xml"]).items()}
    # node 20 cuts the whole file at its limit: the hanging test is not reported, the file times out
    whole_file = next(name for name in outcomes if name.startswith(FILE_LEVEL))
    assert whole_file.endswith("/t.mjs") and outcomes.pop(whole_file) == "timeout"
    assert outcomes == {"test_must_01__passes": "passed", "test_must_01__fails": "failed"}


def test_type_errors_are_reported_per_file_and_the_code_still_emitted(project: Path) -> None:
    (project / "tsconfig.json").write_text(
        '{"compilerOptions": {"target": "ES2022", "module": "NodeNext", "outDir": "dist", "rootDir": ".",'
        ' "strict": true, "skipLibCheck": true, "types": ["node"]}, "include": ["src"]}'
    )
    (project / "src").mkdir()
    (project / "src" / "good.ts").write_text("export const n: number = 1;\n")
    (project / "src" / "bad.ts").write_text("export const s: string = 1;\n")
    build = compile_project(project, ["src/good.ts", "src/bad.ts"])
    assert list(build.errors) == ["src/bad.ts"] and "TS2322" in build.errors["src/bad.ts"][0]
    assert set(build.emitted) == {"dist/src/good.js", "dist/src/bad.js"}
