#!/bin/bash
# Self-test of tests/fakeserver: starts it on port 0 against a scratch script
# and the example scripts in tests/fake/, checks every directive and action
# with curl, and stops it.  Prints "N passed, N failed"; exits non-zero on any
# failure.
#
#   tests/fakeserver-selftest.sh [FAKESERVER]     (default build/tests/fakeserver)
#   FAKESERVER_WRAP="valgrind -q --leak-check=full --error-exitcode=99" tests/fakeserver-selftest.sh
#
# Needs bash and curl; JSON validity checks use jq or python3 and are skipped
# (reported as SKIP) when neither is installed.
set -u

here=$(cd "$(dirname "$0")" && pwd)
FS=${1:-${BUILD:-build}/tests/fakeserver}
WRAP=${FAKESERVER_WRAP:-}
[ -x "$FS" ] || { echo "fakeserver-selftest: $FS not built (make build/tests/fakeserver)" >&2; exit 2; }
command -v curl >/dev/null || { echo "SKIP: curl not installed"; exit 77; }

tmp=$(mktemp -d)
pid=
pass=0
fail=0
skip=0
cleanup() {
	[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

ok()   { pass=$((pass + 1)); echo "ok   $1"; }
bad()  { fail=$((fail + 1)); echo "FAIL $1${2:+: $2}"; }
skp()  { skip=$((skip + 1)); echo "SKIP $1"; }
# expect DESC GOT WANT
expect() { if [ "$2" = "$3" ]; then ok "$1"; else bad "$1" "got [$2], want [$3]"; fi; }
# has DESC HAYSTACK NEEDLE
has() { case "$2" in *"$3"*) ok "$1" ;; *) bad "$1" "[$3] not in [${2:0:300}]" ;; esac; }
hasnt() { case "$2" in *"$3"*) bad "$1" "[$3] unexpectedly in [${2:0:300}]" ;; *) ok "$1" ;; esac; }

# json_ok < data: 0 valid, 1 invalid, 2 no validator installed.
if command -v jq >/dev/null; then
	json_ok() { jq -e . >/dev/null 2>&1 || return 1; }
elif command -v python3 >/dev/null; then
	json_ok() { python3 -c 'import json,sys; json.load(sys.stdin)' 2>/dev/null || return 1; }
else
	json_ok() { cat >/dev/null; return 2; }
fi
# jsoncheck DESC < data
jsoncheck() { json_ok; case $? in 0) ok "$1" ;; 2) skp "$1 (no jq or python3)" ;; *) bad "$1" "invalid JSON" ;; esac; }

# start SCRIPT [extra args]: runs the server, waits for the port file.
start() {
	local script=$1
	shift
	rm -f "$tmp/port"
	$WRAP "$FS" --script "$script" --port-file "$tmp/port" --log "$tmp/log" --max-seconds 120 "$@" \
		2>>"$tmp/stderr" &
	pid=$!
	for _ in $(seq 100); do
		[ -s "$tmp/port" ] && break
		sleep 0.05
	done
	P=$(cat "$tmp/port" 2>/dev/null)
	U=http://127.0.0.1:$P
}
# stop: SIGTERM, and the exit status must be 0 (valgrind's error exit shows here).
stop() {
	kill -TERM "$pid"
	wait "$pid"
	local rc=$?
	pid=
	expect "server exits 0 on SIGTERM" "$rc" 0
}
c() { curl -s --max-time 10 "$@"; }
# cx: like c, but keeps trailing newlines, which $(...) would strip.
cx() { c "$@"; echo x; }
now() { date +%s%N; }
ms_since() { echo $((($(now) - $1) / 1000000)); }

# data_lines_json DESC FILE: every "data: {...}" line parses.
data_lines_json() {
	local bad_lines=0 n=0 line
	while IFS= read -r line; do
		case $line in
		'data: [DONE]') ;;
		data:\ *) n=$((n + 1)); json_ok <<<"${line#data: }" || bad_lines=$((bad_lines + 1)) ;;
		esac
	done <"$2"
	json_ok <<<'{}'
	if [ $? = 2 ]; then skp "$1 (no jq or python3)"
	elif [ "$bad_lines" = 0 ] && [ "$n" -gt 0 ]; then ok "$1 ($n events)"
	else bad "$1" "$bad_lines of $n data lines are not JSON"; fi
}

