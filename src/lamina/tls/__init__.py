"""HTTPS beside HTTP: the certificates Lamina's TLS listener presents (``certificates``) and the
server-side TLS context it is served with (``context``)."""
