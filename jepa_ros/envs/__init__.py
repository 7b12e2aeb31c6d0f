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

# prefix -> (optional package, its pinned install, adapter module, adapter class)
ADAPTERS = {
    'ogbench': ('ogbench', 'ogbench==1.2.2', 'jepa_ros.envs.ogbench_env', 'OGBenchEnv'),
    'gym': ('gymnasium', 'gymnasium==1.4.0', 'jepa_ros.envs.gym_env', 'GymImageEnv'),
}
PREFIXES = tuple(f'{p}:' for p in ADAPTERS)


def make_env(name: str, image_size: int = 64, seed: int = 0) -> EnvAdapter:
    """
    Return the adapter for ``name`` ('ogbench:<env>' or 'gym:<gymnasium id>').

    A missing optional package raises ImportError naming what to install; a name without a
    known prefix or an env that cannot be adapted raises EnvSetupError saying what to use.
    """
    import importlib
    name = str(name).strip()
    prefix, _, env_name = name.partition(':')
    if prefix not in ADAPTERS or not env_name:
        raise EnvSetupError(f'unknown environment {name!r}: use ogbench:<env name> (e.g. '
                            f'ogbench:visual-cube-single-v0) or gym:<gymnasium id>')
    package, pin, module, cls = ADAPTERS[prefix]
    try:
        importlib.import_module(package)
    except ImportError:
        raise ImportError(f'{name} needs the optional package {package}: pip install {pin} '
                          '(make and CI install it from requirements-envs.txt)') from None
    adapter = getattr(importlib.import_module(module), cls)
    return adapter(env_name, image_size=image_size, seed=seed)


__all__ = ['EnvAdapter', 'EnvSetupError', 'EnvSpec', 'EnvStep', 'PREFIXES', 'make_env']
