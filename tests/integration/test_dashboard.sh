#!/usr/bin/env bash
# test_dashboard.sh - the dashboard (GET /) and the dependency graph
# (GET /pipelines/graph) through nginx, from a fresh install (empty states)
# to a control database with runs inserted across 14 days: the cards'
# numbers, the links they carry, both charts (one column per day, the bars
# and tooltips the runs make, the axis top), the latest runs, failing and
# stale pipelines with their reasons (manual and paused pipelines are never
# stale, deleted ones never listed), and the graph of depends_on links and
# pipeline_success triggers (boxes, arrows, layers, a cycle drawn without
# hanging), all as a viewer. The expected numbers are computed here from
# the same list of runs the test inserts.
set -euo pipefail
. "$(dirname "$0")/../lib/harness.sh"
export LC_ALL=C

# Day buckets are UTC days: keep clear of midnight.
sod=$(($(date -u +%s) % 86400))
if [ "$sod" -gt $((86400 - 180)) ]; then
    h_log "waiting $((86400 - sod + 5)) s for the UTC day to turn"
    sleep $((86400 - sod + 5))
fi

h_stack_up

V_EMAIL=vi@example.com
V_PW='viewer-pass-4321'
sluice_cli() {
    SLUICE_DATABASE_URL=$H_DATABASE_URL SLUICE_VAR=$H_VAR SLUICE_SHARE_DIR=$H_ROOT \
        SLUICE_LOG_LEVEL=${SLUICE_LOG_LEVEL:-warn} "$H_ROOT/bin/sluice" "$@"
}
printf '%s\n' "$V_PW" | sluice_cli user add --email "$V_EMAIL" --role viewer --name Vi \
    > /dev/null

