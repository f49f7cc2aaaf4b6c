#!/bin/sh
# The official nginx image's entrypoint contract, for the Debian stand-in: run the scripts in
# /docker-entrypoint.d (executable *.envsh are sourced, so what they export reaches the
# templates; executable *.sh are run), then fill /etc/nginx/templates/*.template in from the
# environment into /etc/nginx/conf.d/ (only variables that are set, so nginx's own $host and
# the like stay), then run nginx.
set -eu
case "${1:-}" in nginx | nginx-debug) ;; *) exec "$@" ;; esac

for script in $(find /docker-entrypoint.d/ -follow -type f 2>/dev/null | sort -V); do
  [ -x "$script" ] || continue
  # shellcheck disable=SC1090 # sourcing whatever is mounted there is the contract
  case "$script" in
    *.envsh) echo "stand-in nginx: sourcing $script"; . "$script" ;;
    *.sh) echo "stand-in nginx: running $script"; "$script" ;;
  esac
done

defined="$(env | cut -d= -f1 | sed 's/^/${/; s/$/}/' | tr '\n' ' ')"
for template in /etc/nginx/templates/*.template; do
  [ -f "$template" ] || continue
  output="/etc/nginx/conf.d/$(basename "$template" .template)"
  envsubst "$defined" < "$template" > "$output"
  echo "stand-in nginx: $template -> $output"
done
exec "$@"
