"""Outscaled domain code shared by the assets, the CLI and the prediction service."""

import os

# LightGBM's OpenMP threads spin while they wait by default; on a small or shared machine that steals the
# CPU other work needs (training on 2 busy cores went from seconds to minutes; the service lost ~1 ms per
# request). The runtime reads this when LightGBM is first loaded, always after this package is imported.
# Results do not depend on it.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
