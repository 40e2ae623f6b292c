"""Event source mappings: Lambda reading a source (a queue, a stream) and invoking a function with
batches of its records. model.py, validation.py: the mappings and AWS's rules for them; filters.py,
batching.py, responses.py, scaling.py: the pollers' pure decisions; source.py: the Source seam;
sqs.py: the embedded queues as a source; rabbitmq.py, rmq_event.py, brokers.py: RabbitMQ queues
(Amazon MQ for RabbitMQ) as a source; poller.py: one mapping's workers; service.py: the
control plane that owns them."""
