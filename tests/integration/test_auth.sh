#!/usr/bin/env bash
# test_auth.sh - the console's security foundation through nginx with curl:
# the sign-in redirect, the login form's CSRF cookie, session cookies and
# their flags (Secure behind TLS), "keep me signed in", wrong passwords,
# throttling by email and by address (and nginx's own limit_req in front),
# sign-out, absolute and idle session expiry, bearer tokens, roles, CSRF,
# Origin and Sec-Fetch-Site checks, security headers, HTML and problem+json
# error pages, and the audit rows all of that leaves.
#
# nginx limits POST /login to 10 a minute per address with a burst of 5 (6
# at once). Every simulated browser here is a "client" with its own cookie
# jar and its own loopback source address (curl --interface 127.0.1.N), so
# the test never trips nginx's limit by accident, and the app's per-address
# throttle is exercised on an address of its own.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib/harness.sh
. "$(dirname "$0")/../lib/harness.sh"

h_stack_up

PW_ADMIN='Adm1n-correct-horse'
PW_VIEWER='V1ewer-battery-staple'
PW_EDITOR='Ed1tor-long-secret'
PW_T='Thr0ttle-me-please'
PW_OTHER='0ther-user-secret'

# sl ARGS...: bin/sluice on the test database; stdin is inherited; stdout is
# printed, stderr goes to the log.
sl() {
    SLUICE_DATABASE_URL=$H_DATABASE_URL SLUICE_VAR=$H_VAR SLUICE_SHARE_DIR=$H_ROOT \
        "$H_ROOT/bin/sluice" "$@" 2>> "$H_LOG/cli.log"
}
q() { h_psql "$1"; }
# assert_lacks NAME HAYSTACK NEEDLE
assert_lacks() {
    if [[ $2 != *"$3"* ]]; then
        ok "$1"
    else
        fail "$1" "'$3' found in '$(printf '%s' "$2" | head -c 300)'"
    fi
}

ADMIN_ID=$(sl user add --email admin@example.com --role admin --name "Ada Admin" <<< "$PW_ADMIN")
VIEWER_ID=$(sl user add --email viewer@example.com --role viewer --name "Vic Viewer" \
    <<< "$PW_VIEWER")
sl user add --email editor@example.com --role editor --name "Eddie Editor" \
    <<< "$PW_EDITOR" > /dev/null
T_ID=$(sl user add --email throttle@example.com --role viewer --name "Tess" <<< "$PW_T")
sl user add --email other@example.com --role viewer --name "Otto" <<< "$PW_OTHER" > /dev/null
assert_eq "five users exist" 5 "$(q "SELECT count(*) FROM sluice.users")"

# --- clients: a cookie jar and a source address each -----------------------------------

declare -A IP
IPN=10
# new_client NAME
new_client() {
    IPN=$((IPN + 1))
    IP[$1]=127.0.1.$IPN
    : > "$H_TMP/$1.jar"
}
# c NAME URL [curl args...]: one request as client NAME (h_get: H_STATUS,
# H_HEADERS, H_BODY).
c() {
    local n=$1 url=$2
    shift 2
    h_get "$url" --interface "${IP[$n]}" -b "$H_TMP/$n.jar" -c "$H_TMP/$n.jar" "$@"
}
# csrf_of: the _csrf hidden field of the last page.
csrf_of() {
    printf '%s\n' "$H_BODY" | sed -n 's/.*name="_csrf" value="\([^"]*\)".*/\1/p' | head -n 1
}
# set_cookie NAME: the Set-Cookie line of the last response for cookie NAME.
set_cookie() {
    printf '%s\n' "$H_HEADERS" | grep -i "^set-cookie: $1=" | head -n 1 || true
}
# jar_cookie CLIENT NAME: the cookie's value in the client's jar.
jar_cookie() {
    awk -F '\t' -v n="$2" 'NF >= 7 && $6 == n { v = $7 } END { print v }' "$H_TMP/$1.jar"
}
# session_id CLIENT: the sessions row of the client's session cookie.
session_id() {
    q "SELECT id FROM sluice.sessions
       WHERE token_hash = sha256(convert_to('$(jar_cookie "$1" sluice_session)', 'UTF8'))"
}
# post_login CLIENT EMAIL PASSWORD [curl args...]: POST /login with the
# client's CSRF token (from its last GET /login).
post_login() {
    local n=$1 email=$2 pw=$3
    shift 3
    c "$n" "$H_URL/login" --data-urlencode "_csrf=$(jar_cookie "$n" sluice_csrf)" \
        --data-urlencode "email=$email" --data-urlencode "password=$pw" \
        --data-urlencode "next=/" "$@"
}
# login CLIENT EMAIL PASSWORD [curl args...]: GET /login, then post_login.
login() {
    c "$1" "$H_URL/login"
    post_login "$@"
}
audit_count() {
    q "SELECT count(*) FROM sluice.audit_log WHERE action = '$1' AND actor_email = '$2'"
}

# --- signed out ------------------------------------------------------------------------

