"""PCNet, SCN and SSN: shapes for odd sizes, valid associations, bad input, superpixels()."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from helpers import assert_superpixels
from pcnet.methods.learned import Segmenter
from pcnet.models import PCNet, build, list_models

torch.manual_seed(0)


def test_registry_lists_and_rejects():
    assert list_models() == ["pcnet", "scn", "ssn"]
    with pytest.raises(ValueError, match=r"unknown model 'pcn'; valid models: \['pcnet', 'scn', 'ssn'\]"):
        build("pcn")


def test_pcnet_parameter_count_matches_reference():
    n = sum(p.numel() for p in build("pcnet").parameters())
    assert 2.2e6 < n < 2.4e6  # the reference implementation has about 2.3 M


@pytest.mark.parametrize("size", [(125, 97), (16, 16), (4, 5)])
def test_pcnet_output_is_upscaled_association(size):
    model = build("pcnet").eval()
    h, w = size
    out = model(torch.rand(2, 3, h, w), return_sr=True)
    assert out["assoc"].shape == (2, 9, 4 * h, 4 * w)
    assert out["embedding"].shape == (2, 16, 4 * h, 4 * w)
    assert out["sr"].shape == (2, 3, 4 * h, 4 * w)
    assert torch.allclose(out["assoc"].sum(1), torch.ones(2, 4 * h, 4 * w), atol=1e-5)


def test_pcnet_inference_skips_sr_head():
    model = build("pcnet").eval()
    calls = []
    model.sr_head.register_forward_hook(lambda *a: calls.append(1))
    out = model(torch.rand(1, 3, 20, 24))
    assert "sr" not in out and not calls
    with pytest.raises(ValueError, match="sr_head=False"):
        PCNet(sr_head=False).eval()(torch.rand(1, 3, 8, 8), return_sr=True)
    with pytest.raises(ValueError, match="training with BatchNorm needs more than one value"):
        PCNet().train()(torch.rand(1, 3, 8, 8))


def test_pcnet_upscale_is_configurable():
    out = PCNet(upscale=2, cell_size=8).eval()(torch.rand(1, 3, 33, 17))
    assert out["assoc"].shape == (1, 9, 66, 34)


def test_scn_keeps_resolution():
    out = build("scn").eval()(torch.rand(2, 3, 125, 97))
    assert out["assoc"].shape == (2, 9, 125, 97)
    assert torch.allclose(out["assoc"].sum(1), torch.ones(2, 125, 97), atol=1e-5)


def test_ssn_forward_backward_on_cpu_at_201():
    model = build("ssn").train()
    image = torch.rand(1, 3, 201, 201)
    out = model(image)
    assert out["assoc"].shape == (1, 9, 201, 201)
    assert out["features"].shape == (1, 20, 201, 201)
    assert out["centres"].shape == (1, 20, 11, 11)  # cell size 20: ceil(201 / 20)
    assert torch.allclose(out["assoc"].sum(1), torch.ones(1, 201, 201), atol=1e-5)
    out["assoc"][:, 4].mean().backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert sum(float(g.abs().sum()) for g in grads) > 0


def test_ssn_never_assigns_outside_the_grid():
    out = build("ssn").eval()(torch.rand(1, 3, 40, 40), cell_size=10)
    q = out["assoc"][0].detach()
    assert float(q[:3, :10].abs().max()) == 0.0  # top row of cells has no upper neighbours
    assert float(q[[0, 3, 6], :, :10].abs().max()) == 0.0  # left column has no left neighbours


@pytest.mark.parametrize("name", ["pcnet", "scn", "ssn"])
@pytest.mark.parametrize(
    "image, fragment",
    [
        (torch.rand(1, 4, 32, 32), r"\(B, 3, H, W\) RGB tensor"),
        (torch.rand(3, 32, 32), r"\(B, 3, H, W\) RGB tensor"),
        (torch.full((1, 3, 32, 32), float("nan")), "NaN or infinite"),
        (torch.zeros(1, 3, 32, 32, dtype=torch.uint8), "float tensor"),
    ],
)
def test_bad_input_is_rejected_before_any_convolution(name, image, fragment):
    with pytest.raises(ValueError, match=fragment):
        build(name)(image)


@pytest.mark.parametrize("name, size", [("pcnet", (3, 3)), ("scn", (8, 8))])
def test_input_smaller_than_one_cell(name, size):
    with pytest.raises(ValueError, match="smaller than one superpixel cell"):
        build(name)(torch.rand(1, 3, *size))


@pytest.mark.parametrize("name", ["pcnet", "scn", "ssn"])
@pytest.mark.parametrize("shape", [(61, 45, 3), (30, 41), (7, 5, 4), (1, 1, 3)])
def test_superpixels_are_connected_and_full_size(name, shape):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, size=shape, dtype=np.uint8)
    labels = Segmenter(build(name), tile=None).superpixels(image, n_segments=12 if shape[0] > 8 else None)
    assert_superpixels(labels, shape)


def test_superpixels_count_follows_n_segments():
    model = Segmenter(build("scn"), tile=None)
    image = np.random.default_rng(0).integers(0, 256, size=(96, 128, 3), dtype=np.uint8)
    few = model.superpixels(image, n_segments=12).max() + 1
    many = model.superpixels(image, n_segments=200).max() + 1
    assert few < many


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, 10**7])
def test_superpixels_rejects_bad_n_segments(bad):
    with pytest.raises(ValueError, match="n_segments"):
        Segmenter(build("pcnet"), tile=None).superpixels(np.zeros((32, 32, 3), np.uint8), n_segments=bad)


def test_superpixels_restores_training_mode():
    model = build("pcnet").train()
    Segmenter(model, tile=None).superpixels(np.zeros((32, 32, 3), np.uint8))
    assert model.training


@pytest.mark.parametrize(
    "kwargs", [{}, {"subpixel_kernel": 1, "subpixel_rank": None}, {"subpixel_rank": None}, {"head_kernel": 3}]
)
def test_pcnet_fused_inference_logits_equal_head_of_embedding(kwargs):
    model = PCNet(**kwargs).eval()
    x = torch.rand(2, 3, 37, 29)
    with torch.no_grad():
        reference = model.sp_head(model(x)["embedding"])
        fused = model.association_logits(x)
    assert fused.shape == (2, 9, 148, 116)
    assert torch.allclose(fused, reference, atol=1e-5)


def test_scn_logits_are_the_association_before_softmax():
    model = build("scn").eval()
    x = torch.rand(1, 3, 40, 36)
    with torch.no_grad():
        assert torch.allclose(torch.softmax(model.association_logits(x), 1), model(x)["assoc"], atol=1e-6)


def test_every_pcnet_parameter_learns_from_the_composite_loss_and_each_term_reaches_the_backbone():
    from pcnet.losses import PCNetLoss

    torch.manual_seed(0)
    model = build("pcnet").train()
    labels = torch.zeros(2, 64, 64, dtype=torch.long)
    labels[:, :, 24:] = 1
    labels[:, 40:, :] = 2
    target = {"labels": labels, "image": torch.rand(2, 3, 64, 64)}
    loss_fn = PCNetLoss(cell_size=16)

    def terms() -> dict:
        glob = model(torch.rand(2, 3, 16, 16), return_sr=True)
        local = model(torch.rand(2, 3, 16, 16), return_sr=True)
        return loss_fn(glob, target, local, target, generator=torch.Generator().manual_seed(0))

    model.zero_grad()
    terms()["total"].backward()
    silent = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not silent, silent
    first_conv = model.backbone.encoder[0][0][0].weight
    for term in ("sp_global", "sr_global", "sp_local", "sr_local", "discriminative"):
        model.zero_grad()
        terms()[term].backward()
        assert first_conv.grad is not None and first_conv.grad.abs().sum() > 0, term
        assert (
            model.sr_head.weight.grad is None or term.startswith("sr") or not model.sr_head.weight.grad.abs().sum() > 0
        )


@pytest.mark.parametrize("tiled", [False, True])
def test_pcnet_fast_inference_path_gives_the_reference_labels(tiled):
    """BN folded, the SP head folded once and hard labels before the pixel shuffle: the cell ids
    of the fp32 reference path (association logits → hard_labels) on ≥ 99.99 % of the pixels of a
    synthetic photo, untiled and through 256-px tiles (the quality guard of the speed levers)."""
    from pcnet.data.synthetic import synthetic_image
    from pcnet.methods.learned import Segmenter
    from pcnet.models import load_model
    from pcnet.ops import hard_labels

    model = load_model("pcnet")
    image, _ = synthetic_image(1024, 768, n_regions=40, seed=5)
    x, cell_size = model.prepare(image, None)
    with torch.no_grad():
        reference = hard_labels(model.association_logits(x), cell_size)[0].numpy()
        tile = 256 if tiled else None
        fast = Segmenter(model, tile=tile, precision="fp32").cells(image, None, tile)[0]
    assert fast.shape == reference.shape == (1024, 768)
    assert (fast == reference).mean() >= 0.9999
    model.train()  # training mode: the plain logits (weights may change between steps)
    assert model.inference_scores(x).shape[1] == 9
