"""IAM: roles, users, access keys and policies (the control plane, ``service.py``), AWS's policy
language (``policy.py``, ``conditions.py``, ``evaluate.py``: pure) and what each operation of the
services Lamina serves asks of it (``actions.py``, pure; enforced by ``authorize.py``)."""
