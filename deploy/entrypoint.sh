#!/bin/sh
# The image's entrypoint (behind dumb-init): read secrets from files, then run calfcoach.
# For TELEGRAM_BOT_TOKEN, WEBHOOK_SECRET and DATABASE_URL, a NAME_FILE variable (say
# TELEGRAM_BOT_TOKEN_FILE=/run/secrets/telegram_bot_token, as compose's secrets mount them)
# is read into NAME, so secrets need not travel as plain environment.
set -eu
for name in TELEGRAM_BOT_TOKEN WEBHOOK_SECRET DATABASE_URL; do
  eval "file=\${${name}_FILE:-}"
  if [ -n "$file" ]; then
    if [ ! -r "$file" ]; then
      echo "error: ${name}_FILE=$file is not readable by uid $(id -u) (chown it to that uid)" >&2
      exit 2
    fi
    value="$(cat "$file")"
    export "$name=$value"
    unset "${name}_FILE"
  fi
done
exec calfcoach "$@"
