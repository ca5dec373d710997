"""Paper 3: Sarker et al., SLSDeep (MICCAI 2018)."""
from skinseg.papers.spec import Claim, PaperSpec, Reported, Variant

_2016 = dict(paper_dataset="isic2016")

TABLE1_METRICS = ("accuracy", "dice", "jaccard", "sensitivity", "specificity")
# Table 1 ("Performance evaluation on the ISBI challenges dataset"), as printed: ACC, DIC, JAC, SEN, SPE per row and
# dataset block. The challenge entries are the paper's quotes of other methods (reported only, never run).
TABLE1 = {
    "isic2016": {"ExB": (0.953, 0.910, 0.843, 0.910, 0.965),
                 "CUMED": (0.949, 0.897, 0.829, 0.911, 0.957),
                 "Rahman et al.": (0.952, 0.895, 0.822, 0.880, 0.969),
                 "Yuan et al.": (0.955, 0.912, 0.847, 0.918, 0.966),
                 "SLSDeep": (0.984, 0.955, 0.913, 0.945, 0.992),
                 "SLSDeep-EPE": (0.973, 0.919, 0.850, 0.890, 0.990),
                 "SLSDeep+ASC": (0.975, 0.930, 0.869, 0.952, 0.979)},
    "isic2017": {"Yuan et al.": (0.934, 0.849, 0.765, 0.825, 0.975),
                 "Berseth et al.": (0.932, 0.847, 0.762, 0.820, 0.978),
                 "MResNet-Seg": (0.934, 0.844, 0.760, 0.802, 0.985),
                 "SLSDeep": (0.936, 0.878, 0.782, 0.816, 0.983),
                 "SLSDeep-EPE": (0.913, 0.826, 0.704, 0.729, 0.986),
                 "SLSDeep+ASC": (0.906, 0.850, 0.739, 0.808, 0.905)},
}
OURS = ("SLSDeep", "SLSDeep-EPE", "SLSDeep+ASC")
_TEST_SETS = {"isic2016": "ISBI 2016 test (379 images)", "isic2017": "ISBI 2017 test (600 images)"}
_TABLE1 = tuple(
    Reported("Table 1", row, metric, value, dataset=_TEST_SETS[block], paper_dataset=block,
             reported_only=row not in OURS)
    for block, rows in TABLE1.items() for row, values in rows.items() for metric, value in zip(TABLE1_METRICS, values)
)
# Section 3 ("Evaluation and Results"), the paragraph's closing sentences: the EPE term's gain in DIC and JAC, in %,
# per dataset (the row trained without EPE is SLSDeep-EPE).
_EPE_GAINS = (("isic2017", "SLSDeep", "SLSDeep-EPE", 0.05, 0.08), ("isic2016", "SLSDeep [ISBI 2016]",
              "SLSDeep-EPE [ISBI 2016]", 0.03, 0.05))
_EPE_SOURCE = "Sect. 3, Evaluation and Results (the sentence on the EPE function's gains)"
_GAINS = tuple(
    Reported(_EPE_SOURCE, "SLSDeep", f"{metric}_gain_from_epe", value, paper_dataset=block,
             difference_of=(row, minus, metric),
             note=f"SLSDeep minus SLSDeep-EPE; printed as {round(value * 100)} %, read as percentage points (Table 1's "
                  f"own difference: {TABLE1[block]['SLSDeep'][i] - TABLE1[block]['SLSDeep-EPE'][i]:+.3f})")
    for block, row, minus, dice, jac in _EPE_GAINS for metric, value, i in (("dice", dice, 1), ("jaccard", jac, 2))
)

