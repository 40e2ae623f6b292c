"""Embedded SQS-compatible queues: the queues' control state, their durable messages, the SQS API
(awsJson 1.0) and the relay that delivers outbox messages addressed to a queue.

``errors.py`` re-exports nothing here on purpose: import ``lamina.queues.errors.QueueDoesNotExist``.
"""

from lamina.queues.errors import QueueDoesNotExist

__all__ = ["QueueDoesNotExist"]