new_client anon
c anon "$H_URL/"
assert_eq "GET / signed out -> 303" 303 "$H_STATUS"
assert_true "... to /login?next=/ ($(h_header Location))" \
    grep -Eq '^/login\?next=(/|%2F)$' <<< "$(h_header Location)"
c anon "$H_URL/users?after=x%20y"
assert_eq "GET /users signed out -> 303 with the path and query in next" \
    "/login?next=/users%3Fafter%3Dx%2520y" "$(h_header Location)"

c anon "$H_URL/login"
assert_eq "GET /login -> 200" 200 "$H_STATUS"
assert_contains "login page is HTML" "$(h_header Content-Type)" "text/html"
assert_eq "login page is not cached" no-store "$(h_header Cache-Control)"
CSRF=$(csrf_of)
assert_true "login form has a _csrf hidden field ($CSRF)" \
    grep -Eq '^[A-Za-z0-9_-]{43}$' <<< "$CSRF"
assert_contains "login form has the hidden input" "$H_BODY" "<input type=\"hidden\" name=\"_csrf\""
SC=$(set_cookie sluice_csrf)
assert_contains "sets the sluice_csrf cookie with the form's token" "$SC" "sluice_csrf=$CSRF;"
assert_contains "csrf cookie is HttpOnly" "$SC" "HttpOnly"
assert_contains "csrf cookie is SameSite=Lax" "$SC" "SameSite=Lax"
assert_contains "csrf cookie has Path=/" "$SC" "Path=/"
c anon "$H_URL/login"
assert_eq "a second GET /login keeps the same token" "$CSRF" "$(csrf_of)"
assert_eq "... and sets no new cookie" "" "$(set_cookie sluice_csrf)"

# --- sign in ---------------------------------------------------------------------------

new_client admin
c admin "$H_URL/login"
PRE_CSRF=$(jar_cookie admin sluice_csrf)
post_login admin admin@example.com "$PW_ADMIN"
assert_eq "right password -> 303" 303 "$H_STATUS"
assert_eq "... to next (/)" / "$(h_header Location)"
SC=$(set_cookie sluice_session)
assert_true "sets sluice_session ($SC)" grep -Eq '^set-cookie: sluice_session=[A-Za-z0-9_-]{43};' \
    <<< "${SC,,}"
assert_contains "session cookie is HttpOnly" "$SC" "; HttpOnly"
assert_contains "session cookie is SameSite=Lax" "$SC" "; SameSite=Lax"
assert_contains "session cookie has Path=/" "$SC" "; Path=/"
assert_lacks "session cookie over plain http is not Secure" "$SC" Secure
assert_lacks "without 'keep me signed in' it is a browser-session cookie (no Max-Age)" \
    "$SC" Max-Age
assert_lacks "... nor Expires" "$SC" Expires
assert_contains "the pre-login csrf cookie is cleared" "$(set_cookie sluice_csrf)" "Max-Age=0"
ADMIN_TOKEN=$(jar_cookie admin sluice_session)
assert_true "the session token is new (not the pre-login csrf token)" \
    test "$ADMIN_TOKEN" != "$PRE_CSRF"
ADMIN_SID=$(session_id admin)
assert_true "a sessions row holds the token's sha256, not the token" test -n "$ADMIN_SID"
assert_eq "no session row holds the token in clear" 0 \
    "$(q "SELECT count(*) FROM sluice.sessions WHERE position('$ADMIN_TOKEN' in
          encode(token_hash, 'escape') || csrf_token) > 0")"
assert_eq "the session: not kept, idle 2 hours, expires in 12 hours, from the client address" \
    "false|02:00:00|12|${IP[admin]}" \
    "$(q "SELECT keep_signed_in || '|' || idle_timeout || '|' ||
          round(extract(epoch FROM expires_at - now()) / 3600) || '|' || remote_addr
          FROM sluice.sessions WHERE id = '$ADMIN_SID'")"
assert_eq "last_login_at is set" t \
    "$(q "SELECT last_login_at > now() - interval '1 minute' FROM sluice.users
          WHERE id = '$ADMIN_ID'")"

c admin "$H_URL/"
assert_eq "GET / signed in -> 200" 200 "$H_STATUS"
assert_contains "the dashboard shows the user's name" "$H_BODY" "Ada Admin"
assert_contains "the dashboard shows the role" "$H_BODY" "role-admin"
assert_contains "the dashboard has the sign-out form" "$H_BODY" 'action="/logout"'
ADMIN_CSRF=$(csrf_of)
assert_eq "the page's csrf token is the session's" "$ADMIN_CSRF" \
    "$(q "SELECT csrf_token FROM sluice.sessions WHERE id = '$ADMIN_SID'")"
c admin "$H_URL/login"
assert_eq "GET /login signed in -> 303 /" "303 /" "$H_STATUS $(h_header Location)"

