#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
r"""
Evaluate a trained world model on held-out play episodes and write JSON.

Latent prediction error at 1, 2 and 4 steps against the copy-last-frame baseline, and action
recovery (plan one step from frame t towards frame t+1 and compare with the action taken).
Same options as ``jepa-ros eval-model``; e.g.::

    python benchmarks/eval_world_model.py --model runs/ac/model --data data/play_val \\
        --out out/eval_world_model.json
"""

import argparse
import json
import os
import sys

os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')


def main(argv=None):
    """Parse options, evaluate, print a summary and write the JSON (default next to the model)."""
    from jepa_ros.training import evaluate as ev
    from jepa_ros.utils.config import from_args
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0].strip())
    ev.add_arguments(parser)
    args = parser.parse_args(argv)
    cfg = from_args(ev.EvalConfig, args)
    if not cfg.out:
        cfg.out = os.path.join(os.path.dirname(os.path.abspath(cfg.model)), 'eval.json')
    result = ev.evaluate(cfg)
    print(json.dumps({'latent_prediction': result['latent_prediction'],
                      'action_recovery': result['action_recovery']}, indent=1))
    print(f'wrote {cfg.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
