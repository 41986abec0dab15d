"""Model names are settings. A preset names one model per role; `model=` overrides it for one role.

`paper` is what Pico-Banana-400K used (the 2.5 family; `gemini-2.5-flash-image` was shut down 2026-10-02 and
the 2.5 text models on 2026-06-17, so it only reproduces the paper where those ids still answer).
`current` is today's generally available set (see shared/reference/backends.md §1.8). Check with
`client.models.list()` when a preset stops answering; the service's `model_version` is stored per attempt.
"""

from __future__ import annotations

from picobanana.errors import ConfigError

PRESETS: dict[str, dict[str, str]] = {
    "paper": {"writer": "gemini-2.5-flash", "rewriter": "gemini-2.5-flash",
              "editor": "gemini-2.5-flash-image", "judge": "gemini-2.5-pro"},
    "current": {"writer": "gemini-3.5-flash", "rewriter": "gemini-3.5-flash",
                "editor": "gemini-3.1-flash-image", "judge": "gemini-3.1-pro-preview"},
}
DEFAULT_PRESET = "current"
SERVICE_TIERS = ("standard", "flex", "priority")


def model_for(role: str, preset: str | None = None, model: str | None = None) -> str:
    if model:
        return model
    name = preset or DEFAULT_PRESET
    if name not in PRESETS:
        raise ConfigError(f"unknown gemini preset {name!r}; presets: {', '.join(PRESETS)}")
    return PRESETS[name][role]
