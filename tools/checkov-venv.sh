#!/usr/bin/env bash
# Checkov, the outside reference the policy packs are measured against (tests/test_policy_checkov.py),
# lives in its own venv: its pins (boto3, jsonschema, ...) conflict with pulumi's, so it can never share .venv.
# Idempotent: reinstalls only when the pinned version changes.
set -euo pipefail
cd "$(dirname "$0")/.."
CHECKOV_VERSION=3.3.30
VENV=.venv-checkov
PYTHON=${PYTHON:-python3}
if [ "$("$VENV/bin/checkov" --version 2>/dev/null)" = "$CHECKOV_VERSION" ]; then
  exit 0
fi
test -x "$VENV/bin/python" || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "checkov==$CHECKOV_VERSION"
"$VENV/bin/checkov" --version
