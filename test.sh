#!/usr/bin/env bash
# Installs what the tests need (when missing), builds, and runs the whole suite:
#   unit tests, then integration tests (real Chromium, ...) inside a loopback-only network
#   namespace, so peers gathering ICE candidates never touch this machine's other interfaces.
# In CI (CI=true) a missing dependency is a failure, never a skip.
set -euo pipefail
cd "$(dirname "$0")"

CONFIG=Release
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

log() { printf '\n== %s\n' "$*"; }
fail() { printf 'test.sh: %s\n' "$*" >&2; exit 1; }

# --- dependencies -----------------------------------------------------------------------------
# command → Debian package
declare -A NEEDED=(
  [chromium]=chromium
  [chromedriver]=chromium-driver
  [ip]=iproute2
  [turnutils_uclient]=coturn
  [openssl]=openssl
  [nft]=nftables   # the NAT lab's routers (tests/PeerNet.Integration.Tests/NatLab)
)
missing=()
for cmd in "${!NEEDED[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${NEEDED[$cmd]}")
done
# Python modules, for Debian's own python3 (a pyenv python3 earlier on PATH is not the one).
declare -A NEEDED_PY=(
  [aioice]=python3-aioice
  [aiortc]=python3-aiortc
  [websockets]=python3-websockets
)
for mod in "${!NEEDED_PY[@]}"; do
  /usr/bin/python3 -c "import $mod" >/dev/null 2>&1 || missing+=("${NEEDED_PY[$mod]}")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing: ${missing[*]}"
  if ! { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"; }; then
    fail "could not install ${missing[*]} with apt-get"
  fi
fi
for cmd in "${!NEEDED[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || fail "'$cmd' (package ${NEEDED[$cmd]}) is still missing"
done
for mod in "${!NEEDED_PY[@]}"; do
  /usr/bin/python3 -c "import $mod" >/dev/null 2>&1 || fail "python module '$mod' (package ${NEEDED_PY[$mod]}) is still missing"
done
command -v dotnet >/dev/null 2>&1 || fail "the .NET SDK (dotnet) is not on PATH"

# --- build (outside the namespace: restoring needs the package registry) ----------------------
log "building ($CONFIG)"
dotnet build PeerNet.slnx -c "$CONFIG" -nologo -v quiet -warnaserror

total_passed=0
total_failed=0
total_skipped=0
status=0

run_tests() { # name, then the command
  local name=$1; shift
  log "$name"
  local out
  out=$(mktemp)
  set +e
  "$@" 2>&1 | tee "$out"
  local rc=${PIPESTATUS[0]}
  set -e
  # dotnet test prints "Failed!  - Failed: 1, Passed: 9, Skipped: 0, Total: 10, ..." per assembly.
  local line
  while IFS= read -r line; do
    [[ $line =~ Failed:[[:space:]]*([0-9]+),[[:space:]]*Passed:[[:space:]]*([0-9]+),[[:space:]]*Skipped:[[:space:]]*([0-9]+) ]] || continue
    total_failed=$((total_failed + BASH_REMATCH[1]))
    total_passed=$((total_passed + BASH_REMATCH[2]))
    total_skipped=$((total_skipped + BASH_REMATCH[3]))
  done < "$out"
  rm -f "$out"
  if [ "$rc" -ne 0 ]; then status=1; fi
}

run_tests "unit tests" dotnet test tests/PeerNet.Tests/PeerNet.Tests.csproj -c "$CONFIG" --no-build -nologo

# --- integration tests in a loopback-only network namespace -----------------------------------
NS="peernet-test-$$"
cleanup() { $SUDO ip netns del "$NS" >/dev/null 2>&1 || true; }
trap cleanup EXIT
if ! { $SUDO ip netns add "$NS" && $SUDO ip -n "$NS" link set lo up; }; then
  fail "cannot create the network namespace $NS (needs root or sudo)"
fi
run_tests "integration tests (namespace $NS: loopback only)" \
  $SUDO ip netns exec "$NS" env "PATH=$PATH" "HOME=$HOME" "DOTNET_ROOT=${DOTNET_ROOT:-}" "CI=${CI:-}" \
  dotnet test tests/PeerNet.Integration.Tests/PeerNet.Integration.Tests.csproj -c "$CONFIG" --no-build -nologo

echo
echo "$total_passed passed, $total_failed failed, $total_skipped skipped"
if [ "$total_passed" -eq 0 ]; then
  echo "test.sh: no test ran" >&2
  status=1
fi
exit $status
