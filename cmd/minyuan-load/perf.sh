#!/usr/bin/env bash
# perf.sh measures Minyuan's message path against a bare echo on the same WeChat
# library, in one sitting: a private redis-server (appendonly everysec), `minyuan
# serve`, `minyuan-load echo`, then `minyuan-load run` in plaintext and safe mode,
# alternating Minyuan and the echo. Loopback only; everything is stopped at the end.
# With NODE=1 it also installs node-webot's `wechat` package from npm into its
# temporary directory (never into the repository) and drives node-echo.js, the same
# bare echo on that package, in the same sitting. Node runs it on one thread.
#
#   cmd/minyuan-load/perf.sh                 # 64 connections, 10 s runs, 2 rounds
#   C=32 D=5s ROUNDS=1 cmd/minyuan-load/perf.sh
#   NODE=1 D=5s cmd/minyuan-load/perf.sh     # and node-webot's echo
set -euo pipefail
cd "$(dirname "$0")/../.."
C=${C:-64}; D=${D:-10s}; ROUNDS=${ROUNDS:-2}; RESIDENTS=${RESIDENTS:-500}; MIX=${MIX:-chat=60,status=20,form=20}
dir=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

go build -o "$dir/minyuan" ./cmd/minyuan
go build -o "$dir/minyuan-load" ./cmd/minyuan-load

rport=$(free_port); mport=$(free_port); eport=$(free_port)
redis-server --port "$rport" --bind 127.0.0.1 --save "" --appendonly yes --appendfsync everysec \
  --dir "$dir" --logfile "$dir/redis.log" --daemonize no &
pids+=($!)
token=loadtoken$RANDOM
aeskey=$(python3 -c 'import base64,os; print(base64.b64encode(os.urandom(32)).decode()[:43])')
appid=wxload0123456789
export MINYUAN_CONFIG=$PWD/configs/minyuan.sample.yaml MINYUAN_WECHAT_TOKEN=$token MINYUAN_WECHAT_APP_ID=$appid MINYUAN_WECHAT_APP_SECRET=secret \
  MINYUAN_WECHAT_ENCODING_AES_KEY=$aeskey MINYUAN_WECHAT_MODE=compatible \
  MINYUAN_WECHAT_API_BASE_URL=http://127.0.0.1:1 MINYUAN_HTTP_ADDR=127.0.0.1:$mport \
  MINYUAN_REDIS_URL=redis://127.0.0.1:$rport/0 MINYUAN_LOG_LEVEL=error
sleep 0.5
"$dir/minyuan" serve >"$dir/serve.log" 2>&1 &
pids+=($!)
"$dir/minyuan-load" echo -addr 127.0.0.1:$eport -token "$token" -appid "$appid" -aes-key "$aeskey" 2>"$dir/echo.log" &
pids+=($!)
vs=(-vs "echo=http://127.0.0.1:$eport/")
if [ -n "${NODE:-}" ]; then
  command -v node >/dev/null || { echo "NODE=1: node is not installed"; exit 1; }
  npm install --prefix "$dir/node" --no-audit --no-fund --no-save wechat >"$dir/npm.log" 2>&1 ||
    { echo "NODE=1: npm install wechat failed:"; cat "$dir/npm.log"; exit 1; }
  nport=$(free_port)
  NODE_PATH="$dir/node/node_modules" ADDR=127.0.0.1:$nport TOKEN=$token APPID=$appid AES_KEY=$aeskey \
    node cmd/minyuan-load/node-echo.js 2>"$dir/node.log" &
  pids+=($!)
  vs+=(-vs "node=http://127.0.0.1:$nport/")
  for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$nport/" && break; sleep 0.1; done
  curl -s -o /dev/null "http://127.0.0.1:$nport/" || { echo "node-echo.js did not start:"; cat "$dir/node.log"; exit 1; }
fi
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$mport/healthz" && break; sleep 0.1; done
curl -sf -o /dev/null "http://127.0.0.1:$mport/healthz" || { echo "minyuan serve did not start:"; cat "$dir/serve.log"; exit 1; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(go version | cut -d' ' -f3); $(redis-server --version | cut -d' ' -f3)"
if [ -n "${NODE:-}" ]; then
  echo "node $(node --version), wechat $(node -p "require('$dir/node/node_modules/wechat/package.json').version") (one process, one thread)"
fi
for mode in plain safe; do
  "$dir/minyuan-load" run -url "http://127.0.0.1:$mport/wechat" "${vs[@]}" \
    -token "$token" -appid "$appid" -aes-key "$aeskey" -mode $mode \
    -residents "$RESIDENTS" -c "$C" -d "$D" -rounds "$ROUNDS" -mix "$MIX"
done
