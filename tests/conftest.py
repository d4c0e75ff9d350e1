"""Test-wide mock additions.

TEMPORARY (sizing branch): the mocks in offline/mocks.py do not answer aws:ec2/getInstanceTypeOfferings
yet; another branch adds that handler. Until it lands, answer it here from the same recorded AWS data
(moto's DescribeInstanceTypeOfferings files via offline/recorded.py). Remove at merge if the mocks
answer the token themselves.
"""

from __future__ import annotations

from offline import mocks, recorded

_TOKEN = "aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings"


def _instance_type_offerings(self, a: dict) -> dict:
    assert a.get("locationType") == "availability-zone", a
    types = [v for f in a.get("filters", []) if f["name"] == "instance-type" for v in f["values"]]
    rows = [(az, t) for t in types for az in recorded.instance_type_azs(self.region, t)]
    return {
        "id": self.region,
        "locationType": "availability-zone",
        "locations": [az for az, _ in rows],
        "instanceTypes": [t for _, t in rows],
        "locationTypes": ["availability-zone"] * len(rows),
    }


mocks._CALLS.setdefault(_TOKEN, _instance_type_offerings)
