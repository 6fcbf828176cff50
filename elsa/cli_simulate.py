"""``elsa simulate`` and ``elsa plot``: simulated searches on labelled data, their summary and their plots.

A thin layer over :func:`elsa.simulation.simulate` and :mod:`elsa.plotting`, as
:mod:`elsa.cli` is over the library; its errors and exit codes are :mod:`elsa.cli`'s.
Seeds are named as the user names the pool's items: record ids with ``--records``, row
numbers with ``--embeddings`` (``--seed-rows`` is row numbers for both).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from ._io import check_writable, load_npy, load_pool_file, write_json
from .cli_parser import plan_from_args
from .exceptions import InputError, ParameterError
from .metrics import found_within

FOUND_WITHIN = (100, 250, 500, 1000, 2000, 5000, 10000)  # the summary's "found within B labels" points


def cmd_simulate(args) -> int:
    given = [name for name, value in (("--seeds", args.seeds), ("--seed-ids", args.seed_ids),
                                      ("--seed-rows", args.seed_rows)) if value is not None]
    if len(given) > 1:
        raise ParameterError(f"give one of --seeds, --seed-ids and --seed-rows, not {' and '.join(given)}")
    output = check_writable(args.output, "--output") if args.output else None
    plot = check_writable(args.plot, "--plot") if args.plot else None
    plan = plan_from_args(args)  # every setting checked before a file is read
    if args.text_columns is not None and args.records is None:
        raise ParameterError("--text-columns applies only to --records")
    if args.describe is not None and args.records is None:
        raise ParameterError("--describe applies only to --records (text)")
    records = examples = None
    if args.records is not None:
        from .text.pool import records_pool

        X, records, vocabulary = records_pool(args.records, args.text_columns, progress=not args.quiet)
        print_problems(records)
        if args.describe is not None:
            from .text.describe import describe

            examples = describe(args.describe, vocabulary, "--describe")
    else:
        X = load_pool_file(args.embeddings, "embeddings")
    y = _simulation_labels(args, records, X.shape[0])
    seeds = _seeds(args, records, X.shape[0])
    from .simulation import Trial, simulate

    trial = Trial(repeats=args.repeats, noise=args.noise, labellers=tuple(args.labellers),
                  double_share=args.double_share, resolver_rate=args.resolver_rate, index_recall=args.index_recall,
                  progress=not args.quiet)
    on_round, bar = _progress_callback(not args.quiet, args.repeats)
    try:
        doc = simulate(X, y, args.target, plan, seeds=seeds, trial=trial, examples=examples, on_round=on_round)
        if bar is not None:
            bar.update(bar.total - bar.n)
    finally:
        if bar is not None:
            bar.close()
    if records is not None:
        doc["params"]["records"] = {"file": str(Path(args.records).resolve()), "text_columns": list(records.text_columns),
                                    "record_ids": records.ids, "problems": records.problems}
        doc["params"]["describe"] = args.describe
    print(format_summary(doc))
    if output is not None:
        write_json(output, doc)
        print(f"results written to {output}")
    if plot is not None:
        from .plotting import plot_simulations

        plot_simulations([doc], plot)
        print(f"plot of positives found against labels spent: {plot}")
    return 0


def cmd_plot(args) -> int:
    """``elsa plot OUT.png A.json [B.json ...]``: one curve per results file."""
    out = check_writable(args.out, "the plot file")
    docs = [read_results(path) for path in args.results]
    from .plotting import plot_simulations

    plot_simulations(docs, out, title=args.title)
    print(f"plot of positives found against labels spent ({len(docs)} curve(s)): {out}")
    return 0


def read_results(path) -> dict:
    """An ``elsa simulate --output`` file, checked enough to plot."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(f"{path} does not exist") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{path} is not readable JSON ({exc})") from None
    runs = doc.get("runs") if isinstance(doc, dict) else None
    if not isinstance(runs, list) or not runs or not all(isinstance(r, dict) and "curve" in r for r in runs):
        raise InputError(f"{path} is not the results of `elsa simulate --output` (no runs with a curve)")
    return doc


