# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
Architecture configs and presets for the V-JEPA 2 encoder and the V-JEPA 2-AC predictor.

The official presets carry the published shapes (ViT-L/H/g encoders, the 300M-parameter AC
predictor); 'tiny' and 'small' are small enough to train on a CPU.
"""

from dataclasses import dataclass

from jepa_ros.utils.config import ConfigError, from_dict
from jepa_ros.utils.errors import UserError


class CheckpointError(UserError, ValueError):
    """A checkpoint does not match the expected layout; the message names the keys at fault."""


def _check_positive(cls_name, **values):
    for name, value in values.items():
        if value <= 0:
            raise ConfigError(f'{cls_name}.{name} must be positive, got {value!r}')


def _check_heads(cls_name, embed_dim, num_heads):
    if embed_dim % num_heads:
        raise ConfigError(
            f'{cls_name}: embed_dim {embed_dim} is not divisible by num_heads {num_heads}')
    if (embed_dim // num_heads) % 2:
        raise ConfigError(
            f'{cls_name}: head dim {embed_dim // num_heads} must be even for rotary embeddings')


@dataclass
class EncoderConfig:
    """Shape of a V-JEPA 2 video encoder (RoPE ViT with tubelet patches, no CLS token)."""

    img_size: int = 256          # nominal image size (inputs of other sizes work too)
    patch_size: int = 16
    tubelet_size: int = 2
    in_chans: int = 3
    embed_dim: int = 1024
    depth: int = 24
    num_heads: int = 16
    mlp_ratio: float = 4.0
    qkv_bias: bool = True
    norm_eps: float = 1e-6

    def validate(self):
        """Raise ConfigError when the shape cannot be built."""
        _check_positive('EncoderConfig', img_size=self.img_size, patch_size=self.patch_size,
                        tubelet_size=self.tubelet_size, in_chans=self.in_chans,
                        embed_dim=self.embed_dim, depth=self.depth, num_heads=self.num_heads,
                        mlp_ratio=self.mlp_ratio, norm_eps=self.norm_eps)
        _check_heads('EncoderConfig', self.embed_dim, self.num_heads)

    @property
    def mlp_hidden_dim(self):
        """Width of the MLP hidden layer (rounded as the official ViT-g: 1408 * 48/11 = 6144)."""
        return int(round(self.embed_dim * self.mlp_ratio))


@dataclass
class PredictorConfig:
    """Shape of a V-JEPA 2-AC action-conditioned predictor."""

    img_size: int = 256          # image size the encoder sees; with patch_size fixes the grid
    patch_size: int = 16
    encoder_dim: int = 1408      # width of the encoder tokens it reads and predicts
    embed_dim: int = 1024
    depth: int = 24
    num_heads: int = 16
    mlp_ratio: float = 4.0
    qkv_bias: bool = True
    norm_eps: float = 1e-6
    action_dim: int = 7
    state_dim: int = 7
    extrinsics_dim: int = 6
    use_extrinsics: bool = False  # add an extrinsics token to every step
    # Predict the change of the tokens (output = input frame + projection, projection initialised
    # to zero) instead of the tokens themselves. Not in the official model (False keeps parity);
    # for small models trained from scratch it starts at the copy-last-frame baseline instead of
    # far above it, where most tokens (static background) never change.
    residual: bool = False
    # Camera views per time step. Each view's patch tokens are concatenated (view-major) and
    # tagged with a learned view embedding; the rotary positions repeat per view. 1 is the
    # official single-camera layout (no view embedding, so official checkpoints load unchanged).
    num_views: int = 1

    def validate(self):
        """Raise ConfigError when the shape cannot be built."""
        _check_positive('PredictorConfig', img_size=self.img_size, patch_size=self.patch_size,
                        num_views=self.num_views,
                        encoder_dim=self.encoder_dim, embed_dim=self.embed_dim, depth=self.depth,
                        num_heads=self.num_heads, mlp_ratio=self.mlp_ratio,
                        norm_eps=self.norm_eps, action_dim=self.action_dim,
                        state_dim=self.state_dim, extrinsics_dim=self.extrinsics_dim)
        _check_heads('PredictorConfig', self.embed_dim, self.num_heads)
        if self.img_size % self.patch_size:
            raise ConfigError(f'PredictorConfig: img_size {self.img_size} is not a multiple of '
                              f'patch_size {self.patch_size}')

    @property
    def mlp_hidden_dim(self):
        """Width of the MLP hidden layer."""
        return int(round(self.embed_dim * self.mlp_ratio))

    @property
    def grid_size(self):
        """Patches per side of one frame."""
        return self.img_size // self.patch_size

    @property
    def tokens_per_view(self):
        """Patch tokens of one camera view."""
        return self.grid_size ** 2

    @property
    def tokens_per_frame(self):
        """Patch tokens of one time step over all views (N)."""
        return self.num_views * self.grid_size ** 2

    @property
    def cond_tokens(self):
        """Conditioning tokens per step: action, state and optionally extrinsics."""
        return 3 if self.use_extrinsics else 2


# Official V-JEPA 2 shapes (vit_large, vit_huge, vit_giant_xformers) and CPU-sized ones.
ENCODER_PRESETS = {
    'tiny': {'img_size': 64, 'patch_size': 8, 'embed_dim': 128, 'depth': 4, 'num_heads': 4},
    'small': {'img_size': 128, 'patch_size': 16, 'embed_dim': 256, 'depth': 6, 'num_heads': 4},
    'large': {'embed_dim': 1024, 'depth': 24, 'num_heads': 16},
    'huge': {'embed_dim': 1280, 'depth': 32, 'num_heads': 16},
    'giant': {'embed_dim': 1408, 'depth': 40, 'num_heads': 22, 'mlp_ratio': 48 / 11},
}

# The official V-JEPA 2-AC predictor (about 300M parameters) and CPU-sized ones.
PREDICTOR_PRESETS = {
    'tiny': {'img_size': 64, 'patch_size': 8, 'embed_dim': 128, 'depth': 4, 'num_heads': 4},
    'small': {'img_size': 128, 'patch_size': 16, 'embed_dim': 256, 'depth': 6, 'num_heads': 4},
    'ac': {'img_size': 256, 'patch_size': 16, 'embed_dim': 1024, 'depth': 24, 'num_heads': 16},
}
PREDICTOR_PRESETS['large'] = PREDICTOR_PRESETS['huge'] = PREDICTOR_PRESETS['ac']
PREDICTOR_PRESETS['giant'] = PREDICTOR_PRESETS['ac']

# Head counts of the official models by width, used when a checkpoint does not say.
OFFICIAL_ENCODER_HEADS = {192: 3, 384: 6, 768: 12, 1024: 16, 1280: 16, 1408: 22, 1664: 26}
OFFICIAL_PREDICTOR_HEADS = {1024: 16}


def encoder_preset(name: str, **overrides) -> EncoderConfig:
    """Return the encoder config of a named preset, with field overrides."""
    if name not in ENCODER_PRESETS:
        raise ConfigError(f'unknown encoder preset {name!r}; known: {", ".join(ENCODER_PRESETS)}')
    return from_dict(EncoderConfig, {**ENCODER_PRESETS[name], **overrides})


def predictor_preset(name: str, encoder_dim=None, **overrides) -> PredictorConfig:
    """
    Return the predictor config of a named preset for an encoder of width ``encoder_dim``.

    'large', 'huge' and 'giant' all name the official AC predictor ('ac'); its grid follows the
    official 256 px / patch 16 unless ``img_size`` / ``patch_size`` are overridden.
    """
    if name not in PREDICTOR_PRESETS:
        raise ConfigError(
            f'unknown predictor preset {name!r}; known: {", ".join(PREDICTOR_PRESETS)}')
    values = dict(PREDICTOR_PRESETS[name])
    if encoder_dim is not None:
        values['encoder_dim'] = encoder_dim
    elif name in ENCODER_PRESETS:
        values['encoder_dim'] = ENCODER_PRESETS[name]['embed_dim']
    values.update(overrides)
    return from_dict(PredictorConfig, values)


def default_heads(width, table, what):
    """Return the official head count for a width, else width // 64 (the official head dim)."""
    if width in table:
        return table[width]
    if width % 64 == 0:
        return width // 64
    raise CheckpointError(f'cannot guess the head count of a {what} of width {width}: '
                          f'pass it explicitly (e.g. {what}_heads=...)')
