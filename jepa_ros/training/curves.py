# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""Loss curves: an append-only CSV (survives resume) and a PNG plot drawn with matplotlib Agg."""

import csv
from pathlib import Path
from typing import Dict, List


class CurveLog:
    """
    Append rows of metrics to ``path`` (CSV); on resume, drop rows past the resumed step.

    Dropping them keeps the curve single-valued when a killed run had logged beyond its last
    checkpoint.
    """

    def __init__(self, path, resume_step: int = 0):
        self.path = Path(path)
        self.rows: List[Dict[str, float]] = (self.read_rows(self.path, resume_step)
                                             if resume_step > 0 else [])
        self._write_all()

    @staticmethod
    def read_rows(path, max_step: int) -> List[Dict[str, float]]:
        """Return the rows of a curves CSV up to ``max_step`` ([] when there is no file)."""
        rows = []
        if Path(path).is_file():
            with open(path, newline='') as fh:
                for row in csv.DictReader(fh):
                    # a run killed mid-append leaves a torn last row (missing or extra
                    # fields): it is dropped, never half-read
                    if None in row or any(v is None for v in row.values()):
                        continue
                    try:
                        if int(float(row['step'])) <= max_step:
                            rows.append({k: float(v) for k, v in row.items() if v != ''})
                    except (KeyError, TypeError, ValueError):
                        continue
        return rows

    def _fields(self):
        keys = ['step']
        for r in self.rows:
            keys += [k for k in r if k not in keys]
        return keys

    def _write_all(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, 'w', newline='') as fh:
            w = csv.DictWriter(fh, fieldnames=self._fields())
            w.writeheader()
            w.writerows(self.rows)

    def log(self, step: int, **metrics):
        """Add one row (new metric names rewrite the header)."""
        row = dict(step=float(step), **{k: float(v) for k, v in metrics.items()})
        new_keys = any(k not in self._fields() for k in row)
        self.rows.append(row)
        if new_keys:
            self._write_all()
        else:
            with open(self.path, 'a', newline='') as fh:
                csv.DictWriter(fh, fieldnames=self._fields()).writerow(row)

    def plot(self, png_path, keys=None, title: str = ''):
        """Draw the selected metrics against step into ``png_path`` (log-scale y for losses)."""
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
        keys = keys or [k for k in self._fields() if k != 'step']
        fig, axes = plt.subplots(len(keys), 1, figsize=(7, 2.2 * len(keys)), squeeze=False)
        for ax, k in zip(axes[:, 0], keys):
            pts = [(r['step'], r[k]) for r in self.rows if k in r]
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts])
            ax.set_ylabel(k)
            ax.grid(alpha=0.3)
        axes[-1, 0].set_xlabel('step')
        if title:
            axes[0, 0].set_title(title)
        fig.tight_layout()
        fig.savefig(png_path, dpi=80)
        plt.close(fig)
        return Path(png_path)
