"""Augmentation pipelines keep image and mask aligned, are deterministic per (seed, epoch, index),
never change the size; per-batch normalisation in torch."""
import numpy as np
import pytest
import torch
from scipy import ndimage as ndi

from skinseg.transforms import (
    AUGMENTATIONS,
    MEAN,
    NORMALIZATIONS,
    STD,
    augment,
    image_batch,
    normalize,
    to_tensor,
)

SHAPES = [(96, 96), (96, 128)]
# pipelines that only flip / rotate by multiples of 90 degrees: pixels move exactly
EXACT = {"none", "flip", "hflip", "flip_rot90", "flip_rot90_color"}


def _square(shape):
    """Blue image with an off-centre red square, and the square's mask."""
    img = np.zeros((*shape, 3), np.uint8)
    img[..., 2] = 255
    mask = np.zeros(shape, bool)
    mask[12:52, 30:70] = True
    img[mask] = (255, 0, 0)
    return img, mask


def _red(img):
    # "square colour": red above blue. Brightness/contrast keeps the order of the channels, and
    # the zero border (black) is not red.
    return img[..., 0].astype(int) > img[..., 2]


def test_all_named_pipelines():
    assert set(AUGMENTATIONS) >= {"none", "flip", "flip_rot90", "flip_rot90_color", "slsdeep", "fpn_code", "hflip"}


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("kind", AUGMENTATIONS)
def test_mask_follows_image(kind, shape):
    img, mask = _square(shape)
    img0, mask0 = img.copy(), mask.copy()
    for seed in range(12):
        a, m = augment(img, mask, kind, seed, 3, 5)
        assert a.shape == img.shape and a.dtype == np.uint8 and a.flags.c_contiguous
        assert m.shape == mask.shape and m.dtype == bool and m.flags.c_contiguous
        red = _red(a)
        if kind in EXACT:
            assert np.array_equal(red, m), (kind, seed)
            assert m.sum() == mask.sum()
            continue
        if m.sum() < 20:  # shifted (almost) out of the frame
            assert red.sum() < 40, (kind, seed)
            continue
        both = (red & m).sum()
        assert both / m.sum() >= 0.95 and both / red.sum() >= 0.95, (kind, seed)
        # up to interpolated edge pixels, the two sets are the same
        assert (m & ndi.binary_dilation(red)).sum() / m.sum() >= 0.99, (kind, seed)
        assert (red & ndi.binary_dilation(m)).sum() / red.sum() >= 0.99, (kind, seed)
    assert np.array_equal(img, img0) and np.array_equal(mask, mask0), "inputs are not modified"


@pytest.mark.parametrize("kind", AUGMENTATIONS)
def test_deterministic_per_seed_epoch_index(kind):
    img, mask = _square((96, 128))
    first = augment(img, mask, kind, 7, 2, 11)
    # other calls in between (other keys, kinds and sizes) do not change the result
    for other in AUGMENTATIONS:
        augment(img, mask, other, 7, 2, 12)
        augment(*_square((96, 96)), other, 1, 0, 0)
    again = augment(img, mask.astype(np.uint8), kind, 7, 2, 11)
    assert np.array_equal(first[0], again[0]) and np.array_equal(first[1], again[1])
    if kind == "none":
        return
    for keys in [(7, 2, 12), (7, 3, 11), (8, 2, 11)]:  # index, epoch, seed each matter
        outs = [augment(img, mask, kind, keys[0] + s, keys[1], keys[2]) for s in range(4)]
        refs = [augment(img, mask, kind, 7 + s, 2, 11) for s in range(4)]
        assert any(not np.array_equal(o[0], r[0]) for o, r in zip(outs, refs)), (kind, keys)


def _d4_element(img, out):
    """Which of the 8 flips/rotations maps ``img`` to ``out`` (None if none does)."""
    for k in range(4):
        for flip in (False, True):
            cand = np.rot90(img[:, ::-1] if flip else img, k)
            if cand.shape == out.shape and np.array_equal(cand, out):
                return k, flip
    return None


def test_flips_are_independent_and_rot90_uniform():
    # albumentations' Compose.set_random_seed would seed the two flips identically (always both or
    # neither); augment shares one generator, so every combination occurs.
    img = np.arange(8 * 8 * 3, dtype=np.uint8).reshape(8, 8, 3)
    mask = np.zeros((8, 8), bool)
    seen = {kind: {_d4_element(img, augment(img, mask, kind, s, 0, 0)[0]) for s in range(200)} for kind in ("flip", "flip_rot90")}
    assert len(seen["flip"]) == 4 and None not in seen["flip"]
    assert len(seen["flip_rot90"]) == 8
    rect = np.arange(6 * 8 * 3, dtype=np.uint8).reshape(6, 8, 3)
    seen_rect = {_d4_element(rect, augment(rect, np.zeros((6, 8), bool), "flip_rot90", s, 0, 0)[0]) for s in range(200)}
    assert len(seen_rect) == 4 and None not in seen_rect  # 0 or 180 degrees only
    hflip = {_d4_element(img, augment(img, mask, "hflip", s, 0, 0)[0]) for s in range(50)}
    assert hflip == {(0, False), (0, True)}


