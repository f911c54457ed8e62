# console.sh - a scripted console client for integration tests, sourced after
# harness.sh: sign in with a cookie jar (each sign-in from its own loopback
# address under $H_LOGIN_NET, so nginx's per-address /login limit never
# interferes), fetch pages, call the API with a bearer token, read JSON.
#
#   login JAR EMAIL PASSWORD     page JAR PATH [curl args]     csrf_of JAR
#   api METHOD PATH TOKEN [curl args]   jget PATH   jsq JS-EXPR   assert_lacks
# shellcheck shell=bash
H_LOGIN_NET=${H_LOGIN_NET:-127.0.5}
assert_lacks() {
    if [[ $2 != *"$3"* ]]; then ok "$1"; else fail "$1" "'$3' found"; fi
}
csrf_in() {
    printf '%s' "$H_BODY" | grep -o 'name="_csrf" value="[^"]*"' | head -n 1 \
        | sed 's/.*value="//; s/"$//'
}
LOGINS=0
login() {
    local jar=$1 tok src
    LOGINS=$((LOGINS + 1))
    src=$H_LOGIN_NET.$LOGINS
    rm -f "$jar"
    h_get "$H_URL/login" -b "$jar" -c "$jar" --interface "$src"
    tok=$(csrf_in || true)
    h_get "$H_URL/login" -b "$jar" -c "$jar" --interface "$src" --data-urlencode "_csrf=$tok" \
        --data-urlencode "email=$2" --data-urlencode "password=$3" --data-urlencode "next=/"
}
page() {
    local jar=$1 path=$2
    shift 2
    h_get "$H_URL$path" -b "$jar" -c "$jar" "$@"
}
csrf_of() {
    page "$1" /
    csrf_in
}
api() {
    local method=$1 path=$2 token=$3
    shift 3
    h_get "$H_URL$path" -X "$method" -H "Authorization: Bearer $token" \
        -H 'Content-Type: application/json' "$@"
}
jget() { printf '%s' "$H_BODY" | h_json "$1" || true; }
# jsq EXPR: a JavaScript expression over the JSON in H_BODY (as d).
jsq() {
    printf '%s' "$H_BODY" | node -e '
        const d = JSON.parse(require("fs").readFileSync(0, "utf8"));
        const v = eval(process.argv[1]);
        process.stdout.write(typeof v === "string" ? v : JSON.stringify(v));
    ' "$1"
}
