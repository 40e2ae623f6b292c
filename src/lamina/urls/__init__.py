"""Function URLs, the parts that decide without I/O.

``addresses``: url-ids, the URL and host names; ``events``: a request as the payload-format-2.0
event; ``responses``: the function's result as the HTTP response; ``cors``: preflight answers and
CORS headers; ``sigv4``: checking the signature of an ``AWS_IAM`` URL's request. The HTTP glue is
``lamina.api.url_serving``, the control plane ``lamina.control.urls``.
"""
