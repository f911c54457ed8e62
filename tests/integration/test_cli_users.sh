#!/usr/bin/env bash
# test_cli_users.sh - `sluice user`, `sluice token` and `sluice key` against a
# throwaway PostgreSQL: accounts, password hashing, the last-admin guard,
# API tokens (hash and prefix stored, never the token), the audit trail,
# and the secret key file.
# shellcheck source-path=SCRIPTDIR disable=SC2016 # ('$argon2id$' is literal)
set -euo pipefail
# shellcheck source=../lib/harness.sh
. "$(dirname "$0")/../lib/harness.sh"

h_tmpdir > /dev/null
h_pg_start
h_migrate > "$H_LOG/migrate.log" 2>&1 || { cat "$H_LOG/migrate.log" >&2; exit 1; }

# SLUICE_BIN picks another build of the binary (e.g. an ASan one).
SLUICE=${SLUICE_BIN:-$H_ROOT/bin/sluice}
OUT=$H_TMP/out
ERR=$H_TMP/err
RC=0
# sl ARGS...: run bin/sluice on the test database; stdin is inherited (give
# input with <<<, not a pipe: a pipeline would run sl in a subshell and lose
# RC). Sets RC; stdout in $OUT, stderr in $ERR.
sl() {
    RC=0
    SLUICE_DATABASE_URL=$H_DATABASE_URL SLUICE_VAR=$H_VAR SLUICE_SHARE_DIR=$H_ROOT \
        "$SLUICE" "$@" > "$OUT" 2> "$ERR" || RC=$?
}
out() { cat "$OUT"; }
err() { cat "$ERR"; }
q() { h_psql "$1"; }

UUID_RE='^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
PW='Corr3ct-horse-battery'
PW2='An0ther-long-secret'

# --- help and usage errors ---------------------------------------------------------

sl user --help < /dev/null
assert_eq "user --help exits 0" 0 "$RC"
assert_contains "user --help lists set-role" "$(out)" "set-role"
sl user add --help < /dev/null
assert_eq "user add --help exits 0" 0 "$RC"
assert_contains "user add --help shows usage" "$(out)" "usage: sluice user add --email E"
sl user < /dev/null
assert_eq "user without a command is a usage error" 2 "$RC"
sl user frobnicate < /dev/null
assert_eq "unknown user command exits 2" 2 "$RC"
sl user add --email a@example.com --role admin --bogus < /dev/null
assert_eq "unknown option exits 2" 2 "$RC"
assert_contains "unknown option is named" "$(err)" "sluice user add: unknown option '--bogus'"
sl user add --email 'not an email' --role admin < /dev/null
assert_eq "bad email exits 2" 2 "$RC"
sl user add --email a@example.com --role boss < /dev/null
assert_eq "bad role exits 2" 2 "$RC"
assert_contains "bad role message" "$(err)" "--role must be admin, editor or viewer"
sl user add --role admin < /dev/null
assert_eq "missing --email exits 2" 2 "$RC"
sl token create --help < /dev/null
assert_eq "token create --help exits 0" 0 "$RC"
sl token revoke --id not-a-uuid < /dev/null
assert_eq "token revoke with a malformed id exits 2" 2 "$RC"
sl key create --help < /dev/null
assert_eq "key create --help exits 0" 0 "$RC"

RC=0
env -u SLUICE_DATABASE_URL SLUICE_VAR="$H_VAR" "$SLUICE" user list \
    > "$OUT" 2> "$ERR" < /dev/null || RC=$?
assert_eq "no database_url exits 1" 1 "$RC"
assert_contains "no database_url says so" "$(err)" \
    "sluice user list: database_url is not set (set SLUICE_DATABASE_URL"

# --- user add ---------------------------------------------------------------------------

sl user add --email Admin@Example.com --role admin --name "Ada Admin" <<< "$PW"
assert_eq "user add exits 0" 0 "$RC"
ADMIN_ID=$(out)
assert_true "user add prints a uuid" grep -Eq "$UUID_RE" "$OUT"
assert_eq "the row has that id, name and role" "Admin@Example.com|Ada Admin|admin|true" \
    "$(q "SELECT email || '|' || name || '|' || role || '|' || active FROM sluice.users
          WHERE id = '$ADMIN_ID'")"
