# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
Scene variety for robustness: colours, lighting and small camera jitter of the sim scene.

A :class:`SceneVariation` is drawn for a named *regime* (``SimConfig.variation``):

- ``'none'``: the nominal scene, untouched (no draw at all, renders are byte-identical).
- ``'train'``: for play data. Randomised table and floor colours, a jittered shade of red for
  the cube, light intensity, light direction / position and a small camera jitter.
- ``'unseen'``: held out, to test a model on. Same kinds of change, but colours and light
  levels that 'train' never draws, so a model trained on 'train' data meets them first here.

Why 'unseen' is out of distribution (hues in degrees, 0 = red; light as a factor on the
nominal intensity)::

                   train                       unseen (disjoint, with gaps)
    table, floor   25..65 (wood, sand, ochre)  85..160 (greens)
                   185..240 (cyan, blue)       255..285 (violets)
    cube           -6..6 (red)                 -15..-9 (crimson), 9..15 (red-orange)
    light          x0.7..x1.3                  x0.45..x0.6 (dim), x1.4..x1.55 (bright)

Saturation and value ranges, the light direction / position jitter and the camera jitter are
the same in both regimes, so what is new in 'unseen' is the colour family and the light level,
not the geometry. Both keep what the tasks rely on: the cube is the only strongly red object
(no surface hue comes within 25 degrees of red, and the cube is more saturated than any
surface), and the camera moves at most :data:`CAMERA_POS_JITTER` (1 cm) and turns at most
:data:`CAMERA_ROT_JITTER` (1 degree), so goal images stay meaningful.

