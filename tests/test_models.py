"""Registry, parameter counts, shapes, input checks, torchvision-compatible names."""
import pytest
import torch

from skinseg.models import build_model, count_parameters, list_models
from skinseg.models.resnet import resnet_encoder

# Exact counts: any change to an architecture shows up here.
EXPECTED_PARAMETERS = {
    "linknet64": 647_489,
    "linknet": 11_533_313,
    "lesionseg": 2_018_002,
    "slsdeep": 61_521_858,
    "slsdeep_asc": 69_189_570,
    "fpn": 28_118_897,
    "fpn_resnet34": 23_155_393,
    "asnet": 30_419_974,
    "asnet_baseline": 24_638_465,
    "asnet_wo_di": 30_419_974,
    "asnet_wo_sa": 27_001_346,
    "asnet_baseline_wide": 30_539_777,
    "unet": 31_037_633,
}


def test_every_model_has_an_expected_count():
    assert sorted(EXPECTED_PARAMETERS) == list_models()


@pytest.mark.parametrize("name", list_models())
def test_parameter_count(name):
    assert count_parameters(build_model(name)) == EXPECTED_PARAMETERS[name]


def test_linknet64_is_about_600k():
    assert abs(count_parameters(build_model("linknet64")) / 600_000 - 1) <= 0.10


def test_baseline_wide_within_5_percent_of_asnet():
    assert abs(EXPECTED_PARAMETERS["asnet_baseline_wide"] / EXPECTED_PARAMETERS["asnet"] - 1) <= 0.05


def test_slsdeep_options():
    assert count_parameters(build_model("slsdeep", ppm="code")) == 47_886_274
    m = build_model("slsdeep", stem="standard")
    assert m.ppm.out_channels == 6144 and build_model("slsdeep", ppm="code").ppm.out_channels == 4096
    assert set(resnet_encoder("resnet50").state_dict()) == set(m.encoder.state_dict())  # torchvision keys
    with pytest.raises(ValueError, match="ppm"):
        build_model("slsdeep", ppm="wide")


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
    with pytest.raises(ValueError, match=rf"multiples of {m.size_divisor}, got 65x64"):
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


def test_asm_branches_share_one_weight_tensor():
    from skinseg.models.asnet import AdaptiveScaleModule

    torch.manual_seed(0)
    asm = AdaptiveScaleModule(8)
    convs = [m for m in asm.modules() if isinstance(m, torch.nn.Conv2d) and m.kernel_size == (3, 3)
             and m.in_channels == m.out_channels == 8]
    assert len(convs) == 1  # one 3x3 C->C convolution, applied three times
    x = torch.randn(2, 8, 9, 9)
    for i in range(3):  # each branch alone sends gradient into that one tensor
        asm.zero_grad()
        asm.branches(x)[i].sum().backward()
        assert asm.conv.weight.grad is not None and asm.conv.weight.grad.abs().sum() > 0
    b = asm.branches(x)
    with torch.no_grad():
        asm.conv.weight.mul_(2)
    b2 = asm.branches(x)
    assert all(not torch.allclose(u, v) for u, v in zip(b, b2))  # changing it changes every branch
    assert asm.dilations == (1, 2, 4)
    assert build_model("asnet_wo_di").asm.dilations == (1, 1, 1)


def test_sam_attention_sums_to_one_per_pixel():
    from skinseg.models.asnet import ScaleAwareModule

    torch.manual_seed(0)
    sam = ScaleAwareModule(8)
    a, b = torch.randn(2, 8, 5, 7), torch.randn(2, 8, 5, 7)
    w = sam.attention(a, b)  # shape: (2, 2, 5, 7)
    assert w.shape == (2, 2, 5, 7)
    assert torch.allclose(w.sum(1), torch.ones(2, 5, 7))
    assert torch.allclose(sam(a, b), w[:, :1] * a + w[:, 1:] * b)


def test_asm_starts_as_identity_and_variants_differ():
    x = torch.randn(2, 512, 2, 2)
    for name in ("asnet", "asnet_wo_sa"):
        asm = build_model(name).asm.eval()
        assert asm.beta.item() == 0.0 and torch.equal(asm(x), x)  # beta = 0 at initialisation
    assert isinstance(build_model("asnet_baseline").asm, torch.nn.Identity)
    assert not hasattr(build_model("asnet_wo_sa").asm, "sam")


def test_models_cli_lists_every_model():
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "skinseg", "models"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    for name, n in EXPECTED_PARAMETERS.items():
        assert any(line.split()[:2] == [name, f"{n:,}"] for line in r.stdout.splitlines()), name


def test_bench_writes_a_row_per_model(tmp_path):
    from skinseg.bench import COLUMNS, run

    df = run(["linknet64", "lesionseg"], size=(64, 64), batch=2, repeats=1, out=tmp_path / "cpu.csv",
             progress=lambda *_: None)
    saved = __import__("pandas").read_csv(tmp_path / "cpu.csv")
    assert list(saved.columns) == COLUMNS and saved.model.tolist() == ["linknet64", "lesionseg"]
    assert (df.inference_img_s > 0).all() and (df.train_img_s > 0).all()
    # LinkNet-64 at 64x64: the 7x7 stem alone is 2 * 32*32 * 64 * 147 FLOPs
    assert df.gflops_per_image[0] > 2 * 32 * 32 * 64 * 147 / 1e9
    with pytest.raises(KeyError, match="valid names"):
        run(["resnet9000"], out=None)


