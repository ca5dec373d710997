"""Paper 4: Flores Hernández, FPN for skin melanoma segmentation."""
from skinseg.papers.spec import PaperSpec, Reported, Variant

SPEC = PaperSpec(
    key="flores_fpn",
    notebook="04_fpn_isic",
    citation="A. Flores Hernández, Semantic Segmentation for Skin Melanoma Detection (FPN); code: "
             "Btrox148/semantic-segmentation-skin (public copy alberflor/semantic-segmentation-skin).",
    claim="An FPN with an SE-ResNeXt50 encoder trained with a Dice loss reaches IoU 0.90 after 10 epochs.",
    recipe=dict(paper_dataset="isic2018", protocol="ratio", val_fraction=0.3, split_seed=35, max_images=300,
                image_height=320, image_width=320, loss="dice", optimizer="adam", lr=1e-4, lr_schedule="step",
                lr_step_epochs=11, lr_step_gamma=0.1, epochs=20, batch_size=3, augmentation="fpn_code",
                augment_validation=True, target="background", threshold=0.5, normalization="imagenet"),
    recipe_sources=dict(max_images="code: the first 300 files of the folder listing",
                        split_seed="code: np.random.seed(35) shuffle of indices, 70/30",
                        lr="code (train_model.py @2695bad): Adam 1e-4, set to 1e-5 at the end of epoch index 10, so from "
                           "index 11 on", epochs="code: 20", batch_size="code: 3",
                        augmentation="code: transformation.py @2695bad", augment_validation="code: one dataset object "
                        "feeds both samplers", target="code: mask == CLASSES.index('melanoma') = 0 (background)",
                        image_height="code: 320×320"),
    variants=(
        Variant("FPN (code: background target)", "fpn", main=True, row="FPN"),
        Variant("FPN (lesion target)", "fpn", overrides=dict(target="lesion")),
        Variant("FPN (background, clean validation)", "fpn", overrides=dict(augment_validation=False)),
        Variant("FPN (lesion, full training set)", "fpn", overrides=dict(target="lesion", max_images=0)),
    ),
    # Table 2 (epochs 1-10); the rows between are entered with notebook 04 (step 3c).
    reported=(
        Reported("Table 2", "FPN", "dice_loss", 0.2968, epoch=1), Reported("Table 2", "FPN", "jaccard", 0.5616, epoch=1),
        Reported("Table 2", "FPN", "dice_loss", 0.0542, epoch=10), Reported("Table 2", "FPN", "jaccard", 0.9039, epoch=10),
    ),
)
