"""The network registry: every registered net maps (n, 3, s, s) to one logit per face; unknown names fail."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch", reason="training needs torch (pip install torch==2.13.0)")

from mimica.train.net import NETS, create_net  # noqa: E402


def test_unknown_net_is_a_key_error_naming_the_choices() -> None:
    with pytest.raises(KeyError, match="unknown network 'resnet-9000'.*artifactnet-s"):
        create_net("resnet-9000")


def test_shipped_recipe_net_is_registered() -> None:
    from mimica.train.config import TrainConfig

    assert TrainConfig().net in NETS


@pytest.mark.parametrize("name", sorted(NETS))
@pytest.mark.parametrize(("n", "size"), [(1, 128), (3, 128), (2, 64)])
def test_one_logit_per_face(name: str, n: int, size: int) -> None:
    torch.manual_seed(0)
    net = create_net(name).eval()
    with torch.no_grad():
        out = net(torch.randn(n, 3, size, size))
    assert out.shape == (n,)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("name", sorted(NETS))
def test_faces_are_scored_independently_in_eval(name: str) -> None:
    """In eval mode (BatchNorm frozen, no dropout) a face's logit does not depend on its batch."""
    torch.manual_seed(0)
    net = create_net(name).eval()
    x = torch.randn(3, 3, 64, 64)
    with torch.no_grad():
        together = net(x)
        alone = torch.cat([net(x[i : i + 1]) for i in range(3)])
    torch.testing.assert_close(together, alone, atol=1e-4, rtol=1e-4)


def test_kwargs_reach_the_net() -> None:
    net = create_net("artifactnet-xs", dropout=0.0)
    assert any(isinstance(m, torch.nn.Dropout) and m.p == 0.0 for m in net.modules())
