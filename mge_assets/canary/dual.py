"""The dual-run: one request generated in v2 and in the mvp baseline, figure by figure, and over many
requests, pair by pair. Precision is scored for both modes from what each produced, whether or not
Gate S let `precision_report` run, so a blocked baseline still shows how far it got."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

# (figure, which way is better): "higher", "lower", or "" for a figure that only describes the run.
FIGURES: tuple[tuple[str, str], ...] = (
    ("precision", "higher"),
    ("spec_conformance", "higher"),
    ("integration_pass", "higher"),
    ("validation_pass", "higher"),
    ("gate_s", "higher"),
    ("wall_s", "lower"),
    ("cost_usd", "lower"),
    ("input_tokens", "lower"),
    ("output_tokens", "lower"),
    ("model_calls", "lower"),
    ("retries", "lower"),
    ("units", ""),
)


class ModeFigures(BaseModel):
    """What one mode of one request produced and cost."""

    model_config = ConfigDict(frozen=True)

    partition: str
    request_sha256: str
    precision: float
    spec_conformance: float
    integration_pass: float
    validation_pass: float
    gate_s: bool
    wall_s: float
    cost_usd: float
    input_tokens: int
    output_tokens: int
    model_calls: int
    retries: int
    units: int  # atoms in v2, ~25-line task units in mvp

    def figure(self, name: str) -> float:
        return float(getattr(self, name))


class FigureDelta(BaseModel):
    model_config = ConfigDict(frozen=True)

    figure: str
    v2: float
    mvp: float
    delta: float  # v2 - mvp
    winner: str  # "v2", "mvp", "tie", or "" where neither way is better


class DualRun(BaseModel):
    """Both modes of one request, run on the same request text."""

    model_config = ConfigDict(frozen=True)

    name: str
    v2: ModeFigures
    mvp: ModeFigures

    @property
    def deltas(self) -> list[FigureDelta]:
        return [_delta(name, better, self.v2.figure(name), self.mvp.figure(name)) for name, better in FIGURES]

    @property
    def v2_ahead(self) -> bool:
        return self.v2.precision > self.mvp.precision


class DualRunMismatchError(ValueError):
    """The two modes were not run on the same request text."""


def dual_run(name: str, v2: ModeFigures, mvp: ModeFigures) -> DualRun:
    """Pair the modes, refusing two runs of different request texts (a request changed in between)."""
    if v2.request_sha256 != mvp.request_sha256:
        raise DualRunMismatchError(
            f"'{name}': v2 ran request {v2.request_sha256[:12]} and mvp ran {mvp.request_sha256[:12]}; "
            "run the mode that is behind again (`mge dual-run NAME` does it)"
        )
    return DualRun(name=name, v2=v2, mvp=mvp)


def behind(run: DualRun) -> str:
    """Why the dual-run check warns: v2 not ahead of the baseline on precision."""
    return f"v2 {run.v2.precision:.4f} is not ahead of mvp {run.mvp.precision:.4f}"


def _delta(name: str, better: str, v2: float, mvp: float) -> FigureDelta:
    if not better:
        winner = ""
    elif abs(v2 - mvp) < 1e-9:
        winner = "tie"
    else:
        winner = "v2" if (v2 > mvp) == (better == "higher") else "mvp"
    return FigureDelta(figure=name, v2=v2, mvp=mvp, delta=round(v2 - mvp, 6), winner=winner)


def render_dual_run(run: DualRun) -> str:
    """The side-by-side table of `mge dual-run NAME`."""
    lines = [f"Dual-run of '{run.name}' (request {run.v2.request_sha256[:12]})", ""]
    lines.append(f"{'figure':<18} {'v2':>12} {'mvp':>12} {'delta':>12}  winner")
    for d in run.deltas:
        lines.append(
            f"{d.figure:<18} {_cell(d.figure, d.v2):>12} {_cell(d.figure, d.mvp):>12} "
            f"{_cell(d.figure, d.delta, signed=True):>12}  {d.winner}"
        )
    return "\n".join(lines)


def render_paired(runs: Sequence[DualRun]) -> str:
    """One line per request (precision and Gate S of both modes, who won), then the paired verdict."""
    from mge_assets.canary.paired import paired_verdict  # scipy: loaded only when asked

    lines = [f"{'request':<22} {'v2':>7} {'mvp':>7} {'delta':>7} {'gate S v2/mvp':>14}  winner"]
    for run in runs:
        precision = run.deltas[0]
        lines.append(
            f"{run.name:<22} {run.v2.precision:>7.4f} {run.mvp.precision:>7.4f} {precision.delta:>+7.4f} "
            f"{_yes(run.v2.gate_s) + '/' + _yes(run.mvp.gate_s):>14}  {precision.winner}"
        )
    verdict = paired_verdict(
        [(r.v2.precision, r.mvp.precision) for r in runs], [(r.v2.gate_s, r.mvp.gate_s) for r in runs]
    )
    gate = "no discordant pair" if verdict.gate_s_p is None else f"McNemar exact p = {verdict.gate_s_p:.3g}"
    lines += [
        "",
        f"v2 against mvp over {len(runs)} requests: {verdict.wins} wins, {verdict.losses} losses, {verdict.ties} ties",
        f"verdict: {verdict.verdict} ({verdict.why}); Gate S: {gate}",
    ]
    return "\n".join(lines)


def _yes(flag: bool) -> str:
    return "pass" if flag else "fail"


def _cell(figure: str, value: float, signed: bool = False) -> str:
    if figure == "gate_s" and not signed:
        return _yes(bool(value))
    if figure in ("precision", "spec_conformance", "integration_pass", "validation_pass", "cost_usd"):
        return f"{value:+.4f}" if signed else f"{value:.4f}"
    if figure == "wall_s":
        return f"{value:+.1f}" if signed else f"{value:.1f}"
    return f"{value:+,.0f}" if signed else f"{value:,.0f}"
