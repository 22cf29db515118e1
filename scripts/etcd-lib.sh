#!/usr/bin/env bash
# Real etcd (Debian's etcd-server 3.4) for the mesh suites, the demo and the bench. Source it;
# the caller sets a trap that calls etcd_cleanup (tests/lib.sh users: `on_exit etcd_cleanup`).
# Loopback by default; ETCD_NETNS (a network namespace) and ETCD_HOSTS (one address per member,
# space-separated) given to etcd_start_* put the members there instead.
# Members are started by this shell, tracked by PID, stopped by PID; data dirs live under the
# caller's DIR. A system etcd is never touched: ports are 23790+ and checked free first.
#   etcd_start_single DIR [PORT]            one member; ETCD_ENDPOINTS=http(s)://127.0.0.1:PORT
#   etcd_start_cluster DIR N [BASEPORT] [tls]   N members; ETCD_ENDPOINTS comma-separated
#   etcd_member_pid I | etcd_stop_member I (SIGTERM) | etcd_kill_member I (SIGKILL)
#   etcd_pause_member I (SIGSTOP) | etcd_resume_member I (SIGCONT) | etcd_restart_member I
#   etcd_endpoint I | etcd_leader (index) | etcd_wait_healthy [SECONDS] | etcd_compact
#   etcd_ctl ARGS… (etcdctl v3 against the running members) | etcd_ctl_at I ARGS… | etcd_enable_auth PASSWORD
#   etcd_make_certs DIR (ca.pem, server.pem/-key.pem, client.pem/-key.pem) | etcd_cleanup
# Members are numbered from 0. With tls, ETCD_CERTS is the cert dir and clients must present
# a certificate signed by its CA (--client-cert-auth).
# shellcheck disable=SC2034  # variables are for the sourcing script

ETCD_PIDS=()
ETCD_STATE=()  # running, paused, stopped
ETCD_N=0
ETCD_DIR=
ETCD_BASE=
ETCD_TLS=0
ETCD_CERTS=
ETCD_ENDPOINTS=
ETCD_CTL_USER=  # "root:PASSWORD" once etcd_enable_auth ran
_ETCD_NS=
_ETCD_HOSTS=()
export ETCDCTL_API=3

# _etcd_in CMD…: CMD in the members' network namespace.
_etcd_in() {
  if [ -n "$_ETCD_NS" ]; then ip netns exec "$_ETCD_NS" "$@"; else "$@"; fi
}
_etcd_host() { echo "${_ETCD_HOSTS[$1]:-127.0.0.1}"; }
_etcd_port_free() { ! _etcd_in ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }

# A base port with 2*N free ports from it (client BASE+i, peer BASE+50+i).
_etcd_pick_base() {
  local base=$1 n=$2 i ok
  for _ in $(seq 20); do
    ok=1
    for ((i = 0; i < n; i++)); do
      _etcd_port_free $((base + i)) && _etcd_port_free $((base + 50 + i)) || ok=0
    done
    [ "$ok" -eq 1 ] && { echo "$base"; return 0; }
    base=$((base + 100))
  done
  echo "etcd-lib: no free ports near $1" >&2
  return 1
}

etcd_endpoint() {
  local scheme=http
  [ "$ETCD_TLS" -eq 1 ] && scheme=https
  echo "$scheme://$(_etcd_host "$1"):$((ETCD_BASE + $1))"
}

_etcd_peer() { echo "http://$(_etcd_host "$1"):$((ETCD_BASE + 50 + $1))"; }