# The text's own statements about Table 1 (Section 3, Evaluation and Results, first paragraph after the
# variants are named), checked against the table by skinseg.audit.text_against_table. Each: (where in the
# paragraph, dataset block, row, metric, kind, reference rows, stated), where kind is "difference" (row minus
# the best reference row, stated as a fraction), "at least" (row's value above stated) or "better" (row above
# every reference row on each listed metric; metric "all" is the five of Table 1).
_PARA = "Sect. 3, Evaluation and Results"
_COMPETITORS_2016 = ("ExB", "CUMED", "Rahman et al.", "Yuan et al.")
_COMPETITORS_2017 = ("Yuan et al.", "Berseth et al.", "MResNet-Seg")
TEXT_CLAIMS = (
    (f"{_PARA}: SLSDeep and its variations better than the four methods on ISBI 2016, all five metrics", "isic2016",
     OURS, "all", "better", _COMPETITORS_2016, None),
    (f"{_PARA}: SLSDeep the best of the three variations (ISBI 2016)", "isic2016", ("SLSDeep",), "all", "better",
     ("SLSDeep-EPE", "SLSDeep+ASC"), None),
    (f"{_PARA}: DIC improved by around 3.5 % (ISBI 2016)", "isic2016", ("SLSDeep",), "dice", "difference",
     _COMPETITORS_2016, 0.035),
    (f"{_PARA}: JAC improved by 8 % (ISBI 2016)", "isic2016", ("SLSDeep",), "jaccard", "difference",
     _COMPETITORS_2016, 0.08),
    (f"{_PARA}: overall accuracy above 98 % (ISBI 2016)", "isic2016", ("SLSDeep",), "accuracy", "at least", (), 0.98),
    (f"{_PARA}: DIC improved by 3 % (ISBI 2017)", "isic2017", ("SLSDeep",), "dice", "difference", _COMPETITORS_2017,
     0.03),
    (f"{_PARA}: JAC improved by 2 % (ISBI 2017)", "isic2017", ("SLSDeep",), "jaccard", "difference",
     _COMPETITORS_2017, 0.02),
    (f"{_PARA}: SLSDeep above the three ISBI 2017 methods in ACC, DIC and JAC", "isic2017", ("SLSDeep",),
     "accuracy,dice,jaccard", "better", _COMPETITORS_2017, None),
    (f"{_PARA}: Yuan et al.'s SEN 0.9 % above SLSDeep (ISBI 2017)", "isic2017", ("Yuan et al.",), "sensitivity",
     "difference", ("SLSDeep",), 0.009),
    (f"{_PARA}: SLSDeep-EPE and SLSDeep+ASC below the other methods in ACC, DIC, JAC and SEN (ISBI 2017)",
     "isic2017", _COMPETITORS_2017, "accuracy,dice,jaccard,sensitivity", "better", ("SLSDeep-EPE", "SLSDeep+ASC"),
     None),
    (f"{_PARA}: SLSDeep-EPE's SPE 0.1 % above MResNet-Seg (ISBI 2017)", "isic2017", ("SLSDeep-EPE",), "specificity",
     "difference", ("MResNet-Seg",), 0.001),
    (f"{_PARA}: SLSDeep-EPE's SPE 0.3 % above SLSDeep (ISBI 2017)", "isic2017", ("SLSDeep-EPE",), "specificity",
     "difference", ("SLSDeep",), 0.003),
    (f"{_PARA}: EPE adds 3 % DIC on ISBI 2016", "isic2016", ("SLSDeep",), "dice", "difference", ("SLSDeep-EPE",), 0.03),
    (f"{_PARA}: EPE adds 5 % JAC on ISBI 2016", "isic2016", ("SLSDeep",), "jaccard", "difference", ("SLSDeep-EPE",),
     0.05),
    (f"{_PARA}: EPE adds 5 % DIC on ISBI 2017", "isic2017", ("SLSDeep",), "dice", "difference", ("SLSDeep-EPE",), 0.05),
    (f"{_PARA}: EPE adds 8 % JAC on ISBI 2017", "isic2017", ("SLSDeep",), "jaccard", "difference", ("SLSDeep-EPE",),
     0.08),
    (f"{_PARA}: one skip connection better than SLSDeep+ASC on both datasets (ISBI 2016)", "isic2016", ("SLSDeep",),
     "all", "better", ("SLSDeep+ASC",), None),
    (f"{_PARA}: one skip connection better than SLSDeep+ASC on both datasets (ISBI 2017)", "isic2017", ("SLSDeep",),
     "all", "better", ("SLSDeep+ASC",), None),
)

