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
                batch_size=32, epochs=100, early_stopping_patience=20, early_stopping_min_delta=0.005,
                monitor="jaccard", upsampling="bicubic",
                threshold=0.5, postprocess="opening", opening_element="disk", opening_radius=1),
    recipe_sources=dict(image_height="§3.1, §3.2: 448×448", image_width="§3.1, §3.2: 448×448",
                        augmentation="§3.2: random 90° rotations and flips",
                        normalization="§3.2: per-image standardisation", optimizer="§3.3: Adam", lr="not stated",
                        loss="§3.3: per-pixel cross-entropy (2-class softmax is ours: a binary task, §2)",
                        batch_size="§3.3: 32", epochs="not stated (100 is ours, a cap)",
                        early_stopping_patience="not stated (§3.3: until the mean IOU stops improving; on which "
                                                "images and with what patience is not said; 20, a fifth of our "
                                                "cap, is ours)",
                        early_stopping_min_delta="not stated (§3.3: what counts as improving is not said; more "
                                                 "than 0.005, the study's convergence band, is ours, so a stop is "
                                                 "a converged run: skinseg.convergence)",
                        monitor="§3.3: mean IOU", paper_dataset="§2: the ISIC 2017 segmentation challenge",
                        protocol="§2: its 2,000 training images train; §4: scored on the organizers' validation "
                                 "set; the hold-out for stopping is ours", val_fraction="ours",
                        upsampling="§3.4: bicubic upscaling to the original size", threshold="§3.4: binarise at 128",
                        postprocess="§3.4: morphological opening", opening_element="§3.4: disk-shaped",
                        opening_radius="§3.4: 3×3 kernel (radius 1)"),
    variants=(
        Variant("LesionSeg", "lesionseg", main=True, note="the paper's pipeline: bicubic, opening with disk(1)"),
        Variant("no post-processing", "lesionseg", eval_of="LesionSeg", overrides=dict(postprocess="none")),
        Variant("opening 3x3 square", "lesionseg", eval_of="LesionSeg", overrides=dict(opening_element="square")),
        Variant("bilinear upsampling", "lesionseg", eval_of="LesionSeg", overrides=dict(upsampling="bilinear")),
    ),
    reported=(
        Reported("Executive Summary; §4", "LesionSeg", "jaccard", 0.642,
                 dataset="ISIC 2017 validation (150 images; the count is the challenge's, not printed in the paper)",
                 note="\"IOU score\" of 0.642 on the organizers' validation set; reduction not defined (\"mean IOU\" "
                      "appears only in §3.3's stopping rule)"),
    ),
    audit_summary="the IoU's reduction is not defined; per-image mean Jaccard is the reading nearest 0.642; "
                  "Table 1's last layer (3×3×32 sub-pixel convolution) is a PixelShuffle(4) + 1×1 head here",
)
