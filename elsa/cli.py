"""``elsa``: the command line. It parses, builds library objects and prints; no algorithm lives here.

Exit status: 0 on success, 2 for a usage error (a bad option value), 1 for bad input
data (a missing file or session included) and for a failure while running, 130 when
interrupted. Errors print one line, never a traceback (``ELSA_DEBUG=1`` shows the
traceback of an unexpected one). The options themselves are in :mod:`elsa.cli_parser`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from ._io import check_writable, load_npy, load_pool_file, save_npy, write_json
from .cli_parser import build_parser, plan_from_args
from .exceptions import ElsaError, InputError, ParameterError
from .search.registry import describe_strategies
from .ssl.config import TrainConfig


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


def _embed_records(args, out) -> int:
    """``elsa embed RECORDS --out F.npz``: text records to sparse features (:func:`elsa.text.pool.embed_records`)."""
    if out.suffix != ".npz":
        raise ParameterError(f"text features are sparse: --out must name a .npz file, got {out}")
    from .cli_simulate import print_problems
    from .text.pool import embed_records

    manifest, records = embed_records(args.path, out, args.text_columns, use_cache=not args.no_cache,
                                      progress=not args.quiet)
    n, d = manifest["shape"]
    print(f"featurised {n} record(s) -> {out} ({n} x {d} sparse, {manifest['nonzeros']:,} non-zeros); manifest "
          f"{out.with_suffix('')}.manifest.json" + (f"; labels -> {manifest['labels']}" if "labels" in manifest else ""))
    print_problems(records)
    return 0


def cmd_embed(args) -> int:
    out = check_writable(args.out, "--out")
    from .text.records import FORMATS

    if Path(args.path).suffix.lower() in FORMATS and Path(args.path).is_file():
        return _embed_records(args, out)
    if args.text_columns is not None:
        raise ParameterError("--text-columns applies only to a records file (.csv, .tsv, .jsonl, .ris, .txt)")
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
    notes = ([f"{emb.n_cached} from the cache"] if emb.n_cached else []) + (
        [f"{emb.n_duplicates} duplicate{'s' if emb.n_duplicates != 1 else ''} of other images"] if emb.n_duplicates else [])
    cached = f" ({'; '.join(notes)})" if notes else ""
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
    from .ssl import require_torch, train

    require_torch()  # before anything else: elsa.ssl.trainer imports torch
    from .embeddings import load_image_array
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
    if args.topic is not None and not args.text:
        raise ParameterError("--topic applies only to --text")
    plot = check_writable(args.plot or ("elsa-demo-text.png" if args.text else "elsa-demo.png"), "--plot")
    from .demo import format_table, run_demo

    if args.text:
        from .demo_text import TEXT_TOPIC, run_text_demo

        demo = run_text_demo(args.topic or TEXT_TOPIC, n_seeds=args.seeds, random_state=args.random_state,
                             plot_path=plot, progress=not args.quiet)
    else:
        demo = run_demo(args.target, fraction=args.fraction, n_seeds=args.seeds, epochs=args.epochs,
                        random_state=args.random_state, plot_path=plot, progress=not args.quiet)
    print()
    print(format_table(demo))
    print(f"\nplot of positives found against labels spent: {demo['plot']}")
    return 0


def cmd_label(args) -> int:
    from .cli_label import cmd_label as run

    return run(args)


def cmd_simulate(args) -> int:
    from .cli_simulate import cmd_simulate as run

    return run(args)


def cmd_plot(args) -> int:
    from .cli_simulate import cmd_plot as run

    return run(args)


COMMANDS = {"simulate": cmd_simulate, "plot": cmd_plot, "label": cmd_label, "embed": cmd_embed, "train": cmd_train,
            "demo": cmd_demo, "strategies": lambda args: print(describe_strategies()) or 0}


def main(argv=None) -> int:
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except ElsaError as exc:
        print(f"elsa {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"elsa {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the output was piped into `head` or a pager that closed: nothing to say
        sys.stderr.close()
        return 0
    except OSError as exc:  # a file the library did not expect to fail: disk full, permissions, ...
        where = f": {exc.filename}" if exc.filename else ""
        print(f"elsa {args.command}: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 1
    except MemoryError:
        print(f"elsa {args.command}: error: out of memory", file=sys.stderr)
        return 1
    except Exception as exc:  # a bug: one line, and the traceback on request
        if os.environ.get("ELSA_DEBUG"):
            raise
        print(f"elsa {args.command}: internal error: {type(exc).__name__}: {exc} (a bug in ELSA: please report "
              "it; ELSA_DEBUG=1 shows the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
