-- name: marts.staging.care_periods
-- grain: one row per period of care: council, child, the date it started
-- description: Periods of being looked after, from the repaired SSDA903 episodes and Ofsted Annex A
--   list 8 taken together. From the 903, a period is a run of episodes each starting the day the
--   one before ended with REC X1 (a change of placement or legal status within care);
--   `reason_ceased` is the REC of its last episode; `placements` counts the episodes that began a
--   new placement with a new carer (the first, and RNE P or B; T and U keep the same carer, as
--   marts.staging.placements counts them). From Annex A, a period is
--   "Date Started to be Looked After" with "Date Ceased to be Looked After" and "Reason Ceased to
--   be Looked After" (`placements` null). A period in both, or in several returns or snapshots,
--   is one row, each field from the latest (returns as at 31 March, snapshots as at their month
--   end, the 903 winning a tie). An Annex A period left open by the last snapshot that listed it
--   and missing from the council's later snapshots (a snapshot with a quarantined list 8 row of
--   the child's still lists it) ends the day after that snapshot's month end,
--   so it is looked after on every date a snapshot showed it open and not known after
--   (`end_inferred`, as is a 903 period whose last episode was closed by repair rule 2 or 6 of
--   marts.staging.care_episodes, REC E99). `period_end` is NULL while the child is looked after.
WITH e AS (
    SELECT *,
           lag(dec) OVER (PARTITION BY la_code, child_id ORDER BY decom) AS prev_dec,
           lag(rec) OVER (PARTITION BY la_code, child_id ORDER BY decom) AS prev_rec
    FROM marts.staging.care_episodes
),
starts AS (
    SELECT *,
           CASE WHEN prev_rec = 'X1' AND prev_dec = decom THEN 0 ELSE 1 END AS starts_period
    FROM e
),
numbered AS (
    SELECT *,
           sum(starts_period) OVER (PARTITION BY la_code, child_id ORDER BY decom ROWS UNBOUNDED PRECEDING) AS period_no
    FROM starts
),
from_903 AS (
    SELECT
        la_code,
        child_id,
        min(decom) AS period_start,
        CASE WHEN bool_and(dec IS NOT NULL) THEN max(dec) END AS period_end,
        first_value(rec ORDER BY decom DESC) AS reason_ceased,
        first_value(ls ORDER BY decom) AS legal_status_at_start,
        first_value(cin ORDER BY decom) AS category_of_need,
        CAST(sum(CASE WHEN starts_period = 1 OR rne IN ('P', 'B') THEN 1 ELSE 0 END) AS BIGINT) AS placements,
        'ssda903' AS source,
        make_date(max(return_year), 3, 31) AS as_at,
        1 AS priority,
        first_value(rec ORDER BY decom DESC) = 'E99' AS end_repaired
    FROM numbered
    GROUP BY la_code, child_id, period_no
),
from_annex_a AS (
    SELECT la AS la_code, "Child Unique ID" AS child_id, "Date Started to be Looked After" AS period_start,
           "Date Ceased to be Looked After" AS period_end, "Reason Ceased to be Looked After" AS reason_ceased,
           CAST(NULL AS VARCHAR) AS legal_status_at_start, "Child's Category of Need" AS category_of_need,
           CAST(NULL AS BIGINT) AS placements, 'annex_a' AS source,
           CAST(CAST(snapshot || '-01' AS DATE) + INTERVAL '1 month' - INTERVAL '1 day' AS DATE) AS as_at, 2 AS priority,
           CAST(NULL AS BOOLEAN) AS end_repaired
    FROM clean.mosaic.annex_a_list_8_cla
    WHERE "Date Started to be Looked After" IS NOT NULL
),
aa_spans AS (
    SELECT la_code, child_id, period_start,
           first_value(period_end ORDER BY as_at DESC) AS period_end
    FROM from_annex_a
    GROUP BY la_code, child_id, period_start
),
-- A 903 period whose first known episode is later than Annex A's start date is the same period
-- seen from a later return (the 903 only has episodes open in its years): take Annex A's start.
-- Only the child's first 903 period starting on or after that date can be it: an earlier one
-- ended (the 903 says so) before the later one began, and with it the Annex A period, even
-- when no snapshot lists its end (one that ended between two snapshots' six months).
from_903_prev AS (
    SELECT *, lag(period_start) OVER (PARTITION BY la_code, child_id ORDER BY period_start) AS prev_start
    FROM from_903
),
from_903_keyed AS (
    SELECT f.la_code, f.child_id,
           coalesce(max(a.period_start), f.period_start) AS period_start,
           f.period_end, f.reason_ceased, f.legal_status_at_start, f.category_of_need, f.placements,
           f.source, f.as_at, f.priority, f.end_repaired
    FROM from_903_prev f
    LEFT JOIN aa_spans a ON a.la_code = f.la_code AND a.child_id = f.child_id
        AND a.period_start <= f.period_start AND (a.period_end IS NULL OR a.period_end >= f.period_start)
        AND (f.prev_start IS NULL OR a.period_start > f.prev_start)
    GROUP BY f.la_code, f.child_id, f.period_start, f.period_end, f.reason_ceased, f.legal_status_at_start,
             f.category_of_need, f.placements, f.source, f.as_at, f.priority, f.end_repaired
),
seen AS (
    SELECT * FROM from_903_keyed
    UNION ALL
    SELECT * FROM from_annex_a
),
periods AS (
    SELECT
        la_code,
        child_id,
        period_start,
        first_value(period_end ORDER BY as_at DESC, priority) AS period_end,
        first_value(reason_ceased ORDER BY as_at DESC, priority) AS reason_ceased,
        first_value(legal_status_at_start ORDER BY priority) AS legal_status_at_start,
        first_value(category_of_need ORDER BY as_at DESC, priority) AS category_of_need,
        max(placements) AS placements,
        first_value(source ORDER BY as_at DESC, priority) AS source,
        first_value(end_repaired ORDER BY as_at DESC, priority) AS end_repaired,
        bool_or(source = 'ssda903') AS in_903,
        max(as_at) AS last_seen
    FROM seen
    GROUP BY la_code, child_id, period_start
),
aa_quarantined AS (
    -- snapshots in which a copy of one of the child's list 8 rows was quarantined
    SELECT la AS la_code, "Child Unique ID" AS child_id,
           CAST(CAST(snapshot || '-01' AS DATE) + INTERVAL '1 month' - INTERVAL '1 day' AS DATE) AS as_at
    FROM quarantine.mosaic.annex_a_list_8_cla
    WHERE "Child Unique ID" IS NOT NULL
),
q_last AS (
    SELECT la_code, child_id, max(as_at) AS q_last_seen FROM aa_quarantined GROUP BY la_code, child_id
),
latest AS (
    SELECT la_code, max(as_at) AS council_last_snapshot
    FROM (SELECT la_code, as_at FROM from_annex_a UNION ALL SELECT la_code, as_at FROM aa_quarantined) x
    GROUP BY la_code
),
listed AS (
    -- an open Annex A period is listed up to its last clean sighting, or a later snapshot with a
    -- quarantined list 8 row of the child's (the quarantined copy may be this period's)
    SELECT p.*,
           CASE WHEN p.period_end IS NULL AND q.q_last_seen > p.last_seen THEN q.q_last_seen ELSE p.last_seen END AS listed_until
    FROM periods p
    LEFT JOIN q_last q ON q.la_code = p.la_code AND q.child_id = p.child_id
)
SELECT
    p.la_code,
    p.child_id,
    p.period_start,
    coalesce(p.period_end, CASE WHEN NOT p.in_903 AND p.listed_until < l.council_last_snapshot
        THEN CAST(p.listed_until + INTERVAL '1 day' AS DATE) END) AS period_end,
    coalesce(p.end_repaired, false) OR (p.period_end IS NULL AND NOT p.in_903 AND p.listed_until < l.council_last_snapshot) AS end_inferred,
    p.reason_ceased,
    p.legal_status_at_start,
    p.category_of_need,
    p.placements,
    p.source,
    p.last_seen
FROM listed p
LEFT JOIN latest l ON l.la_code = p.la_code
