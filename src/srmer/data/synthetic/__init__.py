"""Built-in synthetic micro-expression data: procedurally drawn faces showing action-unit micro-expressions.

The embedded default dataset that lets anyone run the benchmark without a licensed database. Trees are
written in the official layouts (CASME II, SAMM, SMIC-HS, RAF-DB) so the real loaders are exercised.
The generative model and its calibration are documented in ``docs/synthetic.md``.

>>> from srmer.data import synthetic
>>> root = synthetic.generate("/tmp/demo", n_subjects=10, seed=0)  # doctest: +SKIP
>>> samples = srmer.data.load("casme2", root)  # doctest: +SKIP
>>> comp = synthetic.generate_composite("/tmp/composite", n_subjects=4, seed=0)  # doctest: +SKIP
"""

from __future__ import annotations

from srmer.data.synthetic.clip import (
    AU_BUMPS,
    EMOTION_AUS,
    ClipSpec,
    Nuisance,
    au_field,
    draw_clip_spec,
    render_clip,
    render_frame,
    time_course,
)
from srmer.data.synthetic.composite import LIST_FILE, generate_composite
from srmer.data.synthetic.face import DEFAULT_TEXTURE, Identity, make_identity
from srmer.data.synthetic.layouts import (
    LAYOUTS,
    META_FILE,
    RAFDB_CLASSES,
    generate,
    generate_sr_pool,
    generate_static,
    sr_pool_paths,
)

__all__ = [
    "AU_BUMPS",
    "DEFAULT_TEXTURE",
    "EMOTION_AUS",
    "LAYOUTS",
    "LIST_FILE",
    "META_FILE",
    "RAFDB_CLASSES",
    "ClipSpec",
    "Identity",
    "Nuisance",
    "au_field",
    "draw_clip_spec",
    "generate",
    "generate_composite",
    "generate_sr_pool",
    "generate_static",
    "make_identity",
    "render_clip",
    "render_frame",
    "sr_pool_paths",
    "time_course",
]
