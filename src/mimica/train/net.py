"""Detector networks in plain torch (no torchvision: its PyPI build does not import beside the CPU torch wheel).

Registered by name; the name and its arguments go into the model card.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

NETS: dict[str, Callable[..., nn.Module]] = {}


def register(name: str) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    def deco(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        NETS[name] = fn
        return fn

    return deco


def create_net(name: str, **kwargs: object) -> nn.Module:
    if name not in NETS:
        raise KeyError(f"unknown network {name!r}; registered: {sorted(NETS)}")
    return NETS[name](**kwargs)


class ConvBN(nn.Sequential):
    def __init__(self, c_in: int, c_out: int, k: int = 3, stride: int = 1, act: bool = True) -> None:
        super().__init__(
            nn.Conv2d(c_in, c_out, k, stride, k // 2, bias=False),
            nn.BatchNorm2d(c_out),
            nn.ReLU(inplace=True) if act else nn.Identity(),
        )


class Block(nn.Module):
    """Basic residual block (He et al. 2016)."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1) -> None:
        super().__init__()
        self.body = nn.Sequential(ConvBN(c_in, c_out, 3, stride), ConvBN(c_out, c_out, 3, 1, act=False))
        self.skip = (
            nn.Identity() if stride == 1 and c_in == c_out else ConvBN(c_in, c_out, 1, stride, act=False)
        )
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.body(x) + self.skip(x))


class ArtifactNet(nn.Module):
    """A small ResNet that keeps full resolution in its stem: blending boundaries and resampling traces are
    high-frequency, so the first layers see every pixel before any stride."""

    def __init__(self, widths: tuple[int, ...] = (32, 48, 96, 192), blocks: tuple[int, ...] = (1, 2, 2, 2),
                 stem: int = 24, dropout: float = 0.2) -> None:
        super().__init__()
        layers: list[nn.Module] = [ConvBN(3, stem, 3, 1), ConvBN(stem, widths[0], 3, 2)]
        c = widths[0]
        for i, (w, n) in enumerate(zip(widths, blocks, strict=True)):
            for j in range(n):
                layers.append(Block(c, w, 2 if (j == 0 and i > 0) else 1))
                c = w
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout), nn.Linear(c, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x)).squeeze(1)


@register("artifactnet-s")
def artifactnet_s(**kw: object) -> nn.Module:
    return ArtifactNet((32, 48, 96, 192), (1, 2, 2, 2), 24, **kw)  # type: ignore[arg-type]


@register("artifactnet-xs")
def artifactnet_xs(**kw: object) -> nn.Module:
    return ArtifactNet((24, 32, 64, 128), (1, 1, 2, 2), 16, **kw)  # type: ignore[arg-type]


@register("artifactnet-m")
def artifactnet_m(**kw: object) -> nn.Module:
    return ArtifactNet((32, 64, 128, 256), (2, 2, 2, 2), 32, **kw)  # type: ignore[arg-type]