JV=$H_TMP/viewer.jar
csrf_in() {
    printf '%s' "$H_BODY" | grep -o 'name="_csrf" value="[^"]*"' | head -n 1 \
        | sed 's/.*value="//; s/"$//'
}
login() {
    local jar=$1 tok
    rm -f "$jar"
    h_get "$H_URL/login" -b "$jar" -c "$jar"
    tok=$(csrf_in || true)
    h_get "$H_URL/login" -b "$jar" -c "$jar" --data-urlencode "_csrf=$tok" \
        --data-urlencode "email=$2" --data-urlencode "password=$3" --data-urlencode "next=/"
}
page() { h_get "$H_URL$2" -b "$1" -c "$1"; }
assert_lacks() {
    if [[ $2 != *"$3"* ]]; then ok "$1"; else fail "$1" "'$3' found"; fi
}
# The line of H_BODY holding a data-testid.
line_of() { printf '%s\n' "$H_BODY" | grep -F "data-testid=\"$1\"" | head -n 1; }
card_value() {
    printf '%s\n' "$H_BODY" | sed -n "/data-testid=\"card-$1\"/{n;p;}" \
        | sed 's/.*<span class="stat-value">\([^<]*\)<.*/\1/'
}
count_in() { grep -o -- "$2" <<< "$1" | wc -l | tr -d ' '; }
group() { printf '%s' "$1" | sed ':a;s/\([0-9]\)\([0-9]\{3\}\)\($\|,\)/\1,\2\3/;ta'; }
# svgchart.c's axis top and tick labels, for the expected values.
nice_top() {
    local max=$1 raw mag step
    if [ "$max" -le 0 ]; then echo 1; return; fi
    raw=$(((max + 4) / 5)) mag=1
    while [ "$mag" -le $((raw / 10)) ]; do mag=$((mag * 10)); done
    step=$mag
    [ "$step" -ge "$raw" ] || step=$((2 * mag))
    [ "$step" -ge "$raw" ] || step=$((5 * mag))
    [ "$step" -ge "$raw" ] || step=$((10 * mag))
    echo $(((max + step - 1) / step * step))
}
short() {
    local v=$1 u s c
    for u in 1000000:M 1000:k; do
        s=${u#*:} u=${u%:*}
        if [ "$v" -ge "$u" ]; then
            c=$(((v % u) / (u / 100)))
            if [ "$c" -eq 0 ]; then echo "$((v / u))$s"
            elif [ $((c % 10)) -eq 0 ]; then echo "$((v / u)).$((c / 10))$s"
            else printf '%d.%02d%s\n' $((v / u)) "$c" "$s"; fi
            return
        fi
    done
    echo "$v"
}

login "$JV" "$V_EMAIL" "$V_PW"
assert_eq "viewer signs in" 303 "$H_STATUS"

# --- a fresh install ----------------------------------------------------------------

page "$JV" /
assert_eq "GET / -> 200 on a fresh install" 200 "$H_STATUS"
assert_eq "no active pipelines" 0 "$(card_value active)"
assert_eq "no rows synced" 0 "$(card_value rows)"
assert_eq "no failed runs" 0 "$(card_value failed)"
assert_eq "nothing running" 0 "$(card_value running)"
assert_contains "latest runs: empty state" "$H_BODY" "No runs yet."
assert_contains "attention: empty state" "$H_BODY" "Nothing is failing or overdue."
ROWS_CHART=$(line_of chart-rows)
OUT_CHART=$(line_of chart-outcomes)
assert_contains "rows chart: empty text" "$ROWS_CHART" "No rows synced in the last 14 days."
assert_contains "outcomes chart: empty text" "$OUT_CHART" "No finished runs in the last 14 days."
assert_eq "rows chart: 14 columns" 14 "$(count_in "$ROWS_CHART" '<g class="col">')"
assert_eq "rows chart: no bars" 0 "$(count_in "$ROWS_CHART" 'class="bar s')"
assert_eq "outcomes chart: no bars" 0 "$(count_in "$OUT_CHART" 'class="bar s')"
assert_contains "charts are accessible images" "$ROWS_CHART" \
    'role="img" aria-label="Rows synced per day (UTC)"'
assert_contains "with a data table" "$ROWS_CHART" '<table class="vh"><caption>'
assert_lacks "no style attributes (CSP style-src 'self')" "$H_BODY" ' style="'
page "$JV" /pipelines/graph
assert_eq "GET /pipelines/graph -> 200 on a fresh install" 200 "$H_STATUS"
assert_contains "graph: empty state" "$H_BODY" 'data-testid="graph-empty">No pipelines yet.'

# --- pipelines and 14 days of runs ----------------------------------------------------

S=00000000-0000-4000-8000-0000000000a1
DST=00000000-0000-4000-8000-0000000000b1
declare -A P=(
    [alpha]=10000000-0000-4000-8000-000000000001 [bravo]=10000000-0000-4000-8000-000000000002
    [charlie]=10000000-0000-4000-8000-000000000003 [delta]=10000000-0000-4000-8000-000000000004
    [echo]=10000000-0000-4000-8000-000000000005 [foxtrot]=10000000-0000-4000-8000-000000000006
    [golf]=10000000-0000-4000-8000-000000000007 [hotel]=10000000-0000-4000-8000-000000000008
    [india]=10000000-0000-4000-8000-000000000009 [zulu]=10000000-0000-4000-8000-000000000010
)
h_psql "INSERT INTO sluice.sources (id, name, type, host, port, database, username)
  VALUES ('$S', 'src', 'postgresql', '127.0.0.1', 5432, 'shop', 'sluice');
  INSERT INTO sluice.destinations (id, name, type, host, port, database, username, is_default)
  VALUES ('$DST', 'dst', 'postgresql', '127.0.0.1', 5432, 'wh', 'sluice', true);
  INSERT INTO sluice.pipelines (id, name, source_id, destination_id, schedule, status,
                                created_at, deleted_at) VALUES
   ('${P[alpha]}', 'alpha', '$S', '$DST', '0 * * * *', 'active', now() - interval '30 days', NULL),
   ('${P[bravo]}', 'bravo <b>&', '$S', '$DST', '*/15 * * * *', 'active',
    now() - interval '30 days', NULL),
   ('${P[charlie]}', 'charlie', '$S', '$DST', '0 3 * * *', 'active', now() - interval '30 days',
    NULL),
   ('${P[delta]}', 'delta', '$S', '$DST', NULL, 'active', now() - interval '30 days', NULL),
   ('${P[echo]}', 'echo', '$S', '$DST', '0 * * * *', 'paused', now() - interval '30 days', NULL),
   ('${P[foxtrot]}', 'foxtrot', '$S', '$DST', '*/5 * * * *', 'active', now(), NULL),
   ('${P[golf]}', 'golf', '$S', '$DST', '0 * * * *', 'active', now() - interval '1 day', NULL),
   ('${P[hotel]}', 'hotel', '$S', '$DST', '*/15 * * * *', 'active', now() - interval '30 days',
    NULL),
   ('${P[india]}', 'india', '$S', '$DST', NULL, 'active', now() - interval '30 days', NULL),
   ('${P[zulu]}', 'zulu', '$S', '$DST', '*/5 * * * *', 'active', now() - interval '30 days',
    now() - interval '1 hour');" > /dev/null

# The runs: pipeline, seconds before now (finished), status, rows loaded, error.
D=86400
RUNS=()
for k in $(seq 1 13); do RUNS+=("alpha $((k * D + 7200)) success $((1000 + k)) -"); done
RUNS+=(
    "delta $((20 * D)) success 999 -"
    "delta $((10 * D)) success 10 -"
    "echo $((5 * D)) success 5 -"
    "bravo $((5 * D + 100)) failed 0 old-failure"
    "charlie $((6 * D)) skipped 0 -"
    "charlie $((3 * D + 300)) success 300 -"
    "zulu 3000 failed 11 gone"
    "india 40000 failed 0 permission-denied"
    "bravo $((3 * 3600 + 60)) success 50 -"
    "alpha 3600 success 100 -"
    "bravo 7200 failed 7 boom-<x>"
    "hotel 7260 failed 1 flaky"
    "alpha 1800 cancelled 0 -"
    "hotel 300 success 20 -"
    "alpha 60 success 123456 -"
)
T0=$(h_psql "SELECT extract(epoch FROM now())::bigint")
values=""
while read -r key off st rows err; do
    e=NULL
    [ "$err" = - ] || e="'${err//-/ }'"
    values+="${values:+,}('${P[$key]}'::uuid, '$st', 'scheduled',"
    values+=" to_timestamp($((T0 - off - 60))), to_timestamp($((T0 - off - 50))),"
    values+=" to_timestamp($((T0 - off))), $rows, $e)"
done < <(printf '%s\n' "${RUNS[@]}" | sort -k2,2nr)
# Oldest first, so ids follow time; then two running and one queued run.
h_psql "INSERT INTO sluice_runs.runs (pipeline_id, status, trigger, queued_at, started_at,
          finished_at, rows_loaded, error)
        SELECT * FROM (VALUES $values) v ORDER BY 6;
        INSERT INTO sluice_runs.runs (pipeline_id, status, trigger, queued_at, started_at)
        VALUES ('${P[alpha]}', 'running', 'scheduled', now(), now()),
               ('${P[hotel]}', 'running', 'manual', now(), now());
        INSERT INTO sluice_runs.runs (pipeline_id, status, trigger) VALUES
               ('${P[delta]}', 'queued', 'manual');" > /dev/null
