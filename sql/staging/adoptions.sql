-- name: marts.staging.adoptions
-- grain: one row per adopted child: council, child, date of the adoption order
-- description: Children who left care by adoption (903 REC E11 or E12, the period's end the
--   adoption order date) with the dates of their journey: entering care (start of that period
--   of care), the placement order (start of the first episode with legal status E1 in the period),
--   the match with adopters (AD1 DATE_MATCH), and the placement for adoption (placed-for-adoption
--   DATE_PLACED, else the start of the first adoption placement A3-A6 in the period); and the
--   same from Ofsted Annex A list 10 for councils that supply it, latest snapshot winning, the
--   903 preferred where both have the child and order date.
WITH adopted AS (
    SELECT la_code, child_id, period_start AS entered_care, period_end AS adoption_order_date
    FROM marts.staging.care_periods
    WHERE reason_ceased IN ('E11', 'E12') AND period_end IS NOT NULL
),
journey AS (
    SELECT a.la_code, a.child_id, a.entered_care, a.adoption_order_date,
           min(e.decom) FILTER (WHERE e.ls = 'E1') AS placement_order_date,
           min(e.decom) FILTER (WHERE e.place IN ('A3', 'A4', 'A5', 'A6')) AS adoptive_placement_start
    FROM adopted a
    JOIN marts.staging.care_episodes e ON e.la_code = a.la_code AND e.child_id = a.child_id
        AND e.decom >= a.entered_care AND e.decom < a.adoption_order_date
    GROUP BY a.la_code, a.child_id, a.entered_care, a.adoption_order_date
),
matched AS (
    SELECT la AS la_code, "CHILD" AS child_id, max("DATE_MATCH") AS match_date, max("DATE_INT") AS decision_date
    FROM clean.mosaic.ssda903_ad1
    GROUP BY la, "CHILD"
),
placed AS (
    SELECT la AS la_code, "CHILD" AS child_id, max("DATE_PLACED") AS placed_date
    FROM clean.mosaic.ssda903_placed_for_adoption
    GROUP BY la, "CHILD"
),
from_903 AS (
    SELECT j.la_code, j.child_id, j.adoption_order_date, j.entered_care, j.placement_order_date,
           CASE WHEN m.match_date BETWEEN j.entered_care AND j.adoption_order_date THEN m.match_date END AS match_date,
           coalesce(CASE WHEN p.placed_date BETWEEN j.entered_care AND j.adoption_order_date THEN p.placed_date END,
                    j.adoptive_placement_start) AS placed_date,
           'ssda903' AS source
    FROM journey j
    LEFT JOIN matched m ON m.la_code = j.la_code AND m.child_id = j.child_id
    LEFT JOIN placed p ON p.la_code = j.la_code AND p.child_id = j.child_id
),
from_annex_a AS (
    SELECT la_code, child_id, adoption_order_date,
           first_value(entered_care ORDER BY snapshot DESC) AS entered_care,
           first_value(placement_order_date ORDER BY snapshot DESC) AS placement_order_date,
           first_value(match_date ORDER BY snapshot DESC) AS match_date,
           first_value(placed_date ORDER BY snapshot DESC) AS placed_date,
           'annex_a' AS source
    FROM (
        SELECT la AS la_code, "Child Unique ID" AS child_id, snapshot, "Date of Adoption Order" AS adoption_order_date,
               "Date the Child Entered Care" AS entered_care, "Date of Placement Order" AS placement_order_date,
               "Date of Matching Child and Prospective Adopters" AS match_date, "Date Placed for Adoption" AS placed_date
        FROM clean.mosaic.annex_a_list_10_adoption
        WHERE "Date of Adoption Order" IS NOT NULL
    ) x
    GROUP BY la_code, child_id, adoption_order_date
)
SELECT * FROM from_903
UNION ALL
SELECT a.* FROM from_annex_a a
LEFT JOIN from_903 f ON f.la_code = a.la_code AND f.child_id = a.child_id AND f.adoption_order_date = a.adoption_order_date
WHERE f.child_id IS NULL
