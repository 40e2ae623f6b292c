"""AWS's region names: which a request may be signed for, and so which cells may exist (pure).

A request's credential scope names its region; Lamina serves any region of AWS's commercial
partition (``arn:aws:...``), one cell per account and region. A name outside the list is refused
as AWS refuses it ("Credential should be scoped to a valid region"). The configured region
(``LAMINA_REGION``) is always served, whatever its name, as it was before cells.
"""

from __future__ import annotations

# The aws partition's regions (botocore's endpoints.json, partition "aws").
REGIONS = frozenset({
    "af-south-1", "ap-east-1", "ap-east-2", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
    "ap-south-1", "ap-south-2", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4",
    "ap-southeast-5", "ap-southeast-6", "ap-southeast-7", "ca-central-1", "ca-west-1", "eu-central-1",
    "eu-central-2", "eu-north-1", "eu-south-1", "eu-south-2", "eu-west-1", "eu-west-2", "eu-west-3",
    "il-central-1", "me-central-1", "me-south-1", "mx-central-1", "sa-east-1", "us-east-1", "us-east-2",
    "us-west-1", "us-west-2",
})  # fmt: skip


class Regions:
    """The regions served: AWS's, and the configured one. ``region in regions`` is the test."""

    def __init__(self, configured: str) -> None:
        self._names = REGIONS | {configured}

    def __contains__(self, region: object) -> bool:
        return region in self._names
