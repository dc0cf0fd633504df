"""The progress of wave execution: consistent counts at every snapshot, and a rate limit that holds."""

import asyncio
import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from mge_assets.execute import ExecutionSettings, Verdict, execute_atoms
from mge_assets.execute.pipeline import StageOptions, run_atoms
from mge_assets.execute.progress import Progress, RateLimited
from mge_assets.llm import Budget, ModelClient
from mge_assets.llm.offline import OfflineBackend
from mge_assets_tests.execute.test_engine import RecordingBackend, accept, build, dags, make_atom, make_graph


def _consistent(snapshot: Progress) -> bool:
    parts = (snapshot.done, snapshot.in_flight, snapshot.waiting, snapshot.failed)
    return min(parts) >= 0 and sum(parts) == snapshot.total


@settings(max_examples=40, deadline=None)
@given(
    dag=dags(),
    workers=st.integers(min_value=1, max_value=6),
    barrier=st.booleans(),
    rejected=st.sets(st.integers(0, 24), max_size=4),
    seed=st.integers(0, 99),
)
def test_every_snapshot_accounts_for_every_atom(dag, workers, barrier, rejected, seed):
    ids, edges = dag
    refused = {f"a{i}" for i in rejected}
    first_tries: set[str] = set()

    def validate(atom, code):
        # atoms in `refused` never validate (their dependents are blocked); every other atom is
        # rejected once and retried, so each retry is counted.
        if atom.id in refused:
            return Verdict(("refused",))
        if atom.id not in first_tries:
            first_tries.add(atom.id)
            return Verdict(("once",))
        return Verdict()

    snapshots: list[Progress] = []
    client = ModelClient(RecordingBackend([], seed), budget=Budget(2.0))
    report = asyncio.run(
        execute_atoms(
            [make_atom(i) for i in ids],
            make_graph(ids, edges),
            client,
            build,
            validate,
            "p",
            ExecutionSettings(workers=workers, barrier=barrier, on_progress=snapshots.append),
        )
    )
    assert all(_consistent(s) for s in snapshots), [s for s in snapshots if not _consistent(s)][:1]
    assert all(s.in_flight <= workers for s in snapshots)
    assert snapshots[0].waiting == len(ids) and not snapshots[0].final
    finished = [s.finished for s in snapshots]
    assert finished == sorted(finished)  # never goes back
    last = snapshots[-1]
    statuses = report.by_status()
    assert last.final and [s.final for s in snapshots].count(True) == 1
    assert (last.done, last.failed, last.in_flight, last.waiting) == (
        statuses.get("valid", 0),
        len(ids) - statuses.get("valid", 0),
        0,
        0,
    )
    assert last.retries == sum(max(0, o.attempts - 1) for o in report.outcomes)
    assert (last.soft_cap_usd, last.hard_cap_usd) == (2.0 * 0.7, 2.0)


def test_the_rate_limit_passes_the_first_then_one_per_interval_and_always_the_final():
    now = [0.0]
    passed: list[Progress] = []
    limited = RateLimited(passed.append, every_s=2.0, clock=lambda: now[0])
    for step in range(21):  # a change every half second for 10 s
        now[0] = step * 0.5
        limited(Progress(total=21, done=step, waiting=21 - step))
    limited(Progress(total=21, done=21, final=True))
    assert [p.done for p in passed] == [0, 4, 8, 12, 16, 20, 21]
    assert passed[-1].final and limited.passed == len(passed)


def test_a_stage_reports_a_bounded_number_of_snapshots_however_many_atoms(task_api_atoms):
    """With a clock that never moves, a whole run of task_api's atoms reports twice: first and final."""
    for ticks, expected in ((itertools.repeat(0.0), 2), (itertools.count(0.0, 0.5), None)):
        snapshots: list[Progress] = []
        clock = ticks.__next__
        options = StageOptions(on_progress=snapshots.append, progress_every_s=2.0, clock=clock)
        frame, _report = asyncio.run(
            run_atoms(
                task_api_atoms.atoms,
                task_api_atoms.graph,
                task_api_atoms.discovery,
                ModelClient(OfflineBackend()),
                "task-api",
                options,
            )
        )
        atoms = len(frame)
        assert atoms > 50
        if expected is not None:
            assert len(snapshots) == expected
        else:  # a tick of 0.5 s per change: about one change in four passes, never one per atom
            assert 2 < len(snapshots) < atoms
        assert snapshots[0].done == 0 and snapshots[-1].final and snapshots[-1].done == atoms
        assert all(_consistent(s) for s in snapshots)


def test_a_snapshot_survives_the_metadata_it_is_recorded_as():
    snapshot = Progress(total=9, done=3, in_flight=2, waiting=3, failed=1, retries=4, spent_usd=0.25, elapsed_s=1.5)
    assert Progress.from_metadata(snapshot.as_metadata()) == snapshot
    bounded = Progress(total=1, waiting=1, soft_cap_usd=3.5, hard_cap_usd=5.0, final=True)
    assert Progress.from_metadata(bounded.as_metadata()) == bounded
    assert "progress_hard_cap_usd" not in snapshot.as_metadata()  # no cap: nothing to plot
    assert Progress.from_metadata({"atoms": 3}) is None


def test_a_change_the_rate_limit_dropped_is_reported_while_nothing_else_happens():
    """The atom is taken just after the first snapshot passed (so that change is dropped), then its call
    waits: the engine's tick reports it once the interval has passed, without any other change."""
    now = [0.0]
    passed: list[Progress] = []

    class Waiting(RecordingBackend):
        async def complete(self, request):
            now[0] = 5.0  # the interval passes while the call is out
            for _ in range(1000):
                if any(p.in_flight == 1 for p in passed):
                    break
                await asyncio.sleep(0.005)
            return await super().complete(request)

    limited = RateLimited(passed.append, every_s=2.0, clock=lambda: now[0])
    settings_ = ExecutionSettings(on_progress=limited, progress_tick_s=0.01)
    asyncio.run(
        execute_atoms(
            [make_atom("a0")], make_graph(["a0"], []), ModelClient(Waiting([])), build, accept, "p", settings_
        )
    )
    assert [(p.in_flight, p.waiting, p.done) for p in passed] == [(0, 1, 0), (1, 0, 0), (0, 0, 1)]
