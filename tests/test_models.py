"""Registry, parameter counts, shapes, input checks, torchvision-compatible names."""
import pytest
import torch

from skinseg.models import build_model, count_parameters, list_models
from skinseg.models.resnet import resnet_encoder

# Exact counts: any change to an architecture shows up here.
EXPECTED_PARAMETERS = {
    "linknet64": 647_489,
    "linknet": 11_533_313,
}


def test_every_model_has_an_expected_count():
    assert sorted(EXPECTED_PARAMETERS) == list_models()


@pytest.mark.parametrize("name", list_models())
def test_parameter_count(name):
    assert count_parameters(build_model(name)) == EXPECTED_PARAMETERS[name]


def test_linknet64_is_about_600k():
    assert abs(count_parameters(build_model("linknet64")) / 600_000 - 1) <= 0.10


@pytest.mark.parametrize("name", list_models())
@pytest.mark.parametrize("size", [(64, 64), (192, 256)])
def test_forward_backward_shapes(name, size):
    torch.manual_seed(0)
    m = build_model(name)
    x = torch.randn(2, 3, *size)
    y = m(x)
    assert y.shape == (2, m.out_channels, *size)
    y.float().mean().backward()
    assert all(torch.isfinite(p.grad).all() for p in m.parameters() if p.grad is not None)
    assert torch.isfinite(y).all()


@pytest.mark.parametrize("name", list_models())
def test_bad_input_size_is_a_clear_error(name):
    m = build_model(name)
    with pytest.raises(ValueError, match="multiples of 32.*65x64"):
        m(torch.randn(1, 3, 65, 64))
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        m(torch.randn(1, 1, 64, 64))


def test_unknown_name_lists_valid_names():
    with pytest.raises(KeyError, match="linknet64"):
        build_model("segformer")


def test_linknet64_every_stage_64_filters():
    enc = build_model("linknet64").encoder
    assert enc.out_channels == [64, 64, 64, 64, 64]
    assert all(m.out_channels == 64 for m in enc.modules() if isinstance(m, torch.nn.Conv2d))


def _torchvision_resnet(name):
    try:
        import torchvision  # noqa: F401
        from torchvision.models import resnet18, resnet34, resnet50
    except Exception as e:  # the CPU torch here cannot import torchvision's C extension
        pytest.skip(f"torchvision does not import here ({type(e).__name__}: {str(e)[:80]}); "
                    "names are checked against a recorded key list instead")
    return {"resnet18": resnet18, "resnet34": resnet34, "resnet50": resnet50}[name]()


@pytest.mark.parametrize("name", ["resnet18", "resnet34", "resnet50"])
def test_encoder_keys_match_torchvision(name):
    tv = _torchvision_resnet(name)
    ours = resnet_encoder(name).state_dict()
    theirs = {k: v for k, v in tv.state_dict().items() if not k.startswith("fc.")}
    assert {k: tuple(v.shape) for k, v in ours.items()} == {k: tuple(v.shape) for k, v in theirs.items()}


def test_encoder_keys_follow_torchvision_naming():
    """Without torchvision: torchvision's resnet18 state_dict has 122 entries; less fc.weight and fc.bias, 120."""
    sd = resnet_encoder("resnet18").state_dict()
    assert len(sd) == 120
    assert tuple(sd["conv1.weight"].shape) == (64, 3, 7, 7)
    assert tuple(sd["layer2.0.downsample.0.weight"].shape) == (128, 64, 1, 1)
    assert tuple(sd["layer4.1.bn2.running_var"].shape) == (512,)
    assert "layer1.0.downsample.0.weight" not in sd


def test_pretrained_loads_a_torchvision_style_checkpoint(tmp_path):
    src = resnet_encoder("resnet34")
    state = {**src.state_dict(), "fc.weight": torch.zeros(1000, 512), "fc.bias": torch.zeros(1000)}
    torch.save(state, tmp_path / "resnet34.pth")
    enc = resnet_encoder("resnet34", pretrained=tmp_path / "resnet34.pth")
    assert torch.equal(enc.conv1.weight, src.conv1.weight)
    with pytest.raises(FileNotFoundError, match="no such file"):
        resnet_encoder("resnet18", pretrained=tmp_path / "missing.pth")