SPEC = PaperSpec(
    key="slsdeep2018",
    notebook="03_slsdeep_isbi",
    citation="M. M. K. Sarker et al., SLSDeep: Skin Lesion Segmentation Based on Dilated Residual and Pyramid "
             "Pooling Networks. MICCAI 2018, LNCS 11071, 21–29.",
    claim="A dilated ResNet-50 with pyramid pooling trained with NLL + 0.5·EPE beats the ISBI 2016 and 2017 "
          "challenge entries; EPE helps; about 100 images of 384×384 per second on a recent GPU.",
    recipe=dict(paper_dataset="isic2017", protocol="official", val_fraction=0.1, image_height=384, image_width=384,
                loss="nll_epe", epe_weight=0.5, optimizer="adam", lr=0.01, encoder_lr=0.001, lr_schedule="poly",
                poly_power=0.9, augmentation="slsdeep", batch_size=16, epochs=100, normalization="imagenet"),
    recipe_sources=dict(paper_dataset="Sect. 3, Database: ISBI 2016 (900 train / 379 test) and ISBI 2017 (2,000 / "
                                      "150 / 600)",
                        protocol="Sect. 3, Database: the challenges' own splits",
                        val_fraction="not stated (ISBI 2017's 150 validation images exist; ISBI 2016 has none)",
                        image_height="Sect. 3, Evaluation and Results: resized to 384×384",
                        image_width="Sect. 3, Evaluation and Results: resized to 384×384",
                        loss="Sect. 2.2, eq. 1–3: NLL + α·EPE, α = 0.5",
                        epe_weight="Sect. 2.2: α = 0.5", optimizer="Sect. 3, Implementation: Adam",
                        lr="Sect. 3, Implementation: base lr 0.01 decoder", encoder_lr="Sect. 3, Implementation: "
                        "0.001 encoder", lr_schedule="Sect. 3, Implementation: poly", poly_power="Sect. 3, "
                        "Implementation: power 0.9",
                        augmentation="Sect. 3, Implementation: random scale 0.5–1.5, random rotation −10° to 10°",
                        batch_size="Sect. 3, Implementation: 16", epochs="Sect. 3, Implementation: 100",
                        normalization="not stated", encoder_weights="Sect. 2.1: \"pre-trained\" DRN blocks; the "
                        "dataset is not named"),
    variants=(
        Variant("SLSDeep", "slsdeep", main=True),
        # the EPE audit compares these two rows seed by seed: both train with `seeds`
        Variant("SLSDeep-EPE", "slsdeep", overrides=dict(loss="nll"), seed_group="main"),
        Variant("SLSDeep+ASC", "slsdeep_asc"),
        # a term without gradient leaves training bit-identical to NLL alone at any seed
        # (audit.identical_runs), so one seed (`ablation_seeds`) shows it
        Variant("SLSDeep (as-published EPE)", "slsdeep", overrides=dict(loss="nll_epe_published"),
                row="", note="audit: the public code's EPE (argmax, no gradient)"),
        Variant("SLSDeep [ISBI 2016]", "slsdeep", overrides=_2016, row="SLSDeep"),
        Variant("SLSDeep-EPE [ISBI 2016]", "slsdeep", overrides=dict(loss="nll", **_2016), row="SLSDeep-EPE"),
        Variant("SLSDeep+ASC [ISBI 2016]", "slsdeep_asc", overrides=_2016, row="SLSDeep+ASC"),
    ),
    reported=_TABLE1 + (
        Reported("Abstract", "SLSDeep", "images_per_second", 100, dataset="384×384 images, \"a recent GPU\"",
                 note="abstract: \"about 100\" images per second; Sect. 3 names an NVIDIA TITAN X (12 GB) for training"),
    ) + _GAINS,
    claims=(Claim("the EPE term helps", "SLSDeep", "SLSDeep-EPE", where="Table 1 and Sect. 3 (SLSDeep vs SLSDeep-EPE)"),),
    audit_summary="Table 1's own rows satisfy DIC = 2·JAC/(1+JAC) to rounding (pooled pixels) while every challenge "
                  "row falls below it (per-image means): the table compares two reductions; the public code's EPE "
                  "passes no gradient (argmax + numpy)",
)

# The public code (xmichelleshihx/SLSDeep @9fd6153d, all code from f11df95) against the paper:
# (finding, file:line, value in the code, the paper says).
CODE_AUDIT = (
    ("optimiser", "train.py:227-239, 359, 361", "torch.optim.SGD, momentum 0.9, weight decay 1e-4 (encoder and "
     "decoder optimisers); --optim 'Adam' (train.py:354) is never read", "Adam"),
    ("learning rates", "train.py:355-357", "encoder 1e-3, decoder 1e-2, poly power 0.9 stepped per epoch "
     "(train.py:242-251)", "0.001 encoder / 0.01 decoder, poly 0.9"),
    ("EPE input", "train.py:48-51; utils.py:115-129", "argmax label map, Sobel in numpy (skimage), re-wrapped as a "
     "new tensor: no gradient reaches the network", "EPE of the predicted map (eq. 2-3)"),
    ("EPE norm", "utils.py:106-113", "torch.norm(gt_edge - pred_edge, 2, 1).mean() on (B, H, W): L2 over the row "
     "axis", "per-pixel end-point error"),
    ("EPE weight", "train.py:51", "0.5", "0.5"),
    ("batch size", "train.py:350, 394", "12 per GPU x 1 GPU = 12", "16"),
    ("epochs", "train.py:352", "2 (default)", "100"),
    ("rotation", "dataset.py (whole file)", "none; random scale 0.5-1.5 (dataset.py:36-39), 384 crop, horizontal flip "
     "also on validation (dataset.py:88-89)", "random scale 0.5-1.5, rotation ±10°"),
    ("encoder weights", "models.py:35-38; resnet.py:16-19", "ResNet-50 pretrained on Places365", "not stated"),
    ("decoder", "models.py:186-199, 217-220", "two 3x3 convs; ReLU + Dropout(0.5) on the class logits", "three "
     "convolution layers"),
    ("metrics", "utils.py:98-103", "pixel accuracy only; no DIC/JAC/SEN/SPE code", "ACC, DIC, JAC, SEN, SPE"),
    ("speed", "test.py:133-138", "one timing of a whole main() call (model building included)", "about 100 images "
     "of 384x384 per second"),
)
