"""Losses on tiny hand-computed tensors."""
import math

import pytest
import torch

from skinseg import losses as L

BIG = 20.0  # logit whose sigmoid is 1 to within 2e-9


def test_dice_loss_hand_computed():
    # shape: (1, 1, 1, 2) logits 0 -> p = 0.5 everywhere; truth [1, 0]
    logits = torch.zeros(1, 1, 1, 2)
    target = torch.tensor([[[[1.0, 0.0]]]])
    # 1 - (2*0.5 + 1) / (1.0 + 1 + 1) = 1 - 2/3
    assert L.dice_loss(logits, target).item() == pytest.approx(1 / 3)
    # smooth=0: 1 - 2*0.5/(1+1) = 0.5
    assert L.dice_loss(logits, target, smooth=0).item() == pytest.approx(0.5)


def test_dice_loss_empty_truth_and_empty_prediction_is_zero():
    # shape: (1, 1, 2, 2)
    assert L.dice_loss(torch.full((1, 1, 2, 2), -BIG), torch.zeros(1, 1, 2, 2)).item() == pytest.approx(0, abs=1e-6)


def test_two_class_logits_equal_sigmoid_form():
    # shape: (2, 1, 3, 3) sigmoid logits vs (2, 2, 3, 3) softmax logits [0, z]
    z = torch.randn(2, 1, 3, 3)
    t = (torch.rand(2, 1, 3, 3) > 0.5).float()
    two = torch.cat([torch.zeros_like(z), z], 1)
    for fn in (L.dice_loss, L.bce_loss, L.epe_loss):
        assert fn(two, t).item() == pytest.approx(fn(z, t).item(), rel=1e-5)


def test_bce_hand_computed_and_reduction():
    # shape: (2, 1, 1, 1): p = 0.5 for image 0, sigmoid(BIG) for image 1, truth 1
    logits = torch.tensor([0.0, BIG]).view(2, 1, 1, 1)
    t = torch.ones(2, 1, 1, 1)
    per = L.bce_loss(logits, t, reduction="none")
    assert per.tolist() == pytest.approx([math.log(2), 0.0], abs=1e-6)
    assert L.bce_loss(logits, t).item() == pytest.approx(math.log(2) / 2, abs=1e-6)
    with pytest.raises(ValueError, match="reduction"):
        L.bce_loss(logits, t, reduction="sum")


def test_bce_dice_is_sum():
    z, t = torch.randn(2, 1, 4, 4), (torch.rand(2, 1, 4, 4) > 0.5).float()
    assert L.bce_dice_loss(z, t).item() == pytest.approx(L.bce_loss(z, t).item() + L.dice_loss(z, t).item())


def test_bce_dice_ce_weight_on_a_hand_computed_pixel():
    # one pixel, logit 0 (p = 0.5), truth 1: BCE = ln 2; soft Dice loss = 1 - (2*0.5 + 1)/(0.5 + 1 + 1) = 0.2
    z, t = torch.zeros(1, 1, 1, 1), torch.ones(1, 1, 1, 1)
    assert L.bce_dice_loss(z, t, ce_weight=0.5).item() == pytest.approx(0.5 * math.log(2) + 0.2, abs=1e-6)
    assert L.bce_dice_loss(z, t).item() == pytest.approx(math.log(2) + 0.2, abs=1e-6)


def test_class_weights_and_weighted_ce():
    # weights 1/ln(1.02 + p): p = (0.75, 0.25)
    w = L.class_weights(torch.tensor([0.75, 0.25]))
    assert w.tolist() == pytest.approx([1 / math.log(1.77), 1 / math.log(1.27)])
    # shape: (1, 1, 2, 2) logits 0 (p = 0.5), truth 1 lesion pixel of 4: every pixel's BCE is ln 2,
    # so the weighted mean is ln 2 whatever the weights
    t = torch.tensor([[[[1.0, 0.0], [0.0, 0.0]]]])
    assert L.weighted_ce_loss(torch.zeros(1, 1, 2, 2), t).item() == pytest.approx(math.log(2))
    # logits favouring background everywhere: only the lesion pixel has a large loss; its weight raises the mean
    z = torch.full((1, 1, 2, 2), -2.0)
    plain = L.bce_loss(z, t).item()
    assert L.weighted_ce_loss(z, t).item() > plain


