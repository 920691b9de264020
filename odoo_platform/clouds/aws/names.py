"""Short, stable AWS names: readable while they fit, otherwise cut and made unique by a hash.

A dedicated placement is `dedicated-<tenant>` (tenant names up to 30 characters) and the estate's
stack name comes first, so names built by joining them exceed several AWS limits (ElastiCache
replication group ids: 40; Backup vault and plan names: 50). The hash is of the full name, so the
same estate and placement always get the same name and two long names never collide on their cut.
"""

from __future__ import annotations

import hashlib
import re

HASH_LENGTH = 8
UNSAFE = re.compile(r"[^a-z0-9-]+")


def short_name(*parts: str, limit: int) -> str:
    """`parts` joined by '-', lower-case letters, digits and single hyphens only, at most `limit` characters."""
    full = re.sub(r"-{2,}", "-", UNSAFE.sub("-", "-".join(parts).lower())).strip("-")
    if len(full) <= limit:
        return full
    digest = hashlib.sha256(full.encode()).hexdigest()[:HASH_LENGTH]
    return f"{full[: limit - HASH_LENGTH - 1].rstrip('-')}-{digest}"
