#!/usr/bin/env bash
# HTTP figures of the tessera server (issue 8, point 4; issue 14, point 1).
#
# Builds and starts the release server on loopback (redb in a temp --data-dir) and, beside
# it, the bare axum baseline (`tessera-benches --bin bare_hello`: `GET /hello`, nothing
# else); creates USERS users through the API (register-profile, authenticate; their tokens
# are kept), then measures with wrk (installed if missing: apt-get install wrk, else cargo
# install oha):
#
#   1. interleaved, SLICES rounds of SLICE seconds per route (baseline, health, baseline,
#      authenticated, baseline … so every route sees the same noise of a shared machine),
#      CONNECTIONS connections: the baseline's GET /hello, tessera's
#      GET /utility/check-server-health, and tessera's POST /profile/retrieve-token-expiry
#      authenticated with X-DPT-AUTHORIZATION, rotating over the users' tokens. Per route:
#      the median over the slices of req/s, p50 and p99; the ratios authenticated /
#      baseline and health / baseline (targets: >= 0.8 each), each the median over the
#      rounds of a paired ratio (the route's slice over the mean of the baseline slices
#      just before and after it, so that a drift of the machine's speed cancels), with the
#      ratio of the medians beside it for information; and, for information, the baseline's
#      /hello sent the authenticated route's requests (the same token header in turn, by
#      the same Lua script, so that wrk's own work per request is the same on the shared
#      cores) and the authenticated route's ratio to that;
#   2. the p99 of the authenticated route while logins keep every hash worker busy
#      (LOGIN_CONNECTIONS concurrent logins, default 4 per worker, below the queue bound;
#      target: <= 5 x the unloaded p99 of 1.);
#   3. the server's peak RSS (VmHWM, reset first) under RSS_LOGINS (100) concurrent logins
#      (target: <= 64 MiB + pool size x 19 MiB x 1.2);
#
# and prints a summary table. Exit status: 0 even when a target is missed (the table says
# MISS); non-zero when something failed to run.
#
# Environment: SLICES (5), SLICE (seconds per slice, 2), DURATION (each of 2. and 3.,
# default 10s; s or m suffix), CONNECTIONS (32), THREADS (wrk threads, 2), USERS (100),
# LOGIN_CONNECTIONS (4 x pool), RSS_LOGINS (100), BACKEND (redb), HASH_WORKERS (server
# default: one per CPU), CARGO_TARGET_DIR, TESSERA_BIN (a server binary to measure instead
# of building one, e.g. an older build to compare with), BARE_BIN (the same for the
# baseline).
#
#   benches/http.sh                        # full run (about 1.5 minutes plus the build)
#   SLICES=2 DURATION=3s benches/http.sh   # quick check
set -euo pipefail

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
SLICES=${SLICES:-5}
SLICE=${SLICE:-2}
THREADS=${THREADS:-2}
USERS=${USERS:-100}
RSS_LOGINS=${RSS_LOGINS:-100}
BACKEND=${BACKEND:-redb}

say() { printf '== %s\n' "$*" >&2; }
die() { printf 'http.sh: %s\n' "$*" >&2; exit 1; }

case "$DURATION" in
  *m) secs=$(( ${DURATION%m} * 60 )) ;;
  *s) secs=${DURATION%s} ;;
  *) secs=$DURATION ;;
esac
[[ "$secs" =~ ^[0-9]+$ && "$secs" -gt 0 ]] || die "DURATION must be like 10s or 1m, not $DURATION"
[[ "$SLICES" =~ ^[0-9]+$ && "$SLICES" -gt 0 ]] || die "SLICES must be a positive number"
[[ "$SLICE" =~ ^[0-9]+$ && "$SLICE" -gt 0 ]] || die "SLICE must be a number of seconds"

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
command -v curl >/dev/null || die "curl is needed"

# ---------------------------------------------------------------- load generator
gen=""
if command -v wrk >/dev/null; then
  gen=wrk
