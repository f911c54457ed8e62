#!/bin/sh
# cron-entrypoint.sh - start cron in the `cron` container of compose.yaml.
#
# cron gives its jobs no environment, so the container's SLUICE_* settings
# are written to /etc/sluice/sluice.conf (readable by the sluice user only),
# which /etc/cron.d/sluice points `sluice tick` at with SLUICE_CONFIG. Runs as
# root (cron must); the job itself runs as `sluice` and its log, appended to
# /var/log/sluice/tick.log, is copied to the container's output.
set -eu

conf=/etc/sluice/sluice.conf
umask 027
{
    echo "# written by cron-entrypoint.sh at container start"
    echo "database_url = ${SLUICE_DATABASE_URL:?SLUICE_DATABASE_URL is not set}"
    echo "var_dir = ${SLUICE_VAR:-/var/lib/sluice}"
    echo "share_dir = ${SLUICE_SHARE_DIR:-/usr/local/share/sluice}"
    echo "log_level = ${SLUICE_LOG_LEVEL:-info}"
    echo "base_url = ${SLUICE_BASE_URL:-http://localhost:8080}"
    if [ -n "${SLUICE_SECRET_KEY_FILE:-}" ]; then
        echo "secret_key_file = $SLUICE_SECRET_KEY_FILE"
    fi
} > "$conf.tmp"
chown root:sluice "$conf.tmp"
chmod 0640 "$conf.tmp"
mv "$conf.tmp" "$conf"

# The job appends to tick.log; show it as the container's output
# (docker compose logs cron). The file starts empty with each container.
log=/var/log/sluice/tick.log
: > "$log"
chown sluice:sluice "$log"
tail -n 0 -F "$log" &

exec cron -f
