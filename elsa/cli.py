"""``elsa``: the command line. It parses, builds library objects and prints; no algorithm lives here.

Exit status: 0 on success, 2 for a usage error (a bad option value), 1 for bad input
data, 130 when interrupted. Errors print one line, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import __version__
from ._io import check_writable, load_npy, save_npy, write_json
from .exceptions import ElsaError, ParameterError
from .search import DEFAULTS, STRATEGIES
from .samplers.confidence import FinalSearch
from .samplers.latent import DISTRIBUTIONS
from .samplers.seals import CRITERIA


def _nonneg_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def _pos_int(text: str) -> int:
    value = _nonneg_int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def _probability(text: str) -> float:
    value = _float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {value}")
    return value


def _id_list(text: str) -> list[int]:
    try:
        ids = [int(t) for t in text.replace(" ", "").split(",") if t]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated row ids such as 3,17,42; got {text!r}") from None
    if not ids:
        raise argparse.ArgumentTypeError("expected at least one row id")
    return ids


def _add_strategy_params(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("strategy hyperparameters (defaults from the paper where it gives them)")
    g.add_argument("--a", type=_pos_int, help=f"NN search radius: items per NN search (default {DEFAULTS['a']}; nn-large 200)")
    g.add_argument("--l", type=_pos_int, help=f"RandS: random candidates drawn per epoch (default {DEFAULTS['l']})")
    g.add_argument("--b", type=_pos_int, help=f"RandS: initial pairs kept per epoch (default {DEFAULTS['b']})")
    g.add_argument("--b-growth", type=_float, help=f"RandS: extra pairs per positive found (default {DEFAULTS['b_growth']})")
    g.add_argument("--alpha1", type=_float, help=f"sampler threshold: mean + alpha1 * std of head scores (default {DEFAULTS['alpha1']})")
    g.add_argument("--alpha2", type=_float, help=f"final-search threshold multiplier (default {DEFAULTS['alpha2']})")
    g.add_argument("--final", choices=FinalSearch.MODES + ("none",),
                   help="final search: top items within the budget, above the alpha2 threshold, "
                        "auto (top when --budget is set, else threshold; the default) or none")
    g.add_argument("--final-size", type=_nonneg_int, help="final search: label exactly this many top items")
    g.add_argument("--hidden", type=_pos_int, help=f"head: hidden units (default {DEFAULTS['hidden']})")
    g.add_argument("--head-alpha", type=_float, help=f"head: L2 penalty (default {DEFAULTS['head_alpha']})")
    g.add_argument("--head-max-iter", type=_pos_int, help=f"head: L-BFGS iterations (default {DEFAULTS['head_max_iter']})")
    g.add_argument("--batch-size", type=_pos_int,
                   help=f"random, seals, uncertainty: items per epoch (default {DEFAULTS['batch_size']})")
    g.add_argument("--low", type=_probability, help=f"greedys: lower end of the probability band (default {DEFAULTS['low']})")
    g.add_argument("--high", type=_probability, help=f"greedys: upper end of the probability band (default {DEFAULTS['high']})")
    g.add_argument("--weight", type=_float, help=f"fars: weight of the confidence term (default {DEFAULTS['weight']})")
    g.add_argument("--cells", type=_pos_int, help=f"grids: cells per axis of the grid (default {DEFAULTS['cells']})")
    g.add_argument("--distribution", choices=DISTRIBUTIONS,
                   help=f"latent: the draw distribution (default {DEFAULTS['distribution']})")
    g.add_argument("--k", type=_pos_int, help=f"seals: neighbours per labelled item (default {DEFAULTS['k']})")
    g.add_argument("--criterion", choices=CRITERIA, help=f"seals: candidate score (default {DEFAULTS['criterion']})")


STRATEGY_PARAM_NAMES = tuple(DEFAULTS)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="elsa",
        description="Find every example of a rare class in a large unlabelled pool, labelling as little as possible.",
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"elsa {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("simulate", allow_abbrev=False,
                       help="run a search with a simulated oracle built from ground-truth labels",
                       description="Run ELSA or a baseline with ground-truth labels standing in for the person "
                                   "labelling, and report discovery rate and labelling efficiency.")
    p.add_argument("--embeddings", required=True, metavar="E.npy", help="float array (n, d)")
    p.add_argument("--labels", required=True, metavar="L.npy", help="integer class ids (n,)")
    p.add_argument("--target", required=True, type=int, metavar="T", help="the class to find: positives are L == T")
    p.add_argument("--seeds", type=_nonneg_int, help="seed positives drawn at random (default 5)")
    p.add_argument("--seed-ids", type=_id_list, metavar="I,J,...", help="explicit seed row ids (instead of --seeds)")
    p.add_argument("--budget", type=_nonneg_int, help="total oracle queries allowed (default: no limit)")
    p.add_argument("--epochs", type=_nonneg_int, default=10, help="epochs (default 10)")
    p.add_argument("--strategy", choices=STRATEGIES, default="elsa", help="default elsa")
    p.add_argument("--noise", type=_probability, default=0.0, metavar="P", help="flip each answer with probability P")
    p.add_argument("--repeats", type=_pos_int, default=1, metavar="R", help="independent runs (default 1)")
    p.add_argument("--random-state", type=_nonneg_int, default=0, metavar="S", help="default 0")
    p.add_argument("--output", metavar="results.json", help="write the full results as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_strategy_params(p)

    e = sub.add_parser("embed", allow_abbrev=False, help="embed a folder of images, or the built-in dataset",
                       description="Embed every image under PATH (recursive) with the built-in encoder. "
                                   "PATH 'builtin:fashion-mnist' embeds the built-in dataset and also writes its labels.")
    e.add_argument("path", metavar="PATH", help="an image folder, or builtin:fashion-mnist")
    e.add_argument("--out", required=True, metavar="emb.npy", help="output array; a manifest emb.manifest.json is written beside it")
    e.add_argument("--image-size", type=_pos_int, default=64, help="input size in pixels, a multiple of 32 (default 64)")
    e.add_argument("--batch-size", type=_pos_int, default=128, help="images per inference call (default 128)")
    e.add_argument("--no-cache", action="store_true", help="recompute even if cached")
    e.add_argument("--quiet", action="store_true", help="no progress bar")

    d = sub.add_parser("demo", allow_abbrev=False, help="ELSA against nearest-neighbour search on the built-in data",
                       description="Thin one Fashion-MNIST class to about 1 %% of the built-in pool, search for it "
                                   "from 5 seeds with ELSA and with iterative NN, print a table and write a plot.")
    d.add_argument("--target", type=int, default=0, help="class to find, 0-9 (default 0, T-shirt/top)")
    d.add_argument("--seeds", type=_pos_int, default=5, help="default 5")
    d.add_argument("--fraction", type=_float, default=0.01, help="share of the pool the class is thinned to (default 0.01)")
    d.add_argument("--epochs", type=_nonneg_int, default=10, help="default 10")
    d.add_argument("--random-state", type=_nonneg_int, default=0, help="default 0")
    d.add_argument("--plot", default="elsa-demo.png", metavar="PNG", help="plot file (default elsa-demo.png)")
    d.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def _progress_callback(enabled: bool, repeats: int):
    """A bar over runs; its postfix follows the current run's epoch, labels and positives."""
    if not enabled:
        return None, None
    from tqdm.auto import tqdm

    bar = tqdm(total=repeats, desc="searching", unit="run", dynamic_ncols=True, file=sys.stderr)
    done = [0]

    def on_round(run, rnd, state):
        if run > done[0]:
            bar.update(run - done[0])
            done[0] = run
        step = f"{rnd.epoch}" if rnd.kind == "epoch" else "final"
        bar.set_postfix(epoch=step, labels=state.queries, found=state.n_found)

    return on_round, bar


