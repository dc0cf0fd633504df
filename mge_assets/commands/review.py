"""`mge review`: the review queue from the command line (and `mge review serve`, its page).

mge review list [NAME] [--status S] [--json]     the queue across requests, lowest confidence first
mge review show ID [--json]                      one item: diff, history, confidence, trace, suggestion
mge review approve ID [--comment C]
mge review edit ID --file F [--comment C]        new code, validated (level 1) before it is taken
mge review regenerate ID --comment C             back to the model, the comment as feedback
mge review reject ID --comment C
mge review undo ID                               take back the newest decision on the atom
mge review apply [NAME]                          apply decisions now, in this process (no daemon)
mge review stats [NAME] [--json]                 decisions, suggestions taken, spot checks, SLA
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from mge_assets.errors import MgeError
from mge_assets.review.items import STATUSES, ReviewItem
from mge_assets.review.store import Suggestion


def add_review_commands(sub: argparse._SubParsersAction) -> None:
    review = sub.add_parser("review", help="review the low-confidence atoms: list, show, decide, apply, serve")
    actions = review.add_subparsers(required=True, metavar="ACTION")

    listing = actions.add_parser("list", help="the queue across requests, lowest confidence first")
    listing.add_argument("name", nargs="?", help="only this request")
    listing.add_argument("--status", choices=STATUSES, help="only items with this status")
    listing.add_argument("--json", action="store_true", help="the items as a JSON list")
    listing.set_defaults(command=cmd_list)

    show = actions.add_parser("show", help="one item: diff, history, confidence, trace, AI suggestion")
    show.add_argument("id")
    show.add_argument("--json", action="store_true")
    show.set_defaults(command=cmd_show)

    for action, text in (
        ("approve", "keep the atom's code as it is"),
        ("edit", "replace the atom's code with yours (validated first)"),
        ("regenerate", "send the atom back to the model with your comment"),
        ("reject", "mark the atom's code wrong"),
    ):
        parser = actions.add_parser(action, help=text)
        parser.add_argument("id")
        needed = action in ("regenerate", "reject")
        parser.add_argument("--comment", "-m", default="", required=needed, help="why (required)" if needed else "why")
        if action == "edit":
            parser.add_argument("--file", "-f", type=Path, required=True, help="the atom's new code")
        parser.add_argument("--reviewer", help="who decides (default MGE_REVIEWER, else your login)")
        parser.set_defaults(command=cmd_decide, action=action)

    undo = actions.add_parser("undo", help="take back the newest decision on an item's atom")
    undo.add_argument("id")
    undo.add_argument("--comment", "-m", default="")
    undo.add_argument("--reviewer")
    undo.set_defaults(command=cmd_undo)

    apply = actions.add_parser("apply", help="apply waiting decisions now, in this process (no daemon needed)")
    apply.add_argument("name", nargs="?")
    apply.add_argument("--log-level", default="WARNING")
    apply.set_defaults(command=cmd_apply)

    stats = actions.add_parser("stats", help="decisions, AI suggestions taken, spot checks, oldest pending")
    stats.add_argument("name", nargs="?")
    stats.add_argument("--json", action="store_true")
    stats.set_defaults(command=cmd_stats)

    serve = actions.add_parser("serve", help="the reviewer's web page (loopback unless --host, with a token)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8766)
    serve.set_defaults(command=cmd_serve)


def _desk():
    from mge_assets.commands.review_desk import ReviewDesk

    return ReviewDesk()


def cmd_list(args: argparse.Namespace) -> int:
    items = _desk().items(args.name, args.status)
    if args.json:
        print(json.dumps([i.summary() for i in items], indent=1))
        return 0
    if not items:
        print("the review queue is empty" + (f" for '{args.name}'" if args.name else ""))
        return 0
    print(f"{'id':<20} {'request':<18} {'conf':>6} {'status':<11} {'result':<8} atom")
    for item in items:
        stale = " (stale)" if item.stale else ""
        spot = " [spot check]" if item.spot_check else ""
        print(
            f"{item.id:<20} {item.request[:18]:<18} {item.confidence:>6.3f} {item.status:<11} "
            f"{item.result_status[:8]:<8} {item.atom}{spot}{stale}"
        )
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    desk = _desk()
    item = desk.item(args.id)
    suggestion = asyncio.run(desk.suggestion(item))
    if args.json:
        print(json.dumps({**item.as_dict(), "suggestion": suggestion.as_dict()}, indent=1, default=str))
        return 0
    print(render_item(item, suggestion))
    return 0


def render_item(item: ReviewItem, suggestion: Suggestion) -> str:
    factors = ", ".join(f"{k} {v:.2f}" for k, v in item.factors.items())
    lines = [
        f"{item.id}  {item.request} / {item.atom}",
        f"  {item.kind} `{item.symbol}` in {item.file}, lines {item.lines}",
        f"  status {item.status}; validation {item.result_status} after {item.attempts} attempt(s)",
        f"  confidence {item.confidence:.3f} ({factors}); queued because: {item.reason}",
        f"  trace id {item.id}; version {item.code_sha}" + ("  STALE: the atom changed since" if item.stale else ""),
        "",
        "Requirements:",
        *(
            [
                f"  {r.id} ({r.level}) {'pass' if r.passed else 'FAIL' if r.passed is False else '?'}: {r.text}"
                for r in item.requirements
            ]
            or ["  (none traced)"]
        ),
        "Acceptance tests:",
        *([f"  {outcome:<8} {test}" for test, outcome in item.tests] or ["  (none)"]),
        "Validation history:",
        *(
            [f"  attempt {h.get('attempt')}: " + ("; ".join(h.get("problems", [])) or "valid") for h in item.history]
            or ["  (not sent to the model)"]
        ),
        "",
        "Final code against the draft:",
        item.diff() or "  (the final code is the draft)",
        "Final code:",
        item.code,
        f"AI suggestion ({suggestion.model}):",
    ]
    if not suggestion.available:
        lines.append(f"  unavailable: {suggestion.error}")
    else:
        lines += [f"  - {issue}" for issue in suggestion.issues] or ["  no issue found"]
        lines += ["  proposed fix:", suggestion.fix]
    if item.decisions:
        lines.append("Decisions:")
        lines += [
            f"  #{d.id} {d.action} by {d.reviewer}: {d.comment or '-'}"
            + (f" -> {d.outcome}" if d.outcome else " (waiting to be applied)" if not d.applied else "")
            for d in item.decisions
        ]
    return "\n".join(lines)


def cmd_decide(args: argparse.Namespace) -> int:
    from mge_assets.commands.review_desk import decision_line, reviewer_name
    from mge_assets.review.decide import RefusedEdit

    code = None
    if args.action == "edit":
        try:
            code = args.file.read_text()
        except OSError as error:
            raise MgeError(f"cannot read {args.file}: {error.strerror}") from None
    try:
        decision = _desk().decide(args.id, args.action, reviewer_name(args.reviewer), args.comment, code)
    except RefusedEdit as refused:
        print(f"mge: {refused}", file=sys.stderr)
        return 1
    print(decision_line(decision))
    return 0


def cmd_undo(args: argparse.Namespace) -> int:
    from mge_assets.commands.review_desk import decision_line, reviewer_name

    print(decision_line(_desk().undo(args.id, reviewer_name(args.reviewer), args.comment)))
    return 0


def cmd_apply(args: argparse.Namespace) -> int:
    applied = _desk().apply(args.name, args.log_level)
    if not applied:
        print("no decision is waiting to be applied")
        return 0
    for run in applied:
        ids = ", ".join(f"#{i}" for i in run.decisions)
        print(f"{run.request}: {ids} {'applied' if run.success else 'FAILED'} (run {run.run_id})")
    return 0 if all(run.success for run in applied) else 1


def cmd_stats(args: argparse.Namespace) -> int:
    stats = _desk().stats(args.name)
    print(json.dumps(stats.as_dict(), indent=1) if args.json else "\n".join(stats.lines()))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from mge_assets.commands.review_app import serve

    serve(args.host, args.port)
    return 0
