#!/usr/bin/env bash
# End-to-end proxy benchmark (issue 3): on loopback only, wrk against a local upstream directly,
# through `airlock proxy`, through Squid with the equivalent allowlist and through tinyproxy, with
# 100-byte and 1 MiB bodies; then a CONNECT stream of 2 GiB through each. Prints req/s, p50/p99,
# proxy CPU per request (from /proc/PID/stat), tunnel GiB/s, the airlock/Squid ratios and the
# goals of issue 3 with PASS/SHORT. Every load is bounded in count and time; every process it
# starts is ended by PID on exit. See bench/README.md.
#
# Environment:
#   DURATION=10s        wrk duration of each measured run (wrk syntax: 5s, 1m)
#   RUNS=1              repeat every measurement N times and report medians
#   WARMUP=1s           unmeasured wrk run before each target's first measurement (0 for none)
#   THREADS=2 CONNS=64  wrk -t and -c
#   CONNECT_BYTES=2147483648   bytes per CONNECT stream
#   PROXIES="airlock squid tinyproxy"   which proxies to run (direct always runs)
#   AIRLOCK_ARGS=""     extra flags for `airlock proxy`
#   SQUID_CONF_EXTRA="" TINYPROXY_CONF_EXTRA=""   extra lines appended to their config files
#   KEEP_TMP=1          keep the temporary directory (configs, logs, raw wrk output)
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
RUNS=${RUNS:-1}
WARMUP=${WARMUP:-1s}
THREADS=${THREADS:-2}
CONNS=${CONNS:-64}
CONNECT_BYTES=${CONNECT_BYTES:-$((2 << 30))}
PROXIES=${PROXIES:-airlock squid tinyproxy}
AIRLOCK_ARGS=${AIRLOCK_ARGS:-}
SQUID_CONF_EXTRA=${SQUID_CONF_EXTRA:-}
TINYPROXY_CONF_EXTRA=${TINYPROXY_CONF_EXTRA:-}
KEEP_TMP=${KEEP_TMP:-}

die() { printf 'proxy.sh: %s\n' "$*" >&2; exit 1; }
note() { printf '# %s\n' "$*" >&2; }

[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS=$RUNS: want a positive integer"
[[ $CONNECT_BYTES =~ ^[1-9][0-9]*$ ]] || die "CONNECT_BYTES=$CONNECT_BYTES: want a positive integer"

# seconds DUR: wrk's duration syntax (N, Ns, Nm, Nh) in whole seconds.
seconds() {
	local d=$1
	case $d in
	*h) echo $((${d%h} * 3600)) ;;
	*m) echo $((${d%m} * 60)) ;;
	*s) echo "${d%s}" ;;
	*) echo "$d" ;;
	esac
}
for v in DURATION WARMUP; do
	[[ ${!v} =~ ^[0-9]+[smh]?$ ]] || die "$v=${!v}: want a wrk duration such as 10s or 1m"
done
dur_s=$(seconds "$DURATION")
warm_s=$(seconds "$WARMUP")
((dur_s > 0)) || die "DURATION must be at least 1s"

targets=(direct)
for p in $PROXIES; do
	case $p in
	airlock | squid | tinyproxy) targets+=("$p") ;;
	*) die "PROXIES: unknown proxy '$p' (want airlock, squid, tinyproxy)" ;;
	esac
done
want() { [[ " ${targets[*]} " == *" $1 "* ]]; }

# ---------------------------------------------------------------------------------------------
# What we need: wrk, squid, tinyproxy (Debian packages), go; apt-get only if something is missing.