# next: local paths only.
new_client nx
c nx "$H_URL/login?next=/users"
assert_contains "the login form carries next" "$H_BODY" 'name="next" value="/users"'
for bad in //evil.example https://evil.example '/\evil.example' $'/\t/evil.example' \
    '/login?next=/x'; do
    new_client nx
    c nx "$H_URL/login"
    c nx "$H_URL/login" --data-urlencode "_csrf=$(csrf_of)" \
        --data-urlencode "email=admin@example.com" --data-urlencode "password=$PW_ADMIN" \
        --data-urlencode "next=$bad"
    assert_eq "next=$bad is not followed" "303 /" "$H_STATUS $(h_header Location)"
done
new_client nx2
c nx2 "$H_URL/login?next=/users?after=abc"
c nx2 "$H_URL/login" --data-urlencode "_csrf=$(csrf_of)" --data-urlencode "next=$(
    sed -n 's/.*name="next" value="\([^"]*\)".*/\1/p' <<< "$H_BODY")" \
    --data-urlencode "email=admin@example.com" --data-urlencode "password=$PW_ADMIN"
assert_eq "a local next is followed after sign-in" "303 /users?after=abc" \
    "$H_STATUS $(h_header Location)"

# --- keep me signed in -----------------------------------------------------------------

new_client keep
c keep "$H_URL/login"
post_login keep viewer@example.com "$PW_VIEWER" --data-urlencode keep=1
assert_eq "keep me signed in -> 303" 303 "$H_STATUS"
SC=$(set_cookie sluice_session)
assert_contains "the cookie lasts 30 days (Max-Age=2592000)" "$SC" "; Max-Age=2592000;"
assert_contains "it is still HttpOnly" "$SC" "HttpOnly"
KEEP_SID=$(session_id keep)
assert_eq "the kept session: 30 days, idle 30 days" "true|720:00:00|30" \
    "$(q "SELECT keep_signed_in || '|' || idle_timeout || '|' ||
          round(extract(epoch FROM expires_at - now()) / 86400)
          FROM sluice.sessions WHERE id = '$KEEP_SID'")"

# --- TLS: a second nginx that tells the app HTTPS=on -----------------------------------
# The local stack speaks plain http and nginx passes HTTPS only when it
# terminates TLS itself ($https). A copy of the rendered configuration with
# `fastcgi_param HTTPS on` stands in for a TLS-terminating nginx.

TLS_PORT=$(h_free_port)
sed -e "s/listen 127.0.0.1:$H_HTTP_PORT;/listen 127.0.0.1:$TLS_PORT;/" \
    -e 's/fastcgi_param HTTPS .*/fastcgi_param HTTPS on;/' \
    -e "s#^pid .*#pid $H_VAR/run/nginx-tls.pid;#" \
    "$H_VAR/nginx/nginx.conf" > "$H_VAR/nginx/nginx-tls.conf"
assert_true "the TLS stand-in config sets HTTPS on" \
    grep -q 'fastcgi_param HTTPS on;' "$H_VAR/nginx/nginx-tls.conf"
setsid nginx -p "$H_VAR/nginx/" -c "$H_VAR/nginx/nginx-tls.conf" \
    -e "$H_VAR/log/nginx-error.log" < /dev/null >> "$H_LOG/nginx.log" 2>&1 &
TLS_NGINX_PID=$!
h_defer h_stop_pid "$TLS_NGINX_PID" 10
h_wait_for 10 _h_port_in_use "$TLS_PORT" || true
TLS_URL=http://127.0.0.1:$TLS_PORT
new_client tls
c tls "$TLS_URL/login"
assert_eq "GET /login via the TLS stand-in -> 200" 200 "$H_STATUS"
assert_contains "the csrf cookie is Secure when the app sees HTTPS" \
    "$(set_cookie sluice_csrf)" "; Secure"
TLS_CSRF=$(csrf_of)
c tls "$TLS_URL/login" --data-urlencode "_csrf=$TLS_CSRF" -H "Cookie: sluice_csrf=$TLS_CSRF" \
    --data-urlencode "email=editor@example.com" --data-urlencode "password=$PW_EDITOR" \
    -H "Origin: https://127.0.0.1:$TLS_PORT"
assert_eq "sign-in via the TLS stand-in (Origin https://...) -> 303" 303 "$H_STATUS"
SC=$(set_cookie sluice_session)
assert_contains "the session cookie is Secure" "$SC" "; Secure"
assert_contains "... and HttpOnly" "$SC" "; HttpOnly"
assert_contains "... and SameSite=Lax" "$SC" "; SameSite=Lax"
c tls "$TLS_URL/login" --data-urlencode "_csrf=$TLS_CSRF" -H "Cookie: sluice_csrf=$TLS_CSRF" \
    --data-urlencode "email=editor@example.com" --data-urlencode "password=$PW_EDITOR" \
    -H "Origin: http://127.0.0.1:$TLS_PORT"
assert_eq "over https, an http:// Origin of the same host is another origin -> 403" \
    403 "$H_STATUS"

# --- wrong password, unknown email -----------------------------------------------------

