"""Not a paper: the five papers' main models and U-Net under one protocol (step 4's comparison).

Same split, input size, augmentation, loss, optimiser and epoch budget for every model, so that
the differences are the models'. The summary notebook (06) trains and reads these runs.
"""
from skinseg.papers.spec import PaperSpec, Variant

_OURS = "ours: one protocol for every model"

SPEC = PaperSpec(
    key="one_protocol",
    notebook="06_summary",
    citation="This project: LinkNet-64 (de la Torre), LesionSeg (Ramachandram & DeVries), SLSDeep (Sarker et al.), "
             "FPN (Flores Hernández), ASNet (Zhu et al.) and U-Net (Ronneberger et al.) under one protocol.",
    claim="None: a comparison that none of the papers offers.",
    recipe=dict(paper_dataset="isic2017", protocol="holdout", val_fraction=0.1, image_height=256, image_width=256,
                augmentation="flip_rot90", loss="bce_dice", optimizer="adam", lr=1e-3, lr_schedule="poly",
                poly_power=0.9, epochs=50, batch_size=16, early_stopping_patience=0, normalization="imagenet"),
    recipe_sources={k: _OURS for k in ("protocol", "image_height", "augmentation", "loss", "optimizer", "lr",
                                       "lr_schedule", "epochs", "batch_size")},
    variants=(
        # seeds: the `seeds` list for five models, `ablation_seeds` for SLSDeep (dilated ResNet-50 at output
        # stride 8: about twice U-Net's training time and 3-4x any other model's)
        Variant("LinkNet-64", "linknet64", seed_group="main"),
        Variant("LesionSeg", "lesionseg", seed_group="main"),
        Variant("U-Net", "unet", seed_group="main"),
        Variant("ASNet", "asnet", seed_group="main"),
        Variant("FPN", "fpn", seed_group="main"),
        Variant("SLSDeep", "slsdeep", seed_group="ablation"),
    ),
    audit_summary="",
)
