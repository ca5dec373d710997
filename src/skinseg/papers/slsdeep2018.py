"""Paper 3: Sarker et al., SLSDeep (MICCAI 2018)."""
from skinseg.papers.spec import PaperSpec, Variant

_2016 = dict(paper_dataset="isic2016")

SPEC = PaperSpec(
    key="slsdeep2018",
    notebook="03_slsdeep_isbi",
    citation="M. M. K. Sarker et al., SLSDeep: Skin Lesion Segmentation Based on Dilated Residual and Pyramid "
             "Pooling Networks. MICCAI 2018, LNCS 11071, 21–29.",
    claim="A dilated ResNet-50 with pyramid pooling trained with NLL + 0.5·EPE beats the ISBI 2016 and 2017 "
          "challenge entries; EPE helps; about 100 images of 384×384 per second on a TITAN X.",
    recipe=dict(paper_dataset="isic2017", protocol="official", val_fraction=0.1, image_height=384, image_width=384,
                loss="nll_epe", epe_weight=0.5, optimizer="adam", lr=0.01, encoder_lr=0.001, lr_schedule="poly",
                poly_power=0.9, augmentation="slsdeep", batch_size=16, epochs=100, normalization="imagenet"),
    recipe_sources=dict(image_height="384×384", loss="NLL + 0.5·EPE (eq. 1–3)", optimizer="Adam",
                        lr="0.01 decoder, 0.001 encoder", lr_schedule="poly, power 0.9",
                        augmentation="random scale 0.5–1.5, rotation ±10°", batch_size="16", epochs="100"),
    variants=(
        Variant("SLSDeep", "slsdeep", main=True),
        # the EPE audit compares these rows seed by seed: all three train with `seeds`
        Variant("SLSDeep-EPE", "slsdeep", overrides=dict(loss="nll"), seed_group="main"),
        Variant("SLSDeep+ASC", "slsdeep_asc"),
        Variant("SLSDeep (as-published EPE)", "slsdeep", overrides=dict(loss="nll_epe_published"),
                row="", seed_group="main", note="audit: the public code's EPE (argmax, no gradient)"),
        Variant("SLSDeep [ISBI 2016]", "slsdeep", overrides=_2016, row="SLSDeep"),
        Variant("SLSDeep-EPE [ISBI 2016]", "slsdeep", overrides=dict(loss="nll", **_2016), row="SLSDeep-EPE"),
        Variant("SLSDeep+ASC [ISBI 2016]", "slsdeep_asc", overrides=_2016, row="SLSDeep+ASC"),
    ),
    # Table 1's 30 values and the competitor rows are entered with notebook 03 (step 3b).
    reported=(),
)