new_client wrong
c wrong "$H_URL/login"
post_login wrong viewer@example.com 'not-the-password-1'
assert_eq "wrong password -> 401" 401 "$H_STATUS"
assert_contains "the page says incorrect" "$H_BODY" "Email or password is incorrect."
assert_contains "the email is kept in the form" "$H_BODY" 'value="viewer@example.com"'
assert_lacks "the password is not echoed" "$H_BODY" not-the-password-1
assert_eq "no session cookie" "" "$(set_cookie sluice_session)"
WRONG_BODY=$H_BODY
post_login wrong Nobody@Example.com 'not-the-password-1'
assert_eq "unknown email -> 401" 401 "$H_STATUS"
assert_contains "the page says incorrect" "$H_BODY" "Email or password is incorrect."
assert_contains "the (lowercased) email is kept" "$H_BODY" 'value="nobody@example.com"'
assert_eq "the two answers differ only in the email" "$WRONG_BODY" \
    "${H_BODY//nobody@example.com/viewer@example.com}"
assert_eq "login.failed audit row for the known user, with its id and the client address" \
    "$VIEWER_ID|${IP[wrong]}|true" \
    "$(q "SELECT object_id || '|' || remote_addr || '|' || (request_id <> '')
          FROM sluice.audit_log WHERE action = 'login.failed'
          AND actor_email = 'viewer@example.com'")"
assert_eq "login.failed audit row for the unknown email, no object id" "|${IP[wrong]}" \
    "$(q "SELECT coalesce(object_id, '') || '|' || remote_addr FROM sluice.audit_log
          WHERE action = 'login.failed' AND actor_email = 'nobody@example.com'")"
assert_eq "two failed attempts recorded for that address" 2 \
    "$(q "SELECT count(*) FROM sluice.login_attempts WHERE remote_addr = '${IP[wrong]}'
          AND NOT success")"
post_login wrong viewer@example.com ''
assert_eq "an empty password -> 422" 422 "$H_STATUS"
assert_contains "... asks for both" "$H_BODY" "Enter your email and password."

# --- throttling per email --------------------------------------------------------------
# Five failures for one email, from two addresses (per-email counting does
# not care where they come from), then even the right password is refused.

new_client t1
new_client t2
c t1 "$H_URL/login"
for i in 1 2 3; do
    post_login t1 throttle@example.com "wrong-password-$i"
    assert_eq "throttle: failure $i -> 401" 401 "$H_STATUS"
done
cp "$H_TMP/t1.jar" "$H_TMP/t2.jar"
for i in 4 5; do
    post_login t2 throttle@example.com "wrong-password-$i"
    assert_eq "throttle: failure $i (another address) -> 401" 401 "$H_STATUS"
done
post_login t2 throttle@example.com "$PW_T"
assert_eq "after 5 failures the right password -> 429" 429 "$H_STATUS"
assert_eq "Retry-After: 900" 900 "$(h_header Retry-After)"
assert_contains "the app's throttle page" "$H_BODY" "Too many failed sign-ins"
assert_contains "the throttle page is HTML" "$(h_header Content-Type)" "text/html"
assert_eq "no session cookie while throttled" "" "$(set_cookie sluice_session)"
assert_eq "no session was made for the throttled user" 0 \
    "$(q "SELECT count(*) FROM sluice.sessions WHERE user_id = '$T_ID'")"
assert_eq "a login.throttled audit row" 1 "$(audit_count login.throttled throttle@example.com)"
post_login t2 THROTTLE@Example.COM "$PW_T"
assert_eq "the throttled email in other letter case is throttled too" 429 "$H_STATUS"
post_login t2 other@example.com "$PW_OTHER"
assert_eq "another email from the same address still signs in" 303 "$H_STATUS"
assert_contains "... with a session cookie" "$(set_cookie sluice_session)" "sluice_session="

# --- throttling per address ------------------------------------------------------------
# 20 failures from one address within 15 minutes block that address for every
# email. nginx (10 a minute per address) would stop 20 quick requests long
# before, so 18 of them are recorded directly; the last two and the refusal
# go through nginx.

new_client a1
q "INSERT INTO sluice.login_attempts (email, remote_addr, success)
   SELECT 'spray' || g || '@example.com', '${IP[a1]}', false FROM generate_series(1, 18) g"
c a1 "$H_URL/login"
post_login a1 spray19@example.com 'wrong-password'
assert_eq "per address: failure 19 -> 401" 401 "$H_STATUS"
post_login a1 spray20@example.com 'wrong-password'
assert_eq "per address: failure 20 -> 401" 401 "$H_STATUS"
post_login a1 editor@example.com "$PW_EDITOR"
assert_eq "per address: the 21st attempt, right password, new email -> 429" 429 "$H_STATUS"
assert_contains "... the app's throttle page" "$H_BODY" "Too many failed sign-ins"
assert_eq "... with Retry-After" 900 "$(h_header Retry-After)"
new_client a2
c a2 "$H_URL/login"
post_login a2 editor@example.com "$PW_EDITOR"
assert_eq "the same email from another address still signs in" 303 "$H_STATUS"
q "UPDATE sluice.login_attempts SET at = now() - interval '16 minutes'
   WHERE remote_addr = '${IP[a1]}'"
post_login a1 editor@example.com "$PW_EDITOR"
assert_eq "once the 15-minute window has passed the address may sign in again" 303 "$H_STATUS"

