-- name: marts.staging.placements
-- grain: one row per placement: council, child, the date the placement started
-- description: Placements from the repaired SSDA903 episodes: a placement starts with a period of
--   care or an episode whose reason for new episode is a change of carer (RNE P: placement and
--   carer; B: legal status, placement and carer) and runs through the episodes after it that
--   changed only legal status (L) or the placement with the same carer (T: placement only, same
--   carer; U: legal status and placement, same carer). T and U are not moves: the DfE's 903
--   guide gives both as the same carer(s). Placement type (PLACE), provider (PLACE_PROVIDER), URN and postcode are
--   the first episode's; `placement_end` is the last episode's DEC (NULL while open);
--   `reason_ended` its REC or REASON_PLACE_CHANGE. `external`: provided by the private (PR4) or
--   voluntary (PR5) sector. `previous_placement_start`: the start of the placement before it when
--   that one ended the day this began (the same period of care), else NULL.
WITH e AS (
    SELECT *,
           lag(dec) OVER (PARTITION BY la_code, child_id ORDER BY decom) AS prev_dec,
           lag(rec) OVER (PARTITION BY la_code, child_id ORDER BY decom) AS prev_rec
    FROM marts.staging.care_episodes
),
marked AS (
    SELECT *,
           CASE WHEN NOT (prev_rec = 'X1' AND prev_dec = decom) OR prev_rec IS NULL OR rne IN ('P', 'B', 'S') THEN 1 ELSE 0 END AS starts_placement
    FROM e
),
numbered AS (
    SELECT *,
           sum(starts_placement) OVER (PARTITION BY la_code, child_id ORDER BY decom ROWS UNBOUNDED PRECEDING) AS placement_no
    FROM marked
),
grouped AS (
    SELECT
        la_code,
        child_id,
        min(decom) AS placement_start,
        CASE WHEN bool_and(dec IS NOT NULL) THEN max(dec) END AS placement_end,
        first_value(place ORDER BY decom) AS placement_type,
        first_value(place_provider ORDER BY decom) AS provider,
        first_value(place_provider ORDER BY decom) IN ('PR4', 'PR5') AS external,
        first_value(urn ORDER BY decom) AS urn,
        first_value(pl_post ORDER BY decom) AS placement_postcode,
        first_value(CASE WHEN rec = 'X1' THEN reason_place_change ELSE rec END ORDER BY decom DESC) AS reason_ended,
        count(*) AS episodes
    FROM numbered
    GROUP BY la_code, child_id, placement_no
)
SELECT *,
       -- the placement just before, in the same period of care (it ended the day this began)
       CASE WHEN lag(placement_end) OVER (PARTITION BY la_code, child_id ORDER BY placement_start) = placement_start
            THEN lag(placement_start) OVER (PARTITION BY la_code, child_id ORDER BY placement_start) END AS previous_placement_start
FROM grouped
