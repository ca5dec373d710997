"""Paper specs: each of the five builds (rows, protocol, settings) and every row trains one step."""
import pandas as pd
import pytest

from helpers_experiment import small_params
from skinseg import params as P
from skinseg.experiment import Experiment
from skinseg.papers import Variant, get_paper, list_papers, paper_for_notebook, slug
from skinseg.papers.spec import PaperSpec
from skinseg.profiles import load_profile, resolve

PROTOCOLS = {"delatorre2018": "holdout", "lesionseg2017": "holdout", "slsdeep2018": "official",
             "flores_fpn": "ratio", "asnet2020": "kfold", "one_protocol": "holdout"}


@pytest.fixture(autouse=True)
def synthetic_in_tmp(tmp_path, monkeypatch):
    import skinseg.data.sources as src

    real = src.resolve
    monkeypatch.setattr(src, "resolve", lambda p: tmp_path / "data" if p == "data" else real(p))


def test_five_papers_registered_with_protocols():
    from skinseg.papers import PAPERS

    assert list_papers() == list(PROTOCOLS) and PAPERS == tuple(PROTOCOLS)[:5]
    for key, protocol in PROTOCOLS.items():
        spec = get_paper(key)
        assert spec.recipe["protocol"] == protocol and paper_for_notebook(spec.notebook) is spec
        assert sum(v.main for v in spec.variants) >= 1 or key == "one_protocol"  # ours: no paper's own model
    with pytest.raises(KeyError, match="valid: delatorre2018"):
        get_paper("unet2015")


@pytest.mark.slow
@pytest.mark.parametrize("key", list(PROTOCOLS))
def test_every_row_of_every_paper_trains_one_step(tmp_path, key):
    spec = get_paper(key)
    # the paper's recipe (loss, optimiser, target, augmentation, ...) on tiny synthetic data, one step per row
    p = small_params(tmp_path, spec, synthetic_n=12, batch_size=8, max_folds=1, lr=spec.recipe["lr"])
    exp = Experiment(p, spec)
    plan = exp.plan()
    assert {v.label for v, _, _ in plan} == {v.label for v in spec.variants}
    assert {part for _, part, _ in plan} == ({"fold0"} if key == "asnet2020" else {PROTOCOLS[key]})
    for v, part, seed in plan:
        o = exp.run(v, part, seed)
        assert o.status == "new" and o.config["variant"] == v.label and o.config["model"] == v.model
        for k, val in v.overrides.items():
            assert o.config[k] == val, (v.label, k)
        if v.eval_of is None:
            assert len(o.history) == 1  # one epoch of one optimiser step
        assert o.metrics.value.between(0, 1).all()


def test_stand_ins_are_named_and_sized(tmp_path):
    spec = get_paper("slsdeep2018")
    exp = Experiment(small_params(tmp_path, spec, synthetic_n=40), spec)
    d16 = exp.data(spec.variant("SLSDeep [ISBI 2016]"))
    assert d16.label.startswith("ISIC 2016 stand-in") and "seeded 28/12" in d16.label  # 900/379 of 40
    assert d16.counts().iloc[0].test == 12
    d17 = exp.data(spec.variant("SLSDeep"))
    assert d17.label.startswith("ISIC 2017 stand-in") and d17.note == "test = the source's val split (no test masks)"


def test_spec_rejects_inconsistent_rows():
    base = dict(key="x", notebook="99_x", citation="", claim="", recipe={}, recipe_sources={})
    with pytest.raises(ValueError, match="unique"):
        PaperSpec(**base, variants=(Variant("A", "unet"), Variant("a", "unet")))
    with pytest.raises(ValueError, match="cannot change"):
        PaperSpec(**base, variants=(Variant("A", "unet"), Variant("B", "unet", eval_of="A", overrides={"lr": 1.0})))
    with pytest.raises(ValueError, match="loss='focal'"):
        PaperSpec(**base, variants=(Variant("A", "unet", overrides={"loss": "focal"}),))
    assert slug("Baseline_ASM_w/o_SA") == "baseline_asm_wo_sa" and slug("SLSDeep+ASC [ISBI 2016]") == \
        "slsdeep-plus-asc-isbi-2016"