# Starts member I in the background (its data dir persists across restarts).
_etcd_launch() {
  local i=$1 cluster="" k
  for ((k = 0; k < ETCD_N; k++)); do cluster+="${cluster:+,}m$k=$(_etcd_peer "$k")"; done
  local args=(--name "m$i" --data-dir "$ETCD_DIR/m$i.data"
    --listen-client-urls "$(etcd_endpoint "$i")" --advertise-client-urls "$(etcd_endpoint "$i")"
    --listen-peer-urls "$(_etcd_peer "$i")" --initial-advertise-peer-urls "$(_etcd_peer "$i")"
    --initial-cluster "$cluster" --initial-cluster-state new --initial-cluster-token "zl-$ETCD_BASE"
    --heartbeat-interval 50 --election-timeout 500 --logger zap --log-outputs stderr --log-level warn)
  if [ "$ETCD_TLS" -eq 1 ]; then
    args+=(--cert-file "$ETCD_CERTS/server.pem" --key-file "$ETCD_CERTS/server-key.pem"
      --trusted-ca-file "$ETCD_CERTS/ca.pem" --client-cert-auth)
  fi
  local pre=()  # no function around etcd: $! must be etcd's own PID
  [ -z "$_ETCD_NS" ] || pre=(ip netns exec "$_ETCD_NS")
  "${pre[@]}" etcd "${args[@]}" >>"$ETCD_DIR/m$i.log" 2>&1 &
  ETCD_PIDS[i]=$!
  disown "$!"  # no "Killed" job notices; the shell still reaps it
  ETCD_STATE[i]=running
}

# etcd_start_cluster DIR N [BASEPORT] [tls]
etcd_start_cluster() {
  local dir=$1 n=$2 base=${3:-23790} mode=${4:-} i
  if [ "$ETCD_N" -ne 0 ]; then
    echo "etcd-lib: a cluster is already running; etcd_cleanup first" >&2
    return 1
  fi
  mkdir -p "$dir"
  ETCD_DIR=$(cd "$dir" && pwd)
  ETCD_N=$n
  _ETCD_NS=${ETCD_NETNS:-}
  read -r -a _ETCD_HOSTS <<<"${ETCD_HOSTS:-}"
  ETCD_TLS=0
  if [ "$mode" = tls ]; then
    ETCD_TLS=1
    ETCD_CERTS=$ETCD_DIR/certs
    etcd_make_certs "$ETCD_CERTS"
  fi
  ETCD_BASE=$(_etcd_pick_base "$base" "$n")
  ETCD_ENDPOINTS=
  for ((i = 0; i < n; i++)); do
    ETCD_ENDPOINTS+="${ETCD_ENDPOINTS:+,}$(etcd_endpoint "$i")"
    _etcd_launch "$i"
  done
  export ETCD_ENDPOINTS
  etcd_wait_healthy 30
}

# etcd_start_single DIR [PORT]
etcd_start_single() { etcd_start_cluster "$1" 1 "${2:-23780}"; }

etcd_member_pid() { echo "${ETCD_PIDS[$1]}"; }

