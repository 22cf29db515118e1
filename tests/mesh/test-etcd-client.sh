#!/usr/bin/env bash
# zl-meshd's etcd client (through zl-etcdtool) against real etcd 3.4 on loopback:
#   1. one member: put/get/prefix/del, txn create-only, leases, watch from a revision, resume,
#      compaction, user/password auth
#   2. three members: failover past a killed and a paused (SIGSTOP) member, a leaderless member
#   3. TLS with client certificates required
set -euo pipefail
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/../lib.sh"
# shellcheck source=scripts/etcd-lib.sh
source "$SRC/scripts/etcd-lib.sh"
on_exit etcd_cleanup

TOOL=$BUILD/zl-etcdtool
if [ ! -x "$TOOL" ]; then
  fail "no $TOOL (build the zl-etcdtool target)"
  finish
fi

ms() { date +%s%3N; }
# et ARGS…: the tool against $EPS; sets OUT, ERR, RC and MS (elapsed) without failing the script.
et() {
  local t0
  t0=$(ms)
  set +e
  OUT=$("$TOOL" --endpoints "$EPS" --stats "$@" 2>"$T/err")
  RC=$?
  set -e
  ERR=$(cat "$T/err")
  MS=$(($(ms) - t0))
}
expect_rc() { # DESC WANT
  if [ "$RC" -eq "$2" ]; then pass "$1"; else fail "$1: exit $RC, want $2; out: $OUT; err: $ERR"; fi
}

echo "== one member"
etcd_start_single "$T/single"
EPS=$ETCD_ENDPOINTS

et put /zl/a 1 && expect_rc "put" 0
et put /zl/b 2
et put /zm/c 3
et get /zl/a
expect_eq "get one key" "$(head -1 <<<"$OUT" | cut -d' ' -f1-3)" "kv /zl/a 1"
et get /zl/ prefix
expect_eq "get a prefix: exactly its keys" "$(grep ^kv <<<"$OUT" | cut -d' ' -f2 | tr '\n' ' ')" "/zl/a /zl/b "
et get /zl/none
expect_eq "get a missing key: no kv" "$(grep -c ^kv <<<"$OUT" || true)" "0"
et del /zl/ prefix
expect_eq "del a prefix: the number deleted" "$OUT" "2"
et get /zl/ prefix
expect_eq "deleted keys are gone" "$(grep -c ^kv <<<"$OUT" || true)" "0"
expect_eq "one HTTP request per call" "$(grep -o 'requests [0-9]*' <<<"$ERR")" "requests 1"

et create /zl/owner first && expect_rc "txn create-only: the first creator wins" 0
et create /zl/owner second
expect_rc "txn create-only: the second creator loses" 3
expect_eq "the loser sees the winner's value" "$(grep ^kv <<<"$OUT" | cut -d' ' -f3)" "first"

et grant 30
lease=$(cut -d' ' -f1 <<<"$OUT")
expect_eq "lease grant: TTL" "$(cut -d' ' -f2 <<<"$OUT")" "30"
et put /zl/leased x "$lease"
et keepalive "$lease"
if [ "$RC" -eq 0 ] && [ "$OUT" -gt 25 ] && [ "$OUT" -le 30 ]; then pass "keepalive: TTL $OUT"; else fail "keepalive: rc $RC out $OUT $ERR"; fi
et revoke "$lease" && expect_rc "revoke" 0
et get /zl/leased
expect_eq "revoke deletes the lease's keys" "$(grep -c ^kv <<<"$OUT" || true)" "0"
et keepalive "$lease"
expect_rc "keepalive after revoke: lease not found" 12
et revoke "$lease"
expect_rc "revoke after revoke: lease not found" 12

et put /w/k1 v1
r1=$OUT
et put /w/k2 v2
et del /w/k1
et put /x/other v
et watch /w/ $((r1 + 1)) 2 3000
expect_rc "watch from a revision" 0
expect_eq "watch: exactly the later events" "$(cut -d' ' -f1-2 <<<"$OUT" | tr '\n' ' ')" "PUT /w/k2 DELETE /w/k1 "
et watch /w/ $((r1 + 1)) 3 800
expect_rc "watch: no event beyond those (times out)" 4
expect_eq "watch: still only the two events" "$(wc -l <<<"$OUT")" "2"