def test_an_evaluation_only_row_selects_and_scores_its_trained_row():
    base = dict(key="x", notebook="99_x", citation="", claim="", recipe={}, recipe_sources={})
    spec = PaperSpec(**base, variants=(Variant("A", "unet"), Variant("B", "unet"),
                                       Variant("A no post", "unet", eval_of="A", overrides={"postprocess": "none"})))
    assert spec.trained("A no post").label == "A" and spec.trained("b").label == "B"
    assert [v.label for v in spec.select("A no post, B")] == ["A", "A no post", "B"]


def test_profiles_resolve_recipe_then_profile():
    spec = get_paper("delatorre2018")
    smoke, real = resolve(spec, load_profile("smoke")), resolve(spec, load_profile("cpu-real"))
    assert smoke["lr"] == 1e-3 and real["lr"] == spec.recipe["lr"] == 1e-4  # recipe unless a profile overrides
    assert real["precision"] == "auto" and real["channels_last"] and real["seeds"] == "0,1,2"
    for prof in ("smoke", "cpu-real", "paper"):
        assert set(resolve(spec, load_profile(prof))) == set(P.NAMES)


def test_a_profile_is_found_by_the_results_folder_it_writes_to():
    """The summary reads results/paper-gpu/ and needs the profile that wrote it: paper.yaml."""
    assert load_profile("paper-gpu") == load_profile("paper")
    assert load_profile("paper")["default"]["profile"] == "paper-gpu"


def test_profile_with_unknown_key_is_refused(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text("default:\n  learning_rate: 0.1\n")
    with pytest.raises(ValueError, match="unknown parameter 'learning_rate'"):
        load_profile(str(f))


def test_rows_compared_seed_by_seed_share_the_seed_list(tmp_path):
    spec = get_paper("slsdeep2018")
    exp = Experiment(small_params(tmp_path, spec, seeds="0,1,2", ablation_seeds="0"), spec)
    seeds = {v.label: exp.seeds(v) for v in spec.variants}
    assert seeds["SLSDeep"] == seeds["SLSDeep-EPE"] == [0, 1, 2]
    # the as-published EPE is checked for bit-identity with NLL alone: its one seed is the first of theirs
    assert seeds["SLSDeep (as-published EPE)"] == seeds["SLSDeep+ASC"] == [0]


def test_synthetic_data_does_not_depend_on_the_split_seed(tmp_path):
    spec = get_paper("flores_fpn")  # split_seed 35
    a = Experiment(small_params(tmp_path, spec), spec).data()
    b = Experiment(small_params(tmp_path, get_paper("delatorre2018")), "delatorre2018").data()
    assert a.root == b.root


def test_fpn_table2_entries_are_the_code_training_log_truncated():
    """Data entry check: every Table 2 number of the FPN spec prints as a value of the code's
    committed training log (truncated to 4 decimals), none as its validation log."""
    from skinseg import audit
    from skinseg.papers import flores_fpn as F

    assert len([r for r in F.SPEC.reported if r.epoch]) == 20 and {r.split for r in F.SPEC.reported} == {"train"}
    log = pd.DataFrame(F.CODE_TRAINING_LOG, columns=["row", "dice_loss", "jaccard"])
    m = audit.match_log(F.SPEC.reported, log, 4)
    assert (m["log rows (truncated)"].str.len() == 1).all()
    shifted = m[m.offset.ne(0)]
    assert shifted.metric.eq("jaccard").all() and shifted.offset.eq(1).all()
    assert tuple(shifted.epoch) == F._IOU_FROM_NEXT_EPOCH == (4, 5, 6)  # the notes on those rows say so
    assert all(("next epoch" in r.note) == (r.metric == "jaccard" and r.epoch in (4, 5, 6)) for r in F.SPEC.reported)
    val = pd.DataFrame({"row": range(20), "jaccard": F.CODE_VALIDATION_IOU})
    assert (audit.match_log(F.SPEC.reported, val, 4)["log rows (truncated)"].str.len() == 0).all()