def cmd_simulate(args) -> int:
    if args.seed_ids is not None and args.seeds is not None:
        raise ParameterError("give either --seeds or --seed-ids, not both")
    output = check_writable(args.output, "--output") if args.output else None
    X = load_npy(args.embeddings, "embeddings")
    y = load_npy(args.labels, "labels")
    params = {k: getattr(args, k) for k in STRATEGY_PARAM_NAMES if getattr(args, k) is not None}
    from .simulation import simulate

    on_round, bar = _progress_callback(not args.quiet, args.repeats)
    try:
        doc = simulate(
            X, y, args.target, strategy=args.strategy, n_seeds=5 if args.seeds is None else args.seeds, seed_ids=args.seed_ids,
            repeats=args.repeats, budget=args.budget, epochs=args.epochs, noise=args.noise,
            random_state=args.random_state, params=params, on_round=on_round,
        )
        if bar is not None:
            bar.update(bar.total - bar.n)
    finally:
        if bar is not None:
            bar.close()
    print(format_summary(doc))
    if output is not None:
        write_json(output, doc)
        print(f"results written to {output}")
    return 0


def format_summary(doc: dict) -> str:
    p, runs, s = doc["params"], doc["runs"], doc["summary"]
    total = runs[0]["total_positives"]
    lines = [
        f"strategy {doc['strategy']}: class {p['target']}, {total} positives in a pool of {p['pool_size']} "
        f"(d = {p['dim']}), {runs[0]['n_seeds']} seeds, {len(runs)} run(s)"
        + (f", budget {p['budget']}" if p["budget"] is not None else "")
        + (f", oracle noise {p['noise']}" if p["noise"] else ""),
        f"{'run':>4} {'queries':>8} {'found':>6} {'discovery':>10} {'efficiency':>11} {'seconds':>8}  stop",
    ]
    for i, r in enumerate(runs):
        eff = r["labelling_efficiency"]
        lines.append(
            f"{i:>4} {r['queries']:>8} {r['found']:>6} {r['discovery_rate']:>10.3f} "
            f"{eff:>11.3f} {r['seconds']:>8.2f}  {r['stop_reason']}"
        )
    if len(runs) > 1:
        med = {k: s[k]["median"] for k in s}
        lines.append(
            f"{'med':>4} {med['queries']:>8.0f} {med['found']:>6.0f} {med['discovery_rate']:>10.3f} "
            f"{med['labelling_efficiency']:>11.3f} {med['seconds']:>8.2f}"
        )
    return "\n".join(lines)


