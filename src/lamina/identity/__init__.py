"""Identity: who signed a request (authentication) and what they may do (authorization).

principals.py holds the values every part shares: a ``Principal`` (an account's root, an IAM user,
a role's session), the ``AccessKey`` it signs with, the ``KeyRing`` that finds keys by id, and the
``Caller`` a verified request carries (``caller_of(request)``).
"""
