#!/bin/sh
# Start the promptpix responders: spawn-fcgi makes the socket and starts
# ONE promptpix, which forks [server] processes children on it and
# supervises them (never spawn-fcgi's -F: it starts independent copies
# whose stderr is lost and whose /metrics each count alone).
#
# conf/promptpix.service runs this script with FOREGROUND=1 (systemd
# supervises it, the journal gets the log). By hand it starts the same
# in the background, the log in LOG, the supervisor's PID in a file
# beside the socket; stop it with
#   kill "$(cat /run/promptpix/promptpix.pid)"
# (the supervisor passes SIGTERM on and exits when its children have).
#
#   SOCKET      the unix socket        (default /run/promptpix/promptpix.sock)
#   CONF        the configuration      (default /etc/promptpix/promptpix.conf)
#   PROMPTPIX   the program            (default /usr/local/bin/promptpix)
#   RUN_AS      the service's account  (default promptpix)
#   WEB_GROUP   the web server's group, which may use the socket
#               (default www-data)
#   FOREGROUND  1: run in the foreground, for systemd (default 0)
#   LOG         the log in the background (default /var/log/promptpix.log)
set -eu
: "${SOCKET:=/run/promptpix/promptpix.sock}"
: "${CONF:=/etc/promptpix/promptpix.conf}"
: "${PROMPTPIX:=/usr/local/bin/promptpix}"
: "${RUN_AS:=promptpix}"
: "${WEB_GROUP:=www-data}"
: "${FOREGROUND:=0}"
: "${LOG:=/var/log/promptpix.log}"
dir=$(dirname "$SOCKET")
mkdir -p "$dir"
# -n: spawn-fcgi makes the socket and becomes promptpix, whose stderr
# is ours (spawn-fcgi's own fork would send it to /dev/null). -b: a
# burst of connects waits in the backlog until a request thread takes
# it (the kernel caps it at net.core.somaxconn). The socket is the web server's
# group's (0660), and nobody else's.
set -- spawn-fcgi -n -s "$SOCKET" -b 4096 -M 0660 \
    -U "$RUN_AS" -G "$WEB_GROUP" -u "$RUN_AS" -g "$RUN_AS" \
    -- "$PROMPTPIX" -c "$CONF"
if [ "$FOREGROUND" = 1 ]; then
	exec "$@"
fi
# In the background, in a session of its own (no terminal's hangup or
# Ctrl-C reaches it). The PID written is the one that becomes
# spawn-fcgi and then promptpix's supervisor.
pidfile="$dir/promptpix.pid"
rm -f "$pidfile"
setsid sh -c 'echo $$ > "$0"; exec "$@"' "$pidfile" "$@" \
    </dev/null >>"$LOG" 2>&1 &
n=0
while [ ! -s "$pidfile" ]; do
	n=$((n + 1))
	[ "$n" -le 50 ] || { echo "promptpix: did not start; see $LOG" >&2; exit 1; }
	sleep 0.1
done
echo "promptpix: started, PID $(cat "$pidfile") in $pidfile, log in $LOG"
