#!/usr/bin/env bash
# test_users.sh - the admin Users pages and the users API, through nginx with
# cookie jars: create (and its validation), escaping of hostile names on
# every page that shows them, role checks, the last-admin rules, deactivate
# and reactivate, password reset ending sessions, audit rows, pagination,
# and GET /api/v1/users, /api/v1/users/{id}, /api/v1/me.
set -euo pipefail
. "$(dirname "$0")/../lib/harness.sh"

h_stack_up

ADMIN_EMAIL=admin@example.com
ADMIN_PW='admin-pass-1234'
ED_PW='editor-pass-5678'
ED_PW2='editor-new-pass-9'
V_PW='viewer-pass-4321'
XSS='<script>alert(1)</script>"'"'"'&'
XSS_ESC='&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;'

sluice_cli() {
    SLUICE_DATABASE_URL=$H_DATABASE_URL SLUICE_VAR=$H_VAR SLUICE_SHARE_DIR=$H_ROOT \
        "$H_ROOT/bin/sluice" "$@"
}

# The first admin comes from the CLI (the web has no users yet).
printf '%s\n' "$ADMIN_PW" | sluice_cli user add --email "$ADMIN_EMAIL" --role admin \
    --name 'Ada Admin' > /dev/null
ADMIN_ID=$(h_psql "SELECT id FROM sluice.users WHERE email = '$ADMIN_EMAIL'")
assert_true "admin created by the CLI" test -n "$ADMIN_ID"

JA=$H_TMP/admin.jar
JE=$H_TMP/editor.jar
JV=$H_TMP/viewer.jar

# csrf_in: the first form's CSRF token in H_BODY.
csrf_in() {
    printf '%s' "$H_BODY" | grep -o 'name="_csrf" value="[^"]*"' | head -n 1 \
        | sed 's/.*value="//; s/"$//'
}

# login JAR EMAIL PASSWORD: sign in through the form; H_STATUS is POST's.
# nginx allows 10 /login requests a minute per address (burst 5): each
# sign-in comes from its own loopback address so this file never hits it.
LOGINS=0
login() {
    local jar=$1 tok src
    LOGINS=$((LOGINS + 1))
    src=127.0.1.$LOGINS
    rm -f "$jar"
    h_get "$H_URL/login" -b "$jar" -c "$jar" --interface "$src"
    tok=$(csrf_in || true)
    h_get "$H_URL/login" -b "$jar" -c "$jar" --interface "$src" --data-urlencode "_csrf=$tok" \
        --data-urlencode "email=$2" --data-urlencode "password=$3" --data-urlencode "next=/"
}

# page JAR PATH [curl args]: GET with the jar.
page() {
    local jar=$1 path=$2
    shift 2
    h_get "$H_URL$path" -b "$jar" -c "$jar" "$@"
}

# csrf_of JAR: the session's CSRF token (from the sign-out form on /).
csrf_of() {
    page "$1" /
    csrf_in
}

# post JAR PATH field=value...: a form post with the jar's CSRF token.
post() {
    local jar=$1 path=$2 tok args=() f
    shift 2
    tok=$(csrf_of "$jar")
    for f in "$@"; do args+=(--data-urlencode "$f"); done
    h_get "$H_URL$path" -b "$jar" -c "$jar" --data-urlencode "_csrf=$tok" "${args[@]}"
}

# assert_lacks NAME HAYSTACK NEEDLE: NEEDLE does not occur in HAYSTACK.
assert_lacks() {
    if [[ $2 != *"$3"* ]]; then
        ok "$1"
    else
        fail "$1" "'$3' found"
    fi
}

count_of() { grep -o -- "$2" <<< "$1" | wc -l | tr -d ' '; }

login "$JA" "$ADMIN_EMAIL" "$ADMIN_PW"
assert_eq "admin signs in (303)" 303 "$H_STATUS"

# --- list, new form -------------------------------------------------------------

page "$JA" /users
assert_eq "GET /users as admin -> 200" 200 "$H_STATUS"
assert_contains "list shows the admin" "$H_BODY" "$ADMIN_EMAIL"
assert_contains "list has a New user button" "$H_BODY" 'href="/users/new"'
assert_contains "list marks active users" "$H_BODY" '<span class="badge">active</span>'
assert_contains "list shows the last sign-in time" \
    "$H_BODY" '<time datetime="'

