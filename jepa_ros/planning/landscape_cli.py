# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
``jepa-ros landscape``: plan once, then map the energy around the chosen action.

Reads an observation and a goal image (PNG/JPEG), plans with the given PlannerConfig options,
and writes a heat map (and optionally JSON) of the energy over two action axes around the
plan's first action, with the chosen action and the grid minimum marked.
"""

import argparse

from jepa_ros.planning.config import AXIS_NAMES, PlannerConfig
from jepa_ros.utils import config as config_utils


def add_arguments(parser: argparse.ArgumentParser):
    """Add the landscape options and every PlannerConfig option."""
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument('--model', help='jepa_ros model name or folder (safetensors + config.json)')
    src.add_argument('--vjepa2-checkpoint', help='official V-JEPA 2-AC .pt checkpoint')
    parser.add_argument('--img-size', type=int, default=256,
                        help='image size for an official checkpoint (default 256)')
    parser.add_argument('--image', required=True, help='current observation (PNG/JPEG)')
    parser.add_argument('--goal', required=True, help='goal image (PNG/JPEG)')
    parser.add_argument('--state', type=float, nargs=7, required=True,
                        metavar=('X', 'Y', 'Z', 'RX', 'RY', 'RZ', 'GRIP'),
                        help='end-effector state of the observation')
    parser.add_argument('--axes', nargs=2, default=['dx', 'dy'], choices=AXIS_NAMES)
    parser.add_argument('--span', type=float, default=0.05, help='half width of the grid')
    parser.add_argument('--resolution', type=int, default=21)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--dtype', default='fp32', choices=['fp32', 'bf16', 'fp16'])
    parser.add_argument('--out', default='landscape.png', help='heat map path')
    parser.add_argument('--json', default=None, help='also write the grid as JSON here')
    config_utils.add_arguments(parser, PlannerConfig)
    return parser


def run(args) -> int:
    """Plan, compute the landscape, write the files; return a process exit code."""
    import json

    import imageio.v3 as iio

    from jepa_ros.planning.landscape import energy_landscape, save_landscape_png
    from jepa_ros.planning.planner import make_planner
    from jepa_ros.planning.world_model import VJEPA2WorldModel

    cfg = config_utils.from_args(PlannerConfig, args)
    if args.model:
        from jepa_ros.models.compact_checkpoint import model_family
        if model_family(args.model) == 'compact':
            from jepa_ros.planning.compact_world_model import CompactWorldModel
            wm = CompactWorldModel.from_checkpoint(args.model, device=args.device,
                                                   dtype=args.dtype)
        else:
            wm = VJEPA2WorldModel.from_checkpoint(args.model, device=args.device,
                                                  dtype=args.dtype)
    else:
        from jepa_ros.models import load_vjepa2
        enc, pred = load_vjepa2(args.vjepa2_checkpoint, img_size=args.img_size,
                                device=args.device)
        wm = VJEPA2WorldModel(enc, pred, device=args.device, dtype=args.dtype)
    image = iio.imread(args.image)[..., :3]
    goal = iio.imread(args.goal)[..., :3]
    plan = make_planner(wm, cfg).plan(image, args.state, goal)
    print(f'plan: ok={plan.ok} ({plan.reason}); first action {plan.first_action.round(4)}; '
          f'final energy {plan.final_energy:.5f}; {plan.ms:.0f} ms')
    axes = tuple(AXIS_NAMES.index(a) for a in args.axes)
    ls = energy_landscape(wm, image, args.state, goal, plan.actions, axes=axes, span=args.span,
                          resolution=args.resolution, config=cfg)
    save_landscape_png(ls, args.out)
    print(f'wrote {args.out}: chosen {ls.chosen} E={ls.chosen_energy:.5f}; grid minimum '
          f'{ls.minimum} E={ls.minimum_energy:.5f}')
    if args.json:
        with open(args.json, 'w') as fh:
            json.dump({'plan_first_action': plan.first_action.tolist(),
                       'plan_final_energy': plan.final_energy, **ls.to_dict()}, fh, indent=1)
    return 0
