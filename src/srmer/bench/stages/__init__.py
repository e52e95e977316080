"""The engine's stages, one module each, one payload type each.

* :mod:`~srmer.bench.stages.sr_prepare`: train or load every learned SR method once, before the
  clip jobs (payload :class:`~srmer.bench.stages.sr_prepare.SRContext`);
* :mod:`~srmer.bench.stages.clip`: stream one clip through HR -> LR -> SR -> quality ->
  representation for every setting (payload :class:`~srmer.bench.stages.clip.ClipResult`);
* :mod:`~srmer.bench.stages.fold`: the LOSO protocol of one (setting, MER) cell on the cached
  representations (payload :class:`~srmer.bench.stages.fold.FoldJob`).

Results assembly lives in :mod:`srmer.bench.results`; orchestration in :mod:`srmer.bench.runner`.
"""