# ---------------------------------------------------------------- syntax
cat >"$tmp/self.rules" <<'EOF'
# comment lines and blank lines are ignored

rule twice
match_path /times
times 2
body first {{n}}
end
rule after
match_path /times
body later
end
rule auth-value
match_path /auth
match_header Authorization: Bearer sk-good
body authorized
end
rule auth-present
match_path /auth
match_header X-Api-Key
body has-key
end
rule delay
match_path /delay
delay_ms 300
body late
end
rule raw
match_path /raw
raw data: {"a":\r\n
raw data: 1}\r\n\r\n
raw : comment\x21\n\n
end
rule events
match_path /events
sse_event message_start
sse data: {"type":"message_start","n":{{n}}}
sse data: plain
end
rule close
match_path /close
header Connection: close
header X-Seq: {{n}}
body bye
end
rule file
match_path /file
body_file self-body.json
end
rule multi
match_path /multi
body line1
body line2
end
rule ttft
match_path /ttft
first_delay_ms 300
chunk_delay_ms 100
sse data: 1
sse data: 2
sse data: 3
end
rule method
match_method GET
match_path /method
body got
end
rule body-not
match_path /bodymatch
match_body "want":1
match_body_not "veto"
status 201
header Content-Type: text/plain
body matched
end
rule drip-fast
match_path /drip
action drip 2
body dripped
end
rule drip-stream
match_path /dripsse
action drip 1
sse data: a
sse data: b
end
rule close-body
match_path /closebody
action close_after 5
body 0123456789
end
rule reset-body
match_path /resetbody
action reset_after 5
body 0123456789
end
rule hold-stream
match_path /holdsse
action hold_after 2
sse data: a
sse data: [DONE]
end
rule flood-stream
match_path /floodsse
action flood 1000
sse data: x
sse data: [DONE]
end
rule huge-small
match_path /hugesmall
action huge 100000
end
rule health-override
match_path /health
match_header X-Sick
status 503
body {"error":{"code":503,"message":"Loading model","type":"unavailable_error"}}
end
EOF
printf '{"from":"file","n":{{n}}}\n' >"$tmp/self-body.json"

start "$tmp/self.rules"
has "port file written" "$P" ""
[ -n "$P" ] && [ "$P" -gt 0 ] 2>/dev/null && ok "port is a number ($P)" || bad "port is a number" "[$P]"
expect "port file is decimal + newline" "$(od -An -c "$tmp/port" | tr -d ' ' | tail -c 3)" '\n'
expect "GET /health built in" "$(c $U/health)" '{"status":"ok"}'
expect "rule overrides /health" "$(c -o /dev/null -w '%{http_code}' -H 'X-Sick: 1' $U/health)" 503
has "GET /v1/models built in" "$(c $U/v1/models)" '"id":"fake-model"'
out=$(c -w ' %{http_code}' $U/nothing)
has "no rule: 404" "$out" " 404"
has "no rule: JSON error" "$out" '"error":{"message":"fakeserver: no rule matches GET /nothing"'
c $U/nothing | jsoncheck "404 body is JSON"

err=$(curl -sv --max-time 10 -o /dev/null $U/health $U/health $U/v1/models 2>&1)
has "keep-alive: connection reused" "$err" "Re-using existing connection"
expect "keep-alive: one connection for three requests" "$(grep -c 'Connected to' <<<"$err")" 1

# {{n}} is the request's sequence number, as the log records it.
seq_of_last() { awk '$2 != "body" && $2 != "header" {s = $1} END {print s}' "$tmp/log"; }
out=$(c $U/times)
expect "times: 1st, {{n}} = sequence number" "$out" "first $(seq_of_last)"
out=$(c $U/times)
expect "times: 2nd" "$out" "first $(seq_of_last)"
expect "times: 3rd falls through" "$(c $U/times)" "later"
expect "times: 4th falls through" "$(c $U/times)" "later"

expect "match_header NAME: VALUE" "$(c -H 'Authorization: Bearer sk-good' $U/auth)" authorized
expect "match_header NAME (any case)" "$(c -H 'x-api-key: k' $U/auth)" has-key
expect "match_header wrong value" "$(c -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer bad' $U/auth)" 404
expect "match_method GET" "$(c $U/method)" got
expect "match_method POST refused" "$(c -o /dev/null -w '%{http_code}' -d x $U/method)" 404
expect "match_body + status + Content-Type" \
	"$(c -w ' %{http_code} %{content_type}' -d '{"want":1}' $U/bodymatch)" "matched 201 text/plain"