@pytest.mark.parametrize("kind", ["slsdeep", "fpn_code"])
def test_geometric_pipelines_scale_the_lesion(kind):
    img, mask = _square((96, 96))
    areas = {int(augment(img, mask, kind, s, 0, 0)[1].sum()) for s in range(30)}
    assert min(areas) < 0.8 * mask.sum() and max(areas) > 1.2 * mask.sum()


def test_unknown_kind():
    img, mask = _square((96, 96))
    with pytest.raises(ValueError, match="slsdeep"):
        augment(img, mask, "rot45", 0, 0, 0)


def test_to_tensor_and_image_batch():
    img = np.random.default_rng(0).integers(0, 256, (6, 8, 3), dtype=np.uint8)
    mask = np.eye(6, 8, dtype=bool)
    x, m = to_tensor(img, mask)
    assert x.dtype == torch.uint8 and x.shape == (3, 6, 8) and torch.equal(x.permute(1, 2, 0), torch.from_numpy(img))
    assert m.dtype == torch.float32 and m.shape == (1, 6, 8) and set(m.unique().tolist()) == {0.0, 1.0}
    assert torch.equal(to_tensor(img), x)
    b = image_batch(img)
    assert b.shape == (1, 3, 6, 8) and b.dtype == torch.float32
    assert torch.allclose(b, normalize(x[None], "imagenet"))
    assert torch.allclose(image_batch(img, "per_image"), normalize(x[None], "per_image"))


def test_normalize_imagenet_by_hand():
    x = torch.tensor([[0, 255], [51, 102], [153, 204]], dtype=torch.uint8).view(1, 3, 1, 2)
    expected = torch.tensor(
        [
            [-0.485 / 0.229, 0.515 / 0.229],  # 0, 1
            [(0.2 - 0.456) / 0.224, (0.4 - 0.456) / 0.224],  # 0.2, 0.4
            [(0.6 - 0.406) / 0.225, (0.8 - 0.406) / 0.225],  # 0.6, 0.8
        ]
    ).view(1, 3, 1, 2)
    y = normalize(x, "imagenet")
    assert y.dtype == torch.float32
    torch.testing.assert_close(y, expected, rtol=0, atol=1e-5)
    np.testing.assert_allclose(MEAN, [0.485, 0.456, 0.406])
    np.testing.assert_allclose(STD, [0.229, 0.224, 0.225])


def test_normalize_per_image():
    x = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (3, 3, 16, 20), dtype=np.uint8))
    x[1] = x[1] // 4 + 100  # a different scale and offset: still standardised
    y = normalize(x, "per_image")
    torch.testing.assert_close(y.mean(dim=(1, 2, 3)), torch.zeros(3), rtol=0, atol=1e-5)
    torch.testing.assert_close(y.std(dim=(1, 2, 3), correction=0), torch.ones(3), rtol=0, atol=1e-4)
    # constant image: zeros, no NaN
    c = normalize(torch.full((2, 3, 8, 8), 77, dtype=torch.uint8), "per_image")
    assert torch.isfinite(c).all() and (c == 0).all()
    # nearly constant: std is floored at 1/sqrt(num_elements) like tf.image.per_image_standardization
    z = torch.zeros(1, 3, 8, 8, dtype=torch.uint8)
    z[0, 0, 0, 0] = 1
    n = 3 * 8 * 8
    expected = (z.float() - 1 / n) * n**0.5
    torch.testing.assert_close(normalize(z, "per_image"), expected)


@pytest.mark.parametrize("mode", NORMALIZATIONS)
def test_normalize_keeps_memory_format_and_checks_input(mode):
    x = torch.from_numpy(np.random.default_rng(1).integers(0, 256, (2, 3, 5, 7), dtype=np.uint8))
    cl = x.contiguous(memory_format=torch.channels_last)
    y, ycl = normalize(x, mode), normalize(cl, mode)
    assert y.is_contiguous() and ycl.is_contiguous(memory_format=torch.channels_last) and not ycl.is_contiguous()
    torch.testing.assert_close(y, ycl)
    with pytest.raises(ValueError):
        normalize(x.float(), mode)
    with pytest.raises(ValueError):
        normalize(x[0], mode)
    with pytest.raises(ValueError, match="per_image"):
        normalize(x, "zscore")
