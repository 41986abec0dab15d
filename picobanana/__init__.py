"""picobanana: build, judge and curate instruction-based image-editing datasets (Pico-Banana-400K format)."""

__version__ = "0.1.0"
