"""The examples shown at the end of each command's ``--help``."""

EXAMPLES = {
    "run": ["python -m benchmark run --study smoke --store /tmp/store      # 3 tiny cells, seconds",
            "python -m benchmark run --study cpu2 --jobs 2                   # the reference study, resumable",
            "python -m benchmark run --study quick --filter model=betavae,seed=0 --dry-run",
            "python -m benchmark run --study dlib --executor slurm --slurm-partition gpu --gpus-per-task 1 --cpus-per-task 4 \\\n"
            "      --time 720 --mem 16G --slurm-option account=myproj --dry-run   # prints the sbatch parameters",
            "python -m benchmark run --study dlib --cells-per-gpu 4            # a local multi-GPU box"],
    "studies": ["python -m benchmark studies"],
    "status": ["python -m benchmark status --study cpu2"],
    "stability": ["python -m benchmark stability --study cpu2",
                  "python -m benchmark stability --study cpu2 --eval-seeds 3 --eval-runs 4"],
    "report": ["python -m benchmark report --study cpu2   # then open results/store/cpu2/report/index.html"],
    "udr": ["python -m benchmark udr --study cpu2", "python -m benchmark udr --study smoke --correlation lasso"],
    "leaderboard": ["python -m benchmark leaderboard --study cpu2",
                    "python -m benchmark leaderboard --study cpu2 --format latex --out table.tex",
                    "python -m benchmark leaderboard --study cpu2 --format runs-csv > runs.csv   # one row per run"],
    "train": ["python -m benchmark train --dataset dsprites --model betavae --beta 4 --steps 2000 --out runs/b4",
              "python -m benchmark train --dataset dsprites --model tcvae --beta 6 --estimator mss --out runs/tc6",
              "python -m benchmark train --dataset dsprites --model annealed --c-max 25 --gamma 1000 --anneal-steps 100000 --out runs/an",
              "python -m benchmark train --dataset dsprites --model factorvae --gamma 30 --lr 1e-3 --out runs/fv",
              "python -m benchmark train --dataset dsprites --model dipvae1 --lambda-od 10 --lr 1e-3 --out runs/dip1"],
    "evaluate-codes": ["python -m benchmark evaluate-codes codes.npz --metrics mig,dci --full"],
    "evaluate": ["python -m benchmark evaluate --run runs/b4 --metrics all",
                 "python -m benchmark evaluate --run runs/b4 --metrics mig,mig_sampled --preset quick",
                 "python -m benchmark evaluate --encoder enc.pt2 --dataset dsprites --name my-encoder"],
    "check-submission": ["python -m benchmark check-submission examples/factorvae.py"],
    "submit": ["python -m benchmark submit examples/factorvae.py --study quick --jobs 2"],
    "probe-metrics": ["python -m benchmark probe-metrics --study cpu2   # then read results/store/cpu2/probe_metrics.md"],
    "zoo": ["python -m benchmark zoo list --study cpu2", "python -m benchmark zoo verify 15 --study cpu2"],
    "datasets": ["python -m benchmark datasets", "python -m benchmark datasets show dsprites --out dsprites.png"],
}


def epilog(command: str) -> str:
    return "examples:\n" + "\n".join(f"  {line}" for line in EXAMPLES[command])