page "$JA" /users/new
assert_eq "GET /users/new -> 200" 200 "$H_STATUS"
assert_contains "new form defaults to viewer" "$H_BODY" '<option value="viewer" selected>'
assert_contains "new form has a labelled email input" "$H_BODY" '<label for="email">'

# --- create ---------------------------------------------------------------------

post "$JA" /users email=Ed@Example.com "name=Eddie Editor" role=editor \
    "password=$ED_PW" "confirm=$ED_PW"
assert_eq "create editor -> 303" 303 "$H_STATUS"
assert_eq "create redirects to /users" /users "$(h_header Location)"
ED_ID=$(h_psql "SELECT id FROM sluice.users WHERE lower(email) = 'ed@example.com'")
assert_eq "editor row has role editor" editor \
    "$(h_psql "SELECT role FROM sluice.users WHERE id = '$ED_ID'")"
assert_eq "editor email kept as typed" Ed@Example.com \
    "$(h_psql "SELECT email FROM sluice.users WHERE id = '$ED_ID'")"
page "$JA" /users
assert_contains "flash after create" "$H_BODY" "User Ed@Example.com created."
assert_contains "list shows the editor" "$H_BODY" "Eddie Editor"

post "$JA" /users email=vee@example.com "name=$XSS" role=viewer "password=$V_PW" \
    "confirm=$V_PW"
assert_eq "create viewer with a hostile name -> 303" 303 "$H_STATUS"
V_ID=$(h_psql "SELECT id FROM sluice.users WHERE email = 'vee@example.com'")
assert_eq "hostile name stored verbatim" "$XSS" \
    "$(h_psql "SELECT name FROM sluice.users WHERE id = '$V_ID'")"

# --- validation -----------------------------------------------------------------

post "$JA" /users email=not-an-email "name=Typed Name" role=editor \
    password=typed-secret-1 confirm=typed-secret-1
assert_eq "bad email -> 422" 422 "$H_STATUS"
assert_contains "bad email: message" "$H_BODY" 'id="email-error"'
assert_contains "bad email: field marked invalid" "$H_BODY" \
    'aria-invalid="true" aria-describedby="email-error"'
assert_contains "bad email: typed email kept" "$H_BODY" 'value="not-an-email"'
assert_contains "bad email: typed name kept" "$H_BODY" 'value="Typed Name"'
assert_contains "bad email: role kept" "$H_BODY" '<option value="editor" selected>'
assert_lacks "bad email: password not echoed" "$H_BODY" typed-secret-1

post "$JA" /users email=short@example.com "name=Shorty" role=viewer password=short \
    confirm=short
assert_eq "short password -> 422" 422 "$H_STATUS"
assert_contains "short password: message" "$H_BODY" "at least 8 characters"
assert_contains "short password: email kept" "$H_BODY" 'value="short@example.com"'
assert_eq "short password: no user made" 0 \
    "$(h_psql "SELECT count(*) FROM sluice.users WHERE email = 'short@example.com'")"

post "$JA" /users email=ED@EXAMPLE.COM "name=Dup" role=viewer "password=$V_PW" \
    "confirm=$V_PW"
assert_eq "duplicate email (other case) -> 422" 422 "$H_STATUS"
assert_contains "duplicate email: message" "$H_BODY" "a user with this email already exists"
assert_contains "duplicate email: typed email kept" "$H_BODY" 'value="ED@EXAMPLE.COM"'

post "$JA" /users email=mm@example.com "name=Mismatch" role=viewer \
    password=long-enough-1 confirm=long-enough-2
assert_eq "mismatched confirmation -> 422" 422 "$H_STATUS"
assert_contains "mismatch: message on confirm" "$H_BODY" 'id="confirm-error"'

long_name=$(printf 'x%.0s' $(seq 1 201))
post "$JA" /users email=long@example.com "name=$long_name" role=wizard \
    password=long-enough-1 confirm=long-enough-1
assert_eq "long name and bad role -> 422" 422 "$H_STATUS"
assert_contains "long name: message" "$H_BODY" "longer than 200 characters"
assert_contains "bad role: message" "$H_BODY" 'id="role-error"'

h_get "$H_URL/users" -b "$JA" -c "$JA" --data-urlencode email=nocsrf@example.com
assert_eq "create without the CSRF token -> 403" 403 "$H_STATUS"

# --- escaping -------------------------------------------------------------------

