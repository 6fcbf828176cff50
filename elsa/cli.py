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
from .index import BACKENDS as INDEX_BACKENDS
from .search import DEFAULT_STRATEGY, DEFAULTS, STRATEGIES
from .search.strategies import PARAM_HELP, default_text
from .embeddings.torch_encoder import SPACES
from .ssl.config import METHODS, TrainConfig
from .session.demo import DEMO_FOLDER
from .web.server import DEFAULT_PORT


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


def _float_list(text: str) -> list[float]:
    try:
        return [_float(t) for t in text.replace(" ", "").split(",") if t]
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers such as 0.485,0.456,0.406; got {text!r}") from None


def _stop_spec(text: str):
    from .stopping import parse_stop

    try:
        return parse_stop(text)
    except ParameterError as exc:
        raise argparse.ArgumentTypeError(str(exc).replace("--stop ", "rule ")) from None


def _id_list(text: str) -> list[int]:
    try:
        ids = [int(t) for t in text.replace(" ", "").split(",") if t]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated row ids such as 3,17,42; got {text!r}") from None
    if not ids:
        raise argparse.ArgumentTypeError("expected at least one row id")
    return ids


_KINDS = {"pos_int": _pos_int, "nonneg_int": _nonneg_int, "float": _float, "probability": _probability}


