"""The web app (extra `web`): `mimica serve` runs it; `mimica.web.app.create_app(Settings(...))` builds it.

Nothing here is imported by `import mimica`, and this package's __init__ imports no web framework, so the
main CLI can register `serve` and `tokens` without FastAPI installed.
"""

from __future__ import annotations
