#!/usr/bin/env bash
# The whole suite, exactly as CI runs it: lint, types, then every test on moto and on AWS's
# DynamoDB Local (fetched once into .cache/ with npm; needs Java 11+).
# Extra arguments go to pytest, e.g. scripts/test.sh -m "not slow" -x
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh"
ensure_venv "test,local"

echo "==> ruff" >&2
ruff check src tests scripts
echo "==> mypy" >&2
mypy
echo "==> import layers" >&2
lint-imports --no-cache

echo "==> DynamoDB Local" >&2
python -c 'from snapinfra_db.local.jar import ensure_jar; print(ensure_jar())'

echo "==> pytest" >&2
report="$(mktemp -t snapinfra-db-junit.XXXXXX.xml)"
trap 'rm -f "$report"' EXIT
workers="${SNAPINFRA_DB_TEST_WORKERS:-2}"
set +e
python -m pytest -n "$workers" --dist loadgroup --junitxml="$report" "$@"
code=$?
set -e
if [ "$code" -eq 5 ]; then
  echo "error: pytest collected no tests" >&2
  exit 1
fi
if [ "$code" -ne 0 ]; then
  exit "$code"
fi
# In CI every test must really run: a skipped DynamoDB Local test is a failure, not a pass.
python - "$report" <<'PY'
import os, sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else list(root)
tests = sum(int(s.get("tests", 0)) for s in suites)
skipped = [
    f"{case.get('classname')}.{case.get('name')}"
    for case in root.iter("testcase")
    if case.find("skipped") is not None
]
if tests == 0:
    sys.exit("error: no test ran")
if skipped and os.environ.get("CI"):
    sys.exit(f"error: {len(skipped)} test(s) skipped in CI: " + ", ".join(skipped[:10]))
print(f"{tests} tests, {len(skipped)} skipped")
PY