QUEUED_ID=$(h_psql "SELECT id FROM sluice_runs.runs WHERE status = 'queued'")

# What the page should say, from the same list.
TODAY=$(date -u -d "@$T0" +%F)
declare -A DAY_ROWS DAY_ST
rows24=0 failed24=0
for r in "${RUNS[@]}"; do
    read -r key off st rows _ <<< "$r"
    if [ "$off" -lt $D ]; then
        rows24=$((rows24 + rows))
        [ "$st" != failed ] || failed24=$((failed24 + 1))
    fi
    day=$(date -u -d "@$((T0 - off))" +%F)
    DAY_ROWS[$day]=$((${DAY_ROWS[$day]:-0} + rows))
    DAY_ST[$day:$st]=$((${DAY_ST[$day:$st]:-0} + 1))
done

page "$JV" /
assert_eq "GET / -> 200" 200 "$H_STATUS"
assert_eq "active pipelines: 8 (paused and deleted ones not counted)" 8 "$(card_value active)"
assert_contains "one paused" "$H_BODY" "1 paused"
assert_eq "rows synced in 24 h" "$(group $rows24)" "$(card_value rows)"
assert_eq "failed runs in 24 h" "$failed24" "$(card_value failed)"
assert_eq "the expected 24 h numbers" "123,645 4" "$(group $rows24) $failed24"
assert_eq "running now" 2 "$(card_value running)"
assert_contains "queued" "$H_BODY" "1 queued"
SINCE=$(date -u -d "@$((T0 - D))" +%F)
assert_contains "failed card links to failed runs since yesterday" "$H_BODY" \
    "href=\"/runs?status=failed&amp;from=$SINCE\" data-testid=\"card-failed\""
