"""The command line's grammar: argparse with ELSA's value types and one-line usage errors.

:func:`build_parser` is everything ``elsa --help`` shows; :mod:`elsa.cli` runs what it parses.
"""

from __future__ import annotations

import argparse
import sys

from . import __version__
from .embeddings.encoder import BATCH_SIZE
from .embeddings.torch_encoder import SPACES
from .index import BACKENDS as INDEX_BACKENDS
from .search import DEFAULT_STRATEGY, DEFAULTS, STRATEGIES
from .search.registry import PARAM_HELP, SPECS, epochs_help, param_component, strategy_params
from .session.store import DEMO_FOLDER
from .ssl.config import METHODS, TrainConfig
from .exceptions import ParameterError
from .web.server import DEFAULT_PORT


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error printed as one line and a pointer to ``--help``
    instead of the whole usage block (up to 20 lines) before the message."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message}\nsee `{self.prog} --help`\n")


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


def _port(text: str) -> int:
    value = _nonneg_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"a port is 0-65535, got {value}")
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


def _rate_list(text: str) -> list[float]:
    rates = _float_list(text)
    if not rates or not all(0.0 <= r <= 0.5 for r in rates):
        raise argparse.ArgumentTypeError(f"expected each labeller's chance of a wrong answer, from 0 to 0.5, "
                                         f"comma-separated such as 0.1,0.2; got {text!r}")
    return rates


def _row_list(text: str) -> list[int]:
    try:
        rows = [int(t) for t in text.replace(" ", "").split(",") if t]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated row numbers such as 3,17,42; got {text!r}") from None
    if not rows:
        raise argparse.ArgumentTypeError("expected at least one row number")
    return rows


def _name_list(text: str) -> list[str]:
    names = [t.strip() for t in text.split(",") if t.strip()]
    if not names:
        raise argparse.ArgumentTypeError("expected at least one id")
    return names


_KINDS = {"pos_int": _pos_int, "nonneg_int": _nonneg_int, "float": _float, "probability": _probability,
          "text": str}  # "text": read by its sampler alone, when the plan builds the search


def _add_strategy_params(p: argparse.ArgumentParser, shown: str | None) -> None:
    """Every strategy's parameters are accepted (a plan names one that its strategy does not
    take); only strategy ``shown``'s are listed in ``--help``, by component and with its own
    defaults. Without ``--strategy`` on the command line, the help points there instead."""
    spec = SPECS.get(shown)
    g = None
    if spec is not None:
        g = p.add_argument_group(f"parameters of {shown}", f"{spec.summary} (elsa strategies lists every "
                                                           "strategy's parameters)")
    own = strategy_params(shown) if spec is not None else {}
    for name in DEFAULTS:
        kind, text = PARAM_HELP[name]
        options = {"choices": kind} if isinstance(kind, tuple) else {"type": _KINDS[kind]}
        flag = "--" + name.replace("_", "-")
        if spec is not None and name in spec.params:
            g.add_argument(flag, help=f"{param_component(shown, name)}.{name}: {text} (default {own[name]})", **options)
        else:
            p.add_argument(flag, help=argparse.SUPPRESS, **options)


def _strategy_in(argv) -> str | None:
    """The ``--strategy`` an argument list names, if it names one (for the help it shows)."""
    argv = list(argv or [])
    for i, arg in enumerate(argv):
        if arg == "--strategy" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--strategy="):
            return arg.split("=", 1)[1]
    return None


_PARAMS_EPILOG = ("Each strategy's own parameters: elsa {command} --strategy NAME --help (elsa strategies lists "
                  "the strategies).")


STRATEGY_PARAM_NAMES = tuple(DEFAULTS)


def index_options(args) -> dict:
    """The backend options the command line gives (``--shards``, for ``--index ray``)."""
    if args.shards is None:
        return {}
    if args.index != "ray":
        raise ParameterError("--shards applies only to --index ray")
    return {"shards": args.shards}


