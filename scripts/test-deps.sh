#!/usr/bin/env bash
# Installs what the tests need that npm cannot: Debian packages, and Debian's own Node 18
# runtimes for the bundle's Node 18 tests. Run by `npm test` (the pretest script) before
# anything else. As root on Debian it installs whatever is missing; anywhere else it says
# exactly what to install and fails, so a missing tool is never a silently skipped test.
# One line on success; apt's output goes to a log that is printed only on failure.
set -uo pipefail
cd "$(dirname "$0")/.."

# The one list of Debian packages the tests use: add new ones here, with the reason.
PACKAGES=(
  iproute2          # ip netns, veth, bridges: the namespace lab (test/lab)
  nftables          # nft: loss, partitions and multicast blocks in the lab
  ethtool           # the lab's delivery threads (GRO on, TSO off on each veth; the benchmarks' lab)
  util-linux        # unshare, nsenter: loopback-only namespaces, avahi's private /run
  procps            # ps, pkill for the daemon and deploy tests
  systemd           # systemd-analyze verify on the unit file
  openssh-server    # sshd for the deploy tests (run inside a lab namespace)
  openssh-client    # ssh, scp: deploy.sh and ansible talk to that sshd
  ansible           # ansible-playbook, ansible-vault: the deploy playbook tests
  python3           # the Python client's unittest suite (clients/python)
  python3-zeroconf  # python-zeroconf: a standard mDNS browser and responder
  avahi-daemon      # avahi-daemon: the avahi interop tests (test/lab/avahi.ts)
  avahi-utils       # avahi-browse, avahi-publish, avahi-resolve
  dbus              # dbus-daemon, dbus-send: avahi's private system bus
  chromium          # headless browser for the dashboard test
  prometheus        # promtool and a real Prometheus scraping /metrics
  mosquitto         # a real MQTT broker for the bridge tests
  mosquitto-clients # mosquitto_sub, mosquitto_pub
  netcat-openbsd    # nc -U: the docs' socket examples
)

NODE_RUNTIMES_DIR=${NODE_RUNTIMES_DIR:-/var/cache/dsn-node-runtimes}
NODE_RUNTIME_TOOL=${NODE_RUNTIME_TOOL:-../shared/tools/node-runtimes/setup-node-runtimes.sh}
NODE_RUNTIME_ARCHES=(amd64 arm64 armhf) # test/bundle/node18.test.ts
LOG=${DSN_TEST_DEPS_LOG:-${TMPDIR:-/tmp}/dsn-test-deps.log}

say() { printf 'test-deps: %s\n' "$*" >&2; }
fail() {
  say "$@"
  exit 1
}
show_log() {
  say "--- $LOG (last 60 lines) ---"
  tail -n 60 "$LOG" >&2
  say "--- end of $LOG ---"
}

installed() { # a package is there only when dpkg says "install ok installed"
  [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

missing_packages() {
  local p
  for p in "${PACKAGES[@]}"; do installed "$p" || printf '%s\n' "$p"; done
}

is_root() { [ "$(id -u)" = 0 ]; }

{ : >"$LOG"; } 2>/dev/null || LOG=$(mktemp) # another user's log: use a fresh one
did_something=0

# --- Debian packages ---
if ! command -v dpkg-query >/dev/null; then
  fail "this is not a Debian system (no dpkg-query): install these Debian packages or your system's equivalents, then run npm test again: ${PACKAGES[*]}"
fi
mapfile -t missing < <(missing_packages)
if [ ${#missing[@]} -gt 0 ]; then
  how="apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
  is_root || fail "missing Debian packages: ${missing[*]}. Install them as root (sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}), or run npm test as root, which installs them."
  command -v apt-get >/dev/null || fail "missing Debian packages: ${missing[*]}, and no apt-get to install them with. Install them, then run npm test again."
  export DEBIAN_FRONTEND=noninteractive
  # policy-rc.d answers "do not start" to every package script, so installing sshd, avahi,
  # mosquitto or prometheus starts no service in the machine's own network namespace.
  guard=/usr/sbin/policy-rc.d
  if [ ! -e "$guard" ]; then
    printf '#!/bin/sh\n# dsn scripts/test-deps.sh: no service starts while it installs packages.\nexit 101\n' >"$guard" && chmod 755 "$guard" ||
      fail "cannot write $guard (the guard that keeps package scripts from starting services)"
    trap 'rm -f "$guard"' EXIT
  fi
  say "installing ${missing[*]} (apt output in $LOG)"
  if ! { apt-get update -q && apt-get install -y -q --no-install-recommends "${missing[@]}"; } >>"$LOG" 2>&1; then
    show_log
    fail "apt-get could not install ${missing[*]} (log above). Fix apt, or install them yourself: $how"
  fi
  mapfile -t still < <(missing_packages)
  if [ ${#still[@]} -gt 0 ]; then
    show_log
    fail "apt-get finished but these are still not installed: ${still[*]}"
  fi
  did_something=1
fi

# --- Debian's Node 18 (amd64 native, arm64/armhf under qemu-user) for test/bundle/node18.test.ts ---
runtimes_missing=()
for a in "${NODE_RUNTIME_ARCHES[@]}"; do [ -x "$NODE_RUNTIMES_DIR/bin/node18-$a" ] || runtimes_missing+=("$a"); done
if [ ${#runtimes_missing[@]} -gt 0 ]; then
  what="Debian's Node 18 runtimes (${runtimes_missing[*]}) in $NODE_RUNTIMES_DIR"
  [ -f "$NODE_RUNTIME_TOOL" ] || fail "$what are missing, and $NODE_RUNTIME_TOOL (which builds them) is not there."
  is_root || fail "$what are missing: run as root: bash $NODE_RUNTIME_TOOL $NODE_RUNTIMES_DIR ${NODE_RUNTIME_ARCHES[*]} (or run npm test as root, which does it)."
  say "setting up $what (log in $LOG)"
  if ! bash "$NODE_RUNTIME_TOOL" "$NODE_RUNTIMES_DIR" "${NODE_RUNTIME_ARCHES[@]}" >>"$LOG" 2>&1; then
    show_log
    fail "setting up $what failed (log above)"
  fi
  did_something=1
fi

# One line in all: what was installed was announced above.
[ "$did_something" = 1 ] || say "all ${#PACKAGES[@]} Debian packages and the Node 18 runtimes are present"
