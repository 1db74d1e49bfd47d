#!/bin/sh
# Start the promptpix responders by hand (the systemd unit does the same).
#   PROCESSES  responder processes        (default 2)
#   SOCKET     unix socket for the server (default /run/promptpix/promptpix.sock)
#   CONF       configuration file         (default /etc/promptpix/promptpix.conf)
#   USER       account to run as          (default www-data)
set -eu
: "${PROCESSES:=2}" "${SOCKET:=/run/promptpix/promptpix.sock}"
: "${CONF:=/etc/promptpix/promptpix.conf}" "${USER:=www-data}"
mkdir -p "$(dirname "$SOCKET")"
exec spawn-fcgi -s "$SOCKET" -b 4096 -M 0660 -U "$USER" -G "$USER" -u "$USER" \
    -F "$PROCESSES" -P /run/promptpix/promptpix.pid \
    -- /usr/local/bin/promptpix -c "$CONF"
