"""A real single-node Slurm cluster on localhost for the tests: munged, slurmctld and slurmd from
Debian's ``slurm-wlm`` and ``munge``, configured in a temporary folder (own ports, own state), with one
GPU GRES whose device file is ``/dev/null`` (Slurm 22.05 marks a node INVAL for a gpu GRES without a
``File``; with a stand-in file it schedules ``--gpus-per-task`` as on a real GPU node). ``KillWait=2``: a
requeued task is killed 2 s after SIGTERM (default 30 s, in which a test cell would simply finish). Every daemon it
starts it stops."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd", "sbatch", "scontrol", "squeue")


def available() -> str | None:
    """None when the cluster can start here, else why not."""
    missing = [d for d in DAEMONS if shutil.which(d) is None and not Path(f"/usr/sbin/{d}").exists()]
    if missing:
        return f"Slurm/munge not installed ({', '.join(missing)}): apt-get install slurm-wlm munge"
    if os.geteuid() != 0:
        return "the test cluster runs its daemons as root"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalSlurm:
    def __init__(self, folder: Path) -> None:
        self.dir = Path(folder)
        self.host = socket.gethostname().split(".")[0]
        self.env = {**os.environ, "SLURM_CONF": str(self.dir / "slurm.conf")}
        self._procs: list[subprocess.Popen] = []

    def _write_config(self) -> None:
        d = self.dir
        for sub in ("state", "spool"):
            (d / sub).mkdir(parents=True, exist_ok=True)
        cpus = os.cpu_count() or 1
        (d / "slurm.conf").write_text(f"""ClusterName=benchtest
SlurmctldHost={self.host}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation={d}/state
SlurmdSpoolDir={d}/spool
SlurmctldPidFile={d}/slurmctld.pid
SlurmdPidFile={d}/slurmd.pid
SlurmctldPort={_free_port()}
SlurmdPort={_free_port()}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
GresTypes=gpu
MpiDefault=none
ReturnToService=2
SlurmctldLogFile={d}/slurmctld.log
SlurmdLogFile={d}/slurmd.log
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=1
MinJobAge=600
KillWait=2
NodeName={self.host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory=4000 Gres=gpu:1 State=UNKNOWN
PartitionName=debug Nodes={self.host} Default=YES MaxTime=INFINITE State=UP
""")
        (d / "gres.conf").write_text(f"NodeName={self.host} Name=gpu File=/dev/null\n")

    def _munge_running(self) -> bool:
        return subprocess.run(["munge", "-n"], capture_output=True).returncode == 0

    def start(self, timeout_s: float = 60) -> "LocalSlurm":
        self._write_config()
        if not self._munge_running():
            Path("/run/munge").mkdir(parents=True, exist_ok=True)
            shutil.chown("/run/munge", "munge", "munge")
            key = Path("/etc/munge/munge.key")
            if not key.exists():
                subprocess.run(["mungekey", "--create"], check=True, capture_output=True)
                shutil.chown(key, "munge", "munge")
            self._procs.append(subprocess.Popen(["munged", "--foreground", "--force"], stdout=subprocess.DEVNULL,
                                                stderr=subprocess.DEVNULL, start_new_session=True))
            self._wait(self._munge_running, timeout_s, "munged")
        for daemon in ("slurmctld", "slurmd"):
            self._procs.append(subprocess.Popen([daemon, "-D"], env=self.env, stdout=subprocess.DEVNULL,
                                                stderr=subprocess.DEVNULL, start_new_session=True))
        self._wait(lambda: "idle" in self.run("sinfo", "-h", "-o", "%T", check=False), timeout_s, "an idle node")
        return self

    def _wait(self, ready, timeout_s: float, what: str) -> None:
        t0 = time.monotonic()
        while not ready():
            if time.monotonic() - t0 > timeout_s:
                logs = "".join((self.dir / f).read_text()[-1500:] for f in ("slurmctld.log", "slurmd.log") if (self.dir / f).exists())
                raise RuntimeError(f"the test Slurm cluster did not come up ({what} after {timeout_s:.0f} s): {logs}")
            time.sleep(0.5)

    def run(self, *cmd: str, check: bool = True) -> str:
        out = subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=60)
        if check and out.returncode:
            raise RuntimeError(f"{' '.join(cmd)} failed: {out.stderr.strip()}")
        return out.stdout

    def stop(self) -> None:
        subprocess.run(["scancel", "--full", "-u", "root"], env=self.env, capture_output=True)
        for p in reversed(self._procs):
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
                try:
                    p.wait(15)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait(5)
        self._procs.clear()