# Waits (up to 5 s) for member I's process to end.
_etcd_reap() {
  local pid=${ETCD_PIDS[$1]} k
  for ((k = 0; k < 100; k++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  ETCD_STATE[$1]=stopped
}

etcd_stop_member() {
  kill -CONT "${ETCD_PIDS[$1]}" 2>/dev/null || true
  kill -TERM "${ETCD_PIDS[$1]}" 2>/dev/null || true
  _etcd_reap "$1"
}
etcd_kill_member() {
  kill -KILL "${ETCD_PIDS[$1]}" 2>/dev/null || true
  _etcd_reap "$1"
}
etcd_pause_member() {
  kill -STOP "${ETCD_PIDS[$1]}"
  ETCD_STATE[$1]=paused
}
etcd_resume_member() {
  kill -CONT "${ETCD_PIDS[$1]}"
  ETCD_STATE[$1]=running
}
etcd_restart_member() {
  [ "${ETCD_STATE[$1]}" = stopped ] || etcd_stop_member "$1"
  _etcd_launch "$1"
}

# etcdctl with the cluster's TLS files and auth, against the running members.
etcd_ctl() {
  local eps="" i
  for ((i = 0; i < ETCD_N; i++)); do
    [ "${ETCD_STATE[i]}" = running ] && eps+="${eps:+,}$(etcd_endpoint "$i")"
  done
  _etcd_ctl "$eps" "$@"
}
# etcd_ctl_at I ARGS…: etcdctl against member I only.
etcd_ctl_at() {
  local i=$1
  shift
  _etcd_ctl "$(etcd_endpoint "$i")" "$@"
}
_etcd_ctl() {
  local eps=$1
  shift
  local args=(--endpoints "$eps" --command-timeout 3s --dial-timeout 2s)
  if [ "$ETCD_TLS" -eq 1 ]; then
    args+=(--cacert "$ETCD_CERTS/ca.pem" --cert "$ETCD_CERTS/client.pem" --key "$ETCD_CERTS/client-key.pem")
  fi
  [ -n "$ETCD_CTL_USER" ] && args+=(--user "$ETCD_CTL_USER")
  _etcd_in etcdctl "${args[@]}" "$@"
}

# Every running member answers health (a quorum write) within SECONDS (default 20).
etcd_wait_healthy() {
  local deadline=$((SECONDS + ${1:-20})) i ok
  while true; do
    ok=1
    for ((i = 0; i < ETCD_N; i++)); do
      [ "${ETCD_STATE[i]}" = running ] || continue
      etcd_ctl_at "$i" endpoint health >/dev/null 2>&1 || ok=0
    done
    [ "$ok" -eq 1 ] && return 0
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "etcd-lib: cluster not healthy; logs:" >&2
      tail -n 5 "$ETCD_DIR"/m*.log >&2 || true
      return 1
    fi
    sleep 0.1
  done
}

# The index of the member that is the leader (fails when no running member reports one).
etcd_leader() {
  local i
  for ((i = 0; i < ETCD_N; i++)); do
    [ "${ETCD_STATE[i]}" = running ] || continue
    if etcd_ctl_at "$i" endpoint status -w json 2>/dev/null |
      jq -e '.[0].Status | .leader == .header.member_id' >/dev/null; then
      echo "$i"
      return 0
    fi
  done
  return 1
}

# Compacts the store to its current revision.
etcd_compact() {
  local rev
  rev=$(etcd_ctl endpoint status -w json | jq -r '.[0].Status.header.revision')
  etcd_ctl compact "$rev" >/dev/null
}

# Adds user root with PASSWORD and enables auth (etcd_ctl then authenticates as root).
etcd_enable_auth() {
  etcd_ctl user add "root:$1" >/dev/null
  etcd_ctl user grant-role root root >/dev/null
  etcd_ctl auth enable >/dev/null
  ETCD_CTL_USER="root:$1"
}

# etcd_make_certs DIR: a CA, a member certificate for 127.0.0.1 (serverAuth and clientAuth:
# 3.4's gateway dials its own member with it) and a client certificate.
etcd_make_certs() {
  local d=$1 san="" h
  for h in "${_ETCD_HOSTS[@]}"; do san+=",IP:$h"; done
  mkdir -p "$d"
  local ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
  openssl req -x509 "${ec[@]}" -keyout "$d/ca-key.pem" -out "$d/ca.pem" -days 2 -subj /CN=zl-test-ca 2>/dev/null
  openssl req "${ec[@]}" -keyout "$d/server-key.pem" -out "$d/server.csr" -subj /CN=zl-etcd 2>/dev/null
  openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca-key.pem" -CAcreateserial -days 2 \
    -out "$d/server.pem" -extfile <(printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost$san" \
      'extendedKeyUsage=serverAuth,clientAuth' 'keyUsage=digitalSignature,keyEncipherment') 2>/dev/null
  openssl req "${ec[@]}" -keyout "$d/client-key.pem" -out "$d/client.csr" -subj /CN=zl-client 2>/dev/null
  openssl x509 -req -in "$d/client.csr" -CA "$d/ca.pem" -CAkey "$d/ca-key.pem" -CAcreateserial -days 2 \
    -out "$d/client.pem" -extfile <(printf '%s\n' 'extendedKeyUsage=clientAuth' 'keyUsage=digitalSignature') 2>/dev/null
  chmod 600 "$d"/*-key.pem
}

# Stops every member this shell started (paused ones too) and forgets the cluster.
etcd_cleanup() {
  local i
  for ((i = 0; i < ${#ETCD_PIDS[@]}; i++)); do
    [ -n "${ETCD_PIDS[i]:-}" ] || continue
    [ "${ETCD_STATE[i]}" = stopped ] && continue
    kill -CONT "${ETCD_PIDS[i]}" 2>/dev/null || true
    kill -KILL "${ETCD_PIDS[i]}" 2>/dev/null || true
    _etcd_reap "$i"
  done
  ETCD_PIDS=()
  ETCD_STATE=()
  ETCD_N=0
  ETCD_CTL_USER=
  if [ -n "$ETCD_DIR" ]; then rm -rf "$ETCD_DIR"/m*.data; fi
  return 0
}
