# SPDX-License-Identifier: Apache-2.0
# Shell functions of the loopback load tests (ci/load, ci/load_postgres), sourced.
# They read WORK (the run's directory), REQUESTS, CONNECTIONS, STREAMS and TICKS
# (CLK_TCK), and `check` sets status=1 on a missed target.

# wait_listening FILE: prints the address once FILE has "listening on", bounded (30 s).
wait_listening() {
  for _ in $(seq 1 300); do
    if grep -q "listening on" "$1" 2>/dev/null; then
      sed -n 's/.*listening on \(.*\)/\1/p' "$1" | head -1
      return 0
    fi
    sleep 0.1
  done
  echo "server did not start: $(cat "$1")" >&2
  return 1
}

# write_bodies: the gRPC request bodies of Retrieve {id: 1} and Create {title, content},
# $WORK/retrieve.bin and $WORK/create.bin.
write_bodies() {
  printf '\x00\x00\x00\x00\x02\x08\x01' >"$WORK/retrieve.bin"
  printf '\x00\x00\x00\x00\x0c\x12\x04load\x1a\x04test' >"$WORK/create.bin"
}

# cpu_ticks PID: user + system clock ticks the process has used.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
TICKS=$(getconf CLK_TCK)
rss_mb() { awk '/VmHWM/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }

# load NAME PID ADDRESS METHOD BODY [KEY]: one h2load run; prints
# "req/s p50_ms p99_ms cpu_us_per_request ok".
load() {
  local name=$1 pid=$2 address=$3 method=$4 body=$5 key=${6:-}
  local headers=(-H "content-type: application/grpc" -H "te: trailers")
  [ -n "$key" ] && headers+=(-H "x-api-key: $key")
  local before after
  before=$(cpu_ticks "$pid")
  timeout 300 h2load -n "$REQUESTS" -c "$CONNECTIONS" -m "$STREAMS" "${headers[@]}" \
    -d "$body" --log-file "$WORK/$name.log" "http://$address/blog.v1.PostController/$method" \
    >"$WORK/$name.out"
  # The server's CPU counts until it is idle again: a request log writes its backlog
  # after the last answer, and that work is the run's (and must not slow the next
  # server's run). Bounded: 10 s.
  local prev now
  prev=$(cpu_ticks "$pid")
  for _ in $(seq 1 100); do
    sleep 0.1
    now=$(cpu_ticks "$pid")
    [ "$now" -le "$((prev + 1))" ] && break
    prev=$now
  done
  after=$(cpu_ticks "$pid")
  local rps ok
  rps=$(sed -n 's/.*finished in .*, \([0-9.]*\) req\/s.*/\1/p' "$WORK/$name.out")
  ok=$(sed -n 's/^status codes: \([0-9]*\) 2xx.*/\1/p' "$WORK/$name.out")
  # --log-file: start time, HTTP status, elapsed microseconds (one line per request).
  read -r p50 p99 < <(awk '{print $3}' "$WORK/$name.log" | sort -n |
    awk '{a[NR]=$1} END {i50=int(NR*0.50); i99=int(NR*0.99); if (i50<1) i50=1; if (i99<1) i99=1;
         printf "%.3f %.3f\n", a[i50]/1000, a[i99]/1000}')
  local cpu_us
  cpu_us=$(awk -v t="$((after - before))" -v hz="$TICKS" -v n="$REQUESTS" \
    'BEGIN {printf "%.1f", t / hz * 1e6 / n}')
  echo "$rps $p50 $p99 $cpu_us $ok"
}

# median SERVER METHOD COLUMN (4 rps, 5 p50, 6 p99, 7 cpu)
median() {
  awk -v s="$1" -v m="$2" -v c="$3" '$1 == s && $2 == m {print $c}' "$WORK/results" | sort -g |
    awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2]+a[NR/2+1])/2}'
}

# check NAME VALUE OP TARGET: prints the figure and BELOW TARGET when it misses.
check() {
  local name=$1 value=$2 op=$3 target=$4
  if awk -v v="$value" -v t="$target" -v op="$op" \
      'BEGIN {exit !((op == ">=" && v >= t) || (op == "<=" && v <= t))}'; then
    printf '%-52s %8s  (target %s %s) ok\n' "$name" "$value" "$op" "$target"
  else
    printf '%-52s %8s  (target %s %s) BELOW TARGET\n' "$name" "$value" "$op" "$target"
    status=1
  fi
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