def test_sobel_and_epe_hand_computed():
    # shape: (1, 1, 3, 3): a vertical step edge; Sobel x at the centre = 4 (1 + 2 + 1)
    x = torch.tensor([[[[0.0, 0.0, 1.0]] * 3]])
    gx, gy = L.sobel(x)
    assert gx[0, 0, 1, 1].item() == 4.0 and gy[0, 0, 1, 1].item() == 0.0
    # perfect prediction -> EPE = sqrt(eps)
    t = torch.tensor([[[[0.0, 1.0], [0.0, 1.0]]]])
    assert L.epe_loss((t * 2 - 1) * 1e4, t, eps=1e-12).item() == pytest.approx(0.0, abs=1e-5)


def test_epe_is_differentiable_and_published_variant_is_not():
    z = torch.randn(1, 1, 6, 6, requires_grad=True)
    t = (torch.rand(1, 1, 6, 6) > 0.5).float()
    L.epe_loss(z, t).backward()
    assert z.grad is not None and z.grad.abs().sum() > 0
    pub = L.epe_loss_as_published(z, t)
    assert not pub.requires_grad  # argmax prediction: no gradient reaches the network
    # the as-published loss only depends on the hard prediction
    assert L.epe_loss_as_published(z * 5, t).item() == pytest.approx(pub.item())


def test_epe_as_published_row_norm_hand_computed():
    # shape (1, 1, 2, 1): prediction all background, truth one lesion pixel at row 0.
    # Sobel with zero padding: Gx = 0 (one column); Gy = [0, -2] (row 1 sees the lesion above it
    # through the kernel's -2). skimage's magnitude scale: |G| / 4 / sqrt(2) = [0, 1/(2 sqrt 2)].
    # Norm over the rows of (0 - magnitude): 1/(2 sqrt 2); mean over the single column: the same.
    z = torch.full((1, 1, 2, 1), -BIG)
    t = torch.tensor([[[[1.0], [0.0]]]])
    assert L.epe_loss_as_published(z, t).item() == pytest.approx(1 / (2 * 2 ** 0.5))


def test_nll_epe_weight():
    z, t = torch.randn(2, 2, 5, 5), (torch.rand(2, 1, 5, 5) > 0.5).float()
    expect = L.nll_loss(z, t).item() + 0.5 * L.epe_loss(z, t).item()
    assert L.nll_epe_loss(z, t).item() == pytest.approx(expect)


def test_get_loss_lists_names():
    with pytest.raises(KeyError, match="dice"):
        L.get_loss("focal")


def test_shape_mismatch_is_clear():
    with pytest.raises(ValueError, match="does not match logits"):
        L.dice_loss(torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 3, 4))


def test_loss_from_params_binds_its_own_parameters():
    from skinseg.losses import loss_from_params, nll_epe_loss

    torch.manual_seed(0)
    logits, target = torch.randn(2, 2, 8, 8), (torch.rand(2, 1, 8, 8) > 0.5).float()
    fn = loss_from_params({"loss": "nll_epe", "epe_weight": 0.25})
    assert torch.allclose(fn(logits, target), nll_epe_loss(logits, target, epe_weight=0.25))
    assert not torch.allclose(fn(logits, target), nll_epe_loss(logits, target, epe_weight=0.5))
    assert loss_from_params({"loss": "dice", "epe_weight": 0.25}) is L.get_loss("dice")  # not a dice argument
    half = loss_from_params({"loss": "bce_dice", "ce_weight": 0.5})  # ASNet's eq. 3
    assert torch.allclose(half(logits[:, :1], target), L.bce_dice_loss(logits[:, :1], target, ce_weight=0.5))
    assert not torch.allclose(half(logits[:, :1], target), L.bce_dice_loss(logits[:, :1], target))
    with pytest.raises(TypeError, match="takes no argument"):
        L.get_loss("dice", epe_weight=0.5)