# Resume: 3 events, more writes, then from the last mod_revision + 1: nothing lost, nothing twice.
for i in 1 2 3; do et put /r/k$i v$i; done
first=$(($(cut -d' ' -f1 <<<"$(et put /r/k0 v0; echo "$OUT")") - 3))
et watch /r/ "$first" 3 3000
part1=$(cut -d' ' -f2 <<<"$OUT" | tr '\n' ' ')
last=$(tail -1 <<<"$OUT" | cut -d' ' -f4)
et put /r/k4 v4
et put /r/k5 v5
et watch /r/ $((last + 1)) 3 3000
part2=$(cut -d' ' -f2 <<<"$OUT" | tr '\n' ' ')
expect_eq "watch resumed from last mod_revision+1 misses nothing" "$part1$part2" "/r/k1 /r/k2 /r/k3 /r/k0 /r/k4 /r/k5 "

etcd_compact
et watch /r/ "$first" 1 3000
expect_rc "watch from a compacted revision: compacted" 13

etcd_enable_auth s3cret
et --user root --password s3cret put /zl/auth yes
expect_rc "auth: the right password works" 0
et --user root --password s3cret get /zl/auth
expect_eq "auth: reads with a token" "$(head -1 <<<"$OUT" | cut -d' ' -f3)" "yes"
expect_eq "auth: authenticate + request" "$(grep -o 'requests [0-9]*' <<<"$ERR")" "requests 2"
et --user root --password wrong get /zl/auth
expect_rc "auth: a wrong password is kEtcdAuth" 14
et get /zl/auth
expect_rc "auth: no credentials is kEtcdAuth" 14
etcd_cleanup

echo "== three members"
etcd_start_cluster "$T/cluster" 3 23890
e=()
IFS=, read -r -a e <<<"$ETCD_ENDPOINTS"
EPS=$ETCD_ENDPOINTS
et put /c/k v && expect_rc "cluster: put" 0

etcd_kill_member 0
EPS="${e[0]},${e[1]},${e[2]}"
et get /c/k
expect_rc "failover: the first endpoint's member killed, the next answers" 0
if grep -q "endpoint ${e[0]}\$" <<<"$ERR"; then fail "failover: answered by the killed member?"; else pass "failover: served by ${ERR##* }"; fi
etcd_restart_member 0
etcd_wait_healthy 30

pause=$(( ($(etcd_leader) + 1) % 3 ))
etcd_pause_member "$pause"
EPS="${e[$pause]},${e[$(((pause + 1) % 3))]}"
et --connect-timeout 500 --timeout 1000 get /c/k
expect_rc "paused member: the next endpoint answers" 0
if [ "$MS" -lt 2500 ]; then pass "paused member: ${MS} ms (timeout 1000)"; else fail "paused member: ${MS} ms"; fi
EPS=${e[$pause]}
et --connect-timeout 500 --timeout 1000 watch /c/ 0 1 1000
expect_rc "paused member: a watch returns at its deadline" 4
if [ "$MS" -lt 2500 ]; then pass "paused member: watch gave up after ${MS} ms"; else fail "paused watch: ${MS} ms"; fi
etcd_resume_member "$pause"
etcd_wait_healthy 30

leader=$(etcd_leader)
survivor=$(((leader + 1) % 3))
for i in 0 1 2; do [ "$i" -eq "$survivor" ] || etcd_kill_member "$i"; done
EPS=${e[$survivor]}
sleep 1.5  # two election timeouts: the survivor knows it has no leader
et --timeout 5000 get /c/k
expect_rc "leaderless member: unavailable" 11
if [ "$MS" -lt 2500 ]; then pass "leaderless member: refused in ${MS} ms (timeout 5000)"; else fail "leaderless: ${MS} ms"; fi
et --timeout 5000 watch /c/ 0 1 5000
expect_rc "leaderless member: a watch ends unavailable" 11
if [ "$MS" -lt 2500 ]; then pass "leaderless watch: ended in ${MS} ms"; else fail "leaderless watch: ${MS} ms"; fi
etcd_cleanup

echo "== TLS, client certificates required"
etcd_start_cluster "$T/tls" 1 23990 tls
EPS=$ETCD_ENDPOINTS
c=$ETCD_CERTS
et --cacert "$c/ca.pem" --cert "$c/client.pem" --key "$c/client-key.pem" put /t/k v
expect_rc "TLS: with the client certificate" 0
et --cacert "$c/ca.pem" --cert "$c/client.pem" --key "$c/client-key.pem" watch /t/ 1 1 3000
expect_eq "TLS: watch" "$OUT" "PUT /t/k v 2"
et --cacert "$c/ca.pem" get /t/k
if [ "$RC" -ne 0 ] && [ -z "$OUT" ]; then pass "TLS: refused without a client certificate (exit $RC)"; else fail "TLS without cert: rc $RC $OUT"; fi
et --cert "$c/client.pem" --key "$c/client-key.pem" get /t/k
expect_rc "TLS: a member certificate from an unknown CA is kEtcdAuth" 14

finish
