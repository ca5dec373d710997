"""Paper 5: Zhu et al., ASNet (SPIE Medical Imaging 2020)."""
from skinseg.papers.spec import Claim, PaperSpec, Reported, Variant

# Table 2, mean ± sd over 5 folds, in %: Jaccard, Dice, Accuracy
_TABLE2 = {
    "U-Net": ((78.70, 0.317), (86.58, 0.376), (95.06, 0.251)),
    "MultiResU-Net": ((80.30, 0.372), None, None),
    "Baseline": ((81.12, 0.551), (87.90, 0.561), (95.69, 0.617)),
    "Baseline_ASM_w/o_DI": ((81.56, 0.353), (88.25, 0.433), (95.80, 0.305)),
    "Baseline_ASM_w/o_SA": ((81.79, 0.425), (88.46, 0.532), (95.92, 0.359)),
    "Baseline_Wide": ((81.73, 0.376), (88.41, 0.438), (95.90, 0.342)),
    "ASNet": ((82.15, 0.328), (88.88, 0.390), (96.00, 0.228)),
}
_REPORTED = tuple(
    Reported("Table 2", row, metric, round(v[0] / 100, 6), round(v[1] / 100, 7), dataset="ISIC 2018 (5-fold CV)",
             reported_only=row == "MultiResU-Net", runs=5)
    for row, cols in _TABLE2.items() for metric, v in zip(("jaccard", "dice", "accuracy"), cols) if v is not None
)

SPEC = PaperSpec(
    key="asnet2020",
    notebook="05_asnet_isic2018",
    citation="L. Zhu, S. Feng, W. Zhu, X. Chen, ASNet: An adaptive scale network for skin lesion segmentation in "
             "dermoscopy images. Proc. SPIE 11317, Medical Imaging 2020, 113170W, doi:10.1117/12.2549178.",
    claim="An adaptive scale module on a ResNet-34 U-shape raises 5-fold Jaccard on ISIC 2018 to 82.15 %, above "
          "every ablation and 3.45 points above U-Net.",
    recipe=dict(paper_dataset="isic2018", protocol="kfold", folds=5, val_fraction=0.1, image_height=192,
                image_width=256, augmentation="hflip", loss="bce_dice", ce_weight=0.5, optimizer="sgd",
                momentum=0.9, weight_decay=1e-4, lr=0.01, lr_schedule="poly", poly_power=0.9, batch_size=12,
                epochs=100, normalization="imagenet"),
    recipe_sources=dict(protocol="Abstract, §2.5: 5-fold cross-validation", folds="§2.5: 5",
                        paper_dataset="Abstract, §3.1: ISIC 2018 lesion boundary segmentation (2,594 images)",
                        image_height="§2.5: 256×192 (which side is the width: our reading)",
                        image_width="§2.5: 256×192",
                        augmentation="§2.5: random left-right flipping",
                        loss="§2.4 eq. 3 and §4: cross-entropy + Dice; ours: binary cross-entropy (§4's word) "
                             "where eq. 3 as printed keeps only the positive-class term",
                        ce_weight="§2.4 eq. 3: ½ on the cross-entropy term, 1 on the Dice term (each a per-pixel "
                                  "mean: our reading)",
                        optimizer="§2.5: SGD", momentum="§2.5: 0.9", weight_decay="§2.5: 0.0001",
                        lr="§2.5: 0.01", lr_schedule="§2.5: poly", poly_power="§2.5: 0.9",
                        batch_size="§2.5: 12", epochs="not stated (100 is ours, for the paper profile)",
                        val_fraction="not stated (ours: model selection on a tenth of the training folds)",
                        normalization="not stated",
                        encoder_weights="Abstract, §2.1: a pre-trained ResNet34 (the dataset is not named)"),
    variants=(
        Variant("U-Net", "unet"),
        Variant("Baseline", "asnet_baseline"),
        Variant("Baseline_ASM_w/o_DI", "asnet_wo_di"),
        Variant("Baseline_ASM_w/o_SA", "asnet_wo_sa"),
        Variant("Baseline_Wide", "asnet_baseline_wide",
                note="§3.2 Results: residual blocks added to the decoder for a complexity similar to ASNet's (citing "
                     "UNet++)"),
        Variant("ASNet", "asnet", main=True),
    ),
    reported=_REPORTED,
    claims=tuple(Claim(f"ASNet is above {row}", "ASNet", row, where="Table 2 and its discussion")
                 for row in ("U-Net", "Baseline", "Baseline_ASM_w/o_DI", "Baseline_ASM_w/o_SA", "Baseline_Wide")),
    audit_summary="Table 2's gaps from ASNet to its ablations (0.36-0.59 points; Baseline 1.03) are the size of its "
                  "fold sds (0.32-0.55), per-fold values unpublished; the module's output x + β·fused starts at β = 0 "
                  "(ours: the paper gives no initial value), so it takes part only as far as training moves β "
                  "(notebook 05 measures it)",
)

# The text's claims about Table 2 (Jaccard, as fractions): (row, reference, how far row is below reference), from
# Sect. 3.2 Results (the paper numbers two sections 3.2; this is the second): ASM_w/o_DI 0.59 % and ASM_w/o_SA 0.36 % below the complete ASM; ASNet 3.45 % above U-Net and 1.85 % above
# MultiResU-Net. tests/test_paper_texts.py finds each in the text; audit.stated_differences checks them against the
# table's own rows.
TEXT_CLAIMS = (("Baseline_ASM_w/o_DI", "ASNet", 0.0059), ("Baseline_ASM_w/o_SA", "ASNet", 0.0036),
               ("U-Net", "ASNet", 0.0345), ("MultiResU-Net", "ASNet", 0.0185))