assert_contains "rows card links to the runs since yesterday" "$H_BODY" \
    "href=\"/runs?from=$SINCE\" data-testid=\"card-rows\""
assert_contains "running card links to running runs" "$H_BODY" \
    'href="/runs?status=running" data-testid="card-running"'
page "$JV" "/runs?status=failed&from=$SINCE"
assert_eq "the failed card's link works" 200 "$H_STATUS"
page "$JV" /

ROWS_CHART=$(line_of chart-rows)
OUT_CHART=$(line_of chart-outcomes)
assert_eq "rows chart: 14 columns" 14 "$(count_in "$ROWS_CHART" '<g class="col">')"
assert_eq "outcomes chart: 14 columns" 14 "$(count_in "$OUT_CHART" '<g class="col">')"
want_bars=0 want_obars=0 max_rows=0 max_runs=0 bad=""
for k in $(seq 13 -1 0); do
    day=$(date -u -d "$TODAY - $k day" +%F)
    label=$(date -u -d "$day" '+%b %-d')
    n=${DAY_ROWS[$day]:-0}
    [ "$n" -eq 0 ] || want_bars=$((want_bars + 1))
    [ "$n" -le "$max_rows" ] || max_rows=$n
    [[ $ROWS_CHART == *"<title>$label: $(group "$n") rows</title>"* ]] \
        || bad+=" rows($label=$n)"
    tot=0 parts=""
    for st in success failed cancelled skipped; do
        c=${DAY_ST[$day:$st]:-0}
        tot=$((tot + c))
        [ "$c" -eq 0 ] || want_obars=$((want_obars + 1))
        parts+="${parts:+, }$c $st"
    done
    [ "$tot" -le "$max_runs" ] || max_runs=$tot
    [[ $OUT_CHART == *"<title>$label: $tot runs ($parts)</title>"* ]] \
        || bad+=" runs($label=$tot: $parts)"
done
assert_eq "every day's tooltip has its exact numbers" "" "$bad"
assert_eq "rows chart: a bar for each day with rows" "$want_bars" \
    "$(count_in "$ROWS_CHART" 'class="bar s0"')"
assert_eq "outcomes chart: a bar for each day and outcome" "$want_obars" \
    "$(count_in "$OUT_CHART" 'class="bar s')"
assert_true "13 or 14 days have rows (the 20-day-old run is left out)" \
    test "$want_bars" -ge 13
assert_contains "rows chart: axis top" "$ROWS_CHART" \
    "text-anchor=\"end\">$(short "$(nice_top "$max_rows")")</text>"
assert_contains "outcomes chart: axis top" "$OUT_CHART" \
    "text-anchor=\"end\">$(nice_top "$max_runs")</text>"
assert_contains "outcomes chart: a legend" "$OUT_CHART" 'class="chart-legend"'
assert_eq "x labels: every other day, 7 of them" 7 "$(count_in "$ROWS_CHART" 'class="xlabel"')"
assert_contains "today is labelled" "$ROWS_CHART" ">$(date -u -d "@$T0" '+%b %-d')</text>"
assert_lacks "no empty text once there are runs" "$ROWS_CHART" "No rows synced"

