"""``elsa label``: starting, reopening, moving, exporting and serving a labelling session.

A thin layer over :class:`elsa.session.Session` and the web app, as :mod:`elsa.cli` is
over the library; its errors and exit codes are :mod:`elsa.cli`'s.
"""

from __future__ import annotations

import sys
from pathlib import Path

from .cli_parser import STRATEGY_PARAM_NAMES, plan_from_args
from .exceptions import ElsaError, InputError, ParameterError
from .search import DEFAULT_STRATEGY
from .search.registry import SPECS


def _describe(est: dict) -> str:
    from .stopping import RecallEstimate

    return RecallEstimate(**est).describe()


def _label_session(args):
    """The session ``elsa label`` serves: the demo's, a new one (``--embeddings``) or a reopened one."""
    from .session import Session

    if args.embeddings is None and args.records is None:
        if args.project is None:
            from .session.demo import open_demo_session

            session = open_demo_session(progress=not args.quiet, user=args.user)
            if args.double_share is not None:
                session.set_double_share(args.double_share)
            return session
        session = Session.open(args.project, user=args.user)
        _check_image_folder(session, args.images)
        if args.epochs is not None and session.settings["epochs"] is not None \
                and args.epochs > session.settings["epochs"]:
            session.extend(args.epochs - session.settings["epochs"])
        if args.budget is not None:
            session.set_budget(args.budget)
        if args.double_share is not None:
            session.set_double_share(args.double_share)
        return session
    if args.project is None:
        raise ParameterError("name the session folder: elsa label PROJECT --embeddings E.npy ...")
    from .session.setup import PoolFiles

    pool = PoolFiles(args.records or args.embeddings, manifest=args.manifest, text_columns=args.text_columns)
    seeds = [*(args.seed_rows or []), *_seed_ids(args), *(t for t in (args.seed_items or "").split(",") if t)]
    return Session.create(args.project, pool, plan_from_args(args), target=args.target, seeds=seeds,
                          labels_from=args.labels_from, user=args.user, double_share=args.double_share or 0.0)


def _seed_ids(args) -> list:
    """``--seed-ids``: record ids (item names) with ``--records``, row numbers with ``--embeddings``."""
    ids = args.seed_ids or []
    if args.records is not None or Path(args.embeddings).suffix.lower() == ".npz":  # text: records by id
        return ids
    if not all(t.lstrip("-").isdigit() for t in ids):
        raise ParameterError(f"--seed-ids with --embeddings are row numbers, got {', '.join(ids[:3])}; name images "
                             "by path with --seed-items")
    return [int(t) for t in ids]


def _check_image_folder(session, new_place) -> None:
    """A reopened session's image folder: moved to ``new_place`` (``--images``), or refused
    with the folder it misses, before the page would show broken tiles."""
    from .session.images import missing_folder, relocate_images

    if new_place is not None:
        try:
            root = relocate_images(session, new_place)
        except BaseException:
            session.close()
            raise
        print(f"the session's images are now read from {root}")
        return
    missing = missing_folder(session)
    if missing is not None:
        session.close()
        raise InputError(f"the session's image folder {missing} is missing (moved or renamed?); give its new place: "
                         f"elsa label --resume {session.folder} --images NEW_FOLDER")


def _print_start(session) -> None:
    from .text.records import describe_problems

    records = session.settings.get("records") or {}
    for line in describe_problems(records.get("problems") or {}):  # what was odd in the records file
        print(f"note: {Path(records['path']).name}: {line}", file=sys.stderr)
    p = session.progress()
    if not session.images.available and not session.texts.available:
        print("note: the pool has no manifest with image paths (write one with `elsa embed`); the page will "
              "show item names only", file=sys.stderr)
    if records.get("describe") and session.described is None and session.settings.get("target"):
        print(f"note: none of the words of the target {session.settings['target'][:60]!r} occurs in the records; "
              "it is shown on the page but gives the search nothing to go on", file=sys.stderr)
    if not session.positive_items().size and session.described is not None:
        print("note: no seeds yet; the first pages are the records most like the target's description", file=sys.stderr)
    elif not session.positive_items().size and not SPECS[session.settings["strategy"]].seedless:
        print("note: no seeds yet; the search starts from random items until the first positive "
              "(add seeds on the page, or use --strategy usl)", file=sys.stderr)
    if p.pending:
        waiting = f"{p.pending} item(s) waiting to be answered"
    elif session.finished():
        waiting = "the search has finished (a larger --epochs or --budget continues it)"
    else:
        waiting = "the next batch is being computed and appears on the page when ready"
    print(f"{p.found} positive(s) found with {p.labels} label(s) so far; {waiting}")
    if p.estimate:
        print(_describe(p.estimate))


def cmd_label(args) -> int:
    from .session.transfer import export_project
    from .web.server import check_port, serve

    params = {k: getattr(args, k) for k in STRATEGY_PARAM_NAMES if getattr(args, k) is not None}
    creating = args.embeddings is not None or args.records is not None
    if args.embeddings is not None and args.records is not None:
        raise ParameterError("give --embeddings or --records, not both")
    if args.text_columns is not None and args.records is None:
        raise ParameterError("--text-columns applies only to --records")
    if args.images is not None and creating:
        raise ParameterError("--images moves a reopened session's image folder (with --resume)")
    if args.token is not None and len(args.token) < 16:
        raise ParameterError("--token must be at least 16 characters")
    if args.export:
        if args.project is None or creating:
            raise ParameterError("--export needs PROJECT (an existing session) and no --embeddings or --records")
        n, counts = export_project(args.project, args.export)
        unlabelled = counts.pop("unlabelled")
        what = ", ".join(f"{v:,} {k}" for k, v in counts.items() if v) or "none yet"
        print(f"wrote {n:,} row(s) to {args.export}: {sum(counts.values()):,} item(s) labelled ({what})"
              + (f" and {unlabelled:,} not yet labelled (every record is listed, as ASReview exports)"
                 if unlabelled else ""))
        return 0
    if creating and args.resume:
        raise ParameterError("give --embeddings or --records to start a session, or --resume to reopen one, not both")
    if not creating and (args.seed_ids or args.seed_items or args.seed_rows or args.labels_from or params or args.target
                         or args.strategy != DEFAULT_STRATEGY or args.stop or args.audit_share is not None
                         or args.audit_positives):
        raise ParameterError("seeds, target, strategy and its parameters are set when a session starts "
                             "(with --embeddings or --records); a reopened session keeps its own")
    check_port(args.host, args.port)  # before a session is created: a bad address leaves nothing behind
    session = _label_session(args)
    try:
        _print_start(session)
        serve(session, host=args.host, port=args.port, token=args.token, open_browser=args.open)
        p = session.progress()
    except ElsaError as exc:
        raise type(exc)(f"{exc} (the session is saved: `elsa label --resume {session.folder}` reopens it)") from None
    finally:
        session.close()
    print(f"session saved: {p.found} positive(s) found with {p.labels} label(s). Export with "
          f"`elsa label {session.folder} --export labels.csv`")
    if p.estimate:
        print(_describe(p.estimate))
    return 0