expect "match_body_not" "$(c -o /dev/null -w '%{http_code}' -d '{"want":1,"veto":2}' $U/bodymatch)" 404
expect "query string ignored" "$(c "$U/method?x=1")" got

t=$(now)
expect "delay_ms body" "$(c $U/delay)" late
d=$(ms_since "$t")
[ "$d" -ge 290 ] && ok "delay_ms waits (${d} ms)" || bad "delay_ms waits" "${d} ms"

t=$(now)
kids=()
for i in $(seq 10); do c -o /dev/null $U/delay & kids+=($!); done
wait "${kids[@]}"
d=$(ms_since "$t")
[ "$d" -lt 2000 ] && ok "10 concurrent delayed requests in parallel (${d} ms)" || bad "concurrency" "${d} ms"

expect "raw chunks (escapes, comment line)" "$(c $U/raw | od -An -c | tr -s ' ' | tr -d '\n')" \
	"$(printf 'data: {"a":\r\ndata: 1}\r\n\r\n: comment!\n\n' | od -An -c | tr -s ' ' | tr -d '\n')"
out=$(cx -D "$tmp/h" $U/events)
has "sse_event prefix" "$out" $'event: message_start\ndata: {"type":"message_start","n":'
has "sse without event" "$out" $'\n\ndata: plain\n\n'
has "stream Content-Type" "$(cat "$tmp/h")" "Content-Type: text/event-stream"
has "stream chunked" "$(cat "$tmp/h")" "Transfer-Encoding: chunked"

err=$(curl -sv --max-time 10 -o /dev/null $U/close $U/health 2>&1)
has "header Connection: close sent" "$err" "< Connection: close"
expect "header Connection: close closes" "$(grep -c 'Connected to' <<<"$err")" 2
has "header with {{n}}" "$err" "< X-Seq: "
out=$(c $U/file)
has "body_file relative to script" "$out" '{"from":"file","n":'
expect "repeated body lines joined by newline" "$(c $U/multi)" $'line1\nline2'

t=$(now)
out=$(c -w '%{time_starttransfer}' -o "$tmp/ttft" $U/ttft)
d=$(ms_since "$t")
has "first_delay_ms/chunk_delay_ms events" "$(cat "$tmp/ttft"; echo x)" $'data: 3\n\n'
[ "$d" -ge 490 ] && ok "first_delay_ms + 2 x chunk_delay_ms (${d} ms)" || bad "stream delays" "${d} ms"
tfb=$out
[ "${tfb%%.*}" = 0 ] && [ "${tfb#0.}" \< 2 ] && ok "headers before first_delay_ms (first byte ${tfb} s)" ||
	bad "headers before first_delay_ms" "first byte $tfb s"

t=$(now)
expect "drip: whole body arrives" "$(c $U/drip)" dripped
d=$(ms_since "$t")
[ "$d" -ge 200 ] && ok "drip: one byte every 2 ms (${d} ms)" || bad "drip slow" "${d} ms"
expect "drip: stream framing intact" "$(cx $U/dripsse)" $'data: a\n\ndata: b\n\nx'

out=$(c -w ' %{http_code}' $U/closebody); rc=$?
expect "close_after N on a body: 5 bytes then EOF" "$out $rc" "01234 200 18"
out=$(c $U/resetbody); rc=$?
expect "reset_after N on a body: connection reset" "$rc" 56
out=$(c -m 2 $U/holdsse); rc=$?
expect "hold_after N: N events, then the connection stays open" "$out $rc" $'data: a\n\ndata: [DONE] 28'
out=$(c $U/floodsse)
expect "flood N: the first event N more times, then the events" "$(grep -c '^data: x$' <<<"$out") ${out: -12}" $'1001 data: [DONE]'
out=$(c $U/hugesmall)
expect "huge N: exactly N bytes" "${#out}" 100000
jsoncheck "huge N: valid JSON" <<<"$out"