def _seeds(args, records, n: int):
    """The seeds as simulate takes them: a number to draw (``--seeds``, default 5) or row ids,
    from ``--seed-ids`` (record ids with ``--records``, row numbers with ``--embeddings``) or
    ``--seed-rows`` (row numbers)."""
    if args.seed_rows is not None:
        return _rows(args.seed_rows, n, "--seed-rows")
    if args.seed_ids is None:
        return 5 if args.seeds is None else args.seeds
    if records is None:
        if not all(t.lstrip("-").isdigit() for t in args.seed_ids):
            raise ParameterError(f"--seed-ids with --embeddings are row numbers, got {', '.join(args.seed_ids[:3])}")
        return _rows([int(t) for t in args.seed_ids], n, "--seed-ids")
    from .session.setup import unique_names

    row_of = {name: row for row, name in enumerate(unique_names(records.ids))}
    missing = [t for t in args.seed_ids if t not in row_of]
    if missing:
        raise ParameterError(f"--seed-ids: no record with id {', '.join(map(repr, missing[:3]))} in {args.records} "
                             "(ids are its record_id column; --seed-rows takes row numbers)")
    return np.array([row_of[t] for t in args.seed_ids], np.int64)


def _rows(rows: list[int], n: int, option: str) -> np.ndarray:
    bad = [r for r in rows if not 0 <= r < n]
    if bad:
        raise ParameterError(f"{option}: rows {bad[:5]} are outside the pool's rows 0..{n - 1}")
    return np.asarray(rows, np.int64)


def _progress_callback(enabled: bool, repeats: int):
    """A bar over runs; its postfix follows the current run's epoch, labels and positives."""
    if not enabled:
        return None, None
    from tqdm.auto import tqdm

    # delay: a bad argument found while the inputs are checked prints its one line and no bar
    bar = tqdm(total=repeats, desc="searching", unit="run", dynamic_ncols=True, file=sys.stderr, delay=1.0)
    done = [0]

    def on_round(run, rnd, state, status):
        if run > done[0]:
            bar.update(run - done[0])
            done[0] = run
        step = f"{rnd.epoch}" if rnd.kind in ("epoch", "check") else "final"
        extra = {} if status["estimate"] is None else {"estimated recall": f"{status['estimate']:.2f}"}
        if status["certificate"]:
            extra["certificate"] = status["certificate"]
        bar.set_postfix(epoch=step, labels=state.queries, found=state.n_found, **extra)

    return on_round, bar


def _simulation_labels(args, records, n: int):
    """``--labels``, or with ``--records`` and no ``--labels``, the file's ``label_included`` column."""
    if args.labels is not None:
        y = load_npy(args.labels, "labels")
        if y.ndim != 1 or y.shape[0] != n:
            pool = f"the records file has {n} records" if records is not None else f"--embeddings has {n} rows"
            raise InputError(f"--labels has {y.shape[0] if y.ndim else 1} entries but {pool}; give one class per "
                             f"{'record' if records is not None else 'row'}")
        return y
    if records is None:
        raise ParameterError("--labels is required with --embeddings")
    if records.labels is None:
        raise ParameterError(f"give --labels: {args.records} has no label_included column")
    unlabelled = int((records.labels < 0).sum())
    if unlabelled:
        raise InputError(f"{args.records}: {unlabelled} record(s) have no label_included value (0 or 1); a simulation "
                         "needs every record's label (or give --labels)")
    return records.labels.astype("int64")


def print_problems(records) -> None:
    """What was odd in a records file (never fatal), one line each, on stderr."""
    from .text.records import describe_problems

    for line in describe_problems(records.problems):
        print(f"note: {records.path.name}: {line}", file=sys.stderr)