assert_eq "the stored hash is argon2id" '$argon2id$' \
    "$(q "SELECT substr(password_hash, 1, 10) FROM sluice.users WHERE id = '$ADMIN_ID'")"

sl user add --email admin@EXAMPLE.com --role viewer <<< "$PW2"
assert_eq "a duplicate email (other case) exits 1" 1 "$RC"
assert_contains "a duplicate is explained" "$(err)" \
    "sluice user add: a user with email admin@EXAMPLE.com already exists"
assert_eq "no second user" 1 "$(q "SELECT count(*) FROM sluice.users")"

HASH_BEFORE=$(q "SELECT password_hash FROM sluice.users WHERE id = '$ADMIN_ID'")
sl user add --email admin@example.com --role viewer --if-missing < /dev/null
assert_eq "--if-missing on an existing user exits 0 without stdin" 0 "$RC"
assert_eq "--if-missing prints the existing id" "$ADMIN_ID" "$(out)"
assert_eq "--if-missing changed nothing" "admin|$HASH_BEFORE|1" \
    "$(q "SELECT role || '|' || password_hash || '|' || (SELECT count(*) FROM sluice.users)
          FROM sluice.users WHERE id = '$ADMIN_ID'")"

sl user add --email shorty@example.com --role viewer <<< short
assert_eq "a short password exits 1" 1 "$RC"
assert_contains "a short password is explained" "$(err)" "at least 8 characters"
sl user add --email shorty@example.com --role viewer <<< 'äöüäöüä'
assert_eq "7 characters in 14 bytes are still too short" 1 "$RC"
sl user add --email shorty@example.com --role viewer <<< $'abcdefgh\xff'
assert_eq "a password that is not UTF-8 exits 1" 1 "$RC"
assert_contains "and is explained" "$(err)" "not valid UTF-8"
sl user add --email nopw@example.com --role viewer < /dev/null
assert_eq "no password on stdin exits 1" 1 "$RC"
assert_contains "no password is explained" "$(err)" "no password given"
assert_eq "neither was created" 0 \
    "$(q "SELECT count(*) FROM sluice.users WHERE email IN ('shorty@example.com',
          'nopw@example.com')")"

sl user add --email ed@example.com --role editor --if-missing <<< "$PW2"$'\r'
assert_eq "--if-missing on a new user creates it" 0 "$RC"
ED_ID=$(out)
assert_true "the new editor has a uuid" grep -Eq "$UUID_RE" "$OUT"

# The password is stored nowhere, in any form a dump shows.
"$H_PG_BIN/pg_dump" -d "$H_DATABASE_URL" > "$H_TMP/dump.sql"
assert_true "the dump has the users (sanity)" grep -q "Admin@Example.com" "$H_TMP/dump.sql"
assert_eq "the password is nowhere in the database" 0 \
    "$(grep -c -F -e "$PW" -e "$PW2" "$H_TMP/dump.sql" || true)"

# A password given on a terminal: prompted twice, not echoed. The lines are
# fed after a pause, the way a person types them after the prompt.
tty_feed() { sleep 1; printf '%s\n' "$1"; sleep 0.5; printf '%s\n' "$2"; sleep 1; }
tty_add() {
    tty_feed "$2" "$3" | SLUICE_DATABASE_URL=$H_DATABASE_URL SLUICE_VAR=$H_VAR \
        script -qec "$SLUICE user add --email $1 --role viewer" /dev/null \
        > "$H_TMP/tty.out" 2>&1 || true
}
if command -v script > /dev/null; then
    tty_add tty@example.com "$PW" "$PW"
    assert_contains "a terminal is prompted for the password" "$(cat "$H_TMP/tty.out")" \
        "Password for tty@example.com:"
    assert_contains "and asked to repeat it" "$(cat "$H_TMP/tty.out")" "Repeat the password:"
    assert_eq "the terminal did not echo the password" 0 \
        "$(grep -c -F "$PW" "$H_TMP/tty.out" || true)"
    assert_eq "the terminal user was created" 1 \
        "$(q "SELECT count(*) FROM sluice.users WHERE email = 'tty@example.com'")"
    tty_add tty2@example.com "$PW" "$PW2"
    assert_contains "mismatched terminal passwords are refused" "$(cat "$H_TMP/tty.out")" \
        "do not match"
    assert_eq "no user from mismatched passwords" 0 \
        "$(q "SELECT count(*) FROM sluice.users WHERE email = 'tty2@example.com'")"