def test_bench_compares_precisions_in_one_run(tmp_path):
    from skinseg.bench import run, speedups

    df = run(["linknet64"], size=(64, 64), batch=2, repeats=1, out=None, progress=lambda *_: None,
             precisions=("fp32", "bf16"), channels_last=True, rounds=2)
    assert list(zip(df["round"], df.precision, df.channels_last)) == [
        (0, "fp32", False), (0, "bf16", True), (1, "fp32", False), (1, "bf16", True)]
    sp = speedups(df)
    assert sp.reference.tolist() == ["fp32"] and sp.compared.tolist() == ["bf16 channels_last"]
    ratios = df.train_img_s[1::2].to_numpy() / df.train_img_s[0::2].to_numpy()
    assert sp.train_speedup.iloc[0] == pytest.approx(ratios.mean())  # the median of two is their mean
    assert sp.rounds.tolist() == [2]
    with pytest.raises(ValueError, match="rounds must be at least 1"):
        run(["linknet64"], rounds=0)
    with pytest.raises(ValueError, match="each precision once"):
        run(["linknet64"], precisions=("fp32", "bf16", "fp32"))
    with pytest.raises(ValueError, match="fp16 autocast is CUDA-only"):
        run(["linknet64"], precisions=("fp32", "fp16"))


def _bench_rows(train_fp32, train_bf16):
    """A hand-made two-precision bench table, one fp32 and one bf16 row per round."""
    import pandas as pd

    rows = []
    for rnd, (a, b) in enumerate(zip(train_fp32, train_bf16)):
        for prec, cl, v in (("fp32", False, a), ("bf16", True, b)):
            rows.append({"model": "asnet", "height": 96, "width": 128, "batch": 16, "device": "cpu", "precision": prec,
                         "channels_last": cl, "parameters": 1, "gflops_per_image": 1.0, "inference_img_s": 2 * v,
                         "train_img_s": v, "peak_memory_mib": 1.0, "memory_kind": "rss", "machine": "m", "round": rnd})
    return pd.DataFrame(rows)


def test_bench_ratio_is_the_median_of_ratios_paired_within_a_round():
    from skinseg.bench import speedups

    # per-round ratios 3.0, 2.0, 3.5: the median pairs each bf16 figure with its own round's fp32,
    # so it is 3.0, not median(bf16) / median(fp32) = 35 / 10 = 3.5
    sp = speedups(_bench_rows([10.0, 20.0, 10.0], [30.0, 40.0, 35.0]))
    r = sp.iloc[0]
    assert (r.train_speedup, r.train_speedup_min, r.train_speedup_max, r.rounds) == (3.0, 2.0, 3.5, 3)
    assert (r.train_img_s_reference, r.train_img_s, r.inference_speedup) == (10.0, 35.0, 3.0)
    assert (r.reference, r.compared) == ("fp32", "bf16 channels_last")
    old = _bench_rows([10.0], [30.0]).drop(columns="round")  # files written before rounds existed
    assert speedups(old).train_speedup.tolist() == [3.0]


def test_a_benchmark_file_of_several_rounds_is_one_row_of_medians_per_setting(tmp_path):
    from skinseg.notebook import benchmarks

    # the medians (12, 35) are neither the first nor the last round's figure
    _bench_rows([12.0, 20.0, 10.0], [35.0, 40.0, 30.0]).to_csv(tmp_path / "cpu-rounds.csv", index=False)
    t = benchmarks(["asnet"], folder=str(tmp_path))
    assert len(t) == 2
    t = t.set_index("precision")
    assert t.train_img_s.to_dict() == {"fp32": 12.0, "bf16": 35.0}
    assert t.inference_img_s.to_dict() == {"fp32": 24.0, "bf16": 70.0}


def test_bench_names_the_cpu_and_whether_it_has_amx(tmp_path):
    from skinseg.bench import cpu_name

    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nmodel name\t: Some CPU @ 2.0GHz\nflags\t\t: fpu sse avx512f amx_bf16 amx_tile\n")
    assert cpu_name(str(info)) == "Some CPU @ 2.0GHz (AMX)"
    info.write_text("processor\t: 0\nmodel name\t: Old CPU\nflags\t\t: fpu sse avx2\n")
    assert cpu_name(str(info)) == "Old CPU"
    info.write_text("processor\t: 0\nmodel name\t: Mid CPU\nflags\t\t: fpu avx512f avx512_bf16\n")
    assert cpu_name(str(info)) == "Mid CPU (AVX512-BF16)"
    assert cpu_name(str(tmp_path / "absent")) != ""  # no /proc: the platform's own string


