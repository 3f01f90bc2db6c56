#!/usr/bin/env bash
# Put dsn on boards over ssh: the bundle, the config, the network key and the systemd unit,
# installed with fixed owners and modes, restarted only when something changed, then checked
# with `dsn status` on the board. Run with --help for everything.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PROG=scripts/deploy.sh

usage() {
  cat <<'EOF'
Usage: scripts/deploy.sh [options] USER@HOST [USER@HOST ...]

Installs dsn on each board in turn, over ssh and scp, and waits until it answers:
  /opt/dsn/dsn.cjs                     the bundle (dist/dsn.cjs)          root:root 0644
  /etc/dsn/config.json                 the config (--config)              root:root 0644
  /etc/dsn/network-key                 the network key (--key-file)       root:root 0600
  /etc/systemd/system/dsn.service      the unit (deploy/systemd/)         root:root 0644
  /usr/local/bin/dsn                   a `dsn` command for the board      root:root 0755
and a system user `dsn` the service runs as. It builds dist/dsn.cjs with `npm run build`
when it is missing. A file is copied only when its SHA-256, owner or mode differs; the service
is reloaded and restarted only when something changed, so running it again changes nothing.
Boards are done one at a time and it stops at the first failure, so a bad config never
reaches the whole cluster.

First time: make the cluster's network key once, on your own machine, and keep it secret:
    umask 077; node dist/dsn.cjs keygen > ~/.config/dsn-network-key
Use the same key file for every board of the cluster (it travels only by scp, and lands
root-only on the board; the service reads it through systemd's LoadCredential=). Later runs
may leave out --key-file: the key already on the board is kept.

The board needs: ssh access as root, or as a user with passwordless sudo (Raspberry Pi OS's
first user has it); Debian's Node.js 18+ at /usr/bin/node (`sudo apt-get install nodejs`);
systemd.

Options:
  -k, --key-file FILE  the network key (64 hex characters, as `dsn keygen` prints it).
                       Needed on a board's first deploy, and to change the key.
  -c, --config FILE    the config JSON (default: deploy/config.example.json). Without a
                       "nodeId" the board's host name is used. It must not hold
                       "networkKey": the config file is world-readable.
  -i FILE              ssh identity (private key) file, as for ssh -i
  -p PORT              ssh port (default 22), as for ssh -p
  -F FILE              ssh config file, as for ssh -F
  -o OPTION            an ssh option, as for ssh -o (repeatable)
  --unit FILE          the systemd unit (default: deploy/systemd/dsn.service)
  --bundle FILE        the bundle (default: dist/dsn.cjs, built when missing)
  --wait SECONDS       how long to wait for `dsn status` to answer (default 60)
  -h, --help           this text

Examples:
  scripts/deploy.sh -k ~/.config/dsn-network-key pi@raspberrypi.local     # first time
  scripts/deploy.sh pi@raspberrypi.local                                   # update
  scripts/deploy.sh -i ~/.ssh/pi_ed25519 -p 2222 -c kitchen.json pi@10.0.0.7

Exit status: 0 when every board is deployed and answering; 1 otherwise, with the reason.
On the board: `systemctl status dsn`, `journalctl -u dsn`, `dsn status`, `dsn peers`.
EOF
}

die() {
  echo "$PROG: error: $*" >&2
  exit 1
}

say() {
  echo "$PROG: $*"
}

key_file=""
config="$REPO/deploy/config.example.json"
unit="$REPO/deploy/systemd/dsn.service"
bundle="$REPO/dist/dsn.cjs"
bundle_given=no
wait_s=60
port=22
common=()
targets=()

need_arg() {
  if [ $# -lt 2 ] || [ -z "$2" ]; then die "option $1 needs a value (see --help)"; fi
}

while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    -k|--key-file) need_arg "$@"; key_file=$2; shift 2 ;;
    -c|--config) need_arg "$@"; config=$2; shift 2 ;;
    -i) need_arg "$@"; common+=(-i "$2"); shift 2 ;;
    -p) need_arg "$@"; port=$2; shift 2 ;;
    -F) need_arg "$@"; common+=(-F "$2"); shift 2 ;;
    -o) need_arg "$@"; common+=(-o "$2"); shift 2 ;;
    --unit) need_arg "$@"; unit=$2; shift 2 ;;
    --bundle) need_arg "$@"; bundle=$2; bundle_given=yes; shift 2 ;;
    --wait) need_arg "$@"; wait_s=$2; shift 2 ;;
    --) shift; targets+=("$@"); break ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) targets+=("$1"); shift ;;
  esac
