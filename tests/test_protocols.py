"""Protocols, stand-ins and split files on hand-made sample lists."""
from pathlib import Path

import pytest

from skinseg.data import DatasetIndex, Sample
from skinseg.data.layouts import DataError
from skinseg.data.protocols import SplitInputs, load_or_make, partitions, stand_in, table


def samples(split, n, start=0, masks=True):
    return [Sample(f"ISIC_{i:07d}", Path(f"{i}.jpg"), Path(f"{i}.png") if masks else None, split)
            for i in range(start, start + n)]


def index(dataset="isic2017", train=2000, val=150, test=600, test_masks=False):
    idx = DatasetIndex(dataset, Path("/data"))
    idx.splits = {"train": samples("train", train), "val": samples("val", val, 10**5),
                  "test": samples("test", test, 2 * 10**5, masks=test_masks)}
    return idx


def ids(part):
    return {k: set(v) for k, v in part.items()}


def test_isic2016_stand_in_is_a_seeded_900_379_split():
    label, sp = stand_in(index(), "isic2016", split_seed=0)
    assert [len(sp["train"]), len(sp["test"])] == [900, 379] and "seeded 900/379" in label
    assert not {s.id for s in sp["train"]} & {s.id for s in sp["test"]}
    assert {s.id for s in sp["train"]} <= {s.id for s in index().splits["train"]}
    assert stand_in(index(), "isic2016", 0)[1] == sp and stand_in(index(), "isic2016", 1)[1] != sp


def test_isic2018_stand_in_is_train_plus_val_without_unlabelled_test():
    label, sp = stand_in(index(), "isic2018", 0)
    assert set(sp) == {"train", "val"} and len(sp["train"]) + len(sp["val"]) == 2150
    assert label == "ISIC 2018 stand-in (ISIC 2017 2,000 train + 150 val)"


def test_ph2_has_no_isic_stand_in():
    idx = DatasetIndex("ph2", Path("/ph2"), {"all": samples("all", 10)})
    with pytest.raises(DataError, match="no stand-in for isic2017"):
        stand_in(idx, "isic2017", 0)


def test_kfold_partitions_cover_the_pool_once_and_are_disjoint():
    _, sp = stand_in(index(train=80, val=20), "isic2018", 0)
    parts, note = partitions(sp, "kfold", 0.1, 5, seed=3)
    assert list(parts) == [f"fold{k}" for k in range(5)] and note == "5 folds over 100 images"
    tests = [set(p["test"]) for p in parts.values()]
    assert sum(map(len, tests)) == 100 and set().union(*tests) == {s.id for v in sp.values() for s in v}
    for p in parts.values():
        s = ids(p)
        assert not (s["train"] & s["val"] or s["train"] & s["test"] or s["val"] & s["test"])
        assert len(s["val"]) == 8 and len(s["train"]) == 72
    assert partitions(sp, "kfold", 0.1, 5, 3)[0] == parts and partitions(sp, "kfold", 0.1, 5, 4)[0] != parts


def test_official_uses_val_as_test_when_test_has_no_masks():
    sp = {k: v for k, v in index(train=50, val=10, test=5).splits.items()}
    sp = {k: [s for s in v if s.mask] for k, v in sp.items()}
    sp = {k: v for k, v in sp.items() if v}
    parts, note = partitions(sp, "official", 0.2, 5, 0)
    assert note == "test = the source's val split (no test masks)"
    assert len(parts["official"]["test"]) == 10 and len(parts["official"]["val"]) == 10
    with_test = {**sp, "test": samples("test", 5, 9000)}
    parts, note = partitions(with_test, "official", 0.2, 5, 0)
    assert parts["official"]["val"] == [s.id for s in sp["val"]] and len(parts["official"]["test"]) == 5


def test_ratio_is_a_seeded_share_of_training():
    sp = {"train": samples("train", 300), "val": samples("val", 15, 1000)}
    parts, _ = partitions(sp, "ratio", 0.3, 5, seed=35)
    assert len(parts["ratio"]["val"]) == 90 and len(parts["ratio"]["train"]) == 210
    assert len(parts["ratio"]["test"]) == 15


def test_split_file_records_its_inputs_and_refuses_others(tmp_path):
    sp = {"train": samples("train", 20), "val": samples("val", 5, 100)}
    inputs = SplitInputs("isic2018", "isic2018", True, "holdout", 0.2, 0, 0, 0, "abc")
    make = lambda: table(partitions(sp, "holdout", 0.2, 5, 0)[0])  # noqa: E731
    f = tmp_path / "splits" / f"{inputs.name()}.csv"
    assert inputs.name({"val_fraction": 0.2, "split_seed": 0}) == "isic2018-holdout"
    assert inputs.name({"val_fraction": 0.1, "split_seed": 0}) == "isic2018-holdout-val0.2"
    df = load_or_make(f, inputs, make)
    assert list(df.columns) == ["partition", "image_id", "split"] and f.with_suffix(".json").is_file()
    assert load_or_make(f, inputs, lambda: pytest.fail("must reuse")).equals(df)
    other = SplitInputs("isic2018", "isic2018", True, "holdout", 0.3, 0, 0, 0, "abc")
    with pytest.raises(DataError, match=r"val_fraction: 0.2 -> 0.3.*overwrite=True"):
        load_or_make(f, other, make)
    assert len(load_or_make(f, other, make, overwrite=True)) == 25
