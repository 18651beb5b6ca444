"""Distorting training images: the small rotations, scalings and elastic warps that a hand
writes anyway, so a model trained on few images sees many plausible ones.

    warp = Distortion(rotate=10, scale=0.1, elastic=8)
    draws = warp.draw(count, height, width, generator)   # one epoch's random draws
    images = warp.apply(images, draws.take(chosen), fill) # (N, H, W) -> (N, H, W)

``rotate`` (degrees): each image is turned about its centre by an angle drawn uniformly from
[-rotate, rotate]. ``scale``: each image is magnified by a factor drawn uniformly from
[1 - scale, 1 + scale]. ``elastic`` (pixels): each pixel is moved by a smooth random field
(Simard, Steinkraus and Platt 2003: uniform noise in [-1, 1] per pixel and axis, blurred by a
Gaussian of ``ELASTIC_SIGMA`` pixels, rescaled so its largest move is ``elastic`` pixels).
Pixels are read back by bilinear interpolation; anything taken from outside the image is the
background value ``fill``. Whole-pixel shifts stay in ``image_sequences.shift_images`` (exact,
no interpolation).

Draws are made for a whole epoch from one generator, in a fixed order, so a resumed epoch
repeats them exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

ELASTIC_SIGMA = 3.0  # pixels; the smoothness of the elastic field on 28x28 digits


@dataclass(frozen=True)
class Draws:
    """One random distortion per image: angles (N,) in radians, scales (N,), fields (N, 2, H, W)
    of moves in pixels (x then y) or None."""

    angles: torch.Tensor | None
    scales: torch.Tensor | None
    fields: torch.Tensor | None

    def take(self, chosen: slice | torch.Tensor) -> Draws:
        pick = lambda t: None if t is None else t[chosen]  # noqa: E731
        return Draws(pick(self.angles), pick(self.scales), pick(self.fields))


@dataclass(frozen=True)
class Distortion:
    rotate: float = 0.0  # degrees, each way
    scale: float = 0.0  # relative, each way
    elastic: float = 0.0  # pixels, the largest move of the field

    def __post_init__(self):
        for name, limit in (("rotate", 180.0), ("scale", 1.0), ("elastic", None)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"augment_{name} must be a number, got {value!r}")
            if not math.isfinite(value) or value < 0 or (limit is not None and value >= limit):
                allowed = f"in [0, {limit:g})" if limit is not None else ">= 0"
                raise ValueError(f"augment_{name} must be {allowed}, got {value}")

    @property
    def active(self) -> bool:
        return bool(self.rotate or self.scale or self.elastic)

    def draw(self, count: int, height: int, width: int, generator: torch.Generator) -> Draws:
        """The distortions of ``count`` images, drawn in the order angles, scales, fields."""
        angles = scales = fields = None
        if self.rotate:
            degrees = (torch.rand(count, generator=generator) * 2 - 1) * self.rotate
            angles = degrees * (math.pi / 180)
        if self.scale:
            scales = 1 + (torch.rand(count, generator=generator) * 2 - 1) * self.scale
        if self.elastic:
            noise = torch.rand(count, 2, height, width, generator=generator) * 2 - 1
            smooth = gaussian_blur(noise, ELASTIC_SIGMA)
            peak = smooth.abs().amax(dim=(1, 2, 3), keepdim=True).clamp_min(1e-12)
            fields = smooth / peak * self.elastic  # (N, 2, H, W), largest move = elastic
        return Draws(angles, scales, fields)

    def apply(self, images: torch.Tensor, draws: Draws, fill: float) -> torch.Tensor:
        """``images`` (N, H, W) distorted by ``draws`` (one per image)."""
        count, height, width = images.shape
        if not count or not self.active:
            return images
        # The sampling grid: for each output pixel, where in the input to read (x, y in
        # [-1, 1], align_corners=False). Rotation and scaling act about the image centre.
        theta = torch.zeros(count, 2, 3, dtype=images.dtype)
        angle = draws.angles if draws.angles is not None else torch.zeros(count)
        zoom = draws.scales if draws.scales is not None else torch.ones(count)
        cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
        aspect = width / height  # keeps a rotation a rotation on non-square images
        theta[:, 0, 0], theta[:, 0, 1] = cos, -sin / aspect
        theta[:, 1, 0], theta[:, 1, 1] = sin * aspect, cos
        grid = F.affine_grid(theta, (count, 1, height, width), align_corners=False)  # (N,H,W,2)
        if draws.fields is not None:
            moves = draws.fields.permute(0, 2, 3, 1).to(images.dtype)  # (N, H, W, 2) pixels
            grid = grid + moves * torch.tensor([2.0 / width, 2.0 / height], dtype=images.dtype)
        shifted = (images - fill).unsqueeze(1)  # background 0, so "zeros" padding is the fill
        out = F.grid_sample(
            shifted, grid, mode="bilinear", padding_mode="zeros", align_corners=False
        )
        return out.squeeze(1) + fill


def gaussian_blur(fields: torch.Tensor, sigma: float) -> torch.Tensor:
    """Each channel of ``fields`` (N, C, H, W) blurred by a Gaussian of ``sigma`` pixels
    (separable, zero padding)."""
    radius = max(1, int(math.ceil(3 * sigma)))
    offsets = torch.arange(-radius, radius + 1, dtype=fields.dtype)
    kernel = torch.exp(-(offsets**2) / (2 * sigma**2))
    kernel = kernel / kernel.sum()
    count, channels, height, width = fields.shape
    flat = fields.reshape(count * channels, 1, height, width)
    flat = F.conv2d(flat, kernel.view(1, 1, 1, -1), padding=(0, radius))
    flat = F.conv2d(flat, kernel.view(1, 1, -1, 1), padding=(radius, 0))
    return flat.reshape(count, channels, height, width)