def _add_strategy_params(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("strategy hyperparameters (defaults from the paper where it gives them)")
    for name, (kind, text) in PARAM_HELP.items():
        flag = "--" + name.replace("_", "-")
        options = {"choices": kind} if isinstance(kind, tuple) else {"type": _KINDS[kind]}
        g.add_argument(flag, help=f"{text} (default {default_text(name)})", **options)


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
    p.add_argument("--epochs", type=_nonneg_int,
                   help="epochs (rounds) before the final search (default 10 for the paper's strategies; no limit "
                        "with --stop, and for those that run until their budget: blend, knn-search, ens, cal, "
                        "nn-keep-going)")
    p.add_argument("--strategy", choices=STRATEGIES, default=DEFAULT_STRATEGY,
                   help=f"default {DEFAULT_STRATEGY} (not the paper's algorithm: that is elsa)")
    p.add_argument("--stop", type=_stop_spec, metavar="RULE",
                   help="budget:N (stop after N labels), recall:R@C (stop once recall R is certified with "
                        "confidence C, from an audit sample hidden from the search), or knee (the knee heuristic)")
    p.add_argument("--audit-positives", type=_pos_int, metavar="N",
                   help="recall:R@C: positives the audit sample is drawn until (default: the fewest that can certify)")
    p.add_argument("--audit-share", type=_probability, default=0.0, metavar="F",
                   help="after every oracle call, also label this share of its size of random audit items for an "
                        "unbiased recall estimate (default 0)")
    p.add_argument("--index", choices=INDEX_BACKENDS, default="auto",
                   help="search backend: exact, faiss's ivf, ivfpq or hnsw (the faiss extra), or ray (the pool in "
                        "shards on a Ray cluster: RAY_ADDRESS, else a local one; the ray extra); auto (the default) is "
                        "exact up to 2 million rows")
    p.add_argument("--shards", type=_pos_int, metavar="N",
                   help="with --index ray: shards of the pool, one actor each (default: one per CPU of the cluster)")
    p.add_argument("--index-recall", action="store_true",
                   help="report an approximate backend's recall@50 against the exact search on 200 of your rows")
    p.add_argument("--noise", type=_probability, default=0.0, metavar="P", help="flip each answer with probability P")
    p.add_argument("--repeats", type=_pos_int, default=1, metavar="R", help="independent runs (default 1)")
    p.add_argument("--random-state", type=_nonneg_int, default=0, metavar="S", help="default 0")
    p.add_argument("--output", metavar="results.json", help="write the full results as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_strategy_params(p)

    e = sub.add_parser("embed", allow_abbrev=False, help="embed a folder of images, or the built-in dataset",
                       description="Embed every image under PATH (recursive) with the built-in encoder, an ONNX model "
                                   "or a torch model. PATH 'builtin:fashion-mnist' embeds the built-in dataset and also "
                                   "writes its labels. Vectors are cached by image content: an interrupted run resumes "
                                   "where it stopped, and a changed image is re-embedded alone.")
    e.add_argument("path", metavar="PATH", help="an image folder, or builtin:fashion-mnist")
    e.add_argument("--out", required=True, metavar="emb.npy", help="output array; a manifest emb.manifest.json is written beside it")
    e.add_argument("--encoder", default="builtin", metavar="builtin|MODEL",
                   help="'builtin' (EfficientNet-Lite0, ImageNet; the default), an .onnx image model, or a torch "
                        "model: a checkpoint (or folder) from `elsa train`, an exported program (.pt2) or a "
                        "TorchScript file")
    e.add_argument("--space", choices=SPACES, default="embedding",
                   help="for `elsa train` checkpoints: the encoder output (embedding, the default) or the projector "
                        "output (projector: the latent space)")
    e.add_argument("--image-size", type=_pos_int,
                   help="input size in pixels (default: 64 for the built-in encoder, a multiple of 32; the model's "
                        "own size for an ONNX model with a fixed input, else 224; the training size for a checkpoint)")
    e.add_argument("--mean", type=_float_list, metavar="M[,M,M]",
                   help="per-channel mean in [0, 1] pixel units for a user's model (default ImageNet's)")
    e.add_argument("--std", type=_float_list, metavar="S[,S,S]",
                   help="per-channel std in [0, 1] pixel units for a user's model (default ImageNet's)")
    e.add_argument("--batch-size", type=_pos_int, default=128, help="images per inference call (default 128)")
    e.add_argument("--workers", type=_pos_int, default=2, help="image decoding threads (default 2)")
    e.add_argument("--engine", choices=("local", "ray"), default="local",
                   help="local (this process, the default) or ray: tasks of --task-size images on a Ray cluster "
                        "(RAY_ADDRESS, else a local one; the ray extra; the folder must be readable at the same path "
                        "on every node). Vectors are cached here either way, so an interrupted run resumes")
    e.add_argument("--task-size", type=_pos_int, metavar="N", help="with --engine ray: images per task (default 512)")
    e.add_argument("--device", default="auto", help="torch models: cpu, cuda or auto (default)")
    e.add_argument("--allow-pickle", action="store_true",
                   help="allow a torch model saved with torch.save(module); loading it runs code from the file")
    e.add_argument("--no-cache", action="store_true", help="neither read nor write the embedding cache")
    e.add_argument("--quiet", action="store_true", help="no progress bar")

    t = sub.add_parser("train", allow_abbrev=False, help="train a self-supervised encoder on your own images",
                       description="Train VICReg, Barlow Twins or SimSiam on the images under PATH (needs the torch "
                                   "extra). Writes DIR/checkpoint.pt (every epoch, and on Ctrl-C) and "
                                   "DIR/train_log.jsonl; --resume continues an interrupted run. Then embed with "
                                   "`elsa embed PATH --encoder DIR --space embedding|projector`.")
    t.add_argument("path", metavar="PATH", help="an image folder, or builtin:fashion-mnist")
    t.add_argument("--out", required=True, metavar="DIR", help="folder for the checkpoint and the training log")
    t.add_argument("--method", choices=METHODS, default="vicreg", help="default vicreg")
    t.add_argument("--epochs", type=_pos_int, default=TrainConfig.epochs, help=f"default {TrainConfig.epochs}")
    t.add_argument("--batch-size", type=_pos_int, default=TrainConfig.batch_size, help=f"default {TrainConfig.batch_size}")
    t.add_argument("--image-size", type=_pos_int, default=TrainConfig.image_size,
                   help=f"training crop size in pixels (default {TrainConfig.image_size})")
    t.add_argument("--width", type=_pos_int, default=TrainConfig.width,
                   help=f"ResNet width: channels of the first stage; the embedding has 8x this (default {TrainConfig.width})")
    t.add_argument("--projector-dim", type=_pos_int, default=TrainConfig.projector_dim,
                   help=f"projector units per layer (default {TrainConfig.projector_dim})")
    t.add_argument("--lr", type=_float, default=TrainConfig.lr, help=f"AdamW learning rate (default {TrainConfig.lr})")
    t.add_argument("--random-state", type=_nonneg_int, default=0, metavar="S", help="seed (default 0)")
    t.add_argument("--device", default="auto", help="cpu, cuda or auto (default: a GPU when torch sees one)")
    t.add_argument("--resume", action="store_true", help="continue the run in DIR")
    t.add_argument("--quiet", action="store_true", help="no progress bar")

    lb = sub.add_parser("label", allow_abbrev=False, help="label in your browser while ELSA searches",
                        description="Serve the labelling page for the session in PROJECT (a folder; its answers are "
                                    "in PROJECT/elsa-session.sqlite, saved as you give them). Start a session with "
                                    "--embeddings (from `elsa embed`) and seeds; reopen one with --resume. With no "
                                    "arguments, opens a demo session on the built-in data.")
    lb.add_argument("project", nargs="?", metavar="PROJECT", help=f"session folder (default: the demo, ./{DEMO_FOLDER})")
    lb.add_argument("--embeddings", metavar="E.npy", help="start a session over this pool (from `elsa embed`)")
    lb.add_argument("--manifest", metavar="M.json", help="item list with image paths (default: E.manifest.json beside E.npy)")
    lb.add_argument("--target", default="", help="what you are looking for, shown on the page")
    lb.add_argument("--seed-ids", type=_id_list, metavar="I,J,...", help="seed positives by row id")
    lb.add_argument("--seed-items", metavar="PATH,...", help="seed positives by item path (as in the manifest)")
    lb.add_argument("--labels-from", metavar="FILE", help="start from existing labels (CSV or JSONL with item or id, and label)")
    lb.add_argument("--strategy", choices=STRATEGIES, default=DEFAULT_STRATEGY,
                    help=f"default {DEFAULT_STRATEGY} (not the paper's algorithm: that is elsa)")
    lb.add_argument("--epochs", type=_nonneg_int, help="epochs before the final search (default 10 for the paper's "
                                                       "strategies, no limit for blend and the other round-based ones; "
                                                       "on --resume, a larger value continues a finished session)")
    lb.add_argument("--budget", type=_nonneg_int, help="labels allowed (default: no limit); on --resume, changes it")
    lb.add_argument("--stop", type=_stop_spec, metavar="RULE",
                    help="budget:N, recall:R@C (stop once recall R is certified with confidence C; random checks "
                         "are mixed into the batches) or knee; with a rule, epochs are unlimited by default")
    lb.add_argument("--audit-share", type=_probability, metavar="F",
                    help="random checks added to each batch, as a share of its size, for an unbiased recall "
                         "estimate (default 0.1 with recall:R@C, else 0)")
    lb.add_argument("--audit-positives", type=_pos_int, metavar="N",
                    help="recall:R@C: the random positives the certificate rests on (default: the fewest that can certify)")
    lb.add_argument("--random-state", type=_nonneg_int, default=0, metavar="S", help="default 0")
    lb.add_argument("--index", choices=INDEX_BACKENDS, default="auto",
                    help="search backend (default auto: exact up to 2 million rows, then faiss; ray: the pool in "
                         "shards on a Ray cluster, RAY_ADDRESS or a local one)")
    lb.add_argument("--shards", type=_pos_int, metavar="N",
                    help="with --index ray: shards of the pool (default: one per CPU of the cluster)")
    lb.add_argument("--resume", action="store_true", help="reopen the session in PROJECT where it stopped")
    lb.add_argument("--export", metavar="FILE", help="write the labels (.csv, .jsonl, or .txt for the positives) and exit")
    lb.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1; any other needs a token)")
    lb.add_argument("--port", type=_nonneg_int, default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}; 0 picks a free port")
    lb.add_argument("--token", help="access token (default: generated when --host is not loopback)")
    lb.add_argument("--user", help="your name in the label history (default: your login)")
    lb.add_argument("--open", action="store_true", help="open the page in a browser")
    lb.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_strategy_params(lb)

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


def _index_options(args) -> dict:
    """The backend options the command line gives (``--shards``, for ``--index ray``)."""
    if args.shards is None:
        return {}
    if args.index != "ray":
        raise ParameterError("--shards applies only to --index ray")
    return {"shards": args.shards}


def _epochs(args) -> int | str | None:
    """``--epochs``, else no limit with a stopping rule, else the strategy's own default ("auto")."""
    if args.epochs is not None:
        return args.epochs
    return None if args.stop is not None else "auto"


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
            repeats=args.repeats, budget=args.budget, noise=args.noise, epochs=_epochs(args),
            random_state=args.random_state, params=params, on_round=on_round, stop=args.stop,
            audit_positives=args.audit_positives, audit_share=args.audit_share,
            index=args.index, index_recall=args.index_recall, index_options=_index_options(args),
            progress=not args.quiet,
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
        + (f", stop {p['stop']}" if p.get("stop") else "")
        + (f", index {p['index']}" if p.get("index", "exact") != "exact" else "")
        + (f" (recall@50 against exact search {p['index_recall']:.3f})" if p.get("index_recall") is not None else "")
        + (f", oracle noise {p['noise']}" if p["noise"] else ""),
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
        if r.get("audit_labels"):
            lines.append(f"{'':>5}audit: {r['audit_labels']} random item(s) labelled; "
                         f"{r['labels_total']} distinct labels in all")
    if len(runs) > 1:
        med = {k: s[k]["median"] for k in s}
        lines.append(
            f"{'med':>4} {med['queries']:>8.0f} {med['found']:>6.0f} {med['discovery_rate']:>10.3f} "
            f"{med['labelling_efficiency']:>11.3f} {med['seconds']:>8.2f}"
        )
    return "\n".join(lines)


def _describe(est: dict) -> str:
    from .stopping import RecallEstimate

    return RecallEstimate(**est).describe()


def _builtin_images(path: str):
    name = path.split(":", 1)[1]
    if name != "fashion-mnist":
        raise ParameterError(f"unknown built-in dataset {name!r}; the built-in dataset is builtin:fashion-mnist")
    from .datasets import load_fashion_mnist

    return load_fashion_mnist("test")


def _print_skipped(skipped) -> None:
    if skipped:
        print(f"skipped {len(skipped)} unreadable file(s):", file=sys.stderr)
        for s in skipped[:20]:
            print(f"  {s.path}: {s.reason}", file=sys.stderr)
        if len(skipped) > 20:
            print(f"  ... and {len(skipped) - 20} more (all listed in the manifest)", file=sys.stderr)


def cmd_embed(args) -> int:
    out = check_writable(args.out, "--out")
    if out.suffix != ".npy":
        raise ParameterError(f"--out must name a .npy file, got {out}")
    from .embeddings import embed_array, embed_folder, load_encoder

    encoder = load_encoder(args.encoder, space=args.space, image_size=args.image_size, batch_size=args.batch_size,
                           mean=args.mean, std=args.std, device=args.device, allow_pickle=args.allow_pickle)
    stem = out.with_suffix("")
    manifest_path = stem.with_name(stem.name + ".manifest.json")
    labels = None
    options = dict(out=out, progress=not args.quiet, use_cache=not args.no_cache, workers=args.workers)
    if args.task_size is not None and args.engine != "ray":
        raise ParameterError("--task-size applies only to --engine ray")
    if args.engine == "ray" and args.path.startswith("builtin:"):
        raise ParameterError("--engine ray embeds image folders; the built-in dataset is embedded locally")
    try:
        if args.path.startswith("builtin:"):
            images, labels = _builtin_images(args.path)
            emb = embed_array(images, encoder, desc="embedding built-in Fashion-MNIST",
                              names=[f"fashion-mnist/test/{i}" for i in range(images.shape[0])], **options)
            source = "builtin:fashion-mnist (test split)"
        else:
            emb = embed_folder(args.path, encoder, engine=args.engine,
                               engine_options={"task_size": args.task_size} if args.task_size else None, **options)
            source = str(Path(args.path).resolve())
    except KeyboardInterrupt:
        hint = "; finished images are cached: run the same command to resume" if not args.no_cache else ""
        print(f"elsa embed: interrupted{hint}", file=sys.stderr)
        return 130
    manifest = {
        "source": source,
        "encoder": "efficientnet-lite0 (ImageNet), built in" if args.encoder == "builtin" else str(args.encoder),
        "space": args.space,
        "image_size": encoder.image_size,
        "mean": list(encoder.mean),
        "std": list(encoder.std),
        "fingerprint": encoder.fingerprint,
        "shape": list(emb.vectors.shape),
        "items": emb.items,
        "skipped": [s.__dict__ for s in emb.skipped],
    }
    if labels is not None:
        labels_path = stem.with_name(stem.name + ".labels.npy")
        save_npy(labels_path, labels)
        manifest["labels"] = labels_path.name
    write_json(manifest_path, manifest)
    reused = len(emb.items) - emb.n_computed
    cached = f" ({reused} from the cache)" if reused else ""
    print(f"embedded {emb.vectors.shape[0]} image(s) -> {out} {emb.vectors.shape}{cached}; manifest {manifest_path}")
    if labels is not None:
        print(f"labels -> {manifest['labels']} (classes 0-9: Fashion-MNIST)")
    _print_skipped(emb.skipped)
    return 0


def cmd_train(args) -> int:
    config = TrainConfig(method=args.method, epochs=args.epochs, batch_size=args.batch_size,
                         image_size=args.image_size, width=args.width, projector_dim=args.projector_dim, lr=args.lr,
                         seed=args.random_state)
    out = Path(args.out)
    from .embeddings import load_image_array
    from .ssl import train
    from .ssl.trainer import check_run_folder

    check_run_folder(out, args.resume)

    if args.path.startswith("builtin:"):
        images, _ = _builtin_images(args.path)
    else:
        images, _, skipped = load_image_array(args.path, args.image_size, progress=not args.quiet)
        _print_skipped(skipped)
    try:
        result = train(images, config, out, resume=args.resume, device=args.device, progress=not args.quiet)
    except KeyboardInterrupt:
        print("elsa train: interrupted; checkpoint saved: continue with the same command and --resume",
              file=sys.stderr)
        return 130
    print(f"trained {args.method} for {result.steps} steps in {result.seconds / 60:.1f} min, final loss "
          f"{result.final_loss:.4g}; checkpoint {result.checkpoint}, log {result.log}")
    print(f"embed with: elsa embed {args.path} --encoder {out} --space embedding --out emb.npy")
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


def cmd_label(args) -> int:
    from .session import DB_NAME, Session
    from .session.transfer import export_project

    params = {k: getattr(args, k) for k in STRATEGY_PARAM_NAMES if getattr(args, k) is not None}
    creating = args.embeddings is not None
    if args.token is not None and len(args.token) < 16:
        raise ParameterError("--token must be at least 16 characters")
    if args.export:
        if args.project is None or creating:
            raise ParameterError("--export needs PROJECT (an existing session) and no --embeddings")
        n = export_project(args.project, args.export)
        print(f"{n} label(s) written to {args.export}")
        return 0
    if creating and args.resume:
        raise ParameterError("give --embeddings to start a session, or --resume to reopen one, not both")
    if not creating and (args.seed_ids or args.seed_items or args.labels_from or params or args.target
                         or args.strategy != DEFAULT_STRATEGY or args.stop or args.audit_share is not None
                         or args.audit_positives):
        raise ParameterError("seeds, target, strategy and its parameters are set when a session starts "
                             "(with --embeddings); a reopened session keeps its own")
    if args.project is None and not creating:
        from .session.demo import open_demo_session

        session = open_demo_session(progress=not args.quiet, user=args.user)
    elif creating:
        if args.project is None:
            raise ParameterError("name the session folder: elsa label PROJECT --embeddings E.npy ...")
        seeds = list(args.seed_ids or [])
        session = Session.create(
            args.project, args.embeddings, manifest=args.manifest, target=args.target, seed_ids=seeds,
            seed_items=[t for t in (args.seed_items or "").split(",") if t],
            strategy=args.strategy, budget=args.budget, epochs=_epochs(args), params=params,
            random_state=args.random_state, user=args.user, labels_from=args.labels_from,
            stop=None if args.stop is None else str(args.stop), audit_share=args.audit_share,
            audit_positives=args.audit_positives, index=args.index, index_options=_index_options(args),
        )
    else:
        if not (Path(args.project) / DB_NAME).exists():
            raise ParameterError(f"no session in {args.project}; start one with --embeddings E.npy")
        session = Session.open(args.project, user=args.user)
        if args.epochs is not None and args.epochs > session.settings["epochs"]:
            session.extend(args.epochs - session.settings["epochs"])
        if args.budget is not None:
            session.set_budget(args.budget)
    try:
        p = session.progress()
        if not session.images.available:
            print("note: the pool has no manifest with image paths (write one with `elsa embed`); the page will "
                  "show item names only", file=sys.stderr)
        if not session.positive_items().size and session.settings["strategy"] not in ("usl", "latent", "random"):
            print("note: no seeds yet; the search starts from random items until the first positive "
                  "(add seeds on the page, or use --strategy usl)", file=sys.stderr)
        print(f"{p.found} positive(s) found with {p.labels} label(s) so far; {p.pending} item(s) waiting")
        if p.estimate:
            print(_describe(p.estimate))
        from .web.server import serve

        serve(session, host=args.host, port=args.port, token=args.token, open_browser=args.open)
        p = session.progress()
    finally:
        session.close()
    print(f"session saved: {p.found} positive(s) found with {p.labels} label(s). Export with "
          f"`elsa label {session.folder} --export labels.csv`")
    if p.estimate:
        print(_describe(p.estimate))
    return 0


COMMANDS = {"simulate": cmd_simulate, "label": cmd_label, "embed": cmd_embed, "train": cmd_train, "demo": cmd_demo}


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