# --- nginx's limit_req on /login -------------------------------------------------------

new_client hammer
CODES=""
for i in $(seq 1 12); do
    c hammer "$H_URL/login"
    CODES="$CODES $H_STATUS"
    : "$i"
done
assert_eq "nginx does not limit showing the form: 12 GET /login -> 200" \
    "$(printf '200 %.0s' $(seq 1 12))" "${CODES# } "
# Sign-in attempts with a bad token: the app refuses them (403) without
# touching the database; nginx counts them all the same.
CODES=""
for i in $(seq 1 12); do
    c hammer "$H_URL/login" --data-urlencode "_csrf=wrong" --data-urlencode "email=x@example.com" \
        --data-urlencode "password=x"
    CODES="$CODES $H_STATUS"
    : "$i"
done
CODES=${CODES# }
assert_eq "nginx lets the first 6 POST /login through (1 + burst 5)" \
    "403 403 403 403 403 403" "$(cut -d' ' -f1-6 <<< "$CODES")"
assert_eq "then answers 429 (all codes: $CODES)" 429 "${CODES##* }"
assert_lacks "... and that 429 is nginx's, not the app's" "$H_BODY" "Too many failed sign-ins"
assert_contains "... nginx's page names the status" "$H_BODY" "429 Too Many Requests"
assert_eq "the app saw 12 GETs and 6 POSTs from that address" "12 6" \
    "$(grep -c "\"method\":\"GET\".*\"remote_addr\":\"${IP[hammer]}\"" "$H_LOG/web.log") $(
        grep -c "\"method\":\"POST\".*\"remote_addr\":\"${IP[hammer]}\"" "$H_LOG/web.log")"
c hammer "$H_URL/login"
assert_eq "GET /login from that address still works" 200 "$H_STATUS"
c hammer "$H_URL/healthz"
assert_eq "other paths from that address are not limited" 200 "$H_STATUS"

# --- roles, CSRF, Origin, Sec-Fetch-Site ---------------------------------------------------------

new_client viewer
login viewer viewer@example.com "$PW_VIEWER"
assert_eq "viewer signs in" 303 "$H_STATUS"
c viewer "$H_URL/"
assert_eq "viewer sees the dashboard" 200 "$H_STATUS"
assert_contains "... with the viewer's name" "$H_BODY" "Vic Viewer"
assert_contains "... and role" "$H_BODY" "role-viewer"
assert_lacks "a viewer's nav has no Users item" "$H_BODY" 'href="/users"'
VIEWER_CSRF=$(csrf_of)
NUSERS=$(q "SELECT count(*) FROM sluice.users")
c viewer "$H_URL/users" --data-urlencode "_csrf=$VIEWER_CSRF" \
    --data-urlencode "email=mallory@example.com" --data-urlencode "name=M" \
    --data-urlencode "role=admin" --data-urlencode "password=Mall0ry-pass-word" \
    --data-urlencode "password_confirm=Mall0ry-pass-word"
assert_eq "a viewer's POST to an admin route -> 403" 403 "$H_STATUS"
assert_contains "403 page is HTML" "$(h_header Content-Type)" "text/html"
assert_contains "403 page shows the status" "$H_BODY" "403"
assert_contains "403 page says why" "$H_BODY" "your role does not allow this"
assert_eq "no user was created" "$NUSERS" "$(q "SELECT count(*) FROM sluice.users")"
c viewer "$H_URL/users"
assert_eq "a viewer's GET of an admin page -> 403" 403 "$H_STATUS"

new_client editor
login editor editor@example.com "$PW_EDITOR"
c editor "$H_URL/"
EDITOR_CSRF=$(csrf_of)
c editor "$H_URL/users" --data-urlencode "_csrf=$EDITOR_CSRF" \
    --data-urlencode "email=mallory@example.com" --data-urlencode "role=admin"
assert_eq "an editor's POST to an admin route -> 403" 403 "$H_STATUS"

c viewer "$H_URL/logout"
assert_eq "GET /logout -> 405 (a link cannot sign anyone out)" 405 "$H_STATUS"
c viewer "$H_URL/logout" -X POST -d ''
assert_eq "POST /logout without _csrf -> 403" 403 "$H_STATUS"
assert_contains "... says the token is missing" "$H_BODY" "security token is missing"
c viewer "$H_URL/logout" --data-urlencode "_csrf=not-the-right-token-at-all-0000000000000000"
assert_eq "POST /logout with a wrong _csrf -> 403" 403 "$H_STATUS"
c viewer "$H_URL/logout" --data-urlencode "_csrf=$ADMIN_CSRF"
assert_eq "POST /logout with another session's _csrf -> 403" 403 "$H_STATUS"
c viewer "$H_URL/logout" --data-urlencode "_csrf=$VIEWER_CSRF" -H "Origin: http://evil.example"
assert_eq "POST with a valid token but Origin: http://evil.example -> 403" 403 "$H_STATUS"
assert_contains "... cross-origin" "$H_BODY" "cross-origin request refused"
c viewer "$H_URL/logout" --data-urlencode "_csrf=$VIEWER_CSRF" -H "Sec-Fetch-Site: cross-site"
assert_eq "POST with a valid token but Sec-Fetch-Site: cross-site -> 403" 403 "$H_STATUS"
assert_contains "... cross-site" "$H_BODY" "cross-site request refused"
new_client csrf
c csrf "$H_URL/login"
c csrf "$H_URL/login" --data-urlencode "email=viewer@example.com" \
    --data-urlencode "password=$PW_VIEWER"