def test_encoder_weights_fit_exactly_the_models_with_that_encoder(tmp_path):
    from skinseg.models import loads_encoder_weights
    from skinseg.models.resnet import resnet_encoder

    path = tmp_path / "resnet34.pth"
    torch.save(resnet_encoder("resnet34").state_dict(), path)
    fits = {m for m in ("asnet", "asnet_baseline", "fpn_resnet34", "unet", "linknet64", "lesionseg")
            if loads_encoder_weights(m, path)}
    assert fits == {"asnet", "asnet_baseline", "fpn_resnet34"}
    # a row's model keyword arguments count: SLSDeep's deep stem does not take a torchvision ResNet-50
    resnet50 = tmp_path / "resnet50.pth"
    torch.save(resnet_encoder("resnet50").state_dict(), resnet50)
    assert loads_encoder_weights("slsdeep", resnet50, stem="standard")
    assert not loads_encoder_weights("slsdeep", resnet50)


@pytest.mark.parametrize("flags, emulated", [("fpu avx512f amx_bf16 amx_tile", False), ("fpu avx512f avx512_bf16", False),
                                             ("fpu sse avx512f", True)], ids=["amx", "avx512-bf16", "neither"])
def test_a_cpu_without_bf16_instructions_is_said_to_emulate_it(tmp_path, flags, emulated):
    from skinseg.cpuinfo import cpu_flags, emulates_bf16

    info = tmp_path / "cpuinfo"
    info.write_text(f"processor\t: 0\nmodel name\t: Xeon\nflags\t\t: {flags}\n")
    assert cpu_flags(str(info)) == set(flags.split())
    assert emulates_bf16(str(info)) is emulated
    assert emulates_bf16(str(tmp_path / "absent")) is False and cpu_flags(str(tmp_path / "absent")) is None
    info.write_text("processor\t: 0\nFeatures\t: fp asimd bf16\n")  # ARM: no x86 flags line, unknown
    assert cpu_flags(str(info)) is None and emulates_bf16(str(info)) is False


def test_a_benchmark_machine_label_says_whether_bf16_ran_in_hardware():
    from skinseg.cpuinfo import bf16_in_hardware

    assert bf16_in_hardware("Intel(R) Xeon(R) Processor (AMX), 2 threads")
    assert bf16_in_hardware("Xeon (AVX512-BF16), 2 threads")
    assert bf16_in_hardware("x86_64, 2 threads")  # written before the CPU was named
    assert not bf16_in_hardware("Intel(R) Xeon(R) Processor, 2 threads")


@pytest.mark.parametrize("text, expected", [
    ("model name\t: Xeon\nflags\t\t: fpu avx512f amx_bf16 amx_tile\n", "bf16"),
    ("model name\t: EPYC\nflags\t\t: fpu avx512f avx512_bf16\n", "bf16"),
    ("model name\t: EPYC\nflags\t\t: fpu sse avx2 avx512f\n", "fp32"),  # emulated bf16 ran at 0.45x fp32
    ("model name\t: Graviton\nFeatures\t: fp asimd bf16\n", "fp32"),  # no x86 flags line: unknown, the safe choice
], ids=["amx", "avx512-bf16", "neither", "unknown"])
def test_precision_auto_is_bf16_only_where_the_cpu_runs_it_in_hardware(tmp_path, text, expected):
    from skinseg.cpuinfo import auto_precision

    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\n" + text)
    assert auto_precision("cpu", str(info)) == expected
    assert auto_precision("cpu", str(tmp_path / "absent")) == "fp32"


def test_bench_never_writes_to_a_committed_file_by_default(tmp_path, monkeypatch, capsys):
    """`python -m skinseg bench` without --out overwrote the committed results/benchmarks/cpu.csv (16 lines
    became 2): the default is now a new file named by the CPU and the time, and an existing --out is refused."""
    import re
    import subprocess

    import pandas as pd

    import skinseg.bench as bench
    from skinseg.cli import main
    from conftest import ROOT

    written = []
    monkeypatch.setattr(bench, "run", lambda *a, **k: written.append(a[5]) or pd.DataFrame())
    assert main(["bench", "--models", "linknet64", "--size", "32x32"]) == 0
    out = written[0]
    assert out.parent == ROOT / "results" / "benchmarks" and not out.exists()
    assert re.fullmatch(r"cpu-[a-z0-9-]+-\d{8}-\d{6}\.csv", out.name), out.name
    tracked = subprocess.run(["git", "-C", str(ROOT), "ls-files", "results/benchmarks"], capture_output=True,
                             text=True).stdout.split()
    assert f"results/benchmarks/{out.name}" not in tracked
    existing = tmp_path / "mine.csv"
    existing.write_text("model\n")
    assert main(["bench", "--models", "linknet64", "--size", "32x32", "--out", str(existing)]) == 2
    assert "exists (a benchmark result is never overwritten)" in capsys.readouterr().err
    assert existing.read_text() == "model\n" and len(written) == 1
    assert main(["bench", "--models", "linknet64", "--size", "32x32", "--out", str(existing), "--overwrite"]) == 0
