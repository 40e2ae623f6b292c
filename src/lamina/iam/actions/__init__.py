"""What each operation of the services Lamina serves asks of IAM: its action and the ARNs of the
resources it acts on, as AWS's Service Authorization Reference gives them (pure tables).

``lambda_api.py``: the Lambda API (rest-json, by method and path); ``rest.py``: the other rest-json
APIs (Scheduler, IoT topic rules, API Gateway's apigateway and apigatewayv2, Lamina's own
/lamina/v1); ``json.py``: EventBridge and SQS (by ``X-Amz-Target`` and the body's members);
``query.py``: IAM, STS and CloudWatch (by ``Action``); ``cloudwatch.py``: CloudWatch's metric reads
(RPC v2 CBOR by path, json-1.0, query); ``s3.py``: the object store (by S3's operation name).
Each answers an ``Operation`` (``operation.py``), or None for a request that asks nothing of IAM
(one no operation matches is left to its service to refuse).
"""