else
    h_log "SKIP terminal prompt tests: no script(1)"
fi

# The stored hashes verify against exactly the passwords given (a trailing
# CR LF stripped), checked with libsodium itself.
cat > "$H_TMP/pwcheck.c" <<'EOF_C'
#include <sodium.h>
#include <string.h>
int main(int argc, char **argv)
{
    if (argc != 3 || sodium_init() < 0)
        return 2;
    return crypto_pwhash_str_verify(argv[1], argv[2], strlen(argv[2])) == 0 ? 0 : 1;
}
EOF_C
cc -o "$H_TMP/pwcheck" "$H_TMP/pwcheck.c" -lsodium
pw_ok() { "$H_TMP/pwcheck" "$(q "SELECT password_hash FROM sluice.users WHERE id = '$1'")" "$2"; }
sl user add --email umlaut@example.com --role viewer <<< 'pässwörd'
assert_eq "8 characters in 10 bytes are long enough" 0 "$RC"
assert_true "the multi-byte password verifies" pw_ok "$(out)" 'pässwörd'
assert_true "the admin's hash verifies the password" pw_ok "$ADMIN_ID" "$PW"
assert_true "the editor's hash verifies the password without the CR" pw_ok "$ED_ID" "$PW2"
assert_true "a wrong password does not verify (sanity)" eval "! pw_ok $ADMIN_ID '${PW}x'"
if command -v script > /dev/null; then
    TTY_ID=$(q "SELECT id FROM sluice.users WHERE email = 'tty@example.com'")
    assert_true "the terminal user's hash verifies the password" pw_ok "$TTY_ID" "$PW"
fi

# --- user list --------------------------------------------------------------------------

q "UPDATE sluice.users SET last_login_at = '2026-03-04 05:06:07+00' WHERE id = '$ED_ID'" \
    > /dev/null
sl user list < /dev/null
assert_eq "user list exits 0" 0 "$RC"
assert_contains "list has the header" "$(head -n 1 "$OUT")" "EMAIL"
assert_contains "list shows the admin" "$(grep Admin@Example.com "$OUT")" "Ada Admin"
ADMIN_LINE=$(grep Admin@Example.com "$OUT")
ED_LINE=$(grep ed@example.com "$OUT")
assert_contains "list shows role and active" "$ADMIN_LINE" "admin"
assert_contains "list shows never logged in" "$ADMIN_LINE" "never"
assert_contains "list shows the last login" "$ED_LINE" "2026-03-04 05:06Z"
HEADER=$(head -n 1 "$OUT")
hdr_pos=${HEADER%%ROLE*}
row_pos=${ADMIN_LINE%%admin*}
assert_eq "columns are aligned (ROLE over admin)" "${#hdr_pos}" "${#row_pos}"
hdr_pos=${HEADER%%LAST LOGIN*}
row_pos=${ED_LINE%%2026-03-04*}
assert_eq "columns are aligned (LAST LOGIN)" "${#hdr_pos}" "${#row_pos}"

# --- set-role and the last admin --------------------------------------------------------

sl user set-role --email admin@example.com --role editor < /dev/null
assert_eq "demoting the last admin exits 1" 1 "$RC"
assert_contains "demoting the last admin is explained" "$(err)" "last active admin"
assert_eq "the last admin is still admin" admin \
    "$(q "SELECT role FROM sluice.users WHERE id = '$ADMIN_ID'")"
sl user deactivate --email admin@example.com < /dev/null
assert_eq "deactivating the last admin exits 1" 1 "$RC"
assert_eq "the last admin is still active" t \
    "$(q "SELECT active FROM sluice.users WHERE id = '$ADMIN_ID'")"

sl user set-role --email ED@example.com --role admin < /dev/null
assert_eq "promoting the editor exits 0" 0 "$RC"
assert_eq "the editor is admin now" admin \
    "$(q "SELECT role FROM sluice.users WHERE id = '$ED_ID'")"
sl user set-role --email admin@example.com --role viewer < /dev/null
assert_eq "with another admin, demoting works" 0 "$RC"
assert_eq "the first admin is viewer now" viewer \
    "$(q "SELECT role FROM sluice.users WHERE id = '$ADMIN_ID'")"
