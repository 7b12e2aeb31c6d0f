# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
The ``jepa-ros`` command-line tool.

Each subcommand lives in its own module with ``add_arguments(parser)`` and ``run(args) -> int``.
Those modules keep heavy imports (torch, mujoco, rclpy) inside ``run`` so that ``jepa-ros --help``
stays fast and one subcommand's dependencies never slow the others.
"""

import argparse
import importlib
import sys

# name -> (module, one-line help)
SUBCOMMANDS = {
    'demo': ('jepa_ros.ros.demo', 'run the planner node on the simulated arm over ROS 2 '
             '(reach/push goal images), report success and timing, record an MCAP bag'),
    'eval': ('jepa_ros.eval.cli', 'closed-loop success of the planner in the simulated arm '
             '(reach, push, pick_place) with random and untrained baselines'),
    'landscape': ('jepa_ros.planning.landscape_cli',
                  'plan once and draw the energy around the chosen action'),
    'collect': ('jepa_ros.data.collect', 'collect play episodes from the simulated arm'),
    'import-bag': ('jepa_ros.data.bag_import',
                   'convert rosbag2 (MCAP) recordings of camera, pose and gripper into episodes'),
    'recover': ('jepa_ros.data.recording',
                'turn episodes left unfinished by a killed recorder_node back into episodes'),
    'pretrain': ('jepa_ros.training.pretrain', 'V-JEPA pretraining of the video encoder'),
    'train-ac': ('jepa_ros.training.train_ac',
                 'train the action-conditioned predictor on a frozen encoder'),
    'train-wm': ('jepa_ros.training.train_wm',
                 'train a compact JEPA world model end to end (encoder + predictor, SIGReg)'),
    'fit-probe': ('jepa_ros.training.fit_probe',
                  "fit a compact model's state probe (latents -> end-effector position) for "
                  'planning towards far goals'),
    'eval-model': ('jepa_ros.training.evaluate',
                   'latent prediction error and action recovery on held-out episodes'),
}


def build_parser():
    """Build the top-level parser with one sub-parser per registered subcommand."""
    parser = argparse.ArgumentParser(
        prog='jepa-ros', description='World-model planning for ROS 2 arms (V-JEPA 2-AC style).')
    sub = parser.add_subparsers(dest='command', metavar='COMMAND')
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(_module=module_name)
        importlib.import_module(module_name).add_arguments(p)
    return parser


def main(argv=None):
    """
    Entry point of ``jepa-ros``; returns the process exit code.

    Expected failures (a missing path, a bad config, a corrupt checkpoint or episode) print one
    line ``jepa-ros COMMAND: error: ...`` and return 2; bugs keep their traceback.
    """
    from jepa_ros.utils.errors import run_main
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, '_module', None):
        parser.print_help()
        return 2
    module = importlib.import_module(args._module)
    return run_main(f'jepa-ros {args.command}', module.run, args)


if __name__ == '__main__':
    sys.exit(main())
