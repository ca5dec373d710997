"""Shared parameters for Experiment tests: tiny synthetic runs under tmp_path."""
from skinseg import params as P


def small_params(tmp_path, spec=None, **kw):
    """Schema defaults (or ``spec``'s recipe), shrunk to a few 32x32 synthetic images and one epoch."""
    if spec is not None:
        from skinseg.profiles import resolve

        p = resolve(spec, {})
    else:
        p = P.defaults()
    p.update(data_root="synthetic", synthetic_n=20, synthetic_size=64, image_height=32, image_width=32, epochs=1,
             batch_size=4, lr=1e-3, max_images=0, results_dir=str(tmp_path / "results"),
             checkpoint_dir=str(tmp_path / "ck"), cache_dir=str(tmp_path / "cache"))
    p.update(kw)
    return p