def cmd_embed(args) -> int:
    out = check_writable(args.out, "--out")
    from .embeddings import OnnxImageEncoder, embed_array, embed_folder

    encoder = OnnxImageEncoder(image_size=args.image_size, batch_size=args.batch_size)
    labels = None
    if args.path.startswith("builtin:"):
        name = args.path.split(":", 1)[1]
        if name != "fashion-mnist":
            raise ParameterError(f"unknown built-in dataset {name!r}; the built-in dataset is builtin:fashion-mnist")
        from .datasets import load_fashion_mnist

        images, labels = load_fashion_mnist("test")
        emb = embed_array(images, encoder, progress=not args.quiet, use_cache=not args.no_cache,
                          desc="embedding built-in Fashion-MNIST")
        emb.items = [f"fashion-mnist/test/{i}" for i in range(images.shape[0])]
        source = "builtin:fashion-mnist (test split)"
    else:
        emb = embed_folder(args.path, encoder, progress=not args.quiet, use_cache=not args.no_cache)
        source = str(Path(args.path).resolve())
    stem = out.with_suffix("") if out.suffix == ".npy" else out
    manifest_path = stem.with_name(stem.name + ".manifest.json")
    save_npy(out, emb.vectors)
    manifest = {
        "source": source,
        "encoder": "efficientnet-lite0 (ImageNet), built in",
        "image_size": args.image_size,
        "shape": list(emb.vectors.shape),
        "items": emb.items,
        "skipped": [s.__dict__ for s in emb.skipped],
    }
    if labels is not None:
        labels_path = stem.with_name(stem.name + ".labels.npy")
        save_npy(labels_path, labels)
        manifest["labels"] = labels_path.name
    write_json(manifest_path, manifest)
    cached = " (from the cache)" if emb.from_cache else ""
    print(f"embedded {emb.vectors.shape[0]} image(s) -> {out} {emb.vectors.shape}{cached}; manifest {manifest_path}")
    if labels is not None:
        print(f"labels -> {manifest['labels']} (classes 0-9: Fashion-MNIST)")
    if emb.skipped:
        print(f"skipped {len(emb.skipped)} unreadable file(s):", file=sys.stderr)
        for s in emb.skipped[:20]:
            print(f"  {s.path}: {s.reason}", file=sys.stderr)
        if len(emb.skipped) > 20:
            print(f"  ... and {len(emb.skipped) - 20} more (all listed in the manifest)", file=sys.stderr)
    return 0


def cmd_demo(args) -> int:
    plot = check_writable(args.plot, "--plot")
    from .demo import format_table, run_demo

    demo = run_demo(args.target, fraction=args.fraction, n_seeds=args.seeds, epochs=args.epochs,
                    random_state=args.random_state, plot_path=plot, progress=not args.quiet)
    print()
    print(format_table(demo))
    print(f"\nplot of positives found against labels spent: {demo['plot']}")
    return 0


COMMANDS = {"simulate": cmd_simulate, "embed": cmd_embed, "demo": cmd_demo}


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except ElsaError as exc:
        print(f"elsa {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"elsa {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