A hue range ``(lo, hi)`` may start below 0 to wrap around red.
"""

import colorsys
from dataclasses import asdict, dataclass
from typing import Optional, Tuple

from jepa_ros.sim.config import VARIATION_REGIMES
from jepa_ros.sim.geometry import mat_to_quat, quat_to_mat, rotvec_to_mat
import mujoco
import numpy as np

# ----------------------------------------------------------------------------- regime ranges
# Table / floor hues [deg]. Train and unseen bands are disjoint with gaps between them; neither
# comes within 25 degrees of red (0), which is the cube's.
TRAIN_SURFACE_HUES = ((25.0, 65.0), (185.0, 240.0))
UNSEEN_SURFACE_HUES = ((85.0, 160.0), (255.0, 285.0))
SURFACE_SATURATION = (0.25, 0.6)   # both regimes: coloured enough for the hue to show
TABLE_VALUE = (0.45, 0.8)
FLOOR_VALUE = (0.2, 0.5)
# Cube hues [deg]: always red; unseen shades (crimson or red-orange) lie just outside train's.
TRAIN_CUBE_HUES = ((-6.0, 6.0),)
UNSEEN_CUBE_HUES = ((-15.0, -9.0), (9.0, 15.0))
CUBE_SATURATION = (0.8, 0.95)
CUBE_VALUE = (0.7, 0.95)
# Factor on every light's diffuse and on the headlight (ambient and diffuse).
TRAIN_LIGHT_SCALE = ((0.7, 1.3),)
UNSEEN_LIGHT_SCALE = ((0.45, 0.6), (1.4, 1.55))
# Same in both regimes.
LIGHT_DIR_JITTER = 0.2       # per-axis offset added to a light's unit direction (renormalised)
LIGHT_POS_JITTER = 0.2       # per-axis light position offset [m] (no effect on directional ones)
CAMERA_POS_JITTER = 0.01     # camera position offset, at most this far [m]
CAMERA_ROT_JITTER = np.deg2rad(1.0)   # camera rotation offset, at most this angle [rad]

REGIME_RANGES = {
    'train': {'surface_hues': TRAIN_SURFACE_HUES, 'cube_hues': TRAIN_CUBE_HUES,
              'light_scale': TRAIN_LIGHT_SCALE},
    'unseen': {'surface_hues': UNSEEN_SURFACE_HUES, 'cube_hues': UNSEEN_CUBE_HUES,
               'light_scale': UNSEEN_LIGHT_SCALE},
}
_VARIATION_STREAM = 0x5CE7E   # seed-sequence key: the variation draw never shifts the cube's


@dataclass(frozen=True)
class SceneVariation:
    """
    One drawn appearance of the scene, applied on top of the nominal model values.

    Offsets have one row per light / camera of the model (model order). Camera offsets are in
    the camera's parent-body frame (position) and the camera frame (rotation vector).
    """

    regime: str
    table_rgb: Tuple[float, float, float]
    floor_rgb: Tuple[float, float, float]
    cube_rgb: Tuple[float, float, float]
    light_scale: float
    light_dir_offset: Tuple[Tuple[float, float, float], ...]
    light_pos_offset: Tuple[Tuple[float, float, float], ...]
    camera_pos_offset: Tuple[Tuple[float, float, float], ...]     # m
    camera_rot_offset: Tuple[Tuple[float, float, float], ...]     # rotation vectors [rad]

    def to_dict(self) -> dict:
        """Return JSON-ready data (e.g. for episode metadata)."""
        return asdict(self)


def hue_deg(rgb) -> float:
    """Return the hue of an RGB colour in degrees, in (-180, 180] (0 = red)."""
    h = colorsys.rgb_to_hsv(*(float(c) for c in rgb))[0] * 360.0
    return h - 360.0 if h > 180.0 else h


def in_ranges(value, ranges) -> bool:
    """Return whether ``value`` lies in one of the closed ``(lo, hi)`` ranges."""
    return any(lo <= value <= hi for lo, hi in ranges)


def _uniform_union(rng, ranges):
    """Draw uniformly from a union of disjoint ranges (each weighted by its width)."""
    widths = np.array([hi - lo for lo, hi in ranges], dtype=np.float64)
    i = int(rng.choice(len(ranges), p=widths / widths.sum()))
    return float(rng.uniform(*ranges[i]))


def _colour(rng, hues, saturation, value):
    h = _uniform_union(rng, hues) % 360.0
    rgb = colorsys.hsv_to_rgb(h / 360.0, rng.uniform(*saturation), rng.uniform(*value))
    return tuple(float(c) for c in rgb)


def _in_ball(rng, n, radius):
    """Return ``n`` points drawn uniformly in a 3-D ball of ``radius``, as tuples."""
    d = rng.normal(size=(n, 3))
    d /= np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-12)
    r = radius * rng.uniform(size=(n, 1)) ** (1.0 / 3.0)
    return tuple(tuple(float(x) for x in row) for row in d * r)


def _box(rng, n, half):
    return tuple(tuple(float(x) for x in row) for row in rng.uniform(-half, half, (n, 3)))


def draw_variation(regime: str, rng: np.random.Generator, n_lights: int,
                   n_cameras: int) -> Optional[SceneVariation]:
    """
    Draw one variation of ``regime`` for a model with that many lights and cameras.

    Returns None for 'none' (nothing drawn, nothing consumed from ``rng``).
    """
    if regime not in VARIATION_REGIMES:
        raise ValueError(f'unknown variation regime {regime!r}; regimes: '
                         f'{", ".join(VARIATION_REGIMES)}')
    if regime == 'none':
        return None
    r = REGIME_RANGES[regime]
    return SceneVariation(
        regime=regime,
        table_rgb=_colour(rng, r['surface_hues'], SURFACE_SATURATION, TABLE_VALUE),
        floor_rgb=_colour(rng, r['surface_hues'], SURFACE_SATURATION, FLOOR_VALUE),
        cube_rgb=_colour(rng, r['cube_hues'], CUBE_SATURATION, CUBE_VALUE),
        light_scale=_uniform_union(rng, r['light_scale']),
        light_dir_offset=_box(rng, n_lights, LIGHT_DIR_JITTER),
        light_pos_offset=_box(rng, n_lights, LIGHT_POS_JITTER),
        camera_pos_offset=_in_ball(rng, n_cameras, CAMERA_POS_JITTER),
        camera_rot_offset=_in_ball(rng, n_cameras, CAMERA_ROT_JITTER))


def variation_rng(seed) -> np.random.Generator:
    """
    Return the generator a reset with ``seed`` draws its variation from.

    Integer (or integer sequence) seeds get a stream of their own, so a seed places the cube
    the same way in every regime; a Generator passed as seed is used as it is.
    """
    try:
        return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_VARIATION_STREAM,)))
    except TypeError:
        return np.random.default_rng(seed)


class SceneTargets:
    """
    The model entries a variation writes, with their nominal values (to restore them).

    Colours go to the geom's material when it has one (else to its rgba); a missing table or
    floor geom (a custom model) is skipped. The cube colour goes to the first geom of
    ``cube_body`` (-1: none).
    """

    def __init__(self, model, cube_body=-1, table_geom='table', floor_geom='floor'):
        """Find the table, floor and cube colour slots and copy every nominal value."""
        self.slots = {}
        for key, name in (('table', table_geom), ('floor', floor_geom)):
            g = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_GEOM, name) if name else -1
            if g >= 0:
                self.slots[key] = self._slot(model, g)
        if cube_body >= 0:
            geoms = [g for g in range(model.ngeom) if model.geom_bodyid[g] == cube_body]
            if geoms:
                self.slots['cube'] = self._slot(model, geoms[0])
        self.nominal_rgba = {key: self._rgba(model, slot).copy()
                             for key, slot in self.slots.items()}
        self.light_diffuse = model.light_diffuse.copy()
        self.light_pos = model.light_pos.copy()
        self.light_dir = model.light_dir.copy()
        self.headlight_ambient = model.vis.headlight.ambient.copy()
        self.headlight_diffuse = model.vis.headlight.diffuse.copy()
        self.cam_pos = model.cam_pos.copy()
        self.cam_quat = model.cam_quat.copy()

    @staticmethod
    def _slot(model, geom):
        mat = int(model.geom_matid[geom])
        return ('mat', mat) if mat >= 0 else ('geom', int(geom))

    @staticmethod
    def _rgba(model, slot):
        kind, i = slot
        return model.mat_rgba[i] if kind == 'mat' else model.geom_rgba[i]


def restore_nominal(model, targets: SceneTargets):
    """Write the nominal colours, lights and camera poses back (exact copies)."""
    for key, slot in targets.slots.items():
        SceneTargets._rgba(model, slot)[:] = targets.nominal_rgba[key]
    model.light_diffuse[:] = targets.light_diffuse
    model.light_pos[:] = targets.light_pos
    model.light_dir[:] = targets.light_dir
    model.vis.headlight.ambient[:] = targets.headlight_ambient
    model.vis.headlight.diffuse[:] = targets.headlight_diffuse
    model.cam_pos[:] = targets.cam_pos
    model.cam_quat[:] = targets.cam_quat


def apply_variation(model, targets: SceneTargets, variation: Optional[SceneVariation]):
    """
    Set the model to the nominal scene with ``variation`` on top (None: just the nominal).

    Camera and light poses reach ``MjData`` (cam_xpos, light_xdir) at the next kinematics
    pass (``mj_kinematics`` + ``mj_camlight`` or ``mj_forward``); ``SimArm`` does that.
    """
    restore_nominal(model, targets)
    if variation is None:
        return
    v = variation
    if len(v.light_dir_offset) != model.nlight or len(v.camera_pos_offset) != model.ncam:
        raise ValueError(f'variation drawn for {len(v.light_dir_offset)} lights / '
                         f'{len(v.camera_pos_offset)} cameras; the model has {model.nlight} / '
                         f'{model.ncam}')
    for key, rgb in (('table', v.table_rgb), ('floor', v.floor_rgb), ('cube', v.cube_rgb)):
        if key in targets.slots:
            SceneTargets._rgba(model, targets.slots[key])[:3] = rgb
    model.light_diffuse[:] = targets.light_diffuse * v.light_scale
    model.vis.headlight.ambient[:] = targets.headlight_ambient * v.light_scale
    model.vis.headlight.diffuse[:] = targets.headlight_diffuse * v.light_scale
    for i in range(model.nlight):
        d = targets.light_dir[i] + np.asarray(v.light_dir_offset[i])
        model.light_dir[i] = d / max(np.linalg.norm(d), 1e-9)
        model.light_pos[i] = targets.light_pos[i] + np.asarray(v.light_pos_offset[i])
    for i in range(model.ncam):
        model.cam_pos[i] = targets.cam_pos[i] + np.asarray(v.camera_pos_offset[i])
        rot = quat_to_mat(targets.cam_quat[i]) @ rotvec_to_mat(v.camera_rot_offset[i])
        model.cam_quat[i] = mat_to_quat(rot)


def save_variation_grid(path, regime_samples: int = 6, size: int = 128,
                        regimes=('train', 'unseen'), seed: int = 0, camera=None,
                        mjcf_path=None) -> np.ndarray:
    """
    Render ``regime_samples`` scenes of each regime (one row per regime) into a PNG at ``path``.

    Tile ``j`` of a row is what ``SimArm(SimConfig(variation=regime)).reset(seed=seed + j)``
    shows, so the picture is the data a person would get. Returns the grid as (H, W, 3) uint8.
    """
    from jepa_ros.sim.arm import SimArm
    from jepa_ros.sim.config import SimConfig
    from PIL import Image, ImageDraw

    label_w, pad = 56, 2
    rows = []
    for regime in regimes:
        with SimArm(SimConfig(mjcf_path=mjcf_path, image_size=size, variation=regime)) as sim:
            tiles = []
            for j in range(regime_samples):
                sim.reset(seed=seed + j, render=False)
                tiles.append(sim.render(size=size, camera=camera))
        rows.append(tiles)
    height = len(regimes) * (size + pad) + pad
    width = label_w + regime_samples * (size + pad) + pad
    grid = Image.new('RGB', (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(grid)
    for r, (regime, tiles) in enumerate(zip(regimes, rows)):
        top = pad + r * (size + pad)
        draw.text((4, top + size // 2 - 6), regime, fill=(0, 0, 0))
        for j, tile in enumerate(tiles):
            grid.paste(Image.fromarray(tile), (label_w + pad + j * (size + pad), top))
    grid.save(str(path))
    return np.asarray(grid)
