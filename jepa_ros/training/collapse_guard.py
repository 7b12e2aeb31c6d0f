# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
Decide from logged collapse diagnostics when JEPA pretraining is collapsing.

Two signs, each held for ``patience`` consecutive logs: the image-dependent spread of the target
features falls below an absolute floor (full collapse: features that ignore the image), or their
effective rank falls below a fraction of the highest rank seen in the run (partial collapse). The
spread floor alone missed a measured partial collapse: with the variance hinge off, single-frame
pretraining kept a spread of 0.10-0.16 while its rank sank from 33 to 11, a third of its peak;
the healthy runs ended at 0.55 of theirs (benchmarks/levers.py, ``collapse_spread.png``).
"""

import dataclasses
import math
from typing import Iterable, Mapping, Optional


@dataclasses.dataclass
class CollapseGuard:
    """Streaming check of (image_spread, eff_rank) logs; ``update`` returns a warning or None."""

    min_spread: float = 0.02
    rank_fraction: float = 0.4      # 0 turns the rank check off
    patience: int = 3
    peak_rank: float = 0.0
    low_spread: int = 0
    low_rank: int = 0

    def restore(self, rows: Iterable[Mapping[str, float]]):
        """Replay logged rows (a resumed run's curves) so the peak rank survives a restart."""
        for row in rows:
            if 'image_spread' in row and 'eff_rank' in row:
                self.update(row['image_spread'], row['eff_rank'])

    def update(self, image_spread: float, eff_rank: float) -> Optional[str]:
        """Take one log's diagnostics; return a message once a sign has held ``patience`` logs."""
        bad_spread = not math.isfinite(image_spread) or image_spread < self.min_spread
        self.low_spread = self.low_spread + 1 if bad_spread else 0
        if math.isfinite(eff_rank):
            self.peak_rank = max(self.peak_rank, eff_rank)
        floor = self.rank_fraction * self.peak_rank
        bad_rank = self.rank_fraction > 0 and (not math.isfinite(eff_rank) or eff_rank < floor)
        self.low_rank = self.low_rank + 1 if bad_rank else 0
        if self.low_spread >= self.patience:
            return (f'collapse: image-dependent spread of the target features '
                    f'{image_spread:.4f} < {self.min_spread} for {self.low_spread} logs')
        if self.low_rank >= self.patience:
            return (f'partial collapse: effective rank of the target features {eff_rank:.1f} < '
                    f'{self.rank_fraction:g} x its peak {self.peak_rank:.1f} for '
                    f'{self.low_rank} logs (image spread {image_spread:.3f})')
        return None

    @property
    def collapsed(self) -> bool:
        """Whether either sign currently holds for ``patience`` logs."""
        return self.low_spread >= self.patience or self.low_rank >= self.patience
