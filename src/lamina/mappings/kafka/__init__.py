"""Self-managed Apache Kafka as a mapping's source: its options (``options.py``), the event and the
on-failure record as AWS shapes them (``records.py``) and the consumer (``source.py``, the only
module that imports aiokafka)."""