page "$JA" /users
assert_contains "/users shows the hostile name escaped" "$H_BODY" "$XSS_ESC"
assert_lacks "/users never has the raw script" "$H_BODY" "<script>alert(1)"
page "$JA" "/users/$V_ID"
assert_eq "GET /users/{viewer} -> 200" 200 "$H_STATUS"
assert_contains "/users/{id} escapes the name in the form value" "$H_BODY" \
    "value=\"$XSS_ESC\""
assert_lacks "/users/{id} never has the raw script" "$H_BODY" "<script>alert(1)"

login "$JV" vee@example.com "$V_PW"
assert_eq "viewer signs in" 303 "$H_STATUS"
page "$JV" /
assert_eq "viewer dashboard -> 200" 200 "$H_STATUS"
assert_contains "header shows the name escaped" "$H_BODY" \
    "<span class=\"who-name\" data-testid=\"who\">$XSS_ESC</span>"
assert_contains "dashboard welcome shows the name escaped" "$H_BODY" "Welcome, $XSS_ESC."
assert_lacks "dashboard never has the raw script" "$H_BODY" "<script>alert(1)"

# --- roles ----------------------------------------------------------------------

page "$JV" /users
assert_eq "viewer GET /users -> 403" 403 "$H_STATUS"
page "$JV" "/users/$V_ID"
assert_eq "viewer GET /users/{id} -> 403" 403 "$H_STATUS"
page "$JV" /api/v1/users
assert_eq "viewer GET /api/v1/users -> 403" 403 "$H_STATUS"
page "$JV" /api/v1/me
assert_eq "viewer GET /api/v1/me -> 200" 200 "$H_STATUS"
assert_eq "me: id" "$V_ID" "$(h_json id <<< "$H_BODY" || true)"
assert_eq "me: name (raw in JSON)" "$XSS" "$(h_json name <<< "$H_BODY" || true)"
assert_eq "me: role" viewer "$(h_json role <<< "$H_BODY" || true)"
assert_eq "me: email" vee@example.com "$(h_json email <<< "$H_BODY" || true)"

login "$JE" Ed@Example.com "$ED_PW"
assert_eq "editor signs in" 303 "$H_STATUS"
page "$JE" /users
assert_eq "editor GET /users -> 403" 403 "$H_STATUS"
post "$JE" /users email=sneaky@example.com name=Sneaky role=admin \
    password=long-enough-1 confirm=long-enough-1
assert_eq "editor POST /users -> 403" 403 "$H_STATUS"
assert_eq "editor made no user" 0 \
    "$(h_psql "SELECT count(*) FROM sluice.users WHERE email = 'sneaky@example.com'")"
h_get "$H_URL/users"
assert_eq "anonymous GET /users -> 303 to sign in" 303 "$H_STATUS"
h_get "$H_URL/api/v1/me"
assert_eq "anonymous GET /api/v1/me -> 401" 401 "$H_STATUS"

# --- unknown and malformed ids ----------------------------------------------------

for p in /users/nope /users/00000000-0000-4000-8000-000000000000 /users/nope/password \
    /users/nope/deactivate "/users/$V_ID-x"; do
    page "$JA" "$p"
    assert_eq "GET $p -> 404" 404 "$H_STATUS"
done
post "$JA" /users/nope name=X role=viewer
assert_eq "POST /users/nope -> 404" 404 "$H_STATUS"
post "$JA" /users/00000000-0000-4000-8000-000000000000/deactivate
assert_eq "POST deactivate of an unknown uuid -> 404" 404 "$H_STATUS"

# --- last admin ---------------------------------------------------------------------

post "$JA" "/users/$ADMIN_ID" "name=Ada Admin" role=editor
assert_eq "demoting the last admin -> 422" 422 "$H_STATUS"
assert_contains "demotion: says why" "$H_BODY" "last active admin"
assert_contains "demotion: role field marked" "$H_BODY" 'id="role-error"'
assert_eq "the admin is still admin" admin \
    "$(h_psql "SELECT role FROM sluice.users WHERE id = '$ADMIN_ID'")"

page "$JA" "/users/$ADMIN_ID/deactivate"
assert_eq "deactivate page for the last admin -> 200" 200 "$H_STATUS"
assert_contains "deactivate page explains the refusal" "$H_BODY" "last active admin"
assert_lacks "deactivate page offers no button" "$H_BODY" \
    "action=\"/users/$ADMIN_ID/deactivate\""