have() { command -v "$1" >/dev/null 2>&1 || [[ -x /usr/sbin/$1 ]]; }
missing=()
have wrk || missing+=(wrk)
have curl || missing+=(curl)
if want squid; then have squid || missing+=(squid); fi
if want tinyproxy; then have tinyproxy || missing+=(tinyproxy); fi
if ((${#missing[@]})); then
	note "installing ${missing[*]} with apt-get"
	sudo=()
	((EUID == 0)) || sudo=(sudo)
	"${sudo[@]}" apt-get update -qq
	DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi
command -v go >/dev/null || die "go is not on PATH"
squid_bin=$(command -v squid || echo /usr/sbin/squid)
tinyproxy_bin=$(command -v tinyproxy || echo /usr/sbin/tinyproxy)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/airlock-bench.XXXXXX")
pids=()

# stop PID: TERM, wait up to 5 s, then KILL. Only processes this script started.
stop() {
	local pid=$1 i
	kill "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}
cleanup() {
	local pid
	for pid in "${pids[@]}"; do
		stop "$pid"
	done
	if [[ -n $KEEP_TMP ]]; then
		note "kept $tmp"
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

note "building airlock, bench/upstream and bench/connectbench"
go build -o "$tmp/airlock" ./cmd/airlock
go build -o "$tmp/upstream" ./bench/upstream
go build -o "$tmp/connectbench" ./bench/connectbench

if want airlock; then
	if ! "$tmp/airlock" proxy --help >"$tmp/airlock-proxy-help.txt" 2>&1 ||
		! grep -q -- '--listen' "$tmp/airlock-proxy-help.txt"; then
		die "this airlock has no 'proxy' subcommand yet ('airlock proxy --help' says: $(head -n1 "$tmp/airlock-proxy-help.txt")).
Build it first (issue 3), or run the other proxies alone: PROXIES='squid tinyproxy' $0"
	fi
fi

# Servers stop by themselves after this long even if this script is killed with SIGKILL.
lifetime=$(((${#targets[@]} * 2 * (dur_s + warm_s + 5) + ${#targets[@]} * 60) * RUNS * 2 + 600))

# ---------------------------------------------------------------------------------------------
# Ports and processes.

used_ports=" "
# free_port: sets REPLY to a loopback port below the ephemeral range that nothing listens on.
free_port() {
	local p i
	for ((i = 0; i < 200; i++)); do
		p=$((20000 + RANDOM % 12000))
		[[ $used_ports == *" $p "* ]] && continue
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			used_ports+="$p "
			REPLY=$p
			return 0
		fi
	done
	die "no free loopback port found"
}

# wait_port NAME PID PORT LOG: until 127.0.0.1:PORT accepts, or fail with NAME's log.
wait_port() {
	local name=$1 pid=$2 port=$3 log=$4 i
	for ((i = 0; i < 100; i++)); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	tail -n 20 "$log" >&2 || true
	die "$name did not start listening on 127.0.0.1:$port (log above: $log)"
}

# start NAME LOG CMD...: runs CMD in the background under a lifetime bound; sets REPLY to its PID.
start() {
	local name=$1 log=$2
	shift 2
	timeout --kill-after=5 "$lifetime" "$@" >"$log" 2>&1 &
	REPLY=$!
	pids+=("$REPLY")
	note "started $name (pid $REPLY)"
}

# tree_ticks PID: user+system CPU clock ticks of PID and its live descendants (all threads).
tree_ticks() {
	local root=$1 f line rest pid total=0 changed=1
	local -A parent=() ticks=() mine=([$root]=1)
	local -a a
	for f in /proc/[0-9]*/stat; do
		{ read -r line <"$f"; } 2>/dev/null || continue
		pid=${line%% *}
		rest=${line##*) }
		read -ra a <<<"$rest"
		parent[$pid]=${a[1]}
		ticks[$pid]=$((a[11] + a[12]))
	done
	while ((changed)); do
		changed=0
		for pid in "${!parent[@]}"; do
			if [[ -z ${mine[$pid]:-} && -n ${mine[${parent[$pid]}]:-} ]]; then
				mine[$pid]=1
				changed=1
			fi
		done
	done
	for pid in "${!mine[@]}"; do
		total=$((total + ${ticks[$pid]:-0}))
	done
	echo "$total"
}
clk_tck=$(getconf CLK_TCK)

# ---------------------------------------------------------------------------------------------
# The upstream: HTTP (/100b, /1m) and the raw TCP source for the CONNECT stream.

start upstream "$tmp/upstream.log" "$tmp/upstream" -http 127.0.0.1:0 -source 127.0.0.1:0 -lifetime "${lifetime}s"
upstream_pid=$REPLY
for ((i = 0; i < 100; i++)); do
	grep -q '^ready ' "$tmp/upstream.log" && break
	kill -0 "$upstream_pid" 2>/dev/null || break
	sleep 0.1
done
ready=$(grep '^ready ' "$tmp/upstream.log") || { cat "$tmp/upstream.log" >&2; die "upstream did not start"; }
up_addr=${ready#*http=}
up_addr=${up_addr%% *}
src_addr=${ready#*source=}
src_addr=${src_addr%% *}
up_port=${up_addr##*:}
src_port=${src_addr##*:}
used_ports+="$up_port $src_port "
note "upstream http=$up_addr source=$src_addr"

declare -A proxy_port=() proxy_pid=()

# ---------------------------------------------------------------------------------------------
# airlock: the same allowlist as the others, audit to /dev/null (it is on by default, to stderr).

if want airlock; then
	free_port
	proxy_port[airlock]=$REPLY
	# shellcheck disable=SC2086 # AIRLOCK_ARGS is a list of flags
	start airlock "$tmp/airlock.log" "$tmp/airlock" proxy \
		--listen "127.0.0.1:${proxy_port[airlock]}" \
		--allow "127.0.0.1:$up_port" --allow "127.0.0.1:$src_port" \
		--log /dev/null $AIRLOCK_ARGS
	proxy_pid[airlock]=$REPLY
	wait_port airlock "$REPLY" "${proxy_port[airlock]}" "$tmp/airlock.log"
fi

# ---------------------------------------------------------------------------------------------
# Squid: allow exactly the upstream's HTTP port and (CONNECT only) the source's port; no cache,
# logs and pid in $tmp, DNS pointed at loopback so nothing can leave the machine.

if want squid; then
	free_port
	proxy_port[squid]=$REPLY
	sq=$tmp/squid
	mkdir -p "$sq"
	user_line=""
	if ((EUID == 0)); then
		# Squid will not run as root; it switches to this user, who must reach its files.
		squid_user=proxy
		id -u "$squid_user" >/dev/null 2>&1 || squid_user=nobody
		chmod 755 "$tmp"
		chown "$squid_user" "$sq"
		user_line="cache_effective_user $squid_user"
	fi
	cat >"$sq/squid.conf" <<EOF
http_port 127.0.0.1:${proxy_port[squid]}
$user_line
pid_filename $sq/squid.pid
cache_log $sq/cache.log
access_log stdio:$sq/access.log
cache_store_log none
coredump_dir $sq
netdb_filename none
cache deny all
cache_mem 8 MB
shutdown_lifetime 1 seconds
visible_hostname airlock-bench
dns_nameservers 127.0.0.1
pinger_enable off
icp_port 0
htcp_port 0
acl bench_dst dst 127.0.0.1
acl bench_http_port port $up_port
acl bench_connect_port port $src_port
acl CONNECT method CONNECT
http_access allow CONNECT bench_dst bench_connect_port
http_access allow !CONNECT bench_dst bench_http_port
http_access deny all
$SQUID_CONF_EXTRA
EOF
	"$squid_bin" -k parse -f "$sq/squid.conf" >"$sq/parse.log" 2>&1 ||
		{ cat "$sq/parse.log" >&2; die "squid rejected $sq/squid.conf"; }
	start squid "$sq/stderr.log" "$squid_bin" -N -f "$sq/squid.conf"
	proxy_pid[squid]=$REPLY
	wait_port squid "$REPLY" "${proxy_port[squid]}" "$sq/cache.log"
fi

# ---------------------------------------------------------------------------------------------
# tinyproxy: clients from 127.0.0.1 only; a URL filter (default deny) that passes exactly
# http://127.0.0.1:UP/... and CONNECT 127.0.0.1:SRC; ConnectPort limits CONNECT to SRC's port.

if want tinyproxy; then
	free_port
	proxy_port[tinyproxy]=$REPLY
	tp=$tmp/tinyproxy
	mkdir -p "$tp"
	user_lines=""
	if ((EUID == 0)); then
		chmod 755 "$tmp"
		chown nobody "$tp"
		user_lines=$'User nobody\nGroup '"$(id -gn nobody)"
	fi
	printf '%s\n' "^http://127\.0\.0\.1:$up_port/" "^127\.0\.0\.1:$src_port\$" >"$tp/filter"
	cat >"$tp/tinyproxy.conf" <<EOF
$user_lines
Port ${proxy_port[tinyproxy]}
Listen 127.0.0.1
Timeout 600
MaxClients 1024
Allow 127.0.0.1
LogFile "$tp/tinyproxy.log"
LogLevel Warning
PidFile "$tp/tinyproxy.pid"
Filter "$tp/filter"
FilterURLs On
FilterType ere
FilterDefaultDeny Yes
ConnectPort $src_port
$TINYPROXY_CONF_EXTRA
EOF
	start tinyproxy "$tp/stderr.log" "$tinyproxy_bin" -d -c "$tp/tinyproxy.conf"
	proxy_pid[tinyproxy]=$REPLY
	wait_port tinyproxy "$REPLY" "${proxy_port[tinyproxy]}" "$tp/stderr.log"
fi

# ---------------------------------------------------------------------------------------------
# Preflight: every target answers 200 for both bodies and opens a tunnel, and refuses a GET and
# a CONNECT that the allowlist does not name (so we know we compare proxies that actually enforce a policy).

for t in "${targets[@]}"; do
	if [[ $t == direct ]]; then
		via=(--noproxy '*')
		pargs=()
	else
		via=(--noproxy '' -x "http://127.0.0.1:${proxy_port[$t]}")
		pargs=(-proxy "127.0.0.1:${proxy_port[$t]}")
	fi
	for path in /100b /1m; do
		code=$(curl -sS "${via[@]}" -o /dev/null -w '%{http_code}' --max-time 10 "http://$up_addr$path") || code=fail
		[[ $code == 200 ]] || die "$t: GET http://$up_addr$path answered $code, want 200 (logs in $tmp; KEEP_TMP=1 keeps them)"
	done
	if [[ $t != direct ]]; then
		code=$(curl -sS "${via[@]}" -o /dev/null -w '%{http_code}' --max-time 10 "http://127.0.0.1:1/") || code=fail
		[[ $code == 403 ]] || die "$t: GET http://127.0.0.1:1/ (outside the allowlist) answered $code, want 403"
		if out=$("$tmp/connectbench" "${pargs[@]}" -target 127.0.0.1:1 -bytes 1 -timeout 10s 2>&1) ||
			[[ $out != *"proxy refused CONNECT"* ]]; then
			die "$t: CONNECT 127.0.0.1:1 (outside the allowlist) was not refused: $out"
		fi
	fi
	"$tmp/connectbench" "${pargs[@]}" -target "$src_addr" -bytes 1048576 -timeout 10s >/dev/null ||
		die "$t: CONNECT preflight failed"
done
note "preflight ok: ${targets[*]} answer 200, tunnel, and refuse what is not allowed"

# ---------------------------------------------------------------------------------------------
# wrk with a Lua script: absolute-form request lines for proxies, a machine-readable summary.

cat >"$tmp/bench.lua" <<'EOF'
-- wrk has no proxy option: send the absolute-form URL as the request target to the proxy.
wrk.path = os.getenv("BENCH_PATH")
wrk.headers["Host"] = os.getenv("BENCH_HOST")

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d bytes=%d p50_us=%.0f p99_us=%.0f status=%d connect=%d read=%d write=%d timeout=%d\n",
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(99),
    e.status, e.connect, e.read, e.write, e.timeout))
end
EOF

declare -A res=() # "target|size|metric" -> space-separated values, one per run
add() { res[$1]="${res[$1]:-}${res[$1]:+ }$2"; }

# field NAME LINE: the value of NAME=... in a RESULT line.
field() { sed -n "s/.* $1=\\([^ ]*\\).*/\\1/p" <<<" $2"; }

# wrk_run TARGET PATH DURATION OUT: one wrk run; its RESULT line in OUT.
wrk_run() {
	local t=$1 path=$2 d=$3 out=$4 url bpath
	if [[ $t == direct ]]; then
		url="http://$up_addr/"
		bpath=$path
	else
		url="http://127.0.0.1:${proxy_port[$t]}/"
		bpath="http://$up_addr$path"
	fi
	BENCH_PATH=$bpath BENCH_HOST=$up_addr timeout $((dur_s + warm_s + 30)) \
		wrk -t"$THREADS" -c"$CONNS" -d"$d" --latency -s "$tmp/bench.lua" "$url" >"$out" 2>&1 ||
		{ cat "$out" >&2; die "wrk against $t $path failed"; }
}

# measure_http TARGET SIZE PATH RUN
measure_http() {
	local t=$1 size=$2 path=$3 run=$4 out line pid before after ubefore uafter n non2xx sockerr
	out="$tmp/wrk-$t-$size-$run.txt"
	pid=${proxy_pid[$t]:-}
	before=0
	[[ -n $pid ]] && before=$(tree_ticks "$pid")
	ubefore=$(tree_ticks "$upstream_pid")
	wrk_run "$t" "$path" "$DURATION" "$out"
	after=0
	[[ -n $pid ]] && after=$(tree_ticks "$pid")
	uafter=$(tree_ticks "$upstream_pid")
	line=$(grep '^RESULT ' "$out") || { cat "$out" >&2; die "no RESULT from wrk ($out)"; }
	n=$(field requests "$line")
	((n > 0)) || die "$t $size: wrk completed no requests ($out)"
	add "$t|$size|rps" "$(awk -v n="$n" -v us="$(field duration_us "$line")" 'BEGIN{printf "%.1f", n/(us/1e6)}')"
	add "$t|$size|p50" "$(field p50_us "$line")"
	add "$t|$size|p99" "$(field p99_us "$line")"
	if [[ -n $pid ]]; then
		add "$t|$size|cpu" "$(awk -v d=$((after - before)) -v hz="$clk_tck" -v n="$n" 'BEGIN{printf "%.2f", d/hz*1e6/n}')"
	fi
	add "$t|$size|ucpu" "$(awk -v d=$((uafter - ubefore)) -v hz="$clk_tck" -v n="$n" 'BEGIN{printf "%.2f", d/hz*1e6/n}')"
	non2xx=$(field status "$line")
	sockerr=$(($(field connect "$line") + $(field read "$line") + $(field write "$line") + $(field timeout "$line")))
	add "$t|$size|non2xx" "$non2xx"
	add "$t|$size|sockerr" "$sockerr"
	note "run $run $t $size: $n requests, $non2xx non-2xx, $sockerr socket errors, $(awk -v n="$n" -v us="$(field duration_us "$line")" 'BEGIN{printf "%.0f", n/(us/1e6)}') req/s"
}

# measure_connect TARGET RUN
measure_connect() {
	local t=$1 run=$2 out pid before=0 after=0 pargs=()
	out="$tmp/connect-$t-$run.txt"
	pid=${proxy_pid[$t]:-}
	[[ $t == direct ]] || pargs=(-proxy "127.0.0.1:${proxy_port[$t]}")
	[[ -n $pid ]] && before=$(tree_ticks "$pid")
	"$tmp/connectbench" "${pargs[@]}" -target "$src_addr" -bytes "$CONNECT_BYTES" -timeout 120s >"$out" 2>&1 ||
		{ cat "$out" >&2; die "CONNECT stream through $t failed"; }
	[[ -n $pid ]] && after=$(tree_ticks "$pid")
	add "$t|connect|gibs" "$(sed -n 's/.*gib_per_sec=\([^ ]*\).*/\1/p' "$out")"
	if [[ -n $pid ]]; then
		add "$t|connect|cpu" "$(awk -v d=$((after - before)) -v hz="$clk_tck" -v b="$CONNECT_BYTES" 'BEGIN{printf "%.3f", d/hz/(b/1073741824)}')"
	fi
	note "run $run $t CONNECT: $(cat "$out")"
}

# busy_percent SECONDS: how busy all CPUs were over SECONDS while this script sat idle; anything
# well above zero is another workload competing with the measurements.
busy_percent() {
	local a b
	a=$(awk '/^cpu /{print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat)
	sleep "$1"
	b=$(awk '/^cpu /{print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat)
	awk -v a="$a" -v b="$b" 'BEGIN{split(a, x, " "); split(b, y, " "); d = y[2] - x[2]; printf "%.0f", (d > 0 ? 100 * (y[1] - x[1]) / d : 0)}'
}
idle_busy=$(busy_percent 2)
if ((idle_busy > 10)); then
	note "WARNING: the CPUs were ${idle_busy}% busy before the benchmark started: something else is running"
fi
note "measuring: ${targets[*]}; wrk -t$THREADS -c$CONNS -d$DURATION, RUNS=$RUNS, CONNECT $CONNECT_BYTES bytes"
for ((run = 1; run <= RUNS; run++)); do
	for t in "${targets[@]}"; do
		if ((run == 1 && warm_s > 0)); then
			wrk_run "$t" /100b "$WARMUP" "$tmp/warmup-$t.txt"
		fi
		measure_http "$t" 100B /100b "$run"
		measure_http "$t" 1MiB /1m "$run"
		measure_connect "$t" "$run"
	done
done

# ---------------------------------------------------------------------------------------------
# Report: medians over RUNS.

# median KEY: the median of the values recorded under KEY, or empty.
median() {
	local v=${res[$1]:-}
	[[ -n $v ]] || return 0
	tr ' ' '\n' <<<"$v" | sort -g | awk '{a[NR]=$1} END{if (NR%2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2]+a[NR/2+1])/2}'
}
# ms MICROSECONDS, num VALUE FORMAT: formatted, or "-" without a value.
ms() { if [[ -n $1 ]]; then awk -v us="$1" 'BEGIN{printf "%.2fms", us/1000}'; else echo -; fi; }
num() { if [[ -n $1 ]]; then awk -v x="$1" -v f="$2" 'BEGIN{printf f, x}'; else echo -; fi; }

# cell WIDTH TEXT: TEXT right-aligned in WIDTH characters (left-aligned for a negative WIDTH),
# counted in characters so that µ, × and ≥ do not shift the columns as printf's bytes would.
cell() {
	local w=${1#-} s=$2 pad
	pad=$((w - ${#s}))
	((pad > 0)) || pad=0
	if [[ $1 == -* ]]; then
		printf '%s%*s' "$s" "$pad" ''
	else
		printf '%*s%s' "$pad" '' "$s"
	fi
}
# row "W1 W2 ..." TEXT1 TEXT2 ...: one line of cells separated by a space.
row() {
	local -a w
	read -ra w <<<"$1"
	shift
	local i=0 line=""
	for s in "$@"; do
		line+="$(cell "${w[i]}" "$s") "
		i=$((i + 1))
	done
	printf '%s\n' "${line% }"
}

echo
echo "airlock proxy benchmark: loopback, $(nproc) CPUs shared by wrk, the upstream and the proxy"
echo "wrk -t$THREADS -c$CONNS -d$DURATION --latency; CONNECT stream of $CONNECT_BYTES bytes; median of RUNS=$RUNS"
if ((idle_busy > 10)); then
	echo "CPUs busy with other work just before measuring: ${idle_busy}% -- another workload competes; figures are disturbed"
else
	echo "CPUs busy with other work just before measuring: ${idle_busy}%"
fi
echo
cols="-10 -5 9 9 9 12 12 7 8"
row "$cols" target body req/s p50 p99 'proxy µs/req' 'upstr µs/req' non-2xx sock-err
for t in "${targets[@]}"; do
	for size in 100B 1MiB; do
		row "$cols" "$t" "$size" \
			"$(num "$(median "$t|$size|rps")" %.0f)" \
			"$(ms "$(median "$t|$size|p50")")" "$(ms "$(median "$t|$size|p99")")" \
			"$(num "$(median "$t|$size|cpu")" %.1f)" "$(num "$(median "$t|$size|ucpu")" %.1f)" \
			"$(num "$(median "$t|$size|non2xx")" %.0f)" "$(num "$(median "$t|$size|sockerr")" %.0f)"
	done
done
echo
cols="-10 8 16"
row "$cols" CONNECT GiB/s 'proxy CPU s/GiB'
for t in "${targets[@]}"; do
	row "$cols" "$t" "$(num "$(median "$t|connect|gibs")" %.2f)" "$(num "$(median "$t|connect|cpu")" %.3f)"
done

# ratio KEY_A KEY_B: the median over runs of A/B, each run's A divided by the same run's B (a
# paired ratio: a slow moment hurts both sides of a run alike); empty when either is missing.
ratio() {
	local a=${res[$1]:-} b=${res[$2]:-}
	if [[ -n $a && -n $b ]]; then
		paste -d' ' <(tr ' ' '\n' <<<"$a") <(tr ' ' '\n' <<<"$b") |
			awk '$2 > 0 {print $1 / $2}' | sort -g |
			awk '{a[NR]=$1} END{if (NR) printf "%.2f", (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'
	fi
}
# verdict VALUE OP LIMIT: PASS or SHORT (n/a without a value).
verdict() {
	if [[ -z $1 ]]; then
		echo "n/a"
		return
	fi
	awk -v v="$1" -v op="$2" -v l="$3" 'BEGIN{ok = (op == ">=") ? v >= l : v <= l; print ok ? "PASS" : "SHORT"}'
}
# suffix VALUE TEXT: VALUE followed by TEXT, or n/a.
suffix() { if [[ -n $1 ]]; then echo "$1$2"; else echo n/a; fi; }

r100=$(ratio "airlock|100B|rps" "squid|100B|rps")
r1m=$(ratio "airlock|1MiB|rps" "squid|1MiB|rps")
rconn=$(ratio "airlock|connect|gibs" "direct|connect|gibs")
rconn_sq=$(ratio "airlock|connect|gibs" "squid|connect|gibs")
cpu100=$(median "airlock|100B|cpu")
cpu1m=$(median "airlock|1MiB|cpu")
rconn_pct=""
if [[ -n $rconn ]]; then
	rconn_pct=$(awk -v r="$rconn" 'BEGIN{printf "%.0f", r*100}')
fi

echo
echo "Ratios (median over runs of each run's own ratio)"
cols="-1 -34 8"
row "$cols" "" "airlock/Squid req/s, 100 B" "$(suffix "$r100" ×)"
row "$cols" "" "airlock/Squid req/s, 1 MiB" "$(suffix "$r1m" ×)"
row "$cols" "" "airlock CONNECT / direct CONNECT" "$(suffix "$rconn_pct" " %")"
row "$cols" "" "airlock CONNECT / Squid CONNECT" "$(suffix "$rconn_sq" ×)"

echo
echo "Goals (issue 3)"
cols="-1 -40 8 6"
row "$cols" "" "≥ 2× Squid req/s, 100 B" "$(suffix "$r100" ×)" "$(verdict "$r100" '>=' 2)"
row "$cols" "" "≤ 35 µs airlock CPU/request, 100 B" "$(suffix "$(num "$cpu100" %.1f)" " µs")" "$(verdict "$cpu100" '<=' 35)"
row "$cols" "" "CONNECT ≥ 90 % of direct" "$(suffix "$rconn_pct" " %")" "$(verdict "$rconn" '>=' 0.9)"
echo "  (for reference, not goals: 1 MiB airlock/Squid $(suffix "$r1m" ×), airlock CPU/request $(suffix "$(num "$cpu1m" %.1f)" " µs"))"

# positive VALUE: VALUE is a number above zero.
positive() { [[ -n $1 ]] && awk -v x="$1" 'BEGIN{exit !(x > 0)}'; }
echo
for t in "${targets[@]}"; do
	for size in 100B 1MiB; do
		e=$(median "$t|$size|non2xx")
		if positive "$e"; then
			echo "WARNING: $t $size answered non-2xx responses: its req/s is not comparable (wrk output: KEEP_TMP=1, $tmp/wrk-$t-$size-*.txt)"
		fi
		e=$(median "$t|$size|sockerr")
		if [[ $t != tinyproxy ]] && positive "$e"; then
			echo "WARNING: $t $size had socket errors in wrk (KEEP_TMP=1 keeps $tmp/wrk-$t-$size-*.txt)"
		fi
	done
done
if want tinyproxy; then
	echo "note: tinyproxy closes the client connection after every response (no keep-alive towards the"
	echo "      client), so wrk reconnects each time and counts the close as a socket (read) error."
fi
