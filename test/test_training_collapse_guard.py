# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""The collapse guard flags full and partial collapse, not healthy runs, and survives a resume."""

from jepa_ros.training import pretrain
from jepa_ros.training.collapse_guard import CollapseGuard
from jepa_ros.utils.config import ConfigError
import pytest
from test_training_pretrain import _cfg, episodes  # noqa: F401 (fixture)

# Every 5th log of the three measured 1000-step pretraining runs (benchmarks/levers.py):
# (image_spread, eff_rank).
VIDEO = list(zip([0.207, 0.247, 0.228, 0.223, 0.211, 0.227, 0.224, 0.257],
                 [42.6, 46.4, 42.0, 35.1, 30.4, 27.7, 26.6, 26.0]))
IMAGE = list(zip([0.186, 0.267, 0.245, 0.2, 0.215, 0.253, 0.217, 0.246],
                 [34.1, 38.9, 36.3, 30.1, 26.7, 24.5, 21.4, 21.4]))
NO_HINGE = list(zip([0.183, 0.191, 0.152, 0.101, 0.108, 0.155, 0.122, 0.133],
                    [33.5, 25.1, 17.0, 12.5, 10.9, 11.3, 11.1, 11.6]))


def _messages(guard, logs):
    return [m for m in (guard.update(*log) for log in logs) if m]


@pytest.mark.parametrize('logs', [VIDEO, IMAGE], ids=['video', 'image'])
def test_healthy_measured_runs_are_not_flagged(logs):
    guard = CollapseGuard()
    assert _messages(guard, logs) == [] and not guard.collapsed


def test_partial_collapse_without_the_hinge_is_flagged_by_rank_not_spread():
    assert _messages(CollapseGuard(rank_fraction=0), NO_HINGE) == []  # the old spread-only guard
    guard = CollapseGuard()
    msgs = _messages(guard, NO_HINGE)
    assert msgs and all(m.startswith('partial collapse') for m in msgs), msgs
    assert 'peak 33.5' in msgs[0] and guard.collapsed
    assert len(msgs) == 3   # logs 4-8 are below 0.4 x 33.5; warnings from the 3rd in a row


def test_full_collapse_needs_patience_and_recovery_resets_it():
    guard = CollapseGuard(patience=3)
    assert _messages(guard, [(0.2, 30.0), (0.001, 29.0), (0.001, 29.0), (0.2, 29.0)]) == []
    msgs = _messages(guard, [(0.001, 29.0), (0.0, 28.0), (float('nan'), 28.0)])
    assert len(msgs) == 1 and msgs[0].startswith('collapse: image-dependent spread')


def test_restore_keeps_the_peak_rank_of_a_resumed_run():
    rows = [{'step': 5.0 * i, 'image_spread': s, 'eff_rank': r} for i, (s, r) in
            enumerate(NO_HINGE[:3], 1)]
    guard = CollapseGuard()
    guard.restore(rows + [{'step': 20.0, 'loss': 1.0}])   # rows without diagnostics are skipped
    assert guard.peak_rank == 33.5
    assert _messages(guard, NO_HINGE[3:6])   # a fresh guard would take 12.5 as its peak
    assert not _messages(CollapseGuard(), NO_HINGE[3:6])


def test_pretrain_stops_on_collapse_and_keeps_the_model(episodes, tmp_path):  # noqa: F811
    # a rank fraction of 0.999 makes any dip below the peak rank a "collapse": the wiring test
    logs = []
    summary = pretrain.train(_cfg(episodes, tmp_path, steps=60, log_every=2,
                                  collapse_rank_fraction=0.999, stop_on_collapse=True),
                             log=logs.append)
    warnings = [line for line in logs if 'partial collapse' in line]
    assert warnings and summary['step'] < 60, logs
    assert (tmp_path / 'model' / 'config.json').is_file()


def test_rank_fraction_is_validated(tmp_path):
    with pytest.raises(ConfigError, match='collapse_rank_fraction'):
        pretrain.PretrainConfig(data='d', out=str(tmp_path), collapse_rank_fraction=1.0).validate()
