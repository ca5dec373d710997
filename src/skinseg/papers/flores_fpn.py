"""Paper 4: Flores Hernández, FPN for skin melanoma segmentation."""
from skinseg.papers.spec import PaperSpec, Reported, Variant

# Table 2, "Summarized results by epoch": (epoch, DL, IoU), as the paper prints them.
_TABLE2 = ((1, 0.2968, 0.5616), (2, 0.2972, 0.5546), (3, 0.2690, 0.5879), (4, 0.2960, 0.6389), (5, 0.2371, 0.8415),
           (6, 0.0929, 0.8626), (7, 0.0792, 0.8626), (8, 0.0692, 0.8798), (9, 0.0556, 0.9017), (10, 0.0542, 0.9039))
_IOU_FROM_NEXT_EPOCH = (4, 5, 6)  # Table 2 rows whose IoU is the training log's next row (the audit's match_log)

SPEC = PaperSpec(
    key="flores_fpn",
    notebook="04_fpn_isic",
    citation="M. A. Flores Hernández, Semantic Segmentation for Skin Melanoma Detection (FPN); code: "
             "Btrox148/semantic-segmentation-skin (public copy alberflor/semantic-segmentation-skin).",
    claim="An FPN (encoder SE-ResNeXt50: the code's, not named in the paper) trained with a Dice loss reaches IoU "
          "0.90 after 10 epochs (Table 2).",
    recipe=dict(paper_dataset="isic2018", protocol="ratio", val_fraction=0.3, split_seed=35, max_images=300,
                image_height=320, image_width=320, loss="dice", optimizer="adam", lr=1e-4, lr_schedule="step",
                lr_step_epochs=11, lr_step_gamma=0.1, epochs=20, batch_size=3, augmentation="fpn_code",
                augment_validation=True, target="background", threshold=0.5, normalization="imagenet"),
    recipe_sources=dict(paper_dataset="§2.1, Fig. 2 caption: the ISIC [3] database; [3] is the ISIC 2018 challenge "
                                      "report (Codella et al. 2019, arXiv:1902.03368)",
                        loss="§5.2 eq. 1 (\"dice loss\"; printed as the Dice coefficient); code: smp DiceLoss",
                        optimizer="not stated in the paper; code: Adam", lr_schedule="not stated in the paper; code: "
                        "step", lr_step_epochs="code: from epoch index 11", lr_step_gamma="code: 1e-4 -> 1e-5",
                        threshold="not stated in the paper; code: IoU(threshold=0.5)",
                        normalization="not stated in the paper; code: imagenet encoder preprocessing",
                        encoder_weights="Table 1, the proposal's row ticks \"Pre-trained\" (§3.1: \"can initialize "
                        "the model with pre-trained weights\"; no dataset named); code: imagenet weights "
                        "(model_parameters.py:11-15)",
                        protocol="code: 70/30 of the first 300 files", val_fraction="code: 0.3",
                        image_width="code: 320×320",
                        max_images="code: the first 300 files of the folder listing",
                        split_seed="code: np.random.seed(35) shuffle of indices, 70/30",
                        lr="code (train_model.py @2695bad): Adam 1e-4, set to 1e-5 at the end of epoch index 10, so from "
                           "index 11 on", epochs="code: 20", batch_size="code: 3",
                        augmentation="code: transformation.py @2695bad", augment_validation="code: one dataset object "
                        "feeds both samplers", target="code: mask == CLASSES.index('melanoma') = 0 (background)",
                        image_height="code: 320×320"),
    variants=(
        Variant("FPN (code: background target)", "fpn", main=True, row="FPN"),
        # compared with the code's row seed by seed (same split, same data order): both train with `seeds`
        Variant("FPN (lesion target)", "fpn", overrides=dict(target="lesion"), seed_group="main"),
        Variant("FPN (background, clean validation)", "fpn", overrides=dict(augment_validation=False)),
        Variant("FPN (lesion, full training set)", "fpn", overrides=dict(target="lesion", max_images=0)),
    ),
    reported=tuple(
        Reported("Table 2", "FPN", metric, value, epoch=epoch, split="train",
                 note="the paper's Table 2 (after §6.2; referred to in §5.6), which does not say on which images; the "
                      "audit finds it the code's training log (CODE_TRAINING_LOG) truncated to 4 decimals"
                      + ("; this IoU is the log's value of the next epoch (row alignment)"
                         if metric == "jaccard" and epoch in _IOU_FROM_NEXT_EPOCH else ""))
        for epoch, dl, iou in _TABLE2 for metric, value in (("dice_loss", dl), ("jaccard", iou))
    ),
    audit_summary="Table 2 is the code's training log (truncated) on the background target (mask == 0), not a "
                  "lesion score",
)

