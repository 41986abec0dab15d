"""The curation studio: a Gradio app over the same core functions as the CLI.

    from picobanana.studio import build_app, serve
    serve(StudioContext.from_settings(load_settings()), host="127.0.0.1", port=7860)

Layout: `context.py` (what every tab receives: settings, a store per thread, the curator of a request),
`app.py` (the Blocks: one tab per module in `tabs/`), `server.py` (launch: auth, served paths, scripts),
`static/` (the browser-side scripts and styles). Tabs hold no business logic: they call `picobanana.curation`,
`picobanana.analytics`, `picobanana.pipeline` and `picobanana.io.export`, and render what those return.
"""

from picobanana.studio.app import build_app
from picobanana.studio.context import StudioContext
from picobanana.studio.server import serve

__all__ = ["StudioContext", "build_app", "serve"]
