#!/bin/sh
# The steps of docs/install-vps.md and docs/install-apache.md after
# `make install` or the Debian package, one per argument, as root, in
# this order (installed as PREFIX/share/promptpix/setup.sh):
#
#   sh conf/setup.sh user database check unit nginx   # nginx
#   sh conf/setup.sh user database check unit apache  # the Apache vhost
#
#   user      the service's account, promptpix (no login, no home)
#   database  the database promptpix and its user: the service's account
#             over the local socket (unix_socket: no password at all),
#             with the rights the service needs; then the migrations
#   check     promptpix -t as the service's user: config, store,
#             database, schema (exits 1 with the reason)
#   unit      enable and start conf/promptpix.service
#   nginx     enable the site /etc/nginx/sites-available/promptpix
#             (copied there from PREFIX/share/promptpix/nginx/ when it
#             is missing: the package ships it only there), disable
#             Debian's default site, reload nginx
#   apache    the same for the vhost and Apache
#
# tests/e2e/test_deploy.py runs these steps against a private MariaDB
# and a DESTDIR (with systemctl, nginx and a2en* noting their calls);
# what they change is named by the variables below, and nothing else
# differs.
set -eu
: "${PREFIX:=/usr/local}"          # as make install PREFIX=
: "${DESTDIR:=}"                   # as make install DESTDIR= (tests)
: "${RUN_AS:=promptpix}"           # the service's account
: "${DB_NAME:=promptpix}"
: "${DB_ADMIN:=}"                  # client options of the admin (root)
: "${CONF:=$DESTDIR/etc/promptpix/promptpix.conf}"
client=$(command -v mariadb || command -v mysql || echo mariadb)

for step in "$@"; do
	case $step in
	user)
		id -u "$RUN_AS" >/dev/null 2>&1 ||
		    useradd --system --user-group --no-create-home \
		    --home-dir /var/lib/promptpix --shell /usr/sbin/nologin \
		    "$RUN_AS"
		;;
	database)
		# shellcheck disable=SC2086
		"$client" $DB_ADMIN -e "
		    CREATE DATABASE IF NOT EXISTS \`$DB_NAME\`
		      CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
		    CREATE USER IF NOT EXISTS '$RUN_AS'@'localhost'
		      IDENTIFIED VIA unix_socket;
		    GRANT SELECT, INSERT, UPDATE, DELETE, EXECUTE
		      ON \`$DB_NAME\`.* TO '$RUN_AS'@'localhost';"
		# shellcheck disable=SC2086
		sh "$DESTDIR$PREFIX/share/promptpix/sql/migrate.sh" $DB_ADMIN \
		    "$DB_NAME"
		;;
	check)
		runuser -u "$RUN_AS" -- "$DESTDIR$PREFIX/bin/promptpix" -t \
		    -c "$CONF"
		;;
	unit)
		systemctl daemon-reload
		systemctl enable --now promptpix
		;;
	nginx)
		[ -e "$DESTDIR/etc/nginx/sites-available/promptpix" ] ||
		    install -m 0644 "$DESTDIR$PREFIX/share/promptpix/nginx/promptpix.conf" \
		    "$DESTDIR/etc/nginx/sites-available/promptpix"
		mkdir -p "$DESTDIR/etc/nginx/sites-enabled"
		ln -sf "$DESTDIR/etc/nginx/sites-available/promptpix" \
		    "$DESTDIR/etc/nginx/sites-enabled/promptpix"
		rm -f "$DESTDIR/etc/nginx/sites-enabled/default"
		nginx -t
		systemctl reload nginx
		;;
	apache)
		[ -e "$DESTDIR/etc/apache2/sites-available/promptpix.conf" ] ||
		    install -m 0644 "$DESTDIR$PREFIX/share/promptpix/apache/promptpix.conf" \
		    "$DESTDIR/etc/apache2/sites-available/promptpix.conf"
		a2enmod rewrite proxy proxy_fcgi headers
		a2dissite 000-default
		a2ensite promptpix
		apachectl configtest
		systemctl reload apache2
		;;
	*)
		echo "setup.sh: no step $step" >&2
		exit 2
		;;
	esac
done
