"""Paper 3: Sarker et al., SLSDeep (MICCAI 2018)."""
from skinseg.papers.spec import Claim, PaperSpec, Reported, Variant

_2016 = dict(paper_dataset="isic2016")

# The two EPE gains are the project's plan's summary of Table 1 (step 3b), not read from the paper.
_GAIN_SOURCE = "Table 1 (gain as quoted in the project's plan; not read from the paper)"

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
    recipe_sources=dict(image_height="384×384", loss="NLL + 0.5·EPE (eq. 1–3)", optimizer="Adam",
                        lr="0.01 decoder, 0.001 encoder", lr_schedule="poly, power 0.9",
                        augmentation="random scale 0.5–1.5, rotation ±10°", batch_size="16", epochs="100"),
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
    # Table 1's values (both blocks: ACC, DIC, JAC, SEN, SPE of SLSDeep, SLSDeep-EPE, SLSDeep+ASC and
    # the challenge entries) are not entered: no copy of the paper's text or of the table can be
    # reached from this project (the public code's README has no table). Enter them here, as
    # Reported("Table 1", row, metric, value, paper_dataset=...), from the paper itself.
    reported=(
        Reported("Abstract", "SLSDeep", "images_per_second", 100, dataset="384×384 images, one GPU",
                 note="LNCS abstract: \"about 100\"; arXiv v2 abstract: \"more than 100\" on \"a recent GPU\""),
        Reported(_GAIN_SOURCE, "SLSDeep", "dice_gain_from_epe", 0.05,
                 paper_dataset="isic2017", difference_of=("SLSDeep", "SLSDeep-EPE", "dice"),
                 note="SLSDeep minus SLSDeep-EPE, ISBI 2017; percentage points assumed"),
        Reported(_GAIN_SOURCE, "SLSDeep", "jaccard_gain_from_epe", 0.08,
                 paper_dataset="isic2017", difference_of=("SLSDeep", "SLSDeep-EPE", "jaccard"),
                 note="SLSDeep minus SLSDeep-EPE, ISBI 2017; percentage points assumed"),
    ),
    claims=(Claim("the EPE term helps", "SLSDeep", "SLSDeep-EPE", where="Table 1 (SLSDeep vs SLSDeep-EPE)"),),
    audit_summary="Table 1's per-row values are not entered (the paper could not be read here); SLSDeep-EPE is the "
                  "row trained without EPE (NLL only); the public code's EPE passes no gradient (argmax + numpy)",
)

# Table 1's competitor rows (challenge entries, quoted by the paper), per dataset block.
TABLE1_COMPETITORS = (("isic2016", "ExB"), ("isic2016", "CUMED"), ("isic2016", "Rahman et al."),
                      ("isic2017", "Yuan et al."), ("isic2017", "Berseth et al."), ("isic2017", "MResNet-Seg"))
TABLE1_METRICS = ("accuracy", "dice", "jaccard", "sensitivity", "specificity")

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