assert_eq "POST /login without _csrf -> 403 (login CSRF)" 403 "$H_STATUS"
assert_eq "... no session cookie" "" "$(set_cookie sluice_session)"
c viewer "$H_URL/"
assert_eq "after all the refusals the viewer is still signed in" 200 "$H_STATUS"
c viewer "$H_URL/" -H "Authorization: Bearer garbage"
assert_eq "a bearer header does not disturb a page request with a session" 200 "$H_STATUS"

# --- sign out --------------------------------------------------------------------------

VIEWER_TOKEN=$(jar_cookie viewer sluice_session)
VIEWER_SID=$(session_id viewer)
assert_true "the viewer has a session row" test -n "$VIEWER_SID"
c viewer "$H_URL/logout" --data-urlencode "_csrf=$VIEWER_CSRF" \
    -H "Origin: $H_URL" -H "Sec-Fetch-Site: same-origin"
assert_eq "POST /logout with the token (same Origin) -> 303" 303 "$H_STATUS"
assert_eq "... to /login" /login "$(h_header Location)"
assert_contains "the session cookie is cleared" "$(set_cookie sluice_session)" \
    "sluice_session=; Path=/; Max-Age=0"
assert_eq "the session row is deleted" 0 \
    "$(q "SELECT count(*) FROM sluice.sessions WHERE id = '$VIEWER_SID'")"
c viewer "$H_URL/login"
assert_contains "the login page says you signed out" "$H_BODY" "You have signed out."
h_get "$H_URL/" --interface "${IP[viewer]}" -H "Cookie: sluice_session=$VIEWER_TOKEN"
assert_eq "the old cookie no longer works: GET / -> 303" 303 "$H_STATUS"
assert_contains "... to /login" "$(h_header Location)" "/login?next="
assert_contains "... and the stale cookie is cleared" "$(set_cookie sluice_session)" "Max-Age=0"
assert_eq "a logout audit row with the viewer as actor" "$VIEWER_ID|${IP[viewer]}" \
    "$(q "SELECT actor_id || '|' || remote_addr FROM sluice.audit_log
          WHERE action = 'logout' AND actor_email = 'viewer@example.com'")"

# --- session expiry --------------------------------------------------------------------

new_client exp
login exp other@example.com "$PW_OTHER"
EXP_SID=$(session_id exp)
c exp "$H_URL/"
assert_eq "a fresh session works" 200 "$H_STATUS"
q "UPDATE sluice.sessions SET expires_at = now() - interval '1 second' WHERE id = '$EXP_SID'"
c exp "$H_URL/"
assert_eq "past expires_at: GET / -> 303" 303 "$H_STATUS"
assert_contains "... to /login" "$(h_header Location)" "/login?next="

new_client idle
login idle other@example.com "$PW_OTHER"
IDLE_SID=$(session_id idle)
q "UPDATE sluice.sessions SET last_seen_at = now() - interval '90 minutes' WHERE id = '$IDLE_SID'"
c idle "$H_URL/"
assert_eq "idle 90 minutes (< 2 hours): still signed in" 200 "$H_STATUS"
assert_eq "... and last_seen_at slid forward" t \
    "$(q "SELECT last_seen_at > now() - interval '1 minute' FROM sluice.sessions
          WHERE id = '$IDLE_SID'")"
q "UPDATE sluice.sessions SET last_seen_at = now() - idle_timeout - interval '1 minute'
   WHERE id = '$IDLE_SID'"
c idle "$H_URL/"
assert_eq "idle longer than idle_timeout: GET / -> 303" 303 "$H_STATUS"
assert_contains "... to /login" "$(h_header Location)" "/login?next="

q "UPDATE sluice.sessions SET last_seen_at = now() - interval '3 hours' WHERE id = '$KEEP_SID'"
c keep "$H_URL/"
assert_eq "a kept session idle for 3 hours still works" 200 "$H_STATUS"

new_client deact
login deact other@example.com "$PW_OTHER"
c deact "$H_URL/"
assert_eq "a session of an active user works" 200 "$H_STATUS"
q "UPDATE sluice.users SET active = false WHERE email = 'other@example.com'"
c deact "$H_URL/"
assert_eq "once the user is inactive the session stops working" 303 "$H_STATUS"
q "UPDATE sluice.users SET active = true WHERE email = 'other@example.com'"

# --- bearer tokens ---------------------------------------------------------------------

