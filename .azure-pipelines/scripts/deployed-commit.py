"""The commit of a stack's last successful `pulumi up`, from `pulumi stack history --json` on stdin.

The CLI records the checkout's HEAD as `git.head` in each update's environment; refreshes (the
nightly drift check) are updates of another kind and do not count. Prints nothing if the stack was
never deployed.
"""

import json
import sys

updates = [u for u in json.load(sys.stdin) if u.get("kind") == "update" and u.get("result") == "succeeded"]
print(updates[0].get("environment", {}).get("git.head", "") if updates else "")
