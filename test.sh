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
  count_results "$out"
  rm -f "$out"
  if [ "$rc" -ne 0 ]; then status=1; fi
}

count_results() { # a dotnet test log
  # dotnet test prints "Failed!  - Failed: 1, Passed: 9, Skipped: 0, Total: 10, ..." per assembly.
  local line
  while IFS= read -r line; do
    [[ $line =~ Failed:[[:space:]]*([0-9]+),[[:space:]]*Passed:[[:space:]]*([0-9]+),[[:space:]]*Skipped:[[:space:]]*([0-9]+) ]] || continue
    total_failed=$((total_failed + BASH_REMATCH[1]))
    total_passed=$((total_passed + BASH_REMATCH[2]))
    total_skipped=$((total_skipped + BASH_REMATCH[3]))
  done < "$1"
}

run_tests "unit tests" dotnet test tests/PeerNet.Tests/PeerNet.Tests.csproj -c "$CONFIG" --no-build -nologo

# --- integration tests in a loopback-only network namespace -----------------------------------
NS="peernet-test-$$"
LONG_NS=()
cleanup() {
  local ns
  for ns in "$NS" "${LONG_NS[@]}"; do $SUDO ip netns del "$ns" >/dev/null 2>&1 || true; done
}
trap cleanup EXIT
new_namespace() { # name
  if ! { $SUDO ip netns add "$1" && $SUDO ip -n "$1" link set lo up; }; then
    fail "cannot create the network namespace $1 (needs root or sudo)"
  fi
}
in_namespace() { # name, then the command
  local ns=$1; shift
  $SUDO ip netns exec "$ns" env "PATH=$PATH" "HOME=$HOME" "DOTNET_ROOT=${DOTNET_ROOT:-}" "CI=${CI:-}" "$@"
}

# Long-haul tests (Category=LongHaul): 200 MiB through 2 % loss and 50 ms at once runs at the
# Mathis pace of any RFC congestion control (~0.2 MiB/s: 17-20 minutes) and needs little CPU, so
# each runs in the background, in a namespace of its own, while the rest of the suite runs.
LONG_TESTS=(CSharp_to_CSharp_200MiB_through_2_percent_loss_and_50ms_rtt CSharp_to_Chromium_200MiB_through_2_percent_loss_and_50ms_rtt)
long_pids=()
long_logs=()
for i in "${!LONG_TESTS[@]}"; do
  ns="peernet-long-$$-$i"
  new_namespace "$ns"
  LONG_NS+=("$ns")
  long_logs+=("$(mktemp)")
  in_namespace "$ns" dotnet test tests/PeerNet.Integration.Tests/PeerNet.Integration.Tests.csproj -c "$CONFIG" --no-build -nologo \
    --filter "FullyQualifiedName~NatLab.LossyTransferTests.${LONG_TESTS[$i]}" > "${long_logs[$i]}" 2>&1 &
  long_pids+=($!)
done

new_namespace "$NS"
run_tests "integration tests (namespace $NS: loopback only; long-haul tests in the background)" \
  in_namespace "$NS" dotnet test tests/PeerNet.Integration.Tests/PeerNet.Integration.Tests.csproj -c "$CONFIG" --no-build -nologo \
  --filter "Category!=LongHaul"

for i in "${!LONG_TESTS[@]}"; do
  log "long-haul: ${LONG_TESTS[$i]} (namespace ${LONG_NS[$i]})"
  set +e
  wait "${long_pids[$i]}"
  rc=$?
  set -e
  cat "${long_logs[$i]}"
  count_results "${long_logs[$i]}"
  rm -f "${long_logs[$i]}"
  if [ "$rc" -ne 0 ]; then status=1; fi
done

echo
echo "$total_passed passed, $total_failed failed, $total_skipped skipped"
if [ "$total_passed" -eq 0 ]; then
  echo "test.sh: no test ran" >&2
  status=1
fi
exit $status