elif command -v oha >/dev/null; then
  gen=oha
else
  say "installing wrk (apt-get install -y wrk)"
  if command -v apt-get >/dev/null && [[ $(id -u) -eq 0 ]]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q wrk >/dev/null 2>&1 \
      || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q wrk >/dev/null 2>&1; } \
      || true
  fi
  if command -v wrk >/dev/null; then
    gen=wrk
  else
    say "wrk unavailable; installing oha (cargo install oha --locked)"
    cargo install oha --locked >&2 || die "could not install a load generator (wrk or oha)"
    export PATH="$HOME/.cargo/bin:$PATH"
    gen=oha
  fi
fi
say "load generator: $gen"

# ---------------------------------------------------------------- server
say "building the release server and the baseline (cargo build --release -p tessera-server --bin tessera; -p tessera-benches --bin bare_hello)"
[[ -n "${TESSERA_BIN:-}" ]] || cargo build --release -q -p tessera-server --bin tessera
[[ -n "${BARE_BIN:-}" ]] || cargo build --release -q -p tessera-benches --bin bare_hello
target_dir=$(cargo metadata --format-version 1 --no-deps \
  | grep -o '"target_directory":"[^"]*"' | cut -d'"' -f4)
bin=${TESSERA_BIN:-$target_dir/release/tessera}
[[ -x "$bin" ]] || die "no server binary at $bin"
bare_bin=${BARE_BIN:-$target_dir/release/bare_hello}
[[ -x "$bare_bin" ]] || die "no baseline binary at $bare_bin"