def plan_from_args(args):
    """The run's :class:`~elsa.plan.SearchPlan` from ``elsa simulate``'s or ``elsa label``'s
    options, checked once (the stopping rule is read there, not here). ``--epochs`` unset
    is the plan's ``auto``: no limit with a stopping rule, else the strategy's own."""
    from .plan import SearchPlan

    params = {k: getattr(args, k) for k in STRATEGY_PARAM_NAMES if getattr(args, k) is not None}
    return SearchPlan(
        args.strategy, params=params, budget=args.budget, epochs="auto" if args.epochs is None else args.epochs,
        stop=args.stop, audit_share=args.audit_share, audit_positives=args.audit_positives, index=args.index,
        index_options=index_options(args), second_looks=getattr(args, "second_looks", False),
        weigh_answers=getattr(args, "weigh_answers", False), random_state=args.random_state)


def build_parser(argv=None) -> argparse.ArgumentParser:
    """The command line's parser; ``argv`` (default ``sys.argv[1:]``) decides whose strategy
    parameters ``--help`` lists (its ``--strategy``'s)."""
    parser = _Parser(
        prog="elsa",
        description="Find every example of a rare class in a large unlabelled pool, labelling as little as possible.",
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"elsa {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    shown = _strategy_in(sys.argv[1:] if argv is None else argv)
    _simulate_parser(sub, shown)
    _embed_parser(sub)
    _train_parser(sub)
    _label_parser(sub, shown)
    _plot_parser(sub)
    _strategies_parser(sub)
    _demo_parser(sub)
    return parser


def _simulate_parser(sub, shown: str | None) -> None:
    """``elsa simulate``: a search with ground-truth labels as the oracle."""
    p = sub.add_parser("simulate", allow_abbrev=False,
                       help="run a search with a simulated oracle built from ground-truth labels",
                       description="Run ELSA or a baseline with ground-truth labels standing in for the person "
                                   "labelling, and report discovery rate and labelling efficiency.",
                       epilog=_PARAMS_EPILOG.format(command="simulate"))
    pool = p.add_mutually_exclusive_group(required=True)
    pool.add_argument("--embeddings", metavar="E.npy", help="float array (n, d), or text features (.npz) from `elsa embed`")
    pool.add_argument("--records", metavar="FILE",
                      help="text records (.csv, .tsv, .jsonl, .ris or .txt), one item each, featurised as sparse TF-IDF")
    p.add_argument("--text-columns", metavar="A,B", help="with --records: the columns whose text is searched "
                                                         "(default title,abstract)")
    p.add_argument("--labels", metavar="L.npy", help="integer class ids (n,); with --records, the default is the "
                                                     "file's label_included column")
    p.add_argument("--target", required=True, type=int, metavar="CLASS",
                   help="the class to find, as a number: the rows whose --labels value (or label_included value, "
                        "with --records) is CLASS are the positives (in `elsa label`, --target is what you look for, "
                        "in words)")
    p.add_argument("--describe", metavar="TEXT", help="with --records: what you are looking for, in words; the search "
                                                       "trains on it as one more positive from the first page (with --seeds 0, "
                                                       "it chooses the first page)")
    p.add_argument("--seeds", type=_nonneg_int, help="seed positives drawn at random (default 5)")
    p.add_argument("--seed-ids", type=_name_list, metavar="ID,...",
                   help="the seeds, instead of --seeds: record ids (the record_id column) with --records, row numbers "
                        "with --embeddings")
    p.add_argument("--seed-rows", type=_row_list, metavar="ROW,...", help="the seeds by row number (0 is the first "
                                                                         "row or record), instead of --seeds")
    p.add_argument("--budget", type=_pos_int, help="total oracle queries allowed (default: no limit)")
    p.add_argument("--epochs", type=_nonneg_int,
                   help=f"epochs (rounds) before the final search ({epochs_help()}; no limit with --stop)")
    p.add_argument("--strategy", choices=STRATEGIES, default=DEFAULT_STRATEGY,
                   help=f"default {DEFAULT_STRATEGY} (not the paper's algorithm: that is elsa)")
    p.add_argument("--stop", metavar="RULE",
                   help="budget:N (stop after N labels), recall:R@C (search while it pays, label one random sample "
                        "of the rest, and certify recall R with confidence C once the search has found the sample's "
                        "positives), estimate:R (stop when the search's own model puts recall at R; an estimate, no "
                        "guarantee), audit:R@C (search, then audit the rest at random until certified), qbcb:R@C "
                        "(Lewis et al.'s certificate from an audit sample drawn first) or knee (no guarantee)")
    p.add_argument("--audit-positives", type=_pos_int, metavar="N",
                   help="qbcb:R@C: positives the audit sample is drawn until (default: the fewest that can certify)")
    p.add_argument("--audit-share", type=_probability, metavar="F",
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
    p.add_argument("--labellers", type=_rate_list, default=[], metavar="P,P,...",
                   help="several simulated labellers instead of one, each wrong with their own probability (one rate "
                        "per labeller; each item goes to one of them at random); not with --noise")
    p.add_argument("--double-share", type=_probability, default=0.0, metavar="F",
                   help="with --labellers: the share of items also given to a second labeller (its answers count "
                        "against the budget; where two disagree, the search weighs each by its labeller's estimated "
                        "reliability)")
    p.add_argument("--resolver-rate", type=_probability, metavar="P",
                   help="with --double-share: someone settles each disagreement with a third answer, wrong with "
                        "probability P (0: always right), which stands; its labels count against the budget")
    p.add_argument("--second-looks", action="store_true",
                   help="after each page, ask again about the answers the held-out k-NN model most disagrees with "
                        "(10%% of the first 100 labels, then 1%%, more while they find mistakes, at most 10%%; "
                        "experimental, see docs/simulate.md)")
    p.add_argument("--weigh-answers", action="store_true",
                   help="weigh each answer against its neighbours' and the labeller's estimated error rate, "
                        "and search on those beliefs (experimental, see docs/simulate.md)")
    p.add_argument("--repeats", type=_pos_int, default=1, metavar="R", help="independent runs (default 1)")
    p.add_argument("--random-state", type=_nonneg_int, default=0, metavar="S", help="default 0")
    p.add_argument("--output", metavar="results.json", help="write the full results as JSON")
    p.add_argument("--plot", metavar="PNG", help="plot positives found against labels spent (the median over "
                                                 "--repeats runs); `elsa plot` draws several --output files together")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_strategy_params(p, shown)


def _embed_parser(sub) -> None:
    """``elsa embed``: images or text records to a pool."""
    e = sub.add_parser("embed", allow_abbrev=False, help="embed a folder of images or the built-in dataset, or "
                                                        "featurise text records",
                       description="Embed every image under PATH (recursive) with the built-in encoder, an ONNX model "
                                   "or a torch model. PATH 'builtin:fashion-mnist' embeds the built-in dataset and also "
                                   "writes its labels. Vectors are cached by image content: an interrupted run resumes "
                                   "where it stopped, and a changed image is re-embedded alone. A records file (.csv, "
                                   ".tsv, .jsonl, .ris, .txt) is featurised as sparse TF-IDF of words and word pairs "
                                   "into a .npz.")
    e.add_argument("path", metavar="PATH", help="an image folder, builtin:fashion-mnist, or a text records file "
                                                "(.csv, .tsv, .jsonl, .ris, .txt)")
    e.add_argument("--out", required=True, metavar="emb.npy",
                   help="output array (.npy; for text records, sparse features: .npz); a manifest emb.manifest.json "
                        "is written beside it")
    e.add_argument("--text-columns", metavar="A,B", help="for text records: the columns whose text is featurised "
                                                         "(default title,abstract)")
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
    e.add_argument("--batch-size", type=_pos_int, default=BATCH_SIZE,
                   help=f"images per inference call (default {BATCH_SIZE}, measured)")
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


def _train_parser(sub) -> None:
    """``elsa train``: a self-supervised encoder."""
    t = sub.add_parser("train", allow_abbrev=False, help="train a self-supervised encoder on your own images",
                       description="Train VICReg, Barlow Twins or SimSiam on the images under PATH (needs the train "
                                   "extra: pip install 'elsa-search[train]' torch==2.13.0). Writes "
                                   "DIR/checkpoint.pt (every epoch, and on Ctrl-C) and "
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


def _label_parser(sub, shown: str | None) -> None:
    """``elsa label``: the labelling page over a session."""
    lb = sub.add_parser("label", allow_abbrev=False, help="label in your browser while ELSA searches",
                        epilog=_PARAMS_EPILOG.format(command="label"),
                        description="Serve the labelling page for the session in PROJECT (a folder; its answers are "
                                    "in PROJECT/elsa-session.sqlite, saved as you give them). Start a session with "
                                    "--embeddings (from `elsa embed`) or --records (text) and seeds; reopen one with --resume. With no "
                                    "arguments, opens a demo session on the built-in data.")
    lb.add_argument("project", nargs="?", metavar="PROJECT", help=f"session folder (default: the demo, ./{DEMO_FOLDER})")
    lb.add_argument("--embeddings", metavar="E.npy", help="start a session over this pool (from `elsa embed`; a .npz "
                                                          "of text features shows the records it was made from)")
    lb.add_argument("--records", metavar="FILE", help="start a session over text records (.csv, .tsv, .jsonl, .ris, "
                                                      ".txt), shown as text cards")
    lb.add_argument("--text-columns", metavar="A,B", help="with --records: the columns searched and shown (default "
                                                          "title,abstract)")
    lb.add_argument("--manifest", metavar="M.json", help="item list with image paths (default: E.manifest.json beside E.npy)")
    lb.add_argument("--target", default="", metavar="TEXT",
                    help="what you are looking for, in words, shown on the page; with --records, its words also count "
                         "as one more positive example from the first page (with no seeds, they choose it). (In "
                         "`elsa simulate`, --target is a class number.)")
    lb.add_argument("--seed-ids", type=_name_list, metavar="ID,...",
                    help="seed positives: record ids (the record_id column) with --records, row numbers with "
                         "--embeddings")
    lb.add_argument("--seed-items", metavar="NAME,...", help="seed positives by item name: image paths as in the "
                                                            "manifest, or record ids")
    lb.add_argument("--seed-rows", type=_row_list, metavar="ROW,...", help="seed positives by row number (0 is the "
                                                                          "first row or record)")
    lb.add_argument("--labels-from", metavar="FILE", help="start from existing labels (CSV or JSONL with item or id, and label)")
    lb.add_argument("--strategy", choices=STRATEGIES, default=DEFAULT_STRATEGY,
                    help=f"default {DEFAULT_STRATEGY} (not the paper's algorithm: that is elsa)")
    lb.add_argument("--epochs", type=_nonneg_int, help=f"epochs before the final search ({epochs_help()}; on "
                                                       "--resume, a larger value continues a finished session)")
    lb.add_argument("--budget", type=_pos_int, help="labels allowed (default: no limit); on --resume, changes it")
    lb.add_argument("--stop", metavar="RULE",
                    help="budget:N, recall:R@C (search while it pays, then pages of random checks of one sample "
                         "of the rest; recall R is certified with confidence C once the search has found the "
                         "sample's positives), estimate:R (stop when the search's own model puts recall at R; no "
                         "guarantee), audit:R@C (search, then random checks until certified), qbcb:R@C (random checks "
                         "mixed into the batches, Lewis et al.'s certificate) or knee; with a rule, epochs are "
                         "unlimited by default")
    lb.add_argument("--audit-share", type=_probability, metavar="F",
                    help="random checks added to each batch, as a share of its size, for an unbiased recall "
                         "estimate (default 0.1 with qbcb:R@C, else 0)")
    lb.add_argument("--audit-positives", type=_pos_int, metavar="N",
                    help="qbcb:R@C: the random positives the certificate rests on (default: the fewest that can certify)")
    lb.add_argument("--random-state", type=_nonneg_int, default=0, metavar="S", help="default 0")
    lb.add_argument("--index", choices=INDEX_BACKENDS, default="auto",
                    help="search backend (default auto: exact up to 2 million rows, then faiss; ray: the pool in "
                         "shards on a Ray cluster, RAY_ADDRESS or a local one)")
    lb.add_argument("--shards", type=_pos_int, metavar="N",
                    help="with --index ray: shards of the pool (default: one per CPU of the cluster)")
    lb.add_argument("--resume", action="store_true", help="reopen the session in PROJECT where it stopped")
    lb.add_argument("--images", metavar="FOLDER", help="with --resume: the image folder's new place, when it was "
                                                       "moved or renamed since the session began")
    lb.add_argument("--export", metavar="FILE", help="write the labels (.csv, .jsonl, or .txt for the positives) and exit")
    lb.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1; any other needs a token)")
    lb.add_argument("--port", type=_port, default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}; 0 picks a free port")
    lb.add_argument("--token", help="access token (default: generated when --host is not loopback)")
    lb.add_argument("--user", help="your name in the label history (default: your login)")
    lb.add_argument("--double-share", type=_probability, metavar="F",
                    help="give this share of each page's items to a second labeller as well: they show as \"please "
                         "check\" cards to everyone but the person who answered first, and the page's Agreement tab "
                         "shows Cohen's kappa and the disagreements to resolve (default 0; on --resume, changes it)")
    lb.add_argument("--open", action="store_true", help="open the page in a browser")
    lb.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_strategy_params(lb, shown)


def _plot_parser(sub) -> None:
    """``elsa plot``: results of several simulations in one plot."""
    pl = sub.add_parser("plot", allow_abbrev=False, help="plot the results of `elsa simulate --output` files together",
                        description="One curve of positives found against labels spent per results file (the median "
                                    "over its runs), as `elsa simulate --plot` and the demo draw them.")
    pl.add_argument("out", metavar="OUT.png", help="the plot file to write")
    pl.add_argument("results", nargs="+", metavar="RESULTS.json", help="files written by `elsa simulate --output`")
    pl.add_argument("--title", help="the plot's title (default: the class and pool when the files share them)")


def _strategies_parser(sub) -> None:
    """``elsa strategies``."""
    sub.add_parser("strategies", allow_abbrev=False, help="list the search strategies and their parameters",
                   description="Every strategy with one line on what it is, how it runs and its parameters.")


def _demo_parser(sub) -> None:
    """``elsa demo``."""
    d = sub.add_parser("demo", allow_abbrev=False,
                       help="the default search, the paper's ELSA and nearest-neighbour search on the built-in data",
                       description="Thin one Fashion-MNIST class to about 1 % of the built-in pool, search for it "
                                   "from 5 seeds with the paper's ELSA, then with the default search and with "
                                   "nearest-neighbour search given ELSA's labels; print a table and write a plot.")
    d.add_argument("--target", type=int, default=0, help="class to find, 0-9 (default 0, T-shirt/top)")
    d.add_argument("--seeds", type=_pos_int, default=5, help="default 5")
    d.add_argument("--fraction", type=_float, default=0.01,
                   help="share of the pool the class is thinned to, above 0 and at most 0.1 (the class's own "
                        "share of the built-in pool; default 0.01)")
    d.add_argument("--epochs", type=_nonneg_int, default=10, help="epochs of the paper's ELSA (default 10)")
    d.add_argument("--random-state", type=_nonneg_int, default=0, help="default 0")
    d.add_argument("--plot", metavar="PNG", help="plot file (default elsa-demo.png; with --text, elsa-demo-text.png)")
    d.add_argument("--text", action="store_true",
                   help="the text demo instead: Python's standard-library docstrings (no download), one package's "
                        "docstrings as the target, the default search against CAL and NN, 400 labels each")
    d.add_argument("--topic", metavar="PACKAGE", help="with --text: the package to find (default email)")
    d.add_argument("--quiet", action="store_true", help="no progress bar")
