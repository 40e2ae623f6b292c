"""OpenAPI definitions of APIs: read (``document.py``), planned into an HTTP API's routes,
integrations and authorizers (``http_plan.py``) or a REST API's resources and methods
(``rest_plan.py``), and applied through the control planes (``http_import.py``, ``rest_import.py``)."""