# Raw protocol corners, through bash's /dev/tcp.
raw_req() { # prints the first line of the answer
	exec 3<>/dev/tcp/127.0.0.1/"$P"
	printf "$1" >&3
	timeout 5 head -n 1 <&3 | tr -d '\r'
	exec 3<&-
}
expect "Content-Length over 64 MiB: 413" "$(raw_req 'POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 70000000\r\n\r\n')" "HTTP/1.1 413 Content Too Large"
expect "chunked request body: 501" "$(raw_req 'POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n')" "HTTP/1.1 501 Not Implemented"
expect "malformed request line: 400" "$(raw_req 'HELLO\r\n\r\n')" "HTTP/1.1 400 Bad Request"
expect "headers over 64 KiB: 431" "$(c -o /dev/null -w '%{http_code}' -H "X-Big: $(head -c 70000 /dev/zero | tr '\0' a)" $U/health)" 431
exec 3<>/dev/tcp/127.0.0.1/"$P"
printf 'GET /method HTTP/1.1\r\nHost: a\r\n\r\nGET /multi HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n' >&3
out=$(timeout 5 cat <&3)
exec 3<&-
has "pipelined requests: 1st" "$out" $'\r\n\r\ngot'
has "pipelined requests: 2nd, then close" "$out" $'\r\n\r\nline1\nline2'
exec 3<>/dev/tcp/127.0.0.1/"$P"
printf 'GET /method HTTP/1.0\r\n\r\n' >&3
out=$(timeout 5 cat <&3)
exec 3<&-
has "HTTP/1.0 answered and closed" "$out" "Connection: close"

head -c 2000000 /dev/zero | tr '\0' x >"$tmp/big"
t=$(now)
out=$(c -w '%{http_code}' -o /dev/null --data-binary @"$tmp/big" $U/nothing)
d=$(ms_since "$t")
expect "2 MB body with Expect: 100-continue" "$out" 404
[ "$d" -lt 900 ] && ok "100 Continue sent at once (${d} ms)" || bad "100 Continue" "${d} ms"

c -H 'Authorization: Bearer sk-secret-123' -H 'x-api-key: ak-456' \
	-d $'{"messages":[{"role":"user","content":"line\\none\ttab"}]}' $U/auth >/dev/null
seq=$(seq_of_last)
line=$(grep "^$seq POST" "$tmp/log")
expect "log: request line" "$line" "$seq POST /auth 56 4 auth-present"
expect "log: body line, escaped" "$(grep "^$seq body " "$tmp/log")" \
	"$seq body {\"messages\":[{\"role\":\"user\",\"content\":\"line\\\\none\\ttab\"}]}"
has "log: Authorization verbatim" "$(grep "^$seq header " "$tmp/log")" "$seq header Authorization: Bearer sk-secret-123"
has "log: x-api-key verbatim" "$(grep "^$seq header " "$tmp/log")" "$seq header x-api-key: ak-456"
has "log: 404 tag" "$(cat "$tmp/log")" "GET /nothing 0 404 -"
has "log: builtin tag" "$(cat "$tmp/log")" "GET /health 0 builtin -"
has "log: 413 logged" "$(cat "$tmp/log")" "POST /x 0 413 -"

# A hanging connection must not keep SIGTERM from ending the server.
# (An idle keep-alive connection held open by a client.)
exec 4<>/dev/tcp/127.0.0.1/"$P"
printf 'GET /health HTTP/1.1\r\nHost: a\r\n\r\n' >&4
sleep 0.2
t=$(now)
stop
d=$(ms_since "$t")
[ "$d" -lt 3000 ] && ok "SIGTERM exit is prompt with a client connected (${d} ms)" || bad "SIGTERM exit" "${d} ms"
exec 4<&-

