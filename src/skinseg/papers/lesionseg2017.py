"""Paper 2: Ramachandram & DeVries, LesionSeg (2017)."""
from skinseg.papers.spec import PaperSpec, Reported, Variant

SPEC = PaperSpec(
    key="lesionseg2017",
    notebook="02_lesionseg_isic2017",
    citation="D. Ramachandram and T. DeVries, LesionSeg: Semantic segmentation of skin lesions using Deep "
             "Convolutional Neural Network. arXiv:1703.03372, 2017.",
    claim="A fully convolutional network trained from scratch reaches IoU 0.642 on the ISIC 2017 validation set.",
    recipe=dict(paper_dataset="isic2017", protocol="holdout", val_fraction=0.1, image_height=448, image_width=448,
                augmentation="flip_rot90", normalization="per_image", optimizer="adam", lr=1e-3, loss="nll",
                batch_size=32, epochs=100, early_stopping_patience=10, monitor="jaccard", upsampling="bicubic",
                threshold=0.5, postprocess="opening", opening_element="disk", opening_radius=1),
    recipe_sources=dict(image_height="448x448", augmentation="random 90° rotations and flips",
                        normalization="per-image standardisation", optimizer="Adam", lr="not stated",
                        loss="per-pixel cross-entropy, 2 classes", batch_size="32",
                        early_stopping_patience="until validation mean IoU stops improving (patience not stated)",
                        upsampling="bicubic upscaling to the original size", threshold="binarise at 128",
                        postprocess="morphological opening with a 3×3 disk"),
    variants=(
        Variant("LesionSeg", "lesionseg", main=True, note="the paper's pipeline: bicubic, opening with disk(1)"),
        Variant("no post-processing", "lesionseg", eval_of="LesionSeg", overrides=dict(postprocess="none")),
        Variant("opening 3x3 square", "lesionseg", eval_of="LesionSeg", overrides=dict(opening_element="square")),
        Variant("bilinear upsampling", "lesionseg", eval_of="LesionSeg", overrides=dict(upsampling="bilinear")),
    ),
    reported=(
        Reported("Abstract; Section 4", "LesionSeg", "jaccard", 0.642, dataset="ISIC 2017 validation (150 images)",
                 note="abstract: \"a mean IOU score of 0.642 on the validation set\"; reduction not defined"),
    ),
    audit_summary="the IoU's reduction is not defined; per-image mean Jaccard is the reading nearest 0.642",
)
