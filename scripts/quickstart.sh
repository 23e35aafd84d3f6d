#!/usr/bin/env bash
# The tool's main job on a local DynamoDB, from a fresh clone, no AWS account needed:
# start DynamoDB Local in the background (fetched once with npm; moto's server if Java is
# missing), apply the catalog (apply shows the plan first), check health, and print the backend's
# .env lines.
# Arguments go to `snapinfra-db local`, e.g. scripts/quickstart.sh --port 8001 --in-memory
# Stop it afterwards with: .venv/bin/snapinfra-db local stop
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh"
ensure_venv "local"

# Bold step titles only on a terminal, never with NO_COLOR set (https://no-color.org) or TERM=dumb.
if [ -t 2 ] && [ -z "${NO_COLOR:-}" ] && [ "${TERM:-}" != dumb ]; then
  step() { printf '\n\033[1m==> %s\033[0m\n' "$*" >&2; }
else
  step() { printf '\n==> %s\n' "$*" >&2; }
fi

step "snapinfra-db validate"
snapinfra-db validate
step "snapinfra-db local --detach --no-apply $*"
snapinfra-db local --detach --no-apply "$@"
step "snapinfra-db apply --local --yes   (shows the plan, then applies it)"
snapinfra-db apply --local --yes
step "snapinfra-db health --local --wait 120"
snapinfra-db health --local --wait 120
step "snapinfra-db env --local   (paste into the backend's .env)"
snapinfra-db env --local
printf '\nLocal DynamoDB left running. Stop it with: .venv/bin/snapinfra-db local stop\n' >&2