VTOK=$(sl token create --email viewer@example.com --name auth-test < /dev/null)
ATOK=$(sl token create --email admin@example.com --name auth-test-admin < /dev/null)
new_client api
c api "$H_URL/api/v1/me" -H "Authorization: Bearer $VTOK"
assert_eq "GET /api/v1/me with a viewer token -> 200" 200 "$H_STATUS"
assert_contains "... JSON" "$(h_header Content-Type)" "application/json"
assert_eq "... it is the viewer" "viewer@example.com viewer $VIEWER_ID" \
    "$(h_json email <<< "$H_BODY") $(h_json role <<< "$H_BODY") $(h_json id <<< "$H_BODY")"
assert_eq "last_used_at is recorded" t \
    "$(q "SELECT last_used_at IS NOT NULL FROM sluice.api_tokens WHERE name = 'auth-test'")"
c api "$H_URL/api/v1/me" -H "Authorization: bearer $VTOK"
assert_eq "the scheme is case-insensitive" 200 "$H_STATUS"
c api "$H_URL/api/v1/me" -H "Authorization: Bearer slu_garbage"
assert_eq "a garbage token -> 401" 401 "$H_STATUS"
assert_contains "... problem+json" "$(h_header Content-Type)" "application/problem+json"
assert_eq "... status 401 in the body" 401 "$(h_json status <<< "$H_BODY" || true)"
assert_contains "... WWW-Authenticate says invalid_token" "$(h_header WWW-Authenticate)" \
    'error="invalid_token"'
c api "$H_URL/api/v1/me"
assert_eq "no token, no cookie -> 401" 401 "$H_STATUS"
assert_contains "... problem+json" "$(h_header Content-Type)" "application/problem+json"
assert_contains "... WWW-Authenticate: Bearer" "$(h_header WWW-Authenticate)" "Bearer"
c api "$H_URL/api/v1/users" -H "Authorization: Bearer $VTOK"
assert_eq "a viewer token on an admin API route -> 403" 403 "$H_STATUS"
assert_contains "... problem+json" "$(h_header Content-Type)" "application/problem+json"
assert_eq "... status 403 in the body" 403 "$(h_json status <<< "$H_BODY" || true)"
c api "$H_URL/api/v1/users" -H "Authorization: Bearer $ATOK"
assert_eq "an admin token on it -> 200" 200 "$H_STATUS"
c api "$H_URL/" -H "Authorization: Bearer $ATOK"
assert_eq "a bearer token does not open console pages" 303 "$H_STATUS"
c admin "$H_URL/api/v1/me"
assert_eq "a session cookie works on the API too" "200 admin@example.com" \
    "$H_STATUS $(h_json email <<< "$H_BODY" || true)"
VTOK_ID=$(q "SELECT id FROM sluice.api_tokens WHERE name = 'auth-test'")
sl token revoke --id "$VTOK_ID" < /dev/null > /dev/null
c api "$H_URL/api/v1/me" -H "Authorization: Bearer $VTOK"
assert_eq "a revoked token -> 401" 401 "$H_STATUS"
ETOK=$(sl token create --email admin@example.com --name auth-test-exp < /dev/null)
q "UPDATE sluice.api_tokens SET expires_at = now() - interval '1 second'
   WHERE name = 'auth-test-exp'"
c api "$H_URL/api/v1/me" -H "Authorization: Bearer $ETOK"
assert_eq "an expired token -> 401" 401 "$H_STATUS"
OTOK=$(sl token create --email other@example.com --name auth-test-other < /dev/null)
c api "$H_URL/api/v1/me" -H "Authorization: Bearer $OTOK"
assert_eq "a token of an active user works" 200 "$H_STATUS"
q "UPDATE sluice.users SET active = false WHERE email = 'other@example.com'"
c api "$H_URL/api/v1/me" -H "Authorization: Bearer $OTOK"
assert_eq "a token of an inactive user -> 401" 401 "$H_STATUS"

# --- security headers ------------------------------------------------------------------

# check_headers WHAT: the last response carries the app's security headers.
check_headers() {
    local csp script
    csp=$(h_header Content-Security-Policy)
    script=$(tr ';' '\n' <<< "$csp" | grep -E '^ *script-src' || true)
    assert_contains "$1: CSP has script-src" "$script" "script-src 'self'"
    assert_lacks "$1: script-src has no 'unsafe-inline'" "$script" unsafe-inline
    assert_lacks "$1: script-src has no 'unsafe-eval'" "$script" unsafe-eval
    assert_contains "$1: CSP object-src 'none'" "$csp" "object-src 'none'"
    assert_eq "$1: X-Content-Type-Options" nosniff "$(h_header X-Content-Type-Options)"
    assert_eq "$1: Referrer-Policy" same-origin "$(h_header Referrer-Policy)"
    if [ "$(h_header X-Frame-Options)" = DENY ] || [[ $csp == *"frame-ancestors 'none'"* ]]; then
        ok "$1: framing refused"
    else
        fail "$1: framing refused" "no X-Frame-Options: DENY nor frame-ancestors 'none'"
    fi
}
new_client hdr
c hdr "$H_URL/login"
check_headers "HTML page"
c admin "$H_URL/"
check_headers "signed-in page"
c hdr "$H_URL/"
check_headers "redirect"
c api "$H_URL/healthz"
check_headers "JSON"
c api "$H_URL/api/v1/me" -H "Authorization: Bearer $ATOK"
check_headers "API JSON"
c api "$H_URL/api/v1/me"
check_headers "API 401"
c hdr "$H_URL/no/such/page"
check_headers "404 page"
c hdr "$H_URL/login" -X DELETE
check_headers "405 page"
h_get "$H_URL/static/css/sluice.css"
assert_eq "static file via nginx -> 200" 200 "$H_STATUS"
assert_eq "static file: nginx adds X-Content-Type-Options" nosniff \
    "$(h_header X-Content-Type-Options)"
