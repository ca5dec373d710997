"""Paper 1: de la Torre, LinkNet-64 (ISIC 2018 challenge write-up)."""
from skinseg.papers.spec import Claim, PaperSpec, Reported, Variant

SPEC = PaperSpec(
    key="delatorre2018",
    notebook="01_linknet64_isic2018",
    citation="J. de la Torre, ISIC 2018 – Skin Lesion Segmentation using a LinkNet Derived Network. "
             "ISIC 2018 challenge write-up (Task 1), 2018.",
    claim="A LinkNet with its filters limited to 64 per layer (about 600,000 parameters), trained with a Dice loss "
          "and Adam at 1e-4, segments skin lesions well.",
    recipe=dict(paper_dataset="isic2018", protocol="holdout", val_fraction=0.1, optimizer="adam", lr=1e-4,
                loss="dice", augmentation="flip_rot90", image_height=256, image_width=256, epochs=100,
                batch_size=16, early_stopping_patience=20, normalization="imagenet"),
    recipe_sources=dict(optimizer="§4 Training procedure: Adam", lr="§4 Training procedure: 1e-4",
                        loss="§4 Training procedure: Dice coefficient as the loss",
                        augmentation="§2: \"data augmentation\" only; ours: flips and 90° rotations",
                        image_height="not stated", image_width="not stated", epochs="not stated",
                        batch_size="not stated", normalization="not stated",
                        early_stopping_patience="not stated; §4 keeps the best model on the validation set; 20 "
                                                "is ours",
                        paper_dataset="§2: the ISIC 2018 challenge datasets (citing the ISIC 2017 report and "
                                      "HAM10000)",
                        protocol="§4: 13,000 / 1,400 train/validation images; §2: 12,342 / 1,436; both exceed "
                                 "ISIC 2018 Task 1's 2,594", val_fraction="ours (the paper's 1,400 of 14,400 is "
                                 "about 0.1)"),
    variants=(
        Variant("LinkNet-64", "linknet64", main=True),
        Variant("LinkNet", "linknet", note="original widths 64/128/256/512 (ablation: what narrowing costs)"),
    ),
    reported=(
        Reported("Abstract; §3 Model", "LinkNet-64", "parameters", 600_000,
                 note="Abstract: \"about 600,000\"; §3: \"only 600,000\""),
    ),
    claims=(Claim("narrowing LinkNet to 64 filters costs little", "LinkNet-64", "LinkNet", kind="close",
                  where="§3 Model (the motivation; the paper runs no full-width LinkNet)"),),
    audit_summary="no test score is reported: only the parameter count and the design are checkable",
)
