"""HTTP APIs (API Gateway's ``apigatewayv2``): routing.py, model.py, control.py (the control plane),
events.py and responses.py (payload formats 1.0 and 2.0), serving.py (the data plane)."""
