"""Known answers, invariances, gradients and switches of pcnet.losses."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from pcnet._checks import InputError
from pcnet.losses import (
    LocalDiscriminativeLoss,
    PCNetLoss,
    SRLoss,
    SSNLoss,
    SuperpixelLoss,
    binary_guidance_mask,
    boundary_band,
    local_discriminative_loss,
    longest_boundary_class,
    sr_loss,
    ssn_loss,
    superpixel_loss,
    two_class_windows,
)


def own_cell_assoc(batch: int, height: int, width: int) -> torch.Tensor:
    """A hard association: every pixel fully in its own grid cell."""
    assoc = torch.zeros(batch, 9, height, width)
    assoc[:, 4] = 1
    return assoc


def cell_labels(cells: list[list[int]], cell_size: int) -> torch.Tensor:
    """A (1, H, W) label map made of whole cells."""
    return torch.tensor(np.kron(np.array(cells), np.ones((cell_size, cell_size), dtype=np.int64)))[None]


def random_assoc(batch: int, height: int, width: int, seed: int = 0) -> torch.Tensor:
    logits = torch.randn(batch, 9, height, width, generator=torch.Generator().manual_seed(seed))
    return logits.requires_grad_()


def vertical_split(batch: int, size: int, column: int) -> torch.Tensor:
    """Class 0 left of ``column``, class 1 from it on."""
    return (torch.arange(size) >= column).long().expand(batch, size, size).clone()


# ----------------------------------------------------------------------------- superpixel (L_SP)


def test_superpixel_loss_perfect_association_known_answer():
    # 2×2 cells: the reconstructed position of each pixel is its cell centre, √0.5 px away
    labels = torch.cat([cell_labels([[0, 1], [1, 0]], 2), cell_labels([[2, 2], [2, 2]], 2)])
    out = superpixel_loss(own_cell_assoc(2, 4, 4), labels, cell_size=2, pos_weight=0.003, scale=0.005)
    expected_pos = 2 * 16 * math.sqrt(0.5) / 2 * 0.003 / 2  # summed over pixels, divided by B
    assert out["ce"].abs().item() < 1e-6
    assert out["pos"].item() == pytest.approx(expected_pos, rel=1e-6)
    assert out["total"].item() == pytest.approx(0.005 * (out["ce"] + out["pos"]).item())


def test_superpixel_loss_relabels_and_ignores():
    assoc = random_assoc(1, 8, 8).softmax(1)
    labels = cell_labels([[0, 1], [1, 0]], 4)
    base = superpixel_loss(assoc, labels, cell_size=4)
    relabelled = superpixel_loss(assoc, torch.where(labels == 0, 7, 1000), cell_size=4)
    assert torch.allclose(base["total"], relabelled["total"])
    # ignored pixels leave both sums; on a perfect association the position term shrinks by 1/4
    perfect = own_cell_assoc(1, 8, 8)
    ignored = cell_labels([[0, 255], [1, 0]], 4)
    full, part = superpixel_loss(perfect, labels, 4), superpixel_loss(perfect, ignored, 4)
    assert part["pos"].item() == pytest.approx(0.75 * full["pos"].item(), rel=1e-6)
    assert part["ce"].abs().item() < 1e-6


def test_superpixel_loss_gradients_from_both_terms():
    logits = random_assoc(2, 16, 16)
    labels = vertical_split(2, 16, 5)
    out = SuperpixelLoss(cell_size=4)(logits.softmax(1), labels)
    for term in ("ce", "pos"):
        (grad,) = torch.autograd.grad(out[term], logits, retain_graph=True)
        assert torch.isfinite(grad).all() and grad.abs().sum() > 0, term


def test_superpixel_loss_checks_inputs():
    assoc = own_cell_assoc(1, 4, 4)
    with pytest.raises(InputError, match="integer class ids"):
        superpixel_loss(assoc, torch.zeros(1, 4, 4), cell_size=2)
    with pytest.raises(InputError, match="non-negative"):
        superpixel_loss(assoc, -torch.ones(1, 4, 4, dtype=torch.long), cell_size=2)
    with pytest.raises(InputError, match="must match assoc"):
        superpixel_loss(assoc, torch.zeros(1, 4, 5, dtype=torch.long), cell_size=2)
    with pytest.raises(InputError, match=r"assoc must have shape \(B, 9, H, W\)"):
        superpixel_loss(assoc[:, :8], torch.zeros(1, 4, 4, dtype=torch.long), cell_size=2)


# ------------------------------------------------------------------------- binary guidance (eq. 4)

# Class 2 has the longest boundary. Edges by hand:
#   horizontal: rows 0, 1, 4, 5 each one 0|1 edge (4); rows 2, 3 each one 0|2 and one 2|1 (2 + 2)
#   vertical:   columns 1, 2 each two 0/2 edges (4); columns 3, 4 each two 1/2 edges (4)
#   class 0: 4 + 2 + 4 = 10, class 1: 4 + 2 + 4 = 10, class 2: 2 + 2 + 4 + 4 = 12
GUIDANCE_MAP = torch.tensor(
    [
        [0, 0, 0, 1, 1, 1],
        [0, 0, 0, 1, 1, 1],
        [0, 2, 2, 2, 2, 1],
        [0, 2, 2, 2, 2, 1],
        [0, 0, 0, 1, 1, 1],
        [0, 0, 0, 1, 1, 1],
    ]
)


def test_guidance_hand_counted_map():
    assert longest_boundary_class(GUIDANCE_MAP[None]).tolist() == [2]
    assert torch.equal(binary_guidance_mask(GUIDANCE_MAP[None])[0], (GUIDANCE_MAP == 2).long())
    # the original ids come back, whatever they are
    renamed = torch.tensor([30, 4, 17])[GUIDANCE_MAP]
    assert longest_boundary_class(renamed[None]).tolist() == [17]


def test_guidance_ties_single_class_ignore_and_batch():
    halves = torch.tensor([[9, 9, 4, 4]] * 3)  # 9 and 4 share all their 3 edges: tie -> 4
    single = torch.full((3, 4), 6)
    ignored = torch.tensor([[1, 255, 2, 2], [1, 255, 2, 3], [1, 255, 2, 3]])  # 1 touches only 255
    batch = torch.stack([halves, single, ignored])
    assert longest_boundary_class(batch).tolist() == [4, 6, 2]
    mask = binary_guidance_mask(batch)
    assert torch.equal(mask[0], (halves == 4).long())
    assert torch.equal(mask[1], torch.ones(3, 4, dtype=torch.long))
    assert torch.equal(mask[2], torch.tensor([[0, 255, 1, 1], [0, 255, 1, 0], [0, 255, 1, 0]]))
    assert longest_boundary_class(torch.full((1, 2, 2), 255)).tolist() == [255]


# --------------------------------------------------------------------------- boundary band / L_SR


def test_boundary_band_exact_columns():
    labels = vertical_split(1, 8, 4)  # boundary pixels: columns 3 and 4
    expected = {1: [3, 4], 3: [2, 3, 4, 5], 4: [2, 3, 4, 5, 6], 16: list(range(8))}
    for band_size, columns in expected.items():
        band = boundary_band(labels, band_size)
        assert band.shape == (1, 1, 8, 8) and band.dtype == torch.float32
        want = torch.zeros(8)
        want[columns] = 1
        assert torch.equal(band[0, 0], want.expand(8, 8)), band_size


def test_boundary_band_ignores_ignore_pixels_and_matches_opencv():
    against_ignore = torch.where(vertical_split(1, 8, 4) == 1, 255, 0)
    assert boundary_band(against_ignore, 4).sum() == 0
    cv2 = pytest.importorskip("cv2")
    from pcnet.ops import find_boundaries

    coarse = np.random.default_rng(0).integers(0, 3, (1, 5, 6))
    labels = torch.from_numpy(np.kron(coarse, np.ones((1, 4, 4), dtype=np.int64)))
    for k in (2, 5, 16):
        ref = cv2.dilate(find_boundaries(labels[0].numpy()).astype(np.uint8), np.ones((k, k), np.uint8))
        assert np.array_equal(boundary_band(labels, k)[0, 0].numpy(), ref), k


def test_sr_loss_by_hand_and_empty_band():
    pred = torch.zeros(1, 3, 2, 2, requires_grad=True)
    target = torch.arange(12.0).view(1, 3, 2, 2)
    band = torch.tensor([[[[1.0, 0.0], [0.0, 1.0]]]])
    # band pixels (0,0) and (1,1): |0|+|4|+|8| + |3|+|7|+|11| = 33 over 3 channels · 2 pixels
    loss = sr_loss(pred, target, band)
    assert loss.item() == pytest.approx(33 / 6)
    loss.backward()
    assert pred.grad.abs().sum() > 0
    pred.grad = None
    empty = sr_loss(pred, target, torch.zeros_like(band))
    empty.backward()
    assert empty.item() == 0 and torch.equal(pred.grad, torch.zeros_like(pred))
    labels = vertical_split(1, 2, 1)
    assert SRLoss(band_size=1)(pred, target, labels).item() == pytest.approx(sum(range(12)) / 12)
    with pytest.raises(InputError, match="same shape"):
        sr_loss(pred, target[:, :2], band)


# ------------------------------------------------------------------- local discriminative (L_D)


def two_region_embedding(labels: torch.Tensor, dim: int = 8, noise: float = 1e-3, seed: int = 0) -> torch.Tensor:
    """Two far-apart constant vectors (one per class) plus tiny noise."""
    gen = torch.Generator().manual_seed(seed)
    centres = torch.randn(2, dim, generator=gen) * 10
    emb = centres[labels].permute(0, 3, 1, 2)
    return (emb + noise * torch.randn(emb.shape, generator=gen)).requires_grad_()


def test_discriminative_separated_vs_mixed():
    labels = vertical_split(2, 16, 7)
    separated, n = local_discriminative_loss(two_region_embedding(labels), labels)
    assert n == 2 * 48 and separated.item() < 1e-3  # 4 columns × 12 rows of 5×5 windows per image
    constant = torch.ones(2, 8, 16, 16, requires_grad=True)
    assert local_discriminative_loss(constant, labels)[0].item() == pytest.approx(1.0)
    mixed = torch.randn(2, 8, 16, 16, generator=torch.Generator().manual_seed(1))
    assert local_discriminative_loss(mixed, labels)[0].item() > 0.8


def test_discriminative_scale_invariant_and_reproducible():
    labels = vertical_split(2, 16, 7)
    emb = torch.randn(2, 8, 16, 16, generator=torch.Generator().manual_seed(2)) + labels[:, None]

    def run(x: torch.Tensor, seed: int) -> torch.Tensor:
        gen = torch.Generator().manual_seed(seed)
        return local_discriminative_loss(x, labels, max_patches=10, generator=gen)[0]

    assert run(emb, 0).item() == pytest.approx(run(10 * emb, 0).item(), rel=1e-4)
    assert run(emb, 0).item() == run(emb, 0).item()
    assert run(emb, 0).item() != run(emb, 1).item()


def test_discriminative_no_candidate_keeps_graph():
    emb = torch.randn(2, 4, 8, 8, requires_grad=True)
    for labels in (torch.zeros(2, 8, 8, dtype=torch.long), torch.full((2, 8, 8), 255)):
        loss, n = local_discriminative_loss(emb, labels)
        assert n == 0 and loss.item() == 0
        loss.backward()
        assert torch.equal(emb.grad, torch.zeros_like(emb))
    assert local_discriminative_loss(emb, vertical_split(2, 8, 4), patch_size=9)[1] == 0


@pytest.mark.parametrize("patch_size", [3, 5, 7])
def test_discriminative_patch_sizes(patch_size):
    labels = vertical_split(2, 16, 8)
    count = (patch_size - 1) * (16 - patch_size + 1)  # windows straddling column 7|8
    assert two_class_windows(labels, patch_size).sum().item() == 2 * count
    emb = two_region_embedding(labels)
    loss, n = LocalDiscriminativeLoss(patch_size, max_patches=20)(emb, labels)
    assert n == 2 * min(20, count) and loss.item() < 1e-3
    loss.backward()
    assert emb.grad.abs().sum() > 0


def test_discriminative_candidates_exclude_three_classes_and_ignore():
    # columns 0-2: class 0, column 3: class 1, columns 4-7: class 2. With K = 3 the windows
    # starting at column 1 ({0, 1}) and 3 ({1, 2}) hold two classes; column 2 holds all three.
    row = torch.tensor([0, 0, 0, 1, 2, 2, 2, 2])
    labels = row.expand(1, 6, 8).clone()
    expected = torch.zeros(4, 6, dtype=torch.bool)
    expected[:, [1, 3]] = True
    assert torch.equal(two_class_windows(labels, 3)[0], expected)
    emb = torch.randn(1, 4, 6, 8)
    assert local_discriminative_loss(emb, labels, patch_size=3, max_patches=100)[1] == 8
    labels[0, 0, 1] = 255  # an ignored pixel removes the windows that contain it
    assert two_class_windows(labels, 3)[0, 0].tolist() == [False, False, False, True, False, False]


# ----------------------------------------------------------------------------------- SSN loss


def test_ssn_compactness_known_answers():
    labels = cell_labels([[0, 1], [2, 0]], 4)
    assoc = own_cell_assoc(1, 8, 8)
    out = ssn_loss(assoc, labels, cell_size=4, compactness_weight=1.0)
    # positions / S around the cell centre: per axis variance (S² − 1) / 12 px², two axes
    assert out["compact"].item() == pytest.approx(2 * (16 - 1) / 12 / 16, rel=1e-6)
    assert out["recon"].abs().item() < 1e-6 and out["task"].item() == 0
    cell_constant = torch.arange(4.0).view(1, 1, 2, 2).repeat_interleave(4, 2).repeat_interleave(4, 3)
    flat = ssn_loss(assoc, labels, 4, pixel_features_xy=cell_constant.expand(1, 2, 8, 8))
    assert flat["compact"].item() == pytest.approx(0.0, abs=1e-12)
    task = ssn_loss(assoc, labels, 4, task_target=cell_constant)
    assert task["task"].item() == pytest.approx(0.0, abs=1e-6)


def test_ssn_loss_random_finite_with_gradients_from_every_term():
    logits = random_assoc(2, 20, 20)
    labels = vertical_split(2, 20, 9)
    labels[:, :3] = 255
    flow = torch.randn(2, 2, 20, 20)
    out = SSNLoss(cell_size=5, compactness_weight=1e-2)(logits.softmax(1), labels, task_target=flow)
    assert set(out) == {"total", "recon", "compact", "task"}
    assert all(torch.isfinite(v) for v in out.values())
    assert out["total"].item() == pytest.approx((out["recon"] + out["compact"] + out["task"]).item())
    for term in ("recon", "compact", "task"):
        (grad,) = torch.autograd.grad(out[term], logits, retain_graph=True)
        assert grad.abs().sum() > 0, term


# ----------------------------------------------------------------------------- composite (eq. 9)


def branch(seed: int, n_classes: int = 2, size: int = 32, dim: int = 8):
    gen = torch.Generator().manual_seed(seed)
    out = {
        "assoc": torch.randn(2, 9, size, size, generator=gen).softmax(1).requires_grad_(),
        "sr": torch.rand(2, 3, size, size, generator=gen, requires_grad=True),
        "embedding": torch.randn(2, dim, size, size, generator=gen, requires_grad=True),
    }
    coarse = torch.randint(0, n_classes, (2, 4, 4), generator=gen)
    labels = coarse.repeat_interleave(size // 4, 1).repeat_interleave(size // 4, 2)
    return out, {"labels": labels, "image": torch.rand(2, 3, size, size, generator=gen)}


def composite(**kwargs):
    (g_out, g_tgt), (l_out, l_tgt) = branch(0), branch(1, n_classes=4)
    loss = PCNetLoss(cell_size=8, band_size=8, **kwargs)
    return loss(g_out, g_tgt, l_out, l_tgt, generator=torch.Generator().manual_seed(0))


def test_composite_total_and_finite_components():
    out = composite()
    assert set(out) == {
        "total",
        "global",
        "sp_global",
        "sr_global",
        "local",
        "sp_local",
        "sr_local",
        "discriminative",
        "n_patches",
    }
    assert all(torch.isfinite(torch.as_tensor(v)).all() for v in out.values())
    assert out["n_patches"] > 0
    expected = (
        out["sp_global"] + out["sr_global"] + 0.1 * (out["sp_local"] + out["sr_local"]) + 0.5 * out["discriminative"]
    )
    assert out["total"].item() == pytest.approx(expected.item(), rel=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "absent", "changed"),
    [
        ({"alpha": 0.0}, {"local", "sp_local", "sr_local"}, set()),
        ({"use_local": False}, {"local", "sp_local", "sr_local"}, set()),
        ({"beta": 0.0}, {"discriminative", "n_patches"}, set()),
        ({"use_discriminative": False}, {"discriminative", "n_patches"}, set()),
        ({"use_sr": False}, {"sr_global", "sr_local"}, {"global", "local"}),
        ({"binary_guidance": False}, set(), {"sp_local", "local"}),
    ],
)
def test_composite_switches(kwargs, absent, changed):
    base, out = composite(), composite(**kwargs)
    assert set(base) - set(out) == absent and set(out) <= set(base)
    for key in set(out) - {"total"}:
        same = torch.equal(torch.as_tensor(out[key]), torch.as_tensor(base[key]))
        assert same == (key not in changed), key
    assert out["total"].item() != base["total"].item()


def test_composite_gradients_reach_every_output():
    (g_out, g_tgt), (l_out, l_tgt) = branch(0), branch(1, n_classes=4)
    PCNetLoss(cell_size=8, band_size=8)(g_out, g_tgt, l_out, l_tgt)["total"].backward()
    reached = [*g_out.items(), ("local assoc", l_out["assoc"]), ("local sr", l_out["sr"])]
    for name, tensor in reached:
        assert tensor.grad is not None and tensor.grad.abs().sum() > 0, name
    assert l_out["embedding"].grad is None  # L_D uses the global branch only


def test_composite_missing_keys_are_explained():
    (g_out, g_tgt), (l_out, l_tgt) = branch(0), branch(1)
    loss = PCNetLoss(cell_size=8, band_size=8)
    no_sr = {k: v for k, v in g_out.items() if k != "sr"}
    with pytest.raises(InputError, match=r"global_out has no 'sr'.*return_sr=True"):
        loss(no_sr, g_tgt, l_out, l_tgt)
    with pytest.raises(InputError, match="needs local_out and local_target"):
        loss(g_out, g_tgt)
    with pytest.raises(InputError, match=r"local_target has no 'image'"):
        loss(g_out, g_tgt, l_out, {"labels": l_tgt["labels"]})
    no_embedding = {k: v for k, v in g_out.items() if k != "embedding"}
    with pytest.raises(InputError, match=r"no 'embedding'.*use_discriminative=False"):
        loss(no_embedding, g_tgt, l_out, l_tgt)
    with pytest.raises(InputError, match="must be a dict"):
        loss(g_out["assoc"], g_tgt, l_out, l_tgt)
    # without SR, local branch and L_D only the association and labels are needed
    minimal = PCNetLoss(cell_size=8, use_sr=False, use_local=False, use_discriminative=False)
    out = minimal({"assoc": g_out["assoc"]}, {"labels": g_tgt["labels"]})
    assert set(out) == {"total", "global", "sp_global"}


def test_superpixel_loss_mean_reduction_is_per_labelled_pixel():
    from pcnet.losses import superpixel_loss

    torch.manual_seed(0)
    assoc = torch.softmax(torch.randn(2, 9, 8, 8), 1)
    labels = torch.randint(0, 3, (2, 8, 8))
    labels[0, :2] = 255  # 16 ignored pixels
    summed = superpixel_loss(assoc, labels, cell_size=4, scale=1.0, reduction="sum")
    mean = superpixel_loss(assoc, labels, cell_size=4, scale=1.0, reduction="mean")
    valid = int((labels != 255).sum())
    assert torch.allclose(mean["ce"], summed["ce"] * 2 / valid)
    assert torch.allclose(mean["pos"], summed["pos"] * 2 / valid)
    with pytest.raises(ValueError, match="reduction"):
        superpixel_loss(assoc, labels, reduction="avg")


def test_distillation_loss_known_values():
    from pcnet.losses import DistillationLoss, distillation_loss

    student = torch.full((2, 9, 3, 4), 1 / 9)
    teacher = torch.zeros(2, 9, 3, 4)
    teacher[:, 4] = 1.0  # every pixel fully in its own cell
    # KL(one-hot ‖ uniform) = log 9 per pixel; summed over 12 pixels, per image, x scale
    expected = 0.005 * 12 * math.log(9)
    assert distillation_loss(student, teacher).item() == pytest.approx(expected, rel=1e-5)
    assert distillation_loss(student, teacher, scale=1.0, reduction="mean").item() == pytest.approx(
        math.log(9), rel=1e-5
    )
    assert DistillationLoss()(teacher, teacher).item() == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError, match="must match the student"):
        distillation_loss(student, teacher[..., :2])


def test_pcnet_zero_head_starts_uniform():
    from pcnet.models import build

    net = build("pcnet", sp_head_init="zero").eval()
    assoc = net(torch.rand(1, 3, 16, 16))["assoc"]
    assert torch.allclose(assoc, torch.full_like(assoc, 1 / 9))
    with pytest.raises(ValueError, match="sp_head_init"):
        build("pcnet", sp_head_init="ones")