sl user set-role --email admin@example.com --role viewer < /dev/null
assert_eq "setting the same role again exits 0" 0 "$RC"
assert_contains "and says nothing changed" "$(out)" "nothing changed"
sl user set-role --email nobody@example.com --role viewer < /dev/null
assert_eq "set-role on an unknown user exits 1" 1 "$RC"
assert_contains "unknown user is explained" "$(err)" \
    "sluice user set-role: no user with email nobody@example.com"

# --- set-password -----------------------------------------------------------------------

q "INSERT INTO sluice.sessions (token_hash, user_id, csrf_token, expires_at)
   VALUES (decode(md5('s1'), 'hex'), '$ADMIN_ID', 'c', now() + interval '1 hour'),
          (decode(md5('s2'), 'hex'), '$ADMIN_ID', 'c', now() + interval '1 hour'),
          (decode(md5('s3'), 'hex'), '$ED_ID', 'c', now() + interval '1 hour')" > /dev/null
sl user set-password --email admin@example.com <<< tiny
assert_eq "set-password with a short password exits 1" 1 "$RC"
assert_eq "the hash is unchanged after a refusal" "$HASH_BEFORE" \
    "$(q "SELECT password_hash FROM sluice.users WHERE id = '$ADMIN_ID'")"
sl user set-password --email admin@example.com <<< "Thi3d-password-here"
assert_eq "set-password exits 0" 0 "$RC"
assert_contains "set-password reports ended sessions" "$(out)" "2 sessions ended"
HASH_AFTER=$(q "SELECT password_hash FROM sluice.users WHERE id = '$ADMIN_ID'")
assert_true "set-password stored a new hash" test "$HASH_AFTER" != "$HASH_BEFORE"
assert_true "the new password verifies" pw_ok "$ADMIN_ID" "Thi3d-password-here"
assert_true "the old one no longer does" eval "! pw_ok $ADMIN_ID '$PW'"
assert_eq "the new hash is argon2id" '$argon2id$' "${HASH_AFTER:0:10}"
assert_eq "the user's sessions are gone, others stay" "0|1" \
    "$(q "SELECT (SELECT count(*) FROM sluice.sessions WHERE user_id = '$ADMIN_ID') || '|' ||
          (SELECT count(*) FROM sluice.sessions WHERE user_id = '$ED_ID')")"

# --- deactivate / activate --------------------------------------------------------------

sl user deactivate --email admin@example.com < /dev/null
assert_eq "deactivating a non-last user exits 0" 0 "$RC"
assert_eq "the user is inactive" f "$(q "SELECT active FROM sluice.users WHERE id = '$ADMIN_ID'")"
sl user deactivate --email ed@example.com < /dev/null
assert_eq "deactivating the remaining admin exits 1" 1 "$RC"
assert_eq "ed's session survived the refusal" 1 \
    "$(q "SELECT count(*) FROM sluice.sessions WHERE user_id = '$ED_ID'")"

# --- tokens -----------------------------------------------------------------------------

sl token create --email admin@example.com --name ci < /dev/null
assert_eq "no token for a deactivated user" 1 "$RC"
assert_contains "the deactivated user is named" "$(err)" "deactivated"
sl user activate --email admin@example.com < /dev/null
assert_eq "activate exits 0" 0 "$RC"
assert_eq "the user is active again" t \
    "$(q "SELECT active FROM sluice.users WHERE id = '$ADMIN_ID'")"

sl token create --email admin@example.com --name "nightly export" < /dev/null
assert_eq "token create exits 0" 0 "$RC"
TOKEN=$(out)
assert_eq "token create prints exactly one line" 1 "$(wc -l < "$OUT")"
assert_true "the token is slu_ + base64url of 32 bytes" \
    grep -Eq '^slu_[A-Za-z0-9_-]{43}$' "$OUT"
TOKEN_SHA=$(printf '%s' "$TOKEN" | sha256sum | cut -d' ' -f1)
assert_eq "the stored hash is the sha256 of the whole token" "$TOKEN_SHA" \
    "$(q "SELECT encode(token_hash, 'hex') FROM sluice.api_tokens WHERE name = 'nightly export'")"
assert_eq "the stored prefix is the first 12 characters" "${TOKEN:0:12}" \
    "$(q "SELECT prefix FROM sluice.api_tokens WHERE name = 'nightly export'")"