post "$JA" "/users/$ADMIN_ID/deactivate"
assert_eq "deactivating the last admin -> 409" 409 "$H_STATUS"
assert_contains "409 page says why" "$H_BODY" "last active admin"
assert_eq "the admin is still active" t \
    "$(h_psql "SELECT active FROM sluice.users WHERE id = '$ADMIN_ID'")"

# --- edit ---------------------------------------------------------------------------

page "$JA" "/users/$ED_ID"
assert_contains "edit page selects the current role" "$H_BODY" \
    '<option value="editor" selected>'
post "$JA" "/users/$ED_ID" "name=Eddie Admin" role=admin
assert_eq "promote editor to admin -> 303" 303 "$H_STATUS"
assert_eq "role now admin" admin "$(h_psql "SELECT role FROM sluice.users WHERE id = '$ED_ID'")"
assert_eq "name changed" "Eddie Admin" \
    "$(h_psql "SELECT name FROM sluice.users WHERE id = '$ED_ID'")"
assert_eq "audit user.update before/after" "editor|admin|Eddie Editor|Eddie Admin" \
    "$(h_psql "SELECT details->'before'->>'role', details->'after'->>'role',
               details->'before'->>'name', details->'after'->>'name'
               FROM sluice.audit_log WHERE action = 'user.update' AND object_id = '$ED_ID'
               ORDER BY id DESC LIMIT 1")"

post "$JA" "/users/$ADMIN_ID/deactivate"
assert_eq "deactivating yourself (with another admin) -> 409" 409 "$H_STATUS"
assert_contains "self-deactivation says why" "$H_BODY" "your own account"

post "$JA" "/users/$ED_ID" "name=" role=viewer
assert_eq "empty name -> 422" 422 "$H_STATUS"
assert_contains "empty name: message" "$H_BODY" "enter a name"
assert_contains "empty name: typed role kept" "$H_BODY" '<option value="viewer" selected>'

post "$JA" "/users/$ED_ID" "name=Eddie Editor" role=editor
assert_eq "demote back to editor (two admins) -> 303" 303 "$H_STATUS"
assert_eq "role editor again" editor \
    "$(h_psql "SELECT role FROM sluice.users WHERE id = '$ED_ID'")"

# --- deactivate / activate ---------------------------------------------------------

page "$JA" "/users/$V_ID/deactivate"
assert_eq "deactivate confirmation page -> 200" 200 "$H_STATUS"
assert_contains "confirmation page has a POST form" "$H_BODY" \
    "action=\"/users/$V_ID/deactivate\""
assert_contains "confirmation also asks with JS" "$H_BODY" 'data-confirm='
assert_eq "viewer has a session" 1 \
    "$(h_psql "SELECT count(*) > 0 FROM sluice.sessions WHERE user_id = '$V_ID'" | tr tf 10)"
post "$JA" "/users/$V_ID/deactivate"
assert_eq "deactivate viewer -> 303" 303 "$H_STATUS"
assert_eq "viewer inactive" f "$(h_psql "SELECT active FROM sluice.users WHERE id = '$V_ID'")"
assert_eq "viewer's sessions deleted" 0 \
    "$(h_psql "SELECT count(*) FROM sluice.sessions WHERE user_id = '$V_ID'")"
page "$JV" /
assert_eq "deactivated viewer's old cookie is refused" 303 "$H_STATUS"
assert_contains "... and sent to sign in" "$(h_header Location)" /login
login "$JV" vee@example.com "$V_PW"
assert_eq "deactivated user cannot sign in" 401 "$H_STATUS"
page "$JA" /users
assert_contains "list shows the inactive badge" "$H_BODY" \
    '<span class="badge badge-off">inactive</span>'
page "$JA" "/users/$V_ID"
assert_contains "inactive user page offers reactivation" "$H_BODY" \
    "action=\"/users/$V_ID/activate\""

post "$JA" "/users/$V_ID/activate"
assert_eq "reactivate viewer -> 303" 303 "$H_STATUS"
assert_eq "viewer active again" t "$(h_psql "SELECT active FROM sluice.users WHERE id = '$V_ID'")"
login "$JV" vee@example.com "$V_PW"
assert_eq "reactivated viewer signs in" 303 "$H_STATUS"