done

[ ${#targets[@]} -gt 0 ] || { usage >&2; die "no board given: pass USER@HOST"; }
[[ $port =~ ^[0-9]+$ ]] || die "-p wants a port number, got '$port'"
[[ $wait_s =~ ^[0-9]+$ ]] || die "--wait wants a number of seconds, got '$wait_s'"
for t in "${targets[@]}"; do
  [[ $t == *@* ]] || die "'$t' is not USER@HOST (for example pi@raspberrypi.local)"
done

sha256() {
  if command -v sha256sum >/dev/null; then sha256sum "$1" | cut -d' ' -f1; else shasum -a 256 "$1" | cut -d' ' -f1; fi
}

# ---- Everything local is checked before any board is touched.
[ -f "$unit" ] || die "unit file $unit does not exist"
[ -f "$config" ] || die "config file $config does not exist (copy deploy/config.example.json and edit it)"
if command -v node >/dev/null; then
  # shellcheck disable=SC2016 # JavaScript, not shell
  problem=$(node -e '
    let c
    try { c = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")) } catch (e) { console.log("is not valid JSON"); process.exit() }
    if (typeof c !== "object" || c === null || Array.isArray(c)) console.log("must hold a JSON object")
    else if ("networkKey" in c) console.log("holds \"networkKey\": the config is world-readable on the board, so the key goes in --key-file instead")
  ' "$config")
else
  problem=""
  if grep -q '"networkKey"' "$config"; then problem='holds "networkKey": the key goes in --key-file instead'; fi
fi
[ -z "$problem" ] || die "config file $config $problem"

work=$(mktemp -d "${TMPDIR:-/tmp}/dsn-deploy.XXXXXX")
ctl=$(mktemp -d /tmp/dsn-ssh.XXXXXX) # short: ssh control socket paths are limited to ~100 bytes
cleanup() {
  for t in "${targets[@]}"; do ssh "${common[@]}" -p "$port" -o ControlPath="$ctl/%C" -O exit "$t" >/dev/null 2>&1 || true; done
  rm -rf "$work" "$ctl"
}
trap cleanup EXIT

if [ -n "$key_file" ]; then
  [ -f "$key_file" ] || die "key file $key_file does not exist (make one: umask 077; node dist/dsn.cjs keygen > $key_file)"
  key=$(tr -d ' \t\r\n' < "$key_file")
  [[ $key =~ ^[0-9a-fA-F]{64}$ ]] || die "key file $key_file must hold 64 hex characters, as printed by 'dsn keygen'"
  (umask 077; printf '%s\n' "$key" > "$work/network-key")
  unset key
  perms=$(stat -c %a "$key_file" 2>/dev/null || stat -f %Lp "$key_file")
  [[ $perms =~ 00$ ]] || say "warning: $key_file is readable by other users on this machine (chmod 600 it)"
fi
if [ ! -f "$bundle" ]; then
  [ $bundle_given = no ] || die "bundle $bundle does not exist"
  command -v npm >/dev/null || die "dist/dsn.cjs is missing and npm is not installed to build it"
  say "dist/dsn.cjs is missing: building it with npm run build"
  (cd "$REPO" && { [ -d node_modules ] || npm ci; } && npm run build) || die "npm run build failed (see above)"
  [ -f "$bundle" ] || die "npm run build did not produce $bundle"
fi
printf '#!/bin/sh\n# Installed by dsn deploy: the dsn command, run by the same node as the service.\nexec /usr/bin/node /opt/dsn/dsn.cjs "$@"\n' > "$work/dsn"

# name | local file | installed path | mode
FILES=(
  "bundle|$bundle|/opt/dsn/dsn.cjs|644"
  "config|$config|/etc/dsn/config.json|644"
  "unit|$unit|/etc/systemd/system/dsn.service|644"
  "cli|$work/dsn|/usr/local/bin/dsn|755"
)
[ -z "$key_file" ] || FILES+=("key|$work/network-key|/etc/dsn/network-key|600")

ssh_cmd=(ssh "${common[@]}" -p "$port" -o ControlMaster=auto -o ControlPath="$ctl/%C" -o ControlPersist=120)
scp_cmd=(scp -q "${common[@]}" -P "$port" -o ControlMaster=auto -o ControlPath="$ctl/%C" -o ControlPersist=120)

# Both run on the board as `bash -s` with the script on stdin; each is one function, so bash
# has read all of it before any command runs and could take the rest of stdin.
# PROBE prints "path sha256 owner:group mode" for each path ("path - - -" when missing), then
# the state of Node.js, the user and the service.
# shellcheck disable=SC2016 # expanded on the board, not here
PROBE='
probe() {
  for f in "$@"; do
    if [ -f "$f" ]; then echo "$f $(sha256sum "$f" | cut -d" " -f1) $(stat -c "%U:%G %a" "$f")"; else echo "$f - - -"; fi
  done
  echo "node $(/usr/bin/node --version 2>/dev/null || echo missing)"
  echo "user $(getent passwd dsn >/dev/null && echo yes || echo no)"
  echo "systemctl $(command -v systemctl >/dev/null && echo yes || echo no)"
  echo "enabled $(systemctl is-enabled dsn.service >/dev/null 2>&1 && echo yes || echo no)"
  echo "active $(systemctl is-active dsn.service >/dev/null 2>&1 && echo yes || echo no)"
}
probe "$@" </dev/null
'

# INSTALL (args: staging dir or "-", then "name|path|mode" per staged file) installs the files,
# makes the user, reloads, enables and restarts as needed, printing one line per change.
# shellcheck disable=SC2016 # expanded on the board, not here
INSTALL='
install_all() {
  set -eu
  umask 022
  local stage=$1 unit_changed=no spec name rest dest mode
  shift
  for spec in "$@"; do
    name=${spec%%|*}; rest=${spec#*|}; dest=${rest%%|*}; mode=${rest#*|}
    install -d -o root -g root -m 0755 "$(dirname "$dest")"
    install -o root -g root -m "$mode" "$stage/$name" "$dest"
    echo "changed $dest"
    [ "$name" != unit ] || unit_changed=yes
  done
  [ "$stage" = - ] || rm -rf "$stage"
  if ! getent passwd dsn >/dev/null; then
    useradd --system --user-group --home-dir /var/lib/dsn --no-create-home --shell /usr/sbin/nologin --comment "dsn daemon" dsn
    echo "changed user dsn"
  fi
  if [ $unit_changed = yes ]; then systemctl daemon-reload; echo "changed daemon-reload"; fi
  if ! systemctl is-enabled dsn.service >/dev/null 2>&1; then systemctl enable dsn.service; echo "changed enabled"; fi
  if [ $# -gt 0 ] || ! systemctl is-active dsn.service >/dev/null 2>&1; then
    systemctl restart dsn.service; echo "changed restarted"
  fi
}
install_all "$@" </dev/null
'

deploy_one() {
  local target=$1 host=${1#*@} sudo="" err
  remote() { "${ssh_cmd[@]}" "$target" "$@"; }

  if ! err=$(remote true 2>&1 </dev/null); then
    die "cannot log in to $target over ssh (port $port): ${err:-ssh failed}
  check the address, -p PORT, -i KEY, and that the board's sshd accepts your key (ssh-copy-id)"
  fi
  if [ "$(remote id -u </dev/null)" != 0 ]; then
    remote sudo -n true </dev/null 2>/dev/null ||
      die "$target is not root and 'sudo -n' asks for a password there: log in as root, or give the user passwordless sudo"
    sudo="sudo -n"
  fi

  local paths=() spec name file dest mode
  for spec in "${FILES[@]}"; do IFS='|' read -r name file dest mode <<<"$spec"; paths+=("$dest"); done
  [ -n "$key_file" ] || paths+=(/etc/dsn/network-key)
  local probe
  probe=$(remote "$sudo bash -s -- ${paths[*]}" <<<"$PROBE") || die "could not inspect $target (see above)"
  local node_version
  node_version=$(awk '$1 == "node" { print $2 }' <<<"$probe")
  [ "$node_version" != missing ] || die "$host has no /usr/bin/node: install Debian's Node.js there (sudo apt-get install nodejs)"
  if ! [[ ${node_version#v} =~ ^([0-9]+) ]] || [ "${BASH_REMATCH[1]}" -lt 18 ]; then
    die "$host has Node.js $node_version at /usr/bin/node; dsn needs 18 or later"
  fi
  grep -qx 'systemctl yes' <<<"$probe" || die "$host has no systemctl: dsn.service needs systemd"
  if [ -z "$key_file" ] && grep -q '^/etc/dsn/network-key - ' <<<"$probe"; then
    die "$host has no network key yet: pass --key-file FILE on its first deploy (see --help to make one)"
  fi

  # A file is sent when its checksum, owner or mode on the board differs from what we install.
  local send=() install_specs=() want have
  for spec in "${FILES[@]}"; do
    IFS='|' read -r name file dest mode <<<"$spec"
    want="$dest $(sha256 "$file") root:root $mode"
    have=$(awk -v d="$dest" '$1 == d' <<<"$probe")
    [ "$have" = "$want" ] && continue
    send+=("$name|$file")
    install_specs+=("$name|$dest|$mode")
  done

  local out="" stage=- line
  if [ ${#send[@]} -gt 0 ]; then
    stage=$(remote 'umask 077; mktemp -d /tmp/dsn-stage.XXXXXX' </dev/null) || die "could not make a staging directory on $target"
    for spec in "${send[@]}"; do
      if ! "${scp_cmd[@]}" "${spec#*|}" "$target:$stage/${spec%%|*}"; then
        remote "rm -rf $stage" </dev/null || true
        die "scp of ${spec#*|} to $target:$stage failed"
      fi
    done
  fi
  if [ ${#send[@]} -gt 0 ] || ! grep -qx 'enabled yes' <<<"$probe" || ! grep -qx 'active yes' <<<"$probe" ||
    ! grep -qx 'user yes' <<<"$probe"; then
    out=$(remote "$sudo bash -s -- $stage ${install_specs[*]@Q}" <<<"$INSTALL" 2>&1) || die "installing on $target failed:
$out"
    while IFS= read -r line; do say "$host: $line"; done <<<"$out"
  else
    say "$host: unchanged (bundle, config, unit, key and service already as deployed)"
  fi

  # Up means the daemon answers on its control socket.
  local deadline=$((SECONDS + wait_s)) status rc
  while :; do
    rc=0
    status=$(remote "$sudo /usr/bin/node /opt/dsn/dsn.cjs status --json" </dev/null 2>"$work/status.err") || rc=$?
    [ $rc -ne 0 ] || break
    if [ $SECONDS -ge $deadline ]; then
      echo "--- systemctl status dsn on $host:" >&2
      remote "$sudo systemctl status dsn.service --no-pager -l -n 30" </dev/null >&2 || true
      die "dsn on $host did not answer 'dsn status' within ${wait_s}s (last exit $rc: $(cat "$work/status.err"))"
    fi
    sleep 1
  done
  local summary
  # shellcheck disable=SC2016 # JavaScript, not shell
  summary=$(node -e '
    const s = JSON.parse(process.argv[1]); const peers = Array.isArray(s.peers) ? s.peers : []
    console.log(`node ${s.nodeId}, ${peers.length} peer(s)${peers.length ? ": " + peers.map((p) => p.nodeId).join(", ") : ""}`)
  ' "$status" 2>/dev/null) || summary="answering"
  say "$host: dsn is up: $summary"
}

for target in "${targets[@]}"; do
  deploy_one "$target"
done