assert_eq "the token belongs to the user and does not expire" "$ADMIN_ID|true" \
    "$(q "SELECT user_id || '|' || (expires_at IS NULL) FROM sluice.api_tokens
          WHERE name = 'nightly export'")"
TOKEN_ID=$(q "SELECT id FROM sluice.api_tokens WHERE name = 'nightly export'")

sl token create --email ed@example.com --name short-lived --expires-days 7 < /dev/null
assert_eq "token create with --expires-days exits 0" 0 "$RC"
TOKEN2=$(out)
assert_eq "it expires in 7 days" 7 \
    "$(q "SELECT round(extract(epoch FROM expires_at - now()) / 86400)
          FROM sluice.api_tokens WHERE name = 'short-lived'")"
sl token create --email ed@example.com --name x --expires-days 0 < /dev/null
assert_eq "--expires-days 0 is a usage error" 2 "$RC"
sl token create --email nobody@example.com --name x < /dev/null
assert_eq "token create for an unknown user exits 1" 1 "$RC"

sl token list < /dev/null
assert_eq "token list exits 0" 0 "$RC"
assert_contains "token list shows the prefix" "$(grep "$TOKEN_ID" "$OUT")" "${TOKEN:0:12}"
assert_contains "token list shows it active" "$(grep "$TOKEN_ID" "$OUT")" "active"
assert_eq "token list shows no token" 0 "$(grep -c -F -e "$TOKEN" -e "$TOKEN2" "$OUT" || true)"
sl token list --email ed@example.com < /dev/null
assert_eq "token list --email shows only that user's tokens" "0|1" \
    "$(grep -c nightly "$OUT" || true)|$(grep -c short-lived "$OUT" || true)"

sl token revoke --id "$TOKEN_ID" < /dev/null
assert_eq "token revoke exits 0" 0 "$RC"
assert_eq "revoke sets revoked_at" t \
    "$(q "SELECT revoked_at IS NOT NULL FROM sluice.api_tokens WHERE id = '$TOKEN_ID'")"
REVOKED_AT=$(q "SELECT revoked_at FROM sluice.api_tokens WHERE id = '$TOKEN_ID'")
sl token revoke --id "$TOKEN_ID" < /dev/null
assert_eq "revoking again exits 0" 0 "$RC"
assert_contains "revoking again says so" "$(out)" "already revoked"
assert_eq "revoking again keeps revoked_at" "$REVOKED_AT" \
    "$(q "SELECT revoked_at FROM sluice.api_tokens WHERE id = '$TOKEN_ID'")"
sl token revoke --id 00000000-0000-4000-8000-000000000000 < /dev/null
assert_eq "revoking an unknown token exits 1" 1 "$RC"
sl token list < /dev/null
assert_contains "token list shows it revoked" "$(grep "$TOKEN_ID" "$OUT")" "revoked"

"$H_PG_BIN/pg_dump" -d "$H_DATABASE_URL" > "$H_TMP/dump.sql"
assert_eq "no token is stored anywhere in the database" 0 \
    "$(grep -c -F -e "$TOKEN" -e "$TOKEN2" "$H_TMP/dump.sql" || true)"

# --- the audit trail --------------------------------------------------------------------

audit() {
    q "SELECT count(*) FROM sluice.audit_log WHERE action = '$1' AND object_id = '$2'
       AND actor_id IS NULL AND actor_email = 'cli'"
}
assert_eq "audit: user.create for the admin" 1 "$(audit user.create "$ADMIN_ID")"
assert_eq "audit: user.create details" '{"role": "admin", "email": "Admin@Example.com"}' \
    "$(q "SELECT details FROM sluice.audit_log WHERE action = 'user.create'
          AND object_id = '$ADMIN_ID'")"
assert_eq "audit: user.create for the editor" 1 "$(audit user.create "$ED_ID")"
assert_eq "audit: user.update x2 (promote ed, demote admin)" "1|1" \
    "$(audit user.update "$ED_ID")|$(audit user.update "$ADMIN_ID")"
assert_eq "audit: a role change records before and after" "admin>viewer" \
    "$(q "SELECT details#>>'{before,role}' || '>' || (details#>>'{after,role}')
          FROM sluice.audit_log WHERE action = 'user.update' AND object_id = '$ADMIN_ID'")"
assert_eq "audit: refusals and no-op changes wrote nothing" 2 \
    "$(q "SELECT count(*) FROM sluice.audit_log WHERE action = 'user.update'")"
