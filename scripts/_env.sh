# Sourced by the scripts in this folder: creates or reuses .venv, installs the project into it
# (again only when pyproject.toml changed), and keeps DynamoDB Local in the ignored .cache/.
# Needs Python >= 3.11 on PATH (as python3, or $PYTHON).

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

export SNAPINFRA_DB_CACHE="${SNAPINFRA_DB_CACHE:-$ROOT/.cache}"
export PIP_DISABLE_PIP_VERSION_CHECK=1

ensure_venv() {
  local extras="$1"
  local python="${PYTHON:-python3}"
  if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "error: Python >= 3.11 is needed (found: $("$python" --version 2>&1 || echo none)); set PYTHON=" >&2
    exit 1
  fi
  if [ ! -x .venv/bin/python ]; then
    echo "==> creating .venv" >&2
    "$python" -m venv .venv
  fi
  # Reinstall only when the dependencies or the requested extras changed.
  # One stamp per set of extras: the test and quick-start scripts share the venv without
  # reinstalling each other's packages.
  local stamp=".venv/.snapinfra-db-installed-${extras//,/-}"
  local want
  want="$(.venv/bin/python -c 'import hashlib,sys; print(hashlib.sha256(open("pyproject.toml","rb").read()).hexdigest())')"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "==> installing snapinfra-db[$extras] into .venv" >&2
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e ".[$extras]"
    echo "$want" > "$stamp"
  fi
  export PATH="$ROOT/.venv/bin:$PATH"
}