# --- password reset ------------------------------------------------------------------

page "$JE" /
assert_eq "editor session works before the reset" 200 "$H_STATUS"
page "$JA" "/users/$ED_ID/password"
assert_eq "password page -> 200" 200 "$H_STATUS"
post "$JA" "/users/$ED_ID/password" password=short confirm=short
assert_eq "reset with a short password -> 422" 422 "$H_STATUS"
assert_contains "short reset: message" "$H_BODY" "at least 8 characters"
post "$JA" "/users/$ED_ID/password" "password=$ED_PW2" confirm=something-else
assert_eq "reset with a mismatch -> 422" 422 "$H_STATUS"
page "$JE" /
assert_eq "failed resets leave the session alone" 200 "$H_STATUS"
post "$JA" "/users/$ED_ID/password" "password=$ED_PW2" "confirm=$ED_PW2"
assert_eq "reset password -> 303" 303 "$H_STATUS"
assert_eq "editor's sessions deleted" 0 \
    "$(h_psql "SELECT count(*) FROM sluice.sessions WHERE user_id = '$ED_ID'")"
page "$JE" /
assert_eq "editor's old session is gone" 303 "$H_STATUS"
login "$JE" Ed@Example.com "$ED_PW"
assert_eq "old password refused" 401 "$H_STATUS"
login "$JE" Ed@Example.com "$ED_PW2"
assert_eq "new password works" 303 "$H_STATUS"
page "$JA" /users
assert_eq "admin's own session survives resets of others" 200 "$H_STATUS"

# --- audit --------------------------------------------------------------------------

for a in user.create user.update user.password_reset user.deactivate user.activate; do
    assert_eq "audit $a by the admin" 0 \
        "$(h_psql "SELECT count(*) FILTER (WHERE actor_id IS DISTINCT FROM '$ADMIN_ID'
                   OR actor_email <> '$ADMIN_EMAIL')
                   + CASE WHEN count(*) = 0 THEN 1000 ELSE 0 END
                   FROM sluice.audit_log WHERE action = '$a' AND actor_email <> 'cli'")"
done
assert_eq "two user.create rows from the web" 2 \
    "$(h_psql "SELECT count(*) FROM sluice.audit_log WHERE action = 'user.create'
               AND actor_id = '$ADMIN_ID'")"
assert_eq "user.create details" "editor|Ed@Example.com|Eddie Editor" \
    "$(h_psql "SELECT details->>'role', details->>'email', details->>'name'
               FROM sluice.audit_log WHERE action = 'user.create' AND object_id = '$ED_ID'")"
assert_eq "password_reset names the user" "$ED_ID" \
    "$(h_psql "SELECT object_id FROM sluice.audit_log WHERE action = 'user.password_reset'")"
for pw in "$ADMIN_PW" "$ED_PW" "$ED_PW2" "$V_PW" typed-secret-1 long-enough-1; do
    assert_eq "no password in audit details (${pw:0:4}...)" 0 \
        "$(h_psql "SELECT count(*) FROM sluice.audit_log
                   WHERE strpos(coalesce(details::text, ''), '$pw') > 0")"
done
assert_eq "no password keys in audit details" 0 \
    "$(h_psql "SELECT count(*) FROM sluice.audit_log WHERE details::text ILIKE '%password%'
               AND action LIKE 'user.%'")"

# --- API ----------------------------------------------------------------------------

page "$JA" /api/v1/users
assert_eq "GET /api/v1/users -> 200" 200 "$H_STATUS"
assert_contains "users API is JSON" "$(h_header Content-Type)" application/json
assert_eq "three users" 3 "$(h_json items <<< "$H_BODY" | node -e \
    'console.log(JSON.parse(require("fs").readFileSync(0, "utf8")).length)')"
assert_eq "newest first" vee@example.com "$(h_json items.0.email <<< "$H_BODY" || true)"
assert_eq "no next page" null "$(h_json next_cursor <<< "$H_BODY" || true)"
assert_eq "a list answers items and next_cursor only" "items,next_cursor" \
    "$(node -e 'console.log(Object.keys(JSON.parse(require("fs").readFileSync(0, "utf8")))
        .sort().join(","))' <<< "$H_BODY")"
assert_lacks "no password_hash in the list" "$H_BODY" password
assert_eq "active is a boolean" true "$(h_json items.0.active <<< "$H_BODY" || true)"