def format_summary(doc: dict) -> str:
    p, runs, s = doc["params"], doc["runs"], doc["summary"]
    total = runs[0]["total_positives"]
    pool = (f"{p['pool_size']:,} records ({p['dim']:,} text features)" if p.get("records")
            else f"{p['pool_size']:,} rows (d = {p['dim']})")
    lines = [
        f"strategy {doc['strategy']}: class {p['target']}, {total} positives in a pool of {pool}, "
        f"{runs[0]['n_seeds']} seeds"
        + (f" and the description {p['describe']!r}" if p.get("describe") else "") + f", {len(runs)} run(s)"
        + (f", budget {p['budget']}" if p["budget"] is not None else "")
        + (f", stop {p['stop']}" if p.get("stop") else "")
        + (f", index {p['index']}" if p.get("index", "exact") != "exact" else "")
        + (f" (recall@50 against exact search {p['index_recall']:.3f})" if p.get("index_recall") is not None else "")
        + (f", oracle noise {p['noise']}" if p["noise"] else "")
        + (f", labellers wrong {'/'.join(f'{r:.0%}' for r in p['labellers'])} of the time" if p.get("labellers") else "")
        + (f", {p['double_share']:.0%} of items to two" if p.get("double_share") else ""),
        f"{'run':>4} {'queries':>8} {'found':>6} {'discovery':>10} {'efficiency':>11} {'seconds':>8}  stop",
    ]
    for i, r in enumerate(runs):
        eff = r["labelling_efficiency"]
        lines.append(
            f"{i:>4} {r['queries']:>8} {r['found']:>6} {r['discovery_rate']:>10.3f} "
            f"{eff:>11.3f} {r['seconds']:>8.2f}  {r['stop_reason']}"
        )
        for est in r.get("estimate", {}).values():
            lines.append(f"{'':>5}{_describe(est)}; true recall {r['discovery_rate']:.2f}")
        if (r.get("certificate") or {}).get("describe"):
            lines.append(f"{'':>5}certificate: {r['certificate']['describe']}")
        if r.get("sample_labels"):
            lines.append(f"{'':>5}sample: {r['sample_labels']} random item(s) labelled (the search handed over at "
                         f"{r['certificate']['search_labels_at_hand_over']}); {r['labels_total']} distinct labels in all")
        if r.get("audit_labels"):
            lines.append(f"{'':>5}audit: {r['audit_labels']} random item(s) labelled; "
                         f"{r['labels_total']} distinct labels in all")
        if r.get("flip_rate_estimate") is not None:
            lines.append(f"{'':>5}weighed answers: the labeller's estimated error rate {r['flip_rate_estimate']:.1%}"
                         + (f" (the simulated one: {p['noise']:.1%})" if p.get("noise") else ""))
        if r.get("double_labels"):
            lines.append(f"{'':>5}second labellers: {r['double_labels']} item(s) answered twice, {r['disputes']} "
                         "disagreement(s)" + (f", {r['resolutions']} resolved" if r.get("resolutions") else "")
                         + "; estimated error rates "
                         + " / ".join(f"{e:.1%}" for e in r["flip_rate_estimates"] or []))
        if p.get("second_looks"):
            lines.append(f"{'':>5}second looks: {r['rechecks']} answer(s) asked again" + (
                f"; {r['flips_rechecked']:.0%} of the {r['wrong_first_answers']} wrong first answers re-asked"
                if r.get("flips_rechecked") is not None else "") + (
                f", {r['rechecks_flipped']:.0%} of re-asks were wrong first answers"
                if r.get("rechecks_flipped") is not None else ""))
    if len(runs) > 1:
        med = {k: s[k]["median"] for k in s}
        lines.append(
            f"{'med':>4} {med['queries']:>8.0f} {med['found']:>6.0f} {med['discovery_rate']:>10.3f} "
            f"{med['labelling_efficiency']:>11.3f} {med['seconds']:>8.2f}"
        )
    lines.append(found_line(runs))
    return "\n".join(line for line in lines if line)


def found_line(runs: list[dict]) -> str:
    """``found within 100 / 250 / 500 labels: 46 / 65 / 71`` (medians over the runs), at the
    points the runs reached; empty when they spent fewer than 100 labels."""
    most = max(r["queries"] for r in runs)
    points = [b for b in FOUND_WITHIN if b <= most]
    if not points:
        return ""
    found = found_within([r["curve"] for r in runs], points)
    what = " (medians over the runs)" if len(runs) > 1 else ""
    return (f"found within {' / '.join(map(str, points))} labels: {' / '.join(f'{f:g}' for f in found)}{what}")


def _describe(est: dict) -> str:
    from .stopping import RecallEstimate

    return RecallEstimate(**est).describe()