tmp=$(mktemp -d -t tessera-http.XXXXXX)
server_pid=""
bare_pid=""
bg_pids=()
cleanup() {
  local p c
  for p in "${bg_pids[@]}"; do
    for c in $(ps -o pid= --ppid "$p" 2>/dev/null); do kill "$c" 2>/dev/null || true; done
    kill "$p" 2>/dev/null || true
  done
  if [[ -n "$bare_pid" ]] && kill -0 "$bare_pid" 2>/dev/null; then
    kill -TERM "$bare_pid" 2>/dev/null || true
    wait "$bare_pid" 2>/dev/null || true
  fi
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

: >"$tmp/tessera.toml"
if [[ -n "${HASH_WORKERS:-}" ]]; then
  printf '[hash_pool]\nworkers = %s\n' "$HASH_WORKERS" >>"$tmp/tessera.toml"
fi
TESSERA_LOG=info "$bin" serve --listen 127.0.0.1:0 --data-dir "$tmp/data" \
  --backend "$BACKEND" --config "$tmp/tessera.toml" >"$tmp/stdout" 2>"$tmp/stderr" &
server_pid=$!
addr=""
for _ in $(seq 300); do
  addr=$(sed -n 's|^tessera listening on http://||p' "$tmp/stdout" | head -1)
  [[ -n "$addr" ]] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$tmp/stderr" >&2; die "the server exited"; }
  sleep 0.1
done
[[ -n "$addr" ]] || die "the server did not start"
S="http://$addr"
pool=$(grep -o 'hash_workers=[0-9]*' "$tmp/stderr" | head -1 | cut -d= -f2)
pool=${pool:-${HASH_WORKERS:-$(nproc)}}
LOGIN_CONNECTIONS=${LOGIN_CONNECTIONS:-$(( pool * 4 ))}
say "server pid $server_pid on $S ($BACKEND, hash pool: $pool workers)"

"$bare_bin" 127.0.0.1:0 >"$tmp/bare.stdout" 2>"$tmp/bare.stderr" &
bare_pid=$!
bare_addr=""
for _ in $(seq 100); do
  bare_addr=$(sed -n 's|^bare listening on http://||p' "$tmp/bare.stdout" | head -1)
  [[ -n "$bare_addr" ]] && break
  kill -0 "$bare_pid" 2>/dev/null || { cat "$tmp/bare.stderr" >&2; die "the baseline exited"; }
  sleep 0.1
done
[[ -n "$bare_addr" ]] || die "the baseline did not start"
B="http://$bare_addr"
[[ $(curl -s "$B/hello") == hello ]] || die "the baseline does not answer GET /hello"
say "baseline pid $bare_pid on $B (GET /hello)"

# ---------------------------------------------------------------- users
password() { printf 'velvet-thunder-orchard-kites-%s' "$1"; }
create_user() {
  local i=$1 code body
  code=$(curl -s -o /dev/null -w '%{http_code}' -d "username=bench-user-$i" \
    -d "password=$(password "$i")" "$S/profile/register-profile")
  [[ "$code" == 202 ]] || { echo "register bench-user-$i: HTTP $code" >&2; return 1; }
  body=$(curl -s -d "username=bench-user-$i" -d "password=$(password "$i")" "$S/profile/authenticate")
  sed -n 's/.*"authorizationToken":"\([^"]*\)".*/\1/p' <<<"$body" >"$tmp/token.$i"
  [[ -s "$tmp/token.$i" ]] || { echo "authenticate bench-user-$i: $body" >&2; return 1; }
}
say "creating $USERS users (register-profile, authenticate)"
started=$SECONDS
pids=()
for i in $(seq 0 $(( USERS - 1 ))); do
  create_user "$i" &
  pids+=($!)
  if (( ${#pids[@]} >= pool )); then
    for p in "${pids[@]}"; do wait "$p" || die "creating users failed"; done
    pids=()
  fi
done
for p in "${pids[@]}"; do wait "$p" || die "creating users failed"; done
for i in $(seq 0 $(( USERS - 1 ))); do cat "$tmp/token.$i"; done >"$tmp/tokens"
say "$(wc -l <"$tmp/tokens") tokens in $(( SECONDS - started )) s"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST \
  -H "X-DPT-AUTHORIZATION: $(head -1 "$tmp/tokens")" "$S/profile/retrieve-token-expiry")
[[ "$code" == 200 ]] || die "retrieve-token-expiry answers $code"

# ---------------------------------------------------------------- load scripts
# Every run prints one line: RESULT rps=… p50_us=… p99_us=… requests=… bad=… (bad: non-2xx
# + errors).
cat >"$tmp/report.lua" <<'EOF'
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT rps=%.1f p50_us=%d p99_us=%d requests=%d bad=%d non2xx=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50),
    latency:percentile(99), summary.requests,
    e.status + e.connect + e.read + e.write + e.timeout, e.status))
end
EOF
{
  printf 'local tokens = {}\nfor line in io.lines("%s") do tokens[#tokens + 1] = line end\n' "$tmp/tokens"
  cat <<'EOF'
-- each thread formats its requests once: wrk's own work per request (on the cores the
-- server uses) is then a table lookup, close to its static request to the baseline
local reqs = {}
local i = 0
init = function(args)
  for n, token in ipairs(tokens) do
    reqs[n] = wrk.format("POST", nil, { ["X-DPT-AUTHORIZATION"] = token }, nil)
  end
  i = math.random(#reqs)
end
request = function()
  i = i % #reqs + 1
  return reqs[i]
end
EOF
  cat "$tmp/report.lua"
} >"$tmp/authed.lua"
# the same requests (a token header in turn, by the same Lua) to the baseline: wrk's own
# per-request work is the same as for the authenticated route (GET: /hello has no POST)
sed 's/wrk.format("POST"/wrk.format("GET"/' "$tmp/authed.lua" >"$tmp/bare_authed.lua"
{
  printf 'local users = %d\n' "$USERS"
  cat <<'EOF'
local i = 0
init = function(args) i = math.random(users) end
request = function()
  i = i % users + 1
  local n = i - 1
  return wrk.format("POST", "/profile/authenticate",
    { ["Content-Type"] = "application/x-www-form-urlencoded" },
    "username=bench-user-" .. n .. "&password=velvet-thunder-orchard-kites-" .. n)
end
EOF
  cat "$tmp/report.lua"
} >"$tmp/login.lua"