assert_eq "audit: user.password_reset" 1 "$(audit user.password_reset "$ADMIN_ID")"
assert_eq "audit: user.deactivate and user.activate" "1|1" \
    "$(audit user.deactivate "$ADMIN_ID")|$(audit user.activate "$ADMIN_ID")"
assert_eq "audit: token.create x2" 2 \
    "$(q "SELECT count(*) FROM sluice.audit_log WHERE action = 'token.create'")"
assert_eq "audit: token.create names the prefix" "${TOKEN:0:12}|nightly export" \
    "$(q "SELECT details->>'prefix' || '|' || (details->>'name') FROM sluice.audit_log
          WHERE action = 'token.create' AND object_id = '$TOKEN_ID'")"
assert_eq "audit: token.revoke once" 1 "$(audit token.revoke "$TOKEN_ID")"
q "SELECT coalesce(details::text, '') FROM sluice.audit_log" > "$H_TMP/audit.txt"
assert_eq "audit: no password or token in any details" 0 \
    "$(grep -c -F -e "$PW" -e "$PW2" -e "Thi3d-password-here" -e "$TOKEN" -e "$TOKEN2" \
        -e argon2 "$H_TMP/audit.txt" || true)"

# Two admins demoting each other at the same moment: the row locks let exactly
# one of them through, every time (two user.update rows exist before this).
race_ok=0
for round in 1 2 3 4 5; do
    q "UPDATE sluice.users SET role = 'admin' WHERE id IN ('$ADMIN_ID', '$ED_ID')" > /dev/null
    SLUICE_DATABASE_URL=$H_DATABASE_URL "$SLUICE" user set-role --email admin@example.com \
        --role viewer > /dev/null 2>&1 < /dev/null &
    p1=$!
    SLUICE_DATABASE_URL=$H_DATABASE_URL "$SLUICE" user set-role --email ed@example.com \
        --role viewer > /dev/null 2>&1 < /dev/null &
    p2=$!
    rc1=0 rc2=0
    wait "$p1" || rc1=$?
    wait "$p2" || rc2=$?
    admins=$(q "SELECT count(*) FROM sluice.users WHERE role = 'admin' AND active")
    if [ "$admins" = 1 ] && [ $((rc1 + rc2)) = 1 ]; then
        race_ok=$((race_ok + 1))
    else
        h_log "round $round: $admins admins left, exit statuses $rc1 and $rc2"
    fi
done
assert_eq "concurrent demotions leave exactly one admin (5 rounds)" 5 "$race_ok"
assert_eq "one audit row per successful demotion" 7 \
    "$(q "SELECT count(*) FROM sluice.audit_log WHERE action = 'user.update'")"

# --- key create -------------------------------------------------------------------------

KEY=$H_VAR/secret.key
rm -f "$KEY"
sl key create < /dev/null
assert_eq "key create exits 0" 0 "$RC"
assert_contains "key create says it created the file" "$(out)" "created secret key file $KEY"
assert_eq "the key file is mode 600" 600 "$(stat -c %a "$KEY")"
assert_true "the key file holds 64 hex characters" grep -Eqx '[0-9a-f]{64}' "$KEY"
KEY_SUM=$(sha256sum < "$KEY")
sl key create < /dev/null
assert_eq "a second key create exits 0" 0 "$RC"
assert_contains "a second key create says it exists" "$(out)" "already exists"
assert_eq "the key file is unchanged" "$KEY_SUM" "$(sha256sum < "$KEY")"
assert_eq "the key file is still mode 600" 600 "$(stat -c %a "$KEY")"
assert_eq "the key is never printed" 0 "$(grep -c -F -f "$KEY" "$OUT" || true)"

sl key create --file "$H_TMP/other.key" < /dev/null
assert_eq "key create --file exits 0" 0 "$RC"
assert_eq "--file makes a 600 file there" 600 "$(stat -c %a "$H_TMP/other.key")"
chmod 644 "$H_TMP/other.key"
sl key create --file "$H_TMP/other.key" < /dev/null
assert_eq "an existing key readable by others is reported (exit 1)" 1 "$RC"
assert_contains "and the fix is named" "$(err)" "chmod 600"
sl key create --file "$H_TMP/no/such/dir/k" < /dev/null
assert_eq "key create in a missing directory exits 1" 1 "$RC"

h_done