assert_contains "static file: text/css" "$(h_header Content-Type)" "text/css"
h_get "$H_URL/static/js/sluice.js"
assert_contains "static js: application/javascript" "$(h_header Content-Type)" \
    "application/javascript"
c admin "$H_URL/"
assert_eq "the dashboard has no inline script" "" \
    "$(grep -Eo '<script>|<script [^>]*>[^<]|<[^>]* on[a-z]+=' <<< "$H_BODY" || true)"

# --- error pages -----------------------------------------------------------------------

c hdr "$H_URL/no/such/page"
assert_eq "unknown page -> 404" 404 "$H_STATUS"
assert_contains "404 is HTML" "$(h_header Content-Type)" "text/html"
assert_contains "404 page shows the status" "$H_BODY" "404"
assert_contains "404 page uses the layout" "$H_BODY" "/static/css/sluice.css"
c hdr "$H_URL/login" -X DELETE
assert_eq "DELETE /login -> 405" 405 "$H_STATUS"
assert_contains "405 is HTML" "$(h_header Content-Type)" "text/html"
assert_contains "405 page shows the status" "$H_BODY" "405"
assert_contains "405 Allow lists GET and POST" "$(h_header Allow)" "GET"
assert_contains "405 Allow lists POST" "$(h_header Allow)" "POST"

# check_problem WHAT STATUS: the last response is problem+json with STATUS.
check_problem() {
    assert_contains "$1: problem+json" "$(h_header Content-Type)" "application/problem+json"
    assert_eq "$1: type" about:blank "$(h_json type <<< "$H_BODY" || true)"
    assert_true "$1: title" h_json title <<< "$H_BODY"
    assert_eq "$1: status" "$2" "$(h_json status <<< "$H_BODY" || true)"
    assert_true "$1: detail" h_json detail <<< "$H_BODY"
}
c api "$H_URL/api/v1/no-such-thing" -H "Authorization: Bearer $ATOK"
assert_eq "unknown API path -> 404" 404 "$H_STATUS"
check_problem "API 404" 404
c api "$H_URL/api/v1/me" -X DELETE -H "Authorization: Bearer $ATOK"
assert_eq "wrong method on an API path -> 405" 405 "$H_STATUS"
check_problem "API 405" 405
c api "$H_URL/api/v1/users" -H "Authorization: Bearer $(sl token create \
    --email viewer@example.com --name auth-test-2 < /dev/null)"
assert_eq "API role refusal -> 403" 403 "$H_STATUS"
check_problem "API 403" 403
c api "$H_URL/api/v1/me" -H "Authorization: Bearer nope"
check_problem "API 401" 401
c hdr "$H_URL/no/such/page" -H "Accept: application/json"
assert_eq "a client that asks for JSON gets a 404 problem" 404 "$H_STATUS"
check_problem "Accept: json 404" 404

# --- the audit trail -------------------------------------------------------------------

assert_true "login audit rows for the admin ($(audit_count login admin@example.com))" \
    test "$(audit_count login admin@example.com)" -ge 1
assert_eq "the admin's login row names the admin as actor and object" "$ADMIN_ID|$ADMIN_ID|user" \
    "$(q "SELECT actor_id || '|' || object_id || '|' || object_type FROM sluice.audit_log
          WHERE action = 'login' AND actor_email = 'admin@example.com' ORDER BY id LIMIT 1")"
assert_eq "one login row per sign-in of the viewer (clients keep and viewer)" 2 \
    "$(audit_count login viewer@example.com)"
assert_eq "login.failed rows for throttle@example.com: 5" 5 \
    "$(audit_count login.failed throttle@example.com)"
assert_eq "one logout row" 1 "$(q "SELECT count(*) FROM sluice.audit_log WHERE action = 'logout'")"
assert_eq "refused requests wrote no audit rows" 0 \
    "$(q "SELECT count(*) FROM sluice.audit_log WHERE action LIKE 'http.%'")"
assert_eq "no password appears in the audit log" 0 \
    "$(q "SELECT count(*) FROM sluice.audit_log WHERE coalesce(details::text, '') || actor_email
          ~ '(Adm1n|V1ewer|Ed1tor|Thr0ttle|0ther|wrong-password|not-the-password)'")"
assert_eq "no password or token in the web log" 0 \
    "$(grep -Ec "Adm1n-correct|V1ewer-battery|$VTOK|$ADMIN_TOKEN" "$H_LOG/web.log" || true)"

h_done
