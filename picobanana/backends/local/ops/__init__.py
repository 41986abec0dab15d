"""Classical edits on uint8 RGB numpy arrays, one module per family. Every op is pure: (image, spec, rng) -> image."""
