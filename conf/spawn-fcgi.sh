#!/bin/sh
# Start the promptpix responders: spawn-fcgi makes the socket and starts
# ONE promptpix, which forks [server] processes children on it and
# supervises them (never spawn-fcgi's -F: it starts independent copies
# whose stderr is lost and whose /metrics each count alone).
#
# conf/promptpix.service runs this script with FOREGROUND=1 (systemd
# supervises it, the journal gets the log). By hand it runs in the
# background, its PID file beside the socket; stop it with
#   kill "$(cat /run/promptpix/promptpix.pid)"
# (the supervisor passes SIGTERM on and exits when its children have).
#
#   SOCKET      the unix socket        (default /run/promptpix/promptpix.sock)
#   CONF        the configuration      (default /etc/promptpix/promptpix.conf)
#   PROMPTPIX   the program            (default /usr/local/bin/promptpix)
#   RUN_AS      the service's account  (default promptpix)
#   WEB_GROUP   the web server's group, which may use the socket
#               (default www-data)
#   FOREGROUND  1: no fork, for systemd (default 0)
set -eu
: "${SOCKET:=/run/promptpix/promptpix.sock}"
: "${CONF:=/etc/promptpix/promptpix.conf}"
: "${PROMPTPIX:=/usr/local/bin/promptpix}"
: "${RUN_AS:=promptpix}"
: "${WEB_GROUP:=www-data}"
: "${FOREGROUND:=0}"
dir=$(dirname "$SOCKET")
mkdir -p "$dir"
if [ "$FOREGROUND" = 1 ]; then
	mode=-n
else
	mode="-P $dir/promptpix.pid"
fi
# -b: clients beyond the request threads wait in the backlog (the
# kernel caps it at net.core.somaxconn). The socket is the web
# server's group's (0660), and nobody else's.
# shellcheck disable=SC2086
exec spawn-fcgi $mode -s "$SOCKET" -b 4096 -M 0660 \
    -U "$RUN_AS" -G "$WEB_GROUP" -u "$RUN_AS" -g "$RUN_AS" \
    -- "$PROMPTPIX" -c "$CONF"