# api_walk LIMIT [QUERY]: follow next_cursor from the first page with ?limit=LIMIT;
# WALK_IDS gets every id (one a line), WALK_PAGES the pages, WALK_SIZES their sizes.
api_walk() {
    local cursor="" q
    WALK_IDS="" WALK_PAGES=0 WALK_SIZES=""
    while :; do
        q="limit=$1${2:+&$2}${cursor:+&cursor=$cursor}"
        page "$JA" "/api/v1/users?$q"
        if [ "$H_STATUS" != 200 ]; then
            fail "walk: GET /api/v1/users?$q -> 200" "got $H_STATUS: ${H_BODY:0:200}"
            break
        fi
        WALK_IDS+=$(node -e 'for (const u of JSON.parse(require("fs").readFileSync(0, "utf8"))
            .items) console.log(u.id)' <<< "$H_BODY")$'\n'
        WALK_SIZES+="$(h_json items <<< "$H_BODY" | node -e \
            'console.log(JSON.parse(require("fs").readFileSync(0, "utf8")).length)') "
        WALK_PAGES=$((WALK_PAGES + 1))
        cursor=$(h_json next_cursor <<< "$H_BODY")
        if [ "$cursor" = null ] || [ "$WALK_PAGES" -ge 100 ]; then break; fi
    done
    WALK_IDS=$(sed '/^$/d' <<< "$WALK_IDS")
}
users_in_order() {
    h_psql "SELECT id FROM sluice.users ORDER BY created_at DESC, id DESC"
}

# Walk with limit=1: three pages, each user once, newest first, the last next_cursor null.
api_walk 1
assert_eq "limit=1 walks three pages" 3 "$WALK_PAGES"
assert_eq "limit=1: every user exactly once, newest first" "$(users_in_order)" "$WALK_IDS"
assert_eq "the walk ends at the oldest (the admin)" "$ADMIN_ID" "$(tail -n 1 <<< "$WALK_IDS")"
api_walk 2
assert_eq "limit=2: pages of 2 and 1" "2 1 " "$WALK_SIZES"
assert_eq "limit=2: every user exactly once" "$(users_in_order)" "$WALK_IDS"

page "$JA" "/api/v1/users?limit=1"
FIRST_CURSOR=$(h_json next_cursor <<< "$H_BODY" || true)
if [[ $FIRST_CURSOR =~ ^[A-Za-z0-9_-]+$ ]]; then
    ok "next_cursor is an opaque URL-safe string"
else
    fail "next_cursor is an opaque URL-safe string" "got '$FIRST_CURSOR'"
fi
page "$JA" "/api/v1/users?cursor=$FIRST_CURSOR"
assert_eq "a cursor without limit: the default page size, after the first user" 2 \
    "$(h_json items <<< "$H_BODY" | node -e \
        'console.log(JSON.parse(require("fs").readFileSync(0, "utf8")).length)')"

# A cursor is only what the server made: a user id, garbage, padding, or a forged
# cursor with a bad key is 422, and so is any parameter the API does not declare
# (after= was the old cursor).
FORGED=$(printf 'yesterday\n%s' "$ADMIN_ID" | base64 -w0 | tr '+/' '-_' | tr -d '=')
for q in "limit=0" "limit=201" "limit=abc" "limit=" "cursor=" "cursor=nope" \
    "cursor=$ADMIN_ID" "cursor=$FIRST_CURSOR%3D" "cursor=$FORGED" "cursor=%ZZ" \
    "after=$ADMIN_ID" "colour=red" "limit=5&sort=email"; do
    page "$JA" "/api/v1/users?$q"
    assert_eq "GET /api/v1/users?$q -> 422" 422 "$H_STATUS"
done
assert_contains "422 is problem+json" "$(h_header Content-Type)" application/problem+json
page "$JA" "/api/v1/users?limit=abc"
assert_contains "422 names the field" "$(h_json errors <<< "$H_BODY" || true)" '"limit"'
page "$JA" "/api/v1/users?limit=0&cursor=nope&after=x&colour=red"
assert_eq "422 has an error per bad or undeclared parameter" "after,colour,cursor,limit" \
    "$(node -e 'console.log(Object.keys(JSON.parse(require("fs").readFileSync(0, "utf8")).errors)
        .sort().join(","))' <<< "$H_BODY")"