RECENT=$(printf '%s\n' "$H_BODY" | sed -n '/data-testid="recent-runs"/,/<\/section>/p')
assert_eq "latest runs: 10 rows" 10 "$(count_in "$RECENT" '<tr data-id=')"
assert_contains "the newest first: the queued run" \
    "$(printf '%s\n' "$RECENT" | grep -m1 '<tr data-id=')" "data-id=\"$QUEUED_ID\""
assert_contains "latest runs: rows grouped" "$RECENT" '<td class="num">123,456</td>'
assert_contains "latest runs: a deleted pipeline's run" "$RECENT" "zulu <small>(deleted)</small>"
assert_contains "latest runs: a status badge" "$RECENT" \
    '<span class="badge badge-run">running</span>'

ATT=$(printf '%s\n' "$H_BODY" | sed -n '/data-testid="attention"/,/<\/section>/p')
names=$(printf '%s\n' "$ATT" | grep -o '<a href="/pipelines/[^"]*"><strong>[^<]*</strong>' \
    | sed 's/.*<strong>//; s/<.*//' | paste -sd '|')
assert_eq "attention: failing first, then stale; each by name" \
    "bravo &lt;b&gt;&amp;|india|charlie|golf" "$names"
assert_contains "bravo failed, with the error escaped" "$ATT" \
    "The latest run failed 2 h ago"
assert_contains "the error is shown escaped" "$ATT" '<span class="mono">boom &lt;x&gt;</span>'
assert_contains "bravo is stale too (every 15 minutes, no success for 3 hours)" "$ATT" \
    "No successful run for 3 hours; it runs every 15 minutes, so one was due within 30 minutes."
assert_contains "charlie is stale (daily, 3 days)" "$ATT" \
    "No successful run for 3 days; it runs daily at 03:00, so one was due within 2 days."
assert_contains "golf never synced" "$ATT" \
    "Never synced successfully in the 24 hours since it was created; it runs every hour."
assert_contains "india (manual) is failing, never stale" "$ATT" "The latest run failed 11 h ago"
assert_eq "failing badges" 2 "$(count_in "$ATT" 'badge-off">failing')"
assert_eq "stale badges" 3 "$(count_in "$ATT" 'badge-warn">stale')"
for quiet in alpha delta echo foxtrot hotel zulu; do
    assert_lacks "$quiet is not listed" "$ATT" "/pipelines/${P[$quiet]}\""
done
# A success clears bravo's failure (the stale reason stays until it is recent).
h_psql "INSERT INTO sluice_runs.runs (pipeline_id, status, queued_at, started_at, finished_at)
        VALUES ('${P[bravo]}', 'success', now(), now(), now())" > /dev/null
