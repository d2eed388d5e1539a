-- name: marts.staging.cin_episodes
-- grain: one row per child in need episode: council, child, the referral date that opened it
-- description: CIN episodes (a referral and the period of support that follows it) from
--   marts.staging.referrals. `end_date` is the closure date the latest return or snapshot gives;
--   a referral with no further action, or an Annex A referral never listed in list 6 (the child
--   never received CIN services), ends on its referral date; an episode left open by the last
--   return or list 6 snapshot that showed it, and missing from the council's later ones, ends
--   the day after that return's 31 March or that snapshot's month end, so it is open on every
--   date an export showed it open (`end_inferred` true: the export that would have closed it
--   never came, as 903 repair rule 2 does for care episodes); NULL while open.
WITH latest AS (
    SELECT la_code, max(last_seen) AS council_last_seen
    FROM marts.staging.referrals
    GROUP BY la_code
)
SELECT
    r.la_code,
    r.child_id,
    r.referral_date AS start_date,
    CASE
        WHEN r.closure_date IS NOT NULL THEN r.closure_date
        WHEN r.referral_nfa OR r.episode_last_seen IS NULL THEN r.referral_date
        WHEN r.episode_last_seen < l.council_last_seen THEN CAST(r.episode_last_seen + INTERVAL '1 day' AS DATE)
    END AS end_date,
    r.closure_date IS NULL AND NOT coalesce(r.referral_nfa, false) AND r.episode_last_seen IS NOT NULL
        AND r.episode_last_seen < l.council_last_seen AS end_inferred,
    r.primary_need,
    r.closure_reason,
    r.referral_nfa,
    r.source
FROM marts.staging.referrals r
JOIN latest l ON l.la_code = r.la_code