# load NAME CONNECTIONS SECONDS KIND URL_PATH [BASE]: one run (against BASE, default the
# server), prints its RESULT line to $tmp/NAME
load() {
  local name=$1 conns=$2 dur=$3 kind=$4 path=$5 base=${6:-$S} threads=$THREADS
  if (( threads > conns )); then threads=$conns; fi
  if [[ $gen == wrk ]]; then
    wrk -t"$threads" -c"$conns" -d"${dur}s" --timeout 30s -s "$tmp/$kind.lua" "$base$path" \
      >"$tmp/$name.out" 2>&1 || true
  else
    local args=(-z "${dur}s" -c "$conns" --no-tui --output-format json -t 30s)
    case $kind in
      authed) args+=(-m POST -H "X-DPT-AUTHORIZATION: $(head -1 "$tmp/tokens")") ;;
      login) args+=(-m POST -T application/x-www-form-urlencoded
                    -d "username=bench-user-0&password=$(password 0)") ;;
    esac
    oha "${args[@]}" "$base$path" >"$tmp/$name.json" 2>"$tmp/$name.out" || true
    python3 - "$tmp/$name.json" >"$tmp/$name.out" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
s = d["summary"]; codes = d.get("statusCodeDistribution", {})
ok = sum(v for k, v in codes.items() if k.startswith("2"))
total = sum(codes.values()) + sum(d.get("errorDistribution", {}).values())
print("RESULT rps=%.1f p50_us=%d p99_us=%d requests=%d bad=%d non2xx=%d" % (
    s["requestsPerSec"], d["latencyPercentiles"]["p50"] * 1e6,
    d["latencyPercentiles"]["p99"] * 1e6, total, total - ok,
    sum(codes.values()) - ok))
EOF
  fi
  grep '^RESULT' "$tmp/$name.out" >"$tmp/$name" || { cat "$tmp/$name.out" >&2; die "$name: no result"; }
}
field() { sed -n "s/.* $2=\([0-9.]*\).*/\1/p" "$tmp/$1"; }
show() { say "$1: $(cut -d' ' -f2- "$tmp/$1")"; }

