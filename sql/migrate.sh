#!/bin/sh
# Apply the numbered migrations in this directory that the database has
# not seen yet, recording each in schema_version. Safe to run again.
#
#   sql/migrate.sh [mysql client options] DATABASE
#
# Pass credentials the client's usual ways (an option file with
# --defaults-extra-file, or MYSQL_PWD), never on the command line.
set -eu
dir=$(dirname "$0")
client=$(command -v mariadb || command -v mysql)

"$client" "$@" -e "CREATE TABLE IF NOT EXISTS schema_version (
  version    INT          NOT NULL PRIMARY KEY,
  name       VARCHAR(100) NOT NULL,
  applied_at DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
) ENGINE=InnoDB"

for f in "$dir"/[0-9][0-9][0-9]_*.sql; do
	name=$(basename "$f")
	version=$(echo "$name" | cut -c1-3 | sed 's/^0*//')
	seen=$("$client" "$@" -N -B -e \
	    "SELECT COUNT(*) FROM schema_version WHERE version = $version")
	[ "$seen" = 0 ] || continue
	"$client" "$@" < "$f"
	"$client" "$@" -e \
	    "INSERT INTO schema_version (version, name) VALUES ($version, '$name')"
	echo "applied $name"
done
