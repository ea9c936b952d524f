#!/usr/bin/env bash
# Start a throwaway local PostgreSQL for the ledger tests and print its SQLAlchemy URL on stdout.
# Installs Debian's postgresql when the server binaries are missing. Exit non-zero when it cannot.
set -euo pipefail
PORT="${PG_PORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}"
find_bin() {
  for d in /usr/lib/postgresql/*/bin; do [ -x "$d/initdb" ] && { echo "$d"; return 0; }; done
  command -v initdb >/dev/null 2>&1 && { dirname "$(command -v initdb)"; return 0; }
  return 1
}
BIN=$(find_bin) || {
  if command -v apt-get >/dev/null 2>&1; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >&2
  fi
  BIN=$(find_bin)
}
DATA=$(mktemp -d /tmp/kintai-pg.XXXXXX)
RUN_AS=()
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
  chown postgres "$DATA"
  RUN_AS=(runuser -u postgres --)
fi
"${RUN_AS[@]}" "$BIN/initdb" -D "$DATA/db" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null 2>&1 \
  || "${RUN_AS[@]}" "$BIN/initdb" -D "$DATA/db" -U postgres -A trust -E UTF8 >/dev/null
"${RUN_AS[@]}" "$BIN/pg_ctl" -D "$DATA/db" -o "-p $PORT -k $DATA -c listen_addresses=127.0.0.1 -c fsync=off" \
  -l "$DATA/log" -w start >/dev/null
echo "postgresql+psycopg://postgres@127.0.0.1:$PORT/postgres"
