#!/usr/bin/env bash
# Try the README's start command the way a new user would: `make run` on the
# embedded defaults, in a fresh var folder and on a free port. Pass when the
# three surfaces answer and the Celery worker has run a task, then stop the
# whole process group.
set -euo pipefail

cd "$(dirname "$0")/.."
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
var=$(mktemp -d)
log="$var/run.log"

env -u DATABASE_URL -u CELERY_BROKER_URL -u CACHE_URL \
    PORT="$port" WESTGARDEN_VAR_DIR="$var" setsid make run >"$log" 2>&1 &
leader=$!

stop() {
    kill -TERM -- "-$leader" 2>/dev/null || true
    for _ in $(seq 1 20); do
        kill -0 -- "-$leader" 2>/dev/null || break
        sleep 0.5
    done
    kill -KILL -- "-$leader" 2>/dev/null || true
    rm -rf "$var"
}
trap stop EXIT

fail() {
    echo "smoke: $*" >&2
    echo "---- last lines of the make run output ----" >&2
    tail -n 40 "$log" >&2
    exit 1
}

base="http://127.0.0.1:$port"
for _ in $(seq 1 300); do
    curl -fsS -o /dev/null "$base/healthz" 2>/dev/null && break
    kill -0 "$leader" 2>/dev/null || fail "make run stopped before the portal answered"
    sleep 1
done
curl -fsS -o /dev/null "$base/healthz" || fail "the portal did not answer within 300 s"

expect() {
    local path=$1 wanted=$2 status
    status=$(curl -s -o /dev/null -w '%{http_code}' "$base$path")
    [ "$status" = "$wanted" ] || fail "GET $path returned $status, expected $wanted"
    echo "smoke: GET $path -> $status"
}
expect / 200
expect /report/ 200
expect /track/ 200
expect /grids/ 200
expect /m/ 302
expect /m/login/ 200
expect /admin/ 302

grep -q "demo-staff" "$log" || fail "the demo logins were not printed"
for _ in $(seq 1 150); do
    grep -q "succeeded in" "$log" && break
    sleep 1
done
grep -q "succeeded in" "$log" || fail "the Celery worker ran no task within 150 s"
echo "smoke: the worker ran $(grep -c 'succeeded in' "$log") task(s)"
