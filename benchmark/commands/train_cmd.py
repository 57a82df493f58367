"""``python -m benchmark train``: one training run, resumable by rerunning the same command."""

from __future__ import annotations

import argparse
import sys

from datasets import dataset_names
from models import OBJECTIVES

_HPARAM_FLAGS = {  # CLI flag → objective hyper-parameter
    "beta": "beta", "alpha": "alpha", "gamma": "gamma", "c_max": "c_max", "anneal_steps": "anneal_steps",
    "estimator": "estimator",
}


def register(sub) -> None:
    p = sub.add_parser(
        "train",
        help="train one model (resumable: rerun the same command)",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Train one VAE-family model on a ground-truth dataset. Everything is seeded: the same "
        "command gives the same parameters, and rerunning it after an interruption resumes from the last "
        "checkpoint in --out and ends bitwise-identical to an uninterrupted run (on CPU). The log "
        "(train_log.jsonl) records every loss term, per-latent KL and images/s; at the end the posterior "
        "means/log-variances of --eval-samples images are stored in codes.h5 for the metrics.",
    )
    p.add_argument("--dataset", default="dsprites", help=f"one of: {', '.join(dataset_names())}")
    p.add_argument("--data-path", default=None, help="file/folder for official-file datasets")
    p.add_argument("--model", default="betavae", help=f"objective family: {', '.join(OBJECTIVES.names())}")
    p.add_argument("--beta", type=float, default=None, help="betavae: KL weight (model default 1); tcvae: total-correlation weight (model default 6)")
    p.add_argument("--alpha", type=float, default=None, help="tcvae: index-code mutual-information weight (model default 1)")
    p.add_argument("--gamma", type=float, default=None, help="annealed: |KL − C| weight (model default 1000); tcvae: dimension-wise KL weight (model default 1)")
    p.add_argument("--c-max", dest="c_max", type=float, default=None, help="annealed: final capacity C_max in nats (model default 25)")
    p.add_argument("--anneal-steps", dest="anneal_steps", type=int, default=None, help="annealed: steps for C to reach C_max (model default 100000)")
    p.add_argument("--estimator", choices=["mws", "mss"], default=None, help="tcvae: minibatch weighted or stratified sampling (model default mws)")
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
    p.set_defaults(func=_train)


def _train(args: argparse.Namespace) -> int:
    from benchmark.config import RunConfig
    from benchmark.training import DivergenceError, train
    from core.layout import CHECKPOINT, CODES, LOG

    if args.threads is not None and args.threads <= 0:
        raise ValueError(f"--threads must be a positive integer, got {args.threads}; omit it for torch's default")
    hparams = {name: getattr(args, flag) for flag, name in _HPARAM_FLAGS.items() if getattr(args, flag) is not None}
    config = RunConfig(
        dataset=args.dataset, data_path=args.data_path, model=args.model, hparams=tuple(hparams.items()),
        seed=args.seed, steps=args.steps, batch_size=args.batch_size, lr=args.lr, architecture=args.architecture,
        latent_dim=args.latent_dim, likelihood=args.likelihood, precision=args.precision,
        channels_last=args.channels_last, compile=args.compile, log_every=args.log_every,
        checkpoint_every=args.checkpoint_every, eval_samples=args.eval_samples, device=args.device,
    )
    try:
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
