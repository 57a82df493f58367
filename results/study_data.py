"""A study's results, read once: every stored record (validated by :func:`results.records.load_records`,
complete and failed), and what several outputs derive from them — each run's UDR, the tidy runs table
(pandas, one row per run) and each run's training log — computed or read once, the first time an output asks.

Every builder (leaderboard, calibration, stability, UDR, report) takes a :class:`StudyData`;
:func:`results.pipeline.rebuild_outputs` loads one and passes it to all of them, so a rebuild reads the store
once and computes UDR once. A builder called on its own (``python -m benchmark stability``) loads its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from core.layout import read_log

from .records import load_records


@dataclass(frozen=True)
class StudyData:
    study_dir: Path
    every_run: tuple[dict, ...]  # complete and failed records, in cell order

    @cached_property
    def records(self) -> list[dict]:
        """The complete runs (what every table and figure scores)."""
        return [r for r in self.every_run if r.get("status") == "complete"]

    @cached_property
    def udr_rows(self) -> list[dict] | None:
        """:func:`results.udr_report.study_udr` of the complete runs (Spearman), or None when some run has no
        probe codes."""
        from .udr_report import has_probe_codes, study_udr

        return study_udr(self.records) if self.records and has_probe_codes(self.records) else None

    @cached_property
    def records_with_udr(self) -> list[dict]:
        """The complete runs, each with the pseudo-metric ``udr`` where the study allows it
        (:func:`results.udr_report.with_udr`)."""
        from .udr_report import with_udr

        return with_udr(self.records, self.udr_rows)

    @cached_property
    def runs(self):
        """(pandas DataFrame with one row per complete run, its metric columns): :func:`results.stability.runs_table`."""
        from .stability import runs_table

        return runs_table(self.records)

    @cached_property
    def logs(self) -> dict[Path, list[dict]]:
        """Each complete run's training log (:func:`core.layout.read_log`; [] without one), keyed by its folder:
        read once for the study's curves and every run page that draws them."""
        return {Path(r["_path"]).parent: read_log(Path(r["_path"]).parent) for r in self.records}


def load_study(study_dir: str | Path) -> StudyData:
    """Read the study's records once (one counted line for what is skipped)."""
    return StudyData(Path(study_dir), tuple(load_records(study_dir, include_failed=True)))
