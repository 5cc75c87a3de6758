"""The web app: server-rendered pages (Jinja2 templates, one Babel message catalogue in
zh-CN and English, our own CSS), served by the same FastAPI process as the JSON API and
calling the same service layer. :func:`service.web.install.install_web` wires it into the
app; the API reference pages (``/docs``, ``/redoc``) are :mod:`service.web.docs`.
"""