# ---------------------------------------------------------------- faults
rm -f "$tmp/log"
start "$here/fake/faults.rules"
chat() { c -w ' %{http_code}' -d "{\"messages\":[{\"role\":\"user\",\"content\":\"$1\"}]}" $U/v1/chat/completions; }
expect "500 burst: 1st" "$(chat fault-500-burst | tail -c 4)" " 500"
expect "500 burst: 2nd" "$(chat fault-500-burst | tail -c 4)" " 500"
out=$(chat fault-500-burst)
expect "500 burst: 3rd succeeds" "${out: -4}" " 200"
has "500 burst: normal answer" "$out" '"content":"The capital of France is Paris."'
expect "503" "$(chat fault-503 | tail -c 4)" " 503"
out=$(c -D - -d 'fault-429-retry' $U/v1/chat/completions | tr -d '\r')
has "429 with Retry-After: status" "$out" "HTTP/1.1 429 Too Many Requests"
has "429 with Retry-After: header" "$out" "Retry-After: 1"
expect "429 with Retry-After: then 200" "$(chat fault-429-retry | tail -c 4)" " 200"
out=$(c -D - -d 'fault-429-plain' $U/v1/chat/completions | tr -d '\r')
has "429 without Retry-After: status" "$out" "HTTP/1.1 429"
hasnt "429 without Retry-After: no header" "$out" "Retry-After"
out=$(c -d 'fault-invalid-json' $U/v1/chat/completions)
has "invalid JSON: 200 body" "$out" '"content":"cut off'
json_ok <<<"$out"
case $? in 1) ok "invalid JSON: does not parse" ;; 2) skp "invalid JSON check (no jq or python3)" ;; *) bad "invalid JSON: parses" ;; esac
out=$(c -d 'fault-truncated' $U/v1/chat/completions); rc=$?
expect "truncated stream: curl sees a partial transfer" "$rc" 18
expect "truncated stream: 2 events" "$(grep -c '^data: ' <<<"$out")" 2
hasnt "truncated stream: no [DONE]" "$out" "[DONE]"
out=$(c -d 'fault-reset' $U/v1/chat/completions); rc=$?
expect "reset mid-stream: connection reset" "$rc" 56
expect "reset mid-stream: 2 events first" "$(grep -c '^data: ' <<<"$out")" 2
t=$(now)
c --max-time 1 -d 'fault-hang' $U/v1/chat/completions >/dev/null; rc=$?
expect "hang: client times out" "$rc" 28
expect "hang: server still answers others" "$(c $U/health)" '{"status":"ok"}'
out=$(c --max-time 2 -w '%{http_code}' -d 'fault-drip' $U/v1/chat/completions); rc=$?
expect "drip 1000: nothing complete within 2 s" "$out $rc" "000 28"
out=$(c -w '%{size_download} %{http_code}' -o /dev/null -d 'fault-huge' $U/v1/chat/completions)
expect "huge: 50,000,000 bytes" "$out" "50000000 200"
c -d 'fault-huge' $U/v1/chat/completions | head -c 60 | grep -q '^{"id":"chatcmpl-huge"' && ok "huge: JSON start" || bad "huge: JSON start"
expect "huge: JSON end" "$(c -d 'fault-huge' $U/v1/chat/completions | tail -c 18)" '"total_tokens":2}}'
out=$(c -o "$tmp/huge-sse" -w '%{http_code}' -d 'fault-huge-sse' $U/v1/chat/completions); rc=$?
expect "huge_sse: complete stream" "$out $rc" "200 0"
# The event is N bytes including its "\n\n": a line of N-2 bytes plus newline.
expect "huge_sse: one 50,000,000-byte event" "$(head -n 1 "$tmp/huge-sse" | wc -c)" 49999999
expect "huge_sse: then [DONE]" "$(tail -c 14 "$tmp/huge-sse" | od -An -c | tr -s ' ')" \
	"$(printf 'data: [DONE]\n\n' | od -An -c | tr -s ' ')"
expect "normal request after faults" "$(chat hello | tail -c 4)" " 200"
c -d '{"stream":true,"messages":[{"role":"user","content":"hello"}]}' $U/v1/chat/completions >"$tmp/s"
data_lines_json "normal streamed answer: data lines are JSON" "$tmp/s"
has "normal streamed answer: [DONE]" "$(cat "$tmp/s")" "data: [DONE]"
c -d 'fault-exit' $U/v1/chat/completions >/dev/null; rc=$?
expect "exit: client gets an empty reply" "$rc" 52
wait "$pid"; rc=$?
pid=
if [ -z "$WRAP" ]; then
	expect "exit: the server process is gone, status 0" "$rc" 0
else
	# A simulated crash leaves threads and memory behind: a leak checker's
	# verdict on it means nothing, only that the process ended.
	ok "exit: the server process is gone (status $rc under $WRAP)"
fi
has "exit: request logged first" "$(tail -n 20 "$tmp/log")" "POST /v1/chat/completions 10 12 exit"
oldport=$P
start "$here/fake/faults.rules" --port "$oldport"
expect "restart on the same port at once" "$P" "$oldport"
expect "restarted server answers" "$(chat hello | tail -c 4)" " 200"
stop

# ---------------------------------------------------------------- examples
start "$here/fake/openai-basic.rules"
out=$(c -d '{"model":"m","messages":[{"role":"user","content":"capital?"}]}' $U/v1/chat/completions)
jsoncheck "openai-basic: JSON" <<<"$out"
has "openai-basic: usage" "$out" '"prompt_tokens_details":{"cached_tokens":16}'
has "openai-basic: timings" "$out" '"predicted_per_second":80.0'
stop

