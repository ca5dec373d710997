"""Paper 1: de la Torre, LinkNet-64 (ISIC 2018 challenge write-up)."""
from skinseg.papers.spec import Claim, PaperSpec, Reported, Variant

SPEC = PaperSpec(
    key="delatorre2018",
    notebook="01_linknet64_isic2018",
    citation="J. de la Torre, ISIC 2018 – Skin Lesion Segmentation using a LinkNet Derived Network. "
             "ISIC 2018 challenge write-up (Task 1), July 2018.",
    claim="A LinkNet narrowed to 64 filters in every encoder stage (about 600,000 parameters), trained with a "
          "Dice loss and Adam at 1e-4, segments skin lesions well.",
    recipe=dict(paper_dataset="isic2018", protocol="holdout", val_fraction=0.1, optimizer="adam", lr=1e-4,
                loss="dice", augmentation="flip_rot90", image_height=256, image_width=256, epochs=100,
                batch_size=16, early_stopping_patience=20, normalization="imagenet"),
    recipe_sources=dict(optimizer="Training procedure: Adam", lr="Training procedure: 1e-4",
                        loss="Training procedure: Dice coefficient loss",
                        augmentation="not stated (\"data augmentation\"); ours: flips and 90° rotations",
                        image_height="not stated", epochs="not stated", batch_size="not stated",
                        protocol="13,000 / 1,400 (Training procedure) or 12,342 / 1,436 (Data and "
                                 "Preprocessing) train/val images: both exceed ISIC 2018's 2,594"),
    variants=(
        Variant("LinkNet-64", "linknet64", main=True),
        Variant("LinkNet", "linknet", note="original widths 64/128/256/512 (ablation: what narrowing costs)"),
    ),
    reported=(
        Reported("Abstract; Model", "LinkNet-64", "parameters", 600_000, note="\"about 600,000\""),
    ),
    claims=(Claim("narrowing LinkNet to 64 filters costs little", "LinkNet-64", "LinkNet", kind="close",
                  where="Abstract (the write-up's motivation; no table)"),),
    audit_summary="no test score is reported: only the parameter count and the design are checkable",
)
