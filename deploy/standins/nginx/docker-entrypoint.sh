#!/bin/sh
# The official nginx image's entrypoint contract (templates and local resolvers), for the
# Debian stand-in.
set -eu
case "${1:-}" in nginx | nginx-debug) ;; *) exec "$@" ;; esac

if [ -n "${NGINX_ENTRYPOINT_LOCAL_RESOLVERS:-}" ]; then
  NGINX_LOCAL_RESOLVERS="$(awk 'BEGIN { ORS = " " } $1 == "nameserver" {
    print ($2 ~ ":" ? "[" $2 "]" : $2) }' /etc/resolv.conf)"
  export NGINX_LOCAL_RESOLVERS
fi
# Only variables that are set are filled in, so nginx's own ($host, ...) stay as they are.
defined="$(env | cut -d= -f1 | sed 's/^/${/; s/$/}/' | tr '\n' ' ')"
for template in /etc/nginx/templates/*.template; do
  [ -f "$template" ] || continue
  output="/etc/nginx/conf.d/$(basename "$template" .template)"
  envsubst "$defined" < "$template" > "$output"
  echo "stand-in nginx: $template -> $output"
done
exec "$@"