page "$JV" /
ATT=$(printf '%s\n' "$H_BODY" | sed -n '/data-testid="attention"/,/<\/section>/p')
assert_lacks "bravo succeeded: no longer listed" "$ATT" "/pipelines/${P[bravo]}\""
assert_eq "three left" 3 "$(count_in "$ATT" '<a href="/pipelines/[^"]*"><strong>')"
assert_lacks "still no style attributes" "$H_BODY" ' style="'

# --- the dependency graph -------------------------------------------------------------

page "$JV" /pipelines
assert_contains "the pipelines list links to the graph" "$H_BODY" 'href="/pipelines/graph"'
page "$JV" /pipelines/graph
assert_contains "no links yet: the empty state" "$H_BODY" "No pipeline depends on another yet."
IND=$(printf '%s\n' "$H_BODY" | sed -n '/data-testid="independent"/,/<\/section>/p')
assert_eq "every live pipeline listed on its own" 9 "$(count_in "$IND" '<li><a href="/pipelines/')"

# alpha -> bravo (depends on), bravo -> charlie (depends on and a trigger),
# alpha -> hotel (a trigger); the deleted zulu depends on alpha too.
h_psql "UPDATE sluice.pipelines SET depends_on = '${P[alpha]}'
          WHERE id IN ('${P[bravo]}', '${P[zulu]}');
        UPDATE sluice.pipelines SET depends_on = '${P[bravo]}' WHERE id = '${P[charlie]}';
        INSERT INTO sluice.pipeline_triggers (pipeline_id, type, config) VALUES
          ('${P[charlie]}', 'pipeline_success', '{\"upstream_pipeline_id\": \"${P[bravo]}\"}'),
          ('${P[hotel]}', 'pipeline_success', '{\"upstream_pipeline_id\": \"${P[alpha]}\"}');" \
    > /dev/null
page "$JV" /pipelines/graph
assert_eq "GET /pipelines/graph -> 200" 200 "$H_STATUS"
G=$(printf '%s\n' "$H_BODY" | grep -F '<svg' || true)
assert_eq "four boxes" 4 "$(count_in "$G" '<a class="dg-node"')"
assert_eq "three arrows" 3 "$(count_in "$G" '<path class="dg-edge')"
assert_eq "one of them a trigger only" 1 "$(count_in "$G" 'class="dg-edge dg-trigger"')"
assert_eq "no cycle" 0 "$(count_in "$G" 'dg-back')"
for k in alpha bravo charlie hotel; do
    assert_contains "$k has a box linking to its page" "$G" "href=\"/pipelines/${P[$k]}\""
done
assert_lacks "the deleted pipeline is not drawn" "$G" "${P[zulu]}"
assert_contains "names are escaped" "$G" ">bravo &lt;b&gt;&amp;</text>"
assert_contains "the merged link says both" "$G" \
    "charlie (depends on it, and runs when it succeeds)</title>"
assert_contains "the trigger link" "$G" "hotel (runs when it succeeds)</title>"
# Layers: alpha first, bravo and hotel second, charlie third (x of each box).
box_x() {
    printf '%s' "$G" \
        | grep -o "href=\"/pipelines/$1\"[^>]*><title>[^<]*</title><rect x=\"[0-9.]*\"" \
        | sed 's/.*<rect x="//; s/"$//'
}
assert_eq "layers: alpha, then bravo and hotel, then charlie" \
    "16.0 268.0 268.0 520.0" \
    "$(box_x "${P[alpha]}") $(box_x "${P[bravo]}") $(box_x "${P[hotel]}") $(box_x "${P[charlie]}")"
assert_contains "boxes are coloured by the latest run" "$G" \
    "href=\"/pipelines/${P[alpha]}\" data-status=\"running\""
LINKS=$(printf '%s\n' "$H_BODY" | sed -n '/data-testid="links"/,/<\/table>/p')
assert_eq "the links as a table: three rows" 3 "$(count_in "$LINKS" '<tr><td>')"
IND=$(printf '%s\n' "$H_BODY" | sed -n '/data-testid="independent"/,/<\/section>/p')
assert_eq "the five others listed beside it" 5 "$(count_in "$IND" '<li><a href="/pipelines/')"
assert_lacks "no style attributes" "$H_BODY" ' style="'

# A cycle (refused when saving; made here behind the console's back) is drawn, cut.
h_psql "UPDATE sluice.pipelines SET depends_on = '${P[charlie]}' WHERE id = '${P[alpha]}'" \
    > /dev/null
h_get "$H_URL/pipelines/graph" -b "$JV" -c "$JV" -m 5
assert_eq "a cycle: still 200, at once" 200 "$H_STATUS"
G=$(printf '%s\n' "$H_BODY" | grep -F '<svg' || true)
assert_eq "a cycle: one edge cut and marked" 1 "$(count_in "$G" 'class="dg-edge dg-back"')"
assert_contains "a cycle: said in words" "$H_BODY" "These links form a cycle"
h_psql "UPDATE sluice.pipelines SET depends_on = NULL WHERE id = '${P[alpha]}'" > /dev/null

h_done
