"""``python -m benchmark train``: one training run, resumable by rerunning the same command."""

from __future__ import annotations

import argparse
import sys
from contextlib import contextmanager
from pathlib import Path

from datasets import dataset_names
from models import MODELS

from .common import add_tracking_args, tracking_from


def _field_type(f) -> type:
    kind = str(f.type).split("|")[0].strip()
    return {"int": int, "str": str}.get(kind, float)


def hparam_flags() -> dict[str, list[tuple[str, object]]]:
    """Hyper-parameter name → [(family, dataclass field)] over every registered family, from their
    ``Config`` fields (fields filled in from the dataset are not flags)."""
    flags: dict[str, list] = {}
    for family, cls in MODELS.items():
        for f in cls.hyperparameters():
            if not f.metadata.get("from_dataset"):
                flags.setdefault(f.name, []).append((family, f))
    return flags


def families_help() -> str:
    """Every family with its own hyper-parameters, defaults and meaning (the train command's epilog)."""
    lines = ["model families and their hyper-parameters (each flag means one thing per family):"]
    for family, cls in MODELS.items():
        lines.append(f"  {family:10s} {cls.summary}")
        for f in cls.hyperparameters():
            if not f.metadata.get("from_dataset"):
                lines.append(f"  {'':10s}   --{f.name.replace('_', '-')} (default {f.default}): {f.metadata.get('help', '')}")
    return "\n".join(lines)


class _Formatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Defaults shown, and the families' epilog kept as written."""


def register(sub) -> None:
    p = sub.add_parser(
        "train",
        help="train one model (resumable: rerun the same command)",
        formatter_class=_Formatter, epilog=families_help(),
        description="Train one VAE-family model on a ground-truth dataset. Everything is seeded: the same "
        "command gives the same parameters, and rerunning it after an interruption resumes from the last "
        "checkpoint in --out and ends bitwise-identical to an uninterrupted run (on CPU). The log "
        "(train_log.jsonl) records every loss term, per-latent KL and images/s; at the end the posterior "
        "means/log-variances of --eval-samples images are stored in codes.h5 for the metrics.",
    )
    p.add_argument("--dataset", default="dsprites", help=f"one of: {', '.join(dataset_names())}")
    p.add_argument("--data-path", default=None, help="file/folder for official-file datasets")
    p.add_argument("--model", default="betavae", help=f"model family: {', '.join(MODELS.names())} (their hyper-parameters: below)")
    for name, uses in hparam_flags().items():
        choices = next((f.metadata["choices"] for _, f in uses if "choices" in f.metadata), None)
        meaning = "; ".join(f"{fam}: {f.metadata.get('help', name)} (model default {f.default})" for fam, f in uses)
        p.add_argument(f"--{name.replace('_', '-')}", dest=f"hp_{name}", type=_field_type(uses[0][1]), choices=choices,
                       default=None, help=meaning)
    p.add_argument("--steps", type=int, default=2000, help="optimisation steps")
    p.add_argument("--batch-size", type=int, default=64, help="minibatch size")
    p.add_argument("--lr", type=float, default=1e-4, help="Adam learning rate (disentanglement_lib: 1e-4)")
    p.add_argument("--seed", type=int, default=0, help="seed for initialisation, data and noise")
    p.add_argument("--architecture", default="conv", choices=["conv", "conv4", "mlp"], help="conv: dlib (2×2 kernels in layers 3–4); conv4: the paper's 4×4; mlp: Higgins/Chen 1200-1200")
    p.add_argument("--latent-dim", type=int, default=10, help="number of latents")
    p.add_argument("--likelihood", default="auto", choices=["auto", "bernoulli", "gaussian"], help="auto: Bernoulli for binary datasets, Gaussian otherwise")
    p.add_argument("--precision", default="fp32", choices=["fp32", "bf16"], help="bf16 autocast pays off only on CPUs with AVX-512 BF16/AMX, or on GPUs")
    p.add_argument("--no-channels-last", dest="channels_last", action="store_false", help="keep NCHW memory layout")
    p.add_argument("--compile", action="store_true", help="torch.compile the network (one-time compile cost)")
    p.add_argument("--log-every", type=int, default=100, help="log every K steps")
    p.add_argument("--checkpoint-every", type=int, default=1000, help="checkpoint every M steps (and at the end)")
    p.add_argument("--eval-samples", type=int, default=10_000, help="images encoded into codes.h5 at the end")
    p.add_argument("--device", default="auto", help="auto (CUDA if present), cpu, cuda, cuda:1 …")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (omitted: torch's choice)")
    p.add_argument("--out", required=True, help="run folder (created; rerun with the same folder to resume)")
    add_tracking_args(p)
    p.set_defaults(func=_train)


def _train(args: argparse.Namespace) -> int:
    from benchmark.config import RunConfig
    from benchmark.training import DivergenceError, train
    from core.layout import CHECKPOINT, CODES, LOG

    if args.threads is not None and args.threads <= 0:
        raise ValueError(f"--threads must be a positive integer, got {args.threads}; omit it for torch's default")
    hparams = {name: getattr(args, f"hp_{name}") for name in hparam_flags() if getattr(args, f"hp_{name}") is not None}
    config = RunConfig(
        dataset=args.dataset, data_path=args.data_path, model=args.model, hparams=tuple(hparams.items()),
        seed=args.seed, steps=args.steps, batch_size=args.batch_size, lr=args.lr, architecture=args.architecture,
        latent_dim=args.latent_dim, likelihood=args.likelihood, precision=args.precision,
        channels_last=args.channels_last, compile=args.compile, log_every=args.log_every,
        checkpoint_every=args.checkpoint_every, eval_samples=args.eval_samples, device=args.device,
    )
    tracking = tracking_from(args)
    if tracking:  # the folder is checked before a tracker may touch it (another run's folder is refused untouched)
        from benchmark.training import prepare_run_folder

        prepare_run_folder(config, Path(args.out))
    try:
        with _tracked(tracking, config, Path(args.out)):
            result = train(config, args.out, progress=True, threads=args.threads)
    except DivergenceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    resumed = f" (resumed at step {result.resumed_from})" if result.resumed_from else ""
    terms = ", ".join(f"{k} {v:.3f}" for k, v in result.final_terms.items())
    print(f"done: {result.steps} steps{resumed}, {result.images_per_second:,.0f} images/s; {terms}")
    out = result.out_dir
    print(f"log: {out / LOG}  checkpoint: {out / CHECKPOINT}  codes: {out / CODES}")
    return 0


@contextmanager
def _tracked(tracking, config, out: Path):
    """Feed the run's log to the asked-for trackers every few seconds while it trains (and its last lines after)."""
    if not tracking:
        yield
        return
    from benchmark.tracking import Mirror, periodically

    mirror = Mirror(tracking)
    mirror.attach(out, out.name, f"train-{config.content_hash()}", config.to_dict())
    try:
        with periodically(mirror.poll, every=5.0):
            yield
    finally:
        mirror.close()
