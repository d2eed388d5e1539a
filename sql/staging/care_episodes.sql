-- name: marts.staging.care_episodes
-- grain: one row per episode of care (SSDA903 episode): council, child, start date (DECOM)
-- description: Every 903 episode from every year's return, once, with the episode chain repaired
--   as LIIA does before analysis (STANDARDS.md §3.4). An episode in several years' returns is
--   taken from the latest return that has it. Then, in order of start date per child:
--   rule 3A, an episode from an older return that should have been in the child's latest return
--   (it was open on 1 April of that return's year) but is not, was superseded: dropped;
--   rule 1, an open episode followed by another ends when the next starts (REC X1);
--   rule 2, an open episode in an older return, with no later episode, ends on 31 March of that
--   return's year (REC E99: the return that would have closed it never came);
--   rule 4, an episode that overlaps the next ends when the next starts;
--   rule 5, an episode that ends with X1 (a change within the period of care) and leaves a gap
--   ends when the next starts. `repair` names the rule applied, if any; `dec_as_returned` and
--   `rec_as_returned` keep what the return said.
WITH seen AS (
    SELECT la AS la_code, "CHILD" AS child_id, "DECOM" AS decom, "DEC" AS dec, "RNE" AS rne,
           "LS" AS ls, "CIN" AS cin, "PLACE" AS place, "PLACE_PROVIDER" AS place_provider,
           "REC" AS rec, "REASON_PLACE_CHANGE" AS reason_place_change, "URN" AS urn,
           "PL_POST" AS pl_post, "HOME_POST" AS home_post, CAST(year AS INT) AS return_year
    FROM clean.mosaic.ssda903_episodes
    WHERE "DECOM" IS NOT NULL
),
latest AS (
    SELECT *,
           row_number() OVER (PARTITION BY la_code, child_id, decom ORDER BY return_year DESC) AS nth,
           max(return_year) OVER (PARTITION BY la_code, child_id) AS child_latest_year
    FROM seen
),
kept AS (
    SELECT *,
           return_year < child_latest_year
             AND (dec IS NULL OR dec >= make_date(child_latest_year - 1, 4, 1)) AS superseded
    FROM latest
    WHERE nth = 1
),
chain AS (
    SELECT *, lead(decom) OVER (PARTITION BY la_code, child_id ORDER BY decom) AS next_decom
    FROM kept
    WHERE NOT superseded
),
repaired AS (
    SELECT *,
           CASE
               WHEN dec IS NULL AND next_decom IS NOT NULL THEN 'rule_1'
               WHEN dec IS NULL AND return_year < child_latest_year THEN 'rule_2'
               WHEN dec IS NOT NULL AND next_decom IS NOT NULL AND dec > next_decom THEN 'rule_4'
               WHEN dec IS NOT NULL AND next_decom IS NOT NULL AND rec = 'X1' AND dec < next_decom THEN 'rule_5'
           END AS repair
    FROM chain
)
SELECT
    la_code,
    child_id,
    decom,
    CASE
        WHEN repair IN ('rule_1', 'rule_4', 'rule_5') THEN next_decom
        WHEN repair = 'rule_2' THEN make_date(return_year, 3, 31)
        ELSE dec
    END AS dec,
    rne,
    ls,
    cin,
    place,
    place_provider,
    CASE repair WHEN 'rule_1' THEN 'X1' WHEN 'rule_2' THEN 'E99' ELSE rec END AS rec,
    reason_place_change,
    urn,
    pl_post,
    home_post,
    return_year,
    repair,
    dec AS dec_as_returned,
    rec AS rec_as_returned
FROM repaired
