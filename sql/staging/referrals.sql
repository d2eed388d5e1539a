-- name: marts.staging.referrals
-- grain: one row per referral to children's social care: council, child, referral date
-- description: Referrals from every shape a council supplies, taken together: the CIN census
--   (CINdetails, one file a year) and Ofsted Annex A list 3 (referrals) with list 6 (children in
--   need, which carries the CIN episode's primary need and closure). A referral seen in several
--   returns or snapshots is one row; each field comes from the latest return or snapshot that
--   carries it (returns count as at 31 March of their collection year, snapshots as at the end of
--   their month; at the same date the census wins over Annex A). `source` names where the row was
--   last seen; `episode_last_seen` the latest return or list 6 snapshot that showed its CIN episode.
--   A list 6 episode whose referral is older than every list 3 snapshot is a referral too (on its
--   CIN Start Date, source and NFA unknown). `allocated_team`: Annex A's Allocated Team (the
--   census has none), the nearest thing to a locality the social care exports carry. `referral_nfa`: the referral led to no further action. `referrals_last_12m`: Annex A's
--   count of the child's referrals in the 12 months before this one (null from the census).
WITH seen AS (
    SELECT la AS la_code, "LAchildID" AS child_id, "CINreferralDate" AS referral_date,
           "ReferralSource" AS referral_source, "ReferralNFA" IN ('1', 'true') AS referral_nfa,
           "PrimaryNeedCode" AS primary_need, "CINclosureDate" AS closure_date,
           "ReasonForClosure" AS closure_reason, CAST(NULL AS BIGINT) AS referrals_last_12m,
           CAST(NULL AS VARCHAR) AS allocated_team,
           'cin_census' AS source, CAST(year || '-03-31' AS DATE) AS as_at, 1 AS priority,
           true AS has_referral, true AS has_episode
    FROM clean.mosaic.cin_details
    UNION ALL
    SELECT la, "Child Unique ID", "Date of Referral", "Referral Source", "Referral NFA?" = 'Y',
           NULL, NULL, NULL, "Number of Referrals in Last 12 Months", "Allocated Team",
           'annex_a', CAST(snapshot || '-01' AS DATE) + INTERVAL '1 month' - INTERVAL '1 day', 2,
           true, false
    FROM clean.mosaic.annex_a_list_3_referrals
    UNION ALL
    SELECT la, "Child Unique ID", "CIN Start Date", NULL, NULL,
           "Primary Need Code", "CIN Closure Date", "Reason for Closure", NULL, "Allocated Team",
           'annex_a', CAST(snapshot || '-01' AS DATE) + INTERVAL '1 month' - INTERVAL '1 day', 2,
           false, true
    FROM clean.mosaic.annex_a_list_6_cin
)
SELECT
    la_code,
    child_id,
    referral_date,
    first_value(referral_source ORDER BY as_at DESC, priority) FILTER (WHERE has_referral) AS referral_source,
    first_value(referral_nfa ORDER BY as_at DESC, priority) FILTER (WHERE has_referral) AS referral_nfa,
    first_value(primary_need ORDER BY as_at DESC, priority) FILTER (WHERE has_episode) AS primary_need,
    first_value(closure_date ORDER BY as_at DESC, priority) FILTER (WHERE has_episode) AS closure_date,
    first_value(closure_reason ORDER BY as_at DESC, priority) FILTER (WHERE has_episode) AS closure_reason,
    first_value(referrals_last_12m ORDER BY as_at DESC, priority) FILTER (WHERE has_referral AND source = 'annex_a') AS referrals_last_12m,
    first_value(allocated_team ORDER BY as_at DESC, priority) FILTER (WHERE allocated_team IS NOT NULL) AS allocated_team,
    first_value(source ORDER BY as_at DESC, priority) AS source,
    max(as_at) FILTER (WHERE has_episode) AS episode_last_seen,
    max(as_at) AS last_seen
FROM seen
WHERE referral_date IS NOT NULL
GROUP BY la_code, child_id, referral_date
