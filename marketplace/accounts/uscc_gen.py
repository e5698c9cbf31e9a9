"""Deterministic valid unified social credit codes, for demo data and tests."""
from __future__ import annotations

from stdnum.cn import uscc


def make_uscc(serial: int, region_code: str = "440300") -> str:
    """A valid USCC: 91 (enterprise), the six-digit region, a nine-digit organisation code."""
    org = f"{serial % 10**8:08d}"
    # organisation code check digit (GB 11714): weights 3,7,9,10,5,8,4,2 mod 11
    weights = (3, 7, 9, 10, 5, 8, 4, 2)
    check = 11 - sum(int(d) * w for d, w in zip(org, weights, strict=True)) % 11
    org += {10: "X", 11: "0"}.get(check, str(check))
    body = f"91{region_code}{org}"
    return body + uscc.calc_check_digit(body)
