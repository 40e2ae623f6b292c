"""REST APIs (API Gateway's first generation, the ``apigateway`` service) with Lambda proxy integrations.

- ``errors.py``: the service's errors, with AWS's codes and messages;
- ``model.py``: the control plane's records (APIs, resources, methods, integrations, deployments,
  stages) and their JSON shapes;
- ``paths.py``: path parts and the pure matching of a request path against a deployment's resources;
- ``events.py``: a request as the proxy integration's event (payload 1.0);
- ``responses.py``: a proxy result as HTTP, and API Gateway's own answers;
- ``service.py``: the control plane (in memory, written through the store);
- ``serving.py``: the data plane, an ``Endpoints`` for the execute-api listener;
- ``authorizers.py``, ``authorizer_control.py``: Lambda authorizers' records and control plane;
  ``authorizer_events.py``, ``authorizing.py``: what they are asked, and their enforcement.
"""
