-- name: marts.staging.care_episodes
-- grain: one row per episode of care (SSDA903 episode): council, child, start date (DECOM)
-- description: Every 903 episode from every year's return, once, with the episode chain repaired
--   as LIIA does before analysis (STANDARDS.md §3.4). Returns are merged per record: an episode
--   (child and DECOM) in several years' returns is taken from the latest return whose copy is
--   clean; a copy quarantined in a later return erases nothing (the precedence, one for every
--   staging model: per record, the latest clean copy wins; a quarantined copy only says the
--   record was there). Then, in order of start date per child:
--   rule 3A, an episode from an older return that should have been in the child's latest return
--   (it was open on 1 April of that return's year) but is not, was superseded: dropped, unless
--   an episode of the child's was quarantined in a return after the one the copy comes from
--   (the missing later copy may be the quarantined one, so the older copy stands, and rules 1
--   and 4 end it where the next episode begins);
--   rule 1, an open episode followed by another ends when the next starts (REC X1);
--   rule 2, an open episode with no later episode, in a return older than the council's latest
--   903 return in which the child has no row, clean or quarantined (the return that would have
--   closed it never came), ends on 1 April after that return's 31 March (REC E99): it is
--   looked after on every date a return showed it open, and not known after (LIIA ends it on
--   the 31 March itself, which would drop it from that day's count);
--   rule 4, an episode that overlaps the next ends when the next starts;
--   rule 5, an episode that ends with X1 (a change within the period of care) and leaves a gap
--   ends when the next starts;
--   rule 6 (Lantern's), an episode that ends with X1 and has no next episode, where one of the
--   child's episodes was quarantined in that return or a later one, is followed by the
--   quarantined episode: the child stays looked after, as an open episode (then as rule 2: on
--   1 April after the return, E99, when the council's later return has no row of the child's). `repair` names the rule applied, if any; `dec_as_returned` and
--   `rec_as_returned` keep what the return said.
WITH seen AS (
    SELECT la AS la_code, "CHILD" AS child_id, "DECOM" AS decom, "DEC" AS dec, "RNE" AS rne,
           "LS" AS ls, "CIN" AS cin, "PLACE" AS place, "PLACE_PROVIDER" AS place_provider,
           "REC" AS rec, "REASON_PLACE_CHANGE" AS reason_place_change, "URN" AS urn,
           "PL_POST" AS pl_post, "HOME_POST" AS home_post, CAST(year AS INT) AS return_year
    FROM clean.mosaic.ssda903_episodes
    WHERE "DECOM" IS NOT NULL
),
quarantined AS (
    -- the returns in which a copy of one of the child's episodes was quarantined
    SELECT DISTINCT la AS la_code, "CHILD" AS child_id, CAST(year AS INT) AS return_year
    FROM quarantine.mosaic.ssda903_episodes
    WHERE "CHILD" IS NOT NULL
),
council_latest AS (
    SELECT la_code, max(return_year) AS council_latest_year
    FROM (SELECT la_code, return_year FROM seen UNION ALL SELECT la_code, return_year FROM quarantined) r
    GROUP BY la_code
),
latest AS (
    SELECT *,
           row_number() OVER (PARTITION BY la_code, child_id, decom ORDER BY return_year DESC) AS nth,
           max(return_year) OVER (PARTITION BY la_code, child_id) AS child_latest_year
    FROM seen
),
q_last AS (
    SELECT la_code, child_id, max(return_year) AS last_quarantined_year FROM quarantined GROUP BY la_code, child_id
),
kept AS (
    SELECT l.*,
           l.return_year < l.child_latest_year
             AND (l.dec IS NULL OR l.dec >= make_date(l.child_latest_year - 1, 4, 1))
             AND NOT coalesce(ql.last_quarantined_year > l.return_year, false) AS superseded,
           -- the child is in a later return than this one, clean or quarantined
           l.return_year < l.child_latest_year OR coalesce(ql.last_quarantined_year > l.return_year, false) AS child_in_later_return,
           c.council_latest_year,
           ql.last_quarantined_year
    FROM latest l
    JOIN council_latest c ON c.la_code = l.la_code
    LEFT JOIN q_last ql ON ql.la_code = l.la_code AND ql.child_id = l.child_id
    WHERE l.nth = 1
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
               WHEN dec IS NULL AND return_year < council_latest_year AND NOT child_in_later_return THEN 'rule_2'
               WHEN dec IS NOT NULL AND next_decom IS NOT NULL AND dec > next_decom THEN 'rule_4'
               WHEN dec IS NOT NULL AND next_decom IS NOT NULL AND rec = 'X1' AND dec < next_decom THEN 'rule_5'
               WHEN dec IS NOT NULL AND next_decom IS NULL AND rec = 'X1' AND coalesce(last_quarantined_year >= return_year, false) THEN 'rule_6'
           END AS repair
    FROM chain
)
SELECT
    la_code,
    child_id,
    decom,
    CASE
        WHEN repair IN ('rule_1', 'rule_4', 'rule_5') THEN next_decom
        WHEN repair = 'rule_2' THEN make_date(return_year, 4, 1)
        WHEN repair = 'rule_6' AND return_year < council_latest_year AND NOT child_in_later_return THEN make_date(return_year, 4, 1)
        WHEN repair = 'rule_6' THEN NULL
        ELSE dec
    END AS dec,
    rne,
    ls,
    cin,
    place,
    place_provider,
    CASE WHEN repair = 'rule_1' THEN 'X1'
         WHEN repair = 'rule_2' THEN 'E99'
         WHEN repair = 'rule_6' AND return_year < council_latest_year AND NOT child_in_later_return THEN 'E99'
         WHEN repair = 'rule_6' THEN NULL
         ELSE rec END AS rec,
    reason_place_change,
    urn,
    pl_post,
    home_post,
    return_year,
    repair,
    dec AS dec_as_returned,
    rec AS rec_as_returned
FROM repaired
