"""The invocation data plane: the public listener's front door (frontdoor.py), which answers
plain synchronous Invoke requests itself and lends every other request to the aiohttp
application (the control plane, lending.py); head.py decides which from a request's head alone,
wire.py writes the answers as aiohttp would, counts.py counts what it did."""