# The per-epoch logs the public code commits (Data/Csv/, added in 2695bad with the run they log): the
# training epoch means of train_resumed.csv (file line = row + 2), {'dice_loss', 'iou_score'} of
# TrainEpoch on augmented training batches, background target; and the validation IoU at the end of
# each epoch (last entry of each row of validation_resumed.csv = last line of valid_it_ep_<row>.csv).
# No validation Dice loss is logged.
CODE_LOG_SOURCE = "alberflor/semantic-segmentation-skin @2695bad, Data/Csv/"
CODE_TRAINING_LOG = (  # (0-based epoch row, dice_loss, iou_score) from train_resumed.csv
    (0, 0.2968937831265587, 0.5616316784705436), (1, 0.29725051096507477, 0.5546142580253738),
    (2, 0.26909127235412594, 0.5879217797092028), (3, 0.29601631675447737, 0.5584008212600433),
    (4, 0.23715157508850096, 0.6389667442866734), (5, 0.09293180704116821, 0.8415369255202159),
    (6, 0.07925312774521964, 0.8626995759350915), (7, 0.06924509831837249, 0.8798177821295604),
    (8, 0.05564450366156442, 0.901712782893862), (9, 0.0542532307761056, 0.9039881433759419),
    (10, 0.052749262537275035, 0.9051822304725647), (11, 0.04877162149974277, 0.912044850417546),
    (12, 0.04770543915884835, 0.9137141363961355), (13, 0.04139337454523359, 0.9243438610008785),
    (14, 0.03825382505144392, 0.9297136536666324), (15, 0.04361356837408885, 0.9209548771381378),
    (16, 0.04758763228143964, 0.9154481632368906), (17, 0.04234215532030378, 0.9232683045523508),
    (18, 0.03853126083101545, 0.9298075079917908), (19, 0.03863860879625594, 0.9297112796987805),
)
CODE_VALIDATION_IOU = (  # end-of-epoch validation IoU, rows 0-19, from validation_resumed.csv (6 decimals)
    0.544474, 0.529020, 0.563902, 0.533639, 0.788590, 0.845599, 0.881899, 0.890601, 0.896983, 0.886865,
    0.875610, 0.903857, 0.923210, 0.904634, 0.902627, 0.909627, 0.910931, 0.901019, 0.912227, 0.906534,
)

# The public code (alberflor/semantic-segmentation-skin @63f7af5; the logged run is 2695bad, whose code
# differs only in logging flags and RandomBrightnessContrast 0.2/0.2) against what Table 2 is taken to be:
# (finding, file:line, value in the code, what a reader of the paper assumes).
CODE_AUDIT = (
    ("target", "load_dataset.py:27, 55, 79", "CLASSES = ['melanoma'] -> class_values = [0]; mask == 0 of masks "
     "valued {0, 255}: the background", "the lesion (melanoma)"),
    ("which numbers", "train_model.py:62, 75, 103 -> Data/Csv/train_resumed.csv", "Table 2 = training-epoch means "
     "(augmented training batches), not validation", "\"the highest score by epoch\" (§5.6)"),
    ("rounding", "Data/Csv/train_resumed.csv", "every Table 2 value is the log truncated to 4 decimals "
     "(0.2968937 -> 0.2968)", "rounded values"),
    ("row alignment", "Table 2 rows 4-7", "epochs 4-6 print the IoU of the next epoch; epoch 7 repeats "
     "epoch 6's 0.8626; row 3's IoU 0.5584 is missing", "DL and IoU of the same epoch"),
    ("sample", "load_dataset.py:38, 41", "os.listdir(...)[:300]: the first 300 files in filesystem order (unsorted)",
     "the ISIC dataset"),
    ("split", "train_model.py:23-34; main.py:29", "np.random.seed(35) shuffle, 70/30 of 300: 210 train / 90 val",
     "not stated"),
    ("validation augmented", "train_model.py:17-21, 36-37", "one Dataset with the training augmentation feeds both "
     "SubsetRandomSamplers", "clean validation"),
    ("augmentation", "transformation.py:4-13", "Resize 320 (INTER_AREA), PadIfNeeded 320 and RandomCrop(320, p=0.3) "
     "(both no-ops after the resize), HorizontalFlip 0.5, RandomBrightnessContrast p=0.4, ShiftScaleRotate(scale 0.5, "
     "shift 0.1, rotate 0, p=1)", "not stated"),
    ("brightness/contrast limits", "transformation.py:10", "brightness_limit=contrast_limit=0.2 at 2695bad (the logged "
     "run), 0.3 at 63f7af5", "not stated"),
    ("batch size", "main.py:29 -> train_model.py:13, 36-37", "train_new_model(model_class, 3, 0.3, True, 35): batch 3 "
     "for training and validation", "not stated"),
    ("model", "model_parameters.py:11-15, 27-30", "smp.FPN, se_resnext50_32x4d, imagenet weights, sigmoid, DiceLoss, "
     "IoU(threshold=0.5), Adam 1e-4", "FPN"),
    ("schedule", "train_model.py:60, 97-99", "20 epochs; lr 1e-5 from after epoch index 10", "not stated in the "
     "paper's text (its LaTeX source's listing, Article/template.tex:399, 407, shows 40 epochs, a drop at i == 25 "
     "and, :351, 512x512 input)"),
)