# median FIELD NAME…: the median of FIELD over the runs NAME…
median() {
  local f=$1 n
  shift
  for n in "$@"; do field "$n" "$f"; done | sort -g | awk '{ v[NR] = $1 }
    END { if (NR == 0) exit 1; print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# ---------------------------------------------------------------- measurements
say "warm-up"
load warmup "$CONNECTIONS" 2 authed /profile/retrieve-token-expiry
load warmup_bare "$CONNECTIONS" 1 report /hello "$B"
load warmup_health "$CONNECTIONS" 1 report /utility/check-server-health
say "interleaved: $SLICES slices x ${SLICE}s per route, $CONNECTIONS connections"
bare_runs=(); health_runs=(); authed_runs=(); bare_t_runs=()
# pair RUN BEFORE AFTER: RUN's req/s over the mean of the baseline slices just before and
# just after it (one line per slice, summarized by their median)
pair() {
  awk -v r="$(field "$1" rps)" -v a="$(field "$2" rps)" -v b="$(field "$3" rps)" \
    'BEGIN { printf "%.4f\n", r / ((a + b) / 2) }'
}
: >"$tmp/health_pairs"; : >"$tmp/authed_pairs"
for i in $(seq "$SLICES"); do
  load "bare.$i" "$CONNECTIONS" "$SLICE" report /hello "$B"
  load "health.$i" "$CONNECTIONS" "$SLICE" report /utility/check-server-health
  load "bare_b.$i" "$CONNECTIONS" "$SLICE" report /hello "$B"
  load "authed.$i" "$CONNECTIONS" "$SLICE" authed /profile/retrieve-token-expiry
  load "bare_c.$i" "$CONNECTIONS" "$SLICE" report /hello "$B"
  load "bare_t.$i" "$CONNECTIONS" "$SLICE" bare_authed /hello "$B"
  bare_runs+=("bare.$i" "bare_b.$i" "bare_c.$i"); health_runs+=("health.$i")
  authed_runs+=("authed.$i"); bare_t_runs+=("bare_t.$i")
  pair "health.$i" "bare.$i" "bare_b.$i" >>"$tmp/health_pairs"
  pair "authed.$i" "bare_b.$i" "bare_c.$i" >>"$tmp/authed_pairs"
  say "slice $i: hello $(field "bare.$i" rps) / $(field "bare_b.$i" rps) / $(field "bare_c.$i" rps) / with tokens $(field "bare_t.$i" rps), health $(field "health.$i" rps), authenticated $(field "authed.$i" rps) req/s; paired ratios: health $(tail -1 "$tmp/health_pairs"), authenticated $(tail -1 "$tmp/authed_pairs")"
  [[ $(field "authed.$i" bad) == 0 ]] || die "authenticated requests failed: $(cat "$tmp/authed.$i")"
  [[ $(field "health.$i" bad) == 0 ]] || die "health requests failed: $(cat "$tmp/health.$i")"
done

say "authenticated while $LOGIN_CONNECTIONS concurrent logins keep the $pool hash workers busy"
load logins_bg "$LOGIN_CONNECTIONS" $(( secs + 4 )) login /profile/authenticate &
bg_pids+=($!)
sleep 2
depth=$(curl -s "$S/metrics" | sed -n 's/^tessera_hash_queue_depth \([0-9]*\)/\1/p')
load loaded "$CONNECTIONS" "$secs" authed /profile/retrieve-token-expiry
wait "${bg_pids[@]}"
bg_pids=()
show loaded
show logins_bg
say "hash queue depth during that run: ${depth:-?} (jobs running or waiting)"
[[ $(field loaded bad) == 0 ]] || die "authenticated requests failed under load: $(cat "$tmp/loaded")"

say "peak RSS under $RSS_LOGINS concurrent logins"
# Reset the high-water mark so the figure is this phase's peak (Linux >= 4.0).
echo 5 >"/proc/$server_pid/clear_refs" 2>/dev/null || say "(cannot reset VmHWM: lifetime peak)"
load logins_rss "$RSS_LOGINS" "$secs" login /profile/authenticate
show logins_rss
hwm_kib=$(awk '/^VmHWM:/ {print $2}' "/proc/$server_pid/status")
rss_kib=$(awk '/^VmRSS:/ {print $2}' "/proc/$server_pid/status")

# ---------------------------------------------------------------- summary
bare_rps=$(median rps "${bare_runs[@]}"); health_rps=$(median rps "${health_runs[@]}")
authed_rps=$(median rps "${authed_runs[@]}"); bare_t_rps=$(median rps "${bare_t_runs[@]}")
bare_p50=$(median p50_us "${bare_runs[@]}"); bare_p99=$(median p99_us "${bare_runs[@]}")
health_p50=$(median p50_us "${health_runs[@]}"); health_p99=$(median p99_us "${health_runs[@]}")
authed_p50=$(median p50_us "${authed_runs[@]}"); authed_p99=$(median p99_us "${authed_runs[@]}")
loaded_p99=$(field loaded p99_us)
verdict() { awk -v a="$1" -v op="$2" -v b="$3" 'BEGIN {
  ok = (op == ">=") ? (a >= b) : (a <= b); print ok ? "PASS" : "MISS" }'; }
ms() { awk -v u="$1" 'BEGIN { printf "%.2f ms", u / 1000 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
# the targets' ratios: the median over the slices of each slice's paired ratio (a slow
# drift of the shared machine's speed cancels in a pair); the ratio of the medians beside it
med_file() { sort -g "$1" | awk '{ v[NR] = $1 } END { printf "%.2f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
authed_ratio=$(med_file "$tmp/authed_pairs"); health_ratio=$(med_file "$tmp/health_pairs")
authed_mratio=$(ratio "$authed_rps" "$bare_rps"); health_mratio=$(ratio "$health_rps" "$bare_rps")
authed_t_ratio=$(ratio "$authed_rps" "$bare_t_rps")
max_loaded=$(( ${authed_p99%.*} * 5 ))
max_rss_kib=$(awk -v p="$pool" 'BEGIN { printf "%.0f", (64 + p * 19 * 1.2) * 1024 }')

echo
echo "tessera HTTP figures: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)),"
echo "backend $BACKEND, hash pool $pool workers, $gen -t$THREADS -c$CONNECTIONS, $SLICES interleaved slices x ${SLICE}s per route"
echo "(medians over the slices), login phases $DURATION, $USERS users; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
printf '| %-56s | %-14s | %-24s | %-6s |\n' figure measured target result
printf '|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' $(seq 58))" "$(printf -- '-%.0s' $(seq 16))" \
  "$(printf -- '-%.0s' $(seq 26))" "$(printf -- '-%.0s' $(seq 8))"
row() { printf '| %-56s | %-14s | %-24s | %-6s |\n' "$@"; }
rps_row() { row "$1" "$(printf '%.0f' "$2")" "$3" "$4"; }
lat_row() { row "  p50 / p99" "$(awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f / %.2f ms", a / 1000, b / 1000 }')" "" ""; }
rps_row "baseline (bare axum) GET /hello req/s" "$bare_rps" "(peer)" ""
lat_row "$bare_p50" "$bare_p99"
rps_row "GET /utility/check-server-health req/s" "$health_rps" "" ""
lat_row "$health_p50" "$health_p99"
row "  health / baseline (median of paired slices)" "$health_ratio" ">= 0.8" "$(verdict "$health_ratio" '>=' 0.8)"
row "  health / baseline (ratio of the medians)" "$health_mratio" "(information)" ""
rps_row "POST /profile/retrieve-token-expiry req/s" "$authed_rps" "" ""
lat_row "$authed_p50" "$authed_p99"
row "  authenticated / baseline (median of paired slices)" "$authed_ratio" ">= 0.8" "$(verdict "$authed_ratio" '>=' 0.8)"
row "  authenticated / baseline (ratio of the medians)" "$authed_mratio" "(information)" ""
rps_row "  baseline /hello sent those token requests, req/s" "$bare_t_rps" "(peer)" ""
row "  authenticated / that" "$authed_t_ratio" "(information)" ""
row "  p99 while $LOGIN_CONNECTIONS logins saturate the hash pool" "$(ms "$loaded_p99")" \
  "<= 5 x unloaded = $(ms "$max_loaded")" "$(verdict "$loaded_p99" '<=' "$max_loaded")"
row "  req/s meanwhile" "$(printf '%.0f' "$(field loaded rps)")" "" ""
row "  logins/s meanwhile" "$(printf '%.1f' "$(field logins_bg rps)")" "" ""
row "peak RSS (VmHWM), $RSS_LOGINS concurrent logins" "$(( hwm_kib / 1024 )) MiB" \
  "<= 64 + $pool x 19 x 1.2 = $(( max_rss_kib / 1024 )) MiB" "$(verdict "$hwm_kib" '<=' "$max_rss_kib")"
row "  logins/s meanwhile (503 overloaded: non-2xx)" \
  "$(printf '%.1f' "$(field logins_rss rps)")" "non-2xx: $(field logins_rss non2xx)" ""
row "  RSS after the run" "$(( rss_kib / 1024 )) MiB" "" ""
