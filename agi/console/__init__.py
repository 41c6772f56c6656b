"""The business's side: the web console (ASGI), usage reports, the access log, and the
command-line views of the same data (``permanence usage|calls|appointments|users|access-log``)."""
