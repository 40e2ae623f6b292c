"""STS: who the caller is (GetCallerIdentity), roles' sessions (AssumeRole; ``sessions.py``), and
the credentials functions run with (``service.FunctionCredentials``)."""
