# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
Environments someone else wrote, behind one small adapter (``base.EnvAdapter``).

``make_env('ogbench:visual-cube-single-v0')`` or ``make_env('gym:<id>')`` returns an adapter
whose ``spec`` gives the action box, proprioception size, cameras and evaluation tasks; collect,
train-wm and eval take their sizes from it. The embedded Panda keeps its own richer path
(``jepa_ros.sim``); these adapters are for everything else.
"""

from jepa_ros.envs.base import EnvAdapter, EnvSetupError, EnvSpec, EnvStep

PREFIXES = ('ogbench:', 'gym:')


def make_env(name: str, image_size: int = 64, seed: int = 0) -> EnvAdapter:
    """
    Return the adapter for ``name`` ('ogbench:<env>' or 'gym:<gymnasium id>').

    A missing optional package raises ImportError naming what to install; a name without a
    known prefix or an env that cannot be adapted raises EnvSetupError saying what to use.
    """
    name = str(name).strip()
    if name.startswith('ogbench:'):
        try:
            import ogbench  # noqa: F401
        except ImportError:
            raise ImportError(f'{name} needs the optional package ogbench: pip install '
                              'ogbench==1.2.2 (CI and make install it)') from None
        from jepa_ros.envs.ogbench_env import OGBenchEnv
        return OGBenchEnv(name.split(':', 1)[1], image_size=image_size, seed=seed)
    if name.startswith('gym:'):
        try:
            import gymnasium  # noqa: F401
        except ImportError:
            raise ImportError(f'{name} needs the optional package gymnasium: pip install '
                              'gymnasium==1.4.0') from None
        from jepa_ros.envs.gym_env import GymImageEnv
        return GymImageEnv(name.split(':', 1)[1], image_size=image_size, seed=seed)
    raise EnvSetupError(f'unknown environment {name!r}: use ogbench:<env name> (e.g. '
                        f'ogbench:visual-cube-single-v0) or gym:<gymnasium id>')


__all__ = ['EnvAdapter', 'EnvSetupError', 'EnvSpec', 'EnvStep', 'PREFIXES', 'make_env']