page "$JA" "/api/v1/users/$ED_ID"
assert_eq "GET /api/v1/users/{id} -> 200" 200 "$H_STATUS"
assert_eq "user API: email" Ed@Example.com "$(h_json email <<< "$H_BODY" || true)"
assert_eq "user API: role" editor "$(h_json role <<< "$H_BODY" || true)"
assert_eq "user API: name" "Eddie Editor" "$(h_json name <<< "$H_BODY" || true)"
assert_lacks "user API: no password_hash" "$H_BODY" password
created=$(h_json created_at <<< "$H_BODY" || true)
if [[ $created =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$ ]]; then
    ok "user API: created_at is ISO 8601 UTC"
else
    fail "user API: created_at is ISO 8601 UTC" "got '$created'"
fi
page "$JA" /api/v1/users/not-a-uuid
assert_eq "malformed id -> 404" 404 "$H_STATUS"
assert_contains "404 is problem+json" "$(h_header Content-Type)" application/problem+json
assert_eq "404 problem status" 404 "$(h_json status <<< "$H_BODY" || true)"
page "$JA" /api/v1/users/00000000-0000-4000-8000-000000000000
assert_eq "unknown id -> 404" 404 "$H_STATUS"
page "$JA" /api/v1/me
assert_eq "admin /api/v1/me: role" admin "$(h_json role <<< "$H_BODY" || true)"
assert_eq "admin /api/v1/me: id" "$ADMIN_ID" "$(h_json id <<< "$H_BODY" || true)"

# --- pagination of the page (50 a page) ---------------------------------------------

h_psql "INSERT INTO sluice.users (email, name, created_at)
        SELECT 'bulk' || i || '@example.com', 'Bulk ' || i,
               now() - interval '1 day' - i * interval '1 minute'
        FROM generate_series(1, 60) i" > /dev/null
page "$JA" /users
assert_eq "first page: 50 rows" 50 "$(count_of "$H_BODY" '<td><a href="/users/')"
assert_contains "first page links to older" "$H_BODY" 'rel="next"'
assert_lacks "first page has no newer link" "$H_BODY" 'rel="prev"'
older=$(printf '%s' "$H_BODY" | grep -o '/users?after=[0-9a-f-]*' | head -n 1)
page "$JA" "$older"
assert_eq "second page: the other 13 rows" 13 "$(count_of "$H_BODY" '<td><a href="/users/')"
assert_contains "second page ends with the oldest" "$H_BODY" "bulk60@example.com"
assert_lacks "second page has no older link" "$H_BODY" 'rel="next"'
newer=$(printf '%s' "$H_BODY" | grep -o '/users?before=[0-9a-f-]*' | head -n 1)
page "$JA" "$newer"
assert_eq "back to the first page: 50 rows" 50 "$(count_of "$H_BODY" '<td><a href="/users/')"
assert_contains "first page again starts with the newest" "$H_BODY" "vee@example.com"
oldest=$(h_psql "SELECT id FROM sluice.users WHERE email = 'bulk60@example.com'")
page "$JA" "/users?after=$oldest"
assert_contains "past the end: empty state" "$H_BODY" 'class="empty"'
page "$JA" "/users?after=nope"
assert_eq "malformed cursor -> 400" 400 "$H_STATUS"

# The API walks all 63 users; 6 more share one created_at (the id breaks the tie)
# and 2 differ from them by a microsecond, so the cursor must keep full precision.
h_psql "INSERT INTO sluice.users (email, created_at)
        SELECT 'tie' || i || '@example.com', timestamptz '2020-01-01 00:00:00.000001Z'
        FROM generate_series(1, 6) i
        UNION ALL SELECT 'tick' || i || '@example.com',
               timestamptz '2020-01-01 00:00:00Z' + i * interval '1 microsecond' * 2
        FROM generate_series(0, 1) i" > /dev/null
api_walk 50
assert_eq "limit=50 over 71 users: 50 and 21" "50 21 " "$WALK_SIZES"
assert_eq "every user exactly once, in (created_at, id) order" "$(users_in_order)" "$WALK_IDS"
api_walk 3
assert_eq "limit=3 over 71 users: 24 pages" 24 "$WALK_PAGES"
assert_eq "limit=3: every user exactly once across the ties" "$(users_in_order)" "$WALK_IDS"
api_walk 200
assert_eq "limit=200: one page" "71 " "$WALK_SIZES"

h_done
