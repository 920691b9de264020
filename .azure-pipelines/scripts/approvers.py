"""Who wrote and who approved the change this run deploys, for `odoo-platform evidence`.

Reads the Azure DevOps REST responses that governance.sh fetched with the run's token:
  - completed pull requests into main (Pull Requests - Get Pull Requests): the one whose merge
    commit is this run's commit gives the author (`createdBy`) and the reviewers who voted
    "approved" (vote 10), who count as `peer-reviewer`;
  - this project's completed approvals (Approvals - Query, $expand=steps): the steps of this run's
    approvals (`pipeline.owner.id`) approved by a member of a mapped group give that group's role.
Prints `author NAME` then one `approver NAME:ROLE` per approval. The approval matrix itself is
applied by `odoo-platform evidence`, which refuses (exit 6) when roles are missing.
"""

from __future__ import annotations

import argparse
import json
import sys

APPROVED_VOTE = 10  # https://learn.microsoft.com/rest/api/azure/devops/git/pull-request-reviewers


def _values(path: str) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        document = json.load(handle)
    return document["value"] if isinstance(document, dict) else document


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--commit", required=True)
    parser.add_argument("--run", required=True, type=int)
    parser.add_argument("--requested-for", required=True, help="fallback author when no pull request merged the commit")
    parser.add_argument("--role", action="append", default=[], metavar="GROUP=ROLE",
                        help="approval check group (display name) and the approval-matrix role it stands for")
    parser.add_argument("--pull-requests", required=True)
    parser.add_argument("--approvals")
    args = parser.parse_args(argv)
    roles = dict(item.split("=", 1) for item in args.role)

    merged = [pr for pr in _values(args.pull_requests) if (pr.get("lastMergeCommit") or {}).get("commitId") == args.commit]
    author = merged[0]["createdBy"]["uniqueName"] if merged else args.requested_for
    lines = [f"author {author}"]
    for pr in merged[:1]:
        for reviewer in pr.get("reviewers") or []:
            if reviewer.get("vote") == APPROVED_VOTE and not reviewer.get("isContainer"):
                lines.append(f"approver {reviewer['uniqueName']}:peer-reviewer")
    for approval in _values(args.approvals) if args.approvals else []:
        if ((approval.get("pipeline") or {}).get("owner") or {}).get("id") != args.run:
            continue
        for step in approval.get("steps") or []:
            if step.get("status") != "approved" or not step.get("actualApprover"):
                continue
            # Group display names come as "[project]\Change Board".
            group = step["assignedApprover"]["displayName"].rsplit("\\", 1)[-1]
            if group in roles:
                lines.append(f"approver {step['actualApprover']['uniqueName']}:{roles[group]}")
    print("\n".join(dict.fromkeys(lines)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