start "$here/fake/openai-stream.rules"
c -d '{"stream":true,"stream_options":{"include_usage":true}}' $U/v1/chat/completions >"$tmp/s"
data_lines_json "openai-stream: data lines are JSON" "$tmp/s"
has "openai-stream: usage chunk with choices []" "$(cat "$tmp/s")" '"choices":[],"usage":{"prompt_tokens":24'
expect "openai-stream: ends with [DONE]" "$(tail -c 14 "$tmp/s"; echo x)" $'data: [DONE]\n\nx'
stop

start "$here/fake/openai-tools.rules"
out=$(c -d '{"messages":[{"role":"user","content":"weather?"}]}' $U/v1/chat/completions)
jsoncheck "openai-tools: tool call JSON" <<<"$out"
has "openai-tools: tool call" "$out" '"finish_reason":"tool_calls"'
out=$(c -d '{"messages":[{"role":"user","content":"weather?"},{"role":"tool","tool_call_id":"call_fake1","content":"18"}]}' $U/v1/chat/completions)
has "openai-tools: final answer" "$out" '"content":"It is 18 degrees Celsius in Paris."'
c -d '{"stream":true,"messages":[]}' $U/v1/chat/completions >"$tmp/s"
data_lines_json "openai-tools: stream data lines are JSON" "$tmp/s"
has "openai-tools: streamed arguments" "$(cat "$tmp/s")" '"arguments":"\"celsius\"}"'
c -d '{"stream":true,"messages":[{"role":"tool"}]}' $U/v1/chat/completions >"$tmp/s"
has "openai-tools: streamed final answer" "$(cat "$tmp/s")" '" Celsius in Paris."'
stop

start "$here/fake/anthropic.rules"
A=(-H 'anthropic-version: 2023-06-01' -H 'x-api-key: k')
out=$(c "${A[@]}" -d '{"messages":[{"role":"user","content":"weather?"}]}' $U/v1/messages)
jsoncheck "anthropic: JSON" <<<"$out"
has "anthropic: tool_use" "$out" '"stop_reason":"tool_use"'
out=$(c "${A[@]}" -d '{"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":"18"}]}]}' $U/v1/messages)
has "anthropic: final answer" "$out" '"stop_reason":"end_turn"'
expect "anthropic: anthropic-version required" "$(c -o /dev/null -w '%{http_code}' -d '{}' $U/v1/messages)" 404
c "${A[@]}" -d '{"stream":true}' $U/v1/messages >"$tmp/s"
data_lines_json "anthropic: stream data lines are JSON" "$tmp/s"
expect "anthropic: event/data pairs" "$(grep -c '^event: ' "$tmp/s")" "$(grep -c '^data: ' "$tmp/s")"
expect "anthropic: ends with message_stop" "$(tail -n 3 "$tmp/s" | head -n 2)" \
	$'event: message_stop\ndata: {"type":"message_stop"}'
stop

# ---------------------------------------------------------------- lifecycle
start "$tmp/self.rules" --max-seconds 1
sleep 1.6
if kill -0 "$pid" 2>/dev/null; then bad "--max-seconds 1 ends the server"; else
	wait "$pid"; expect "--max-seconds: exits by itself, status 3" "$?" 3; fi
pid=
printf 'rule\nstatus abc\nend\n' >"$tmp/bad.rules"
err=$("$FS" --script "$tmp/bad.rules" --check 2>&1); rc=$?
expect "bad script: status 2" "$rc" 2
has "bad script: file:line" "$err" "bad.rules:2: status"
printf 'rule\nbody x\n' >"$tmp/bad.rules"
err=$("$FS" --script "$tmp/bad.rules" --check 2>&1)
has "bad script: missing end" "$err" "has no 'end'"
err=$("$FS" --script "$tmp/self.rules" --bind 0.0.0.0 2>&1); rc=$?
expect "--bind refuses non-loopback" "$rc" 2
for f in "$here"/fake/*.rules; do
	"$FS" --script "$f" --check >/dev/null 2>&1 && ok "--check $(basename "$f")" || bad "--check $(basename "$f")"
done

echo "$pass passed, $fail failed${skip:+, $skip skipped}"
[ "$fail" = 0 ]
