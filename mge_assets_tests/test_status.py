"""`mge status` against the instance: unknown and never-run requests. A run really in flight, followed
to its end, is test_watching_a_run's."""

import json
import sys
from pathlib import Path

from mge_assets.cli import main
from mge_assets_tests.conftest import example_path

BIN = Path(sys.executable).parent


def test_status_of_an_unknown_request_says_what_to_do(mge_env, capsys):
    assert main(["status", "nothing", "--json"]) == 2
    err = capsys.readouterr().err
    assert "no request named 'nothing'" in err and "mge submit FILE" in err and "mge run FILE" in err


def test_status_of_a_request_never_run(mge_env, capsys):
    assert main(["submit", str(example_path("blog"))]) == 0
    capsys.readouterr()
    assert main(["status", "blog"]) == 0
    assert "request 'blog': not run yet" in capsys.readouterr().out
    assert main(["status", "blog", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["status"], data["run_id"], data["running"]) == ("not run", None, False)
    assert (data["soft_cap_usd"], data["hard_cap_usd"]) == (3.5, 5.0)  # the request's budget_usd: 5
