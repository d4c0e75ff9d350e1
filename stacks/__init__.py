"""Stack builders: typed config, model catalog, GPU sizing, and the per-platform builders."""
