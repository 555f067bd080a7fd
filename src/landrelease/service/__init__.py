"""The HTTP service: the records API, OGC API Features, roles and the public view.

`landrelease serve` runs `create_app()` under uvicorn. Every endpoint parses its request,
calls one `Registry` method and renders the result; no rule lives here.
"""
