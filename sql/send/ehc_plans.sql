-- name: marts.send.ehc_plans
-- grain: one row per council, EHC plan (child UPN and the ReceivedDate of the request it came
--   from) and SEN2 return (collection year) that lists it
-- description: EHC plans from the SEN2 returns (clean.synergy.sen2_named_plan with the active plan,
--   placement and need modules of the same return). Per return: the return's reference (census)
--   date, the rank-1 placement setting, the rank-1 primary need, the latest annual review date
--   (LastReview, else ReviewMeeting) and whether the plan was active on the reference date.
--   Per plan, latest clean copy winning (same on every row of the plan; a copy quarantined in a
--   later return erases nothing): plan_start (StartDate, the date the plan was issued),
--   cease_date and cease_reason as the latest return with a clean named plan reports them, and
--   end_date: the cease date; or, for a plan a later return of the council no longer lists in any
--   module (named plan, active plans, placement, need; or a quarantined named plan of the child)
--   and that was never given a cease date, the reference date of the last return that listed it
--   (the last day it is known to have been active; a census day is never a month end, so the
--   month-end counts are the same as with the day after); NULL while open. is_latest_return marks the plan's
--   latest row. Setting: SENsetting when SEN2 gives a code (OLA, OPA, EHE, EYP, NEET …), else the
--   setting_type (sen2.setting_type: MLA, MAC, SLA, SAC, SNM, ISS …) that
--   clean.synergy.ehcp_placement_costs gives the placement URN (latest snapshot), else 'URN'
--   (a school the costs list does not type), else NULL (no placement recorded).
--   independent_special is setting ISS (independent special school; non-maintained special
--   schools, SNM, are not counted).
WITH hdr AS (
    SELECT la, year, max(ReferenceDate) AS reference_date
    FROM clean.synergy.sen2_header
    GROUP BY la, year
),
np AS (
    SELECT la, year, UPN, ReceivedDate, min(StartDate) AS start_date, max(CeaseDate) AS cease_date,
        max(CeaseReason) AS cease_reason
    FROM clean.synergy.sen2_named_plan
    WHERE UPN IS NOT NULL AND ReceivedDate IS NOT NULL
    GROUP BY la, year, UPN, ReceivedDate
),
ret AS (
    -- every return a council sent, with its reference date: the header one, else the third
    -- Thursday of January of the collection year (the census day SEN2 uses)
    SELECT y.la, y.year,
        coalesce(h.reference_date,
            CAST(CAST(CAST(make_date(CAST(y.year AS INT), 1, 1) AS INT)
                + CAST((11 - CAST(extract(dow FROM make_date(CAST(y.year AS INT), 1, 1)) AS INT)) % 7 AS INT) + 14 AS INT) AS DATE))
            AS reference_date
    FROM (SELECT DISTINCT la, year FROM np) y
    LEFT JOIN hdr h ON h.la = y.la AND h.year = y.year
),
la_last AS (
    SELECT la, max(year) AS last_year FROM ret GROUP BY la
),
listed AS (
    -- the latest return listing each plan: its named plan, another module of the return with the
    -- plan's UPN and request date, or a named plan of the child's quarantined in that return (a
    -- quarantined copy says the record was there, though not what it said)
    SELECT l.la, l.UPN, l.ReceivedDate, max(l.year) AS last_listed_year
    FROM (
        SELECT la, UPN, ReceivedDate, year FROM np
        UNION ALL SELECT la, UPN, ReceivedDate, year FROM clean.synergy.sen2_active_plans WHERE UPN IS NOT NULL AND ReceivedDate IS NOT NULL
        UNION ALL SELECT la, UPN, ReceivedDate, year FROM clean.synergy.sen2_placement_detail WHERE UPN IS NOT NULL AND ReceivedDate IS NOT NULL
        UNION ALL SELECT la, UPN, ReceivedDate, year FROM clean.synergy.sen2_sen_need WHERE UPN IS NOT NULL AND ReceivedDate IS NOT NULL
        UNION ALL
        SELECT n.la, n.UPN, n.ReceivedDate, q.year
        FROM (SELECT DISTINCT la, UPN, ReceivedDate FROM np) n
        JOIN (SELECT DISTINCT la, UPN, year FROM quarantine.synergy.sen2_named_plan WHERE UPN IS NOT NULL) q
          ON q.la = n.la AND q.UPN = n.UPN
    ) l
    GROUP BY l.la, l.UPN, l.ReceivedDate
),
plan_latest AS (
    SELECT la, UPN, ReceivedDate, start_date, cease_date, cease_reason, year AS last_year,
        min_year AS first_year
    FROM (
        SELECT np.*, min(year) OVER (PARTITION BY la, UPN, ReceivedDate) AS min_year,
            row_number() OVER (PARTITION BY la, UPN, ReceivedDate ORDER BY year DESC) AS rn
        FROM np
    ) x
    WHERE rn = 1
),
ap AS (
    SELECT la, year, UPN, ReceivedDate, max(coalesce(LastReview, ReviewMeeting)) AS last_review
    FROM clean.synergy.sen2_active_plans
    GROUP BY la, year, UPN, ReceivedDate
),
cost_type AS (
    SELECT la, placement_urn, setting_type
    FROM (
        SELECT la, placement_urn, setting_type,
            row_number() OVER (PARTITION BY la, placement_urn ORDER BY snapshot DESC, start_date DESC NULLS LAST, setting_type) AS rn
        FROM clean.synergy.ehcp_placement_costs
        WHERE placement_urn IS NOT NULL AND placement_urn <> '' AND setting_type IS NOT NULL
    ) x
    WHERE rn = 1
),
pl AS (
    SELECT la, year, UPN, ReceivedDate, setting_code, URN
    FROM (
        SELECT la, year, UPN, ReceivedDate, nullif(SENsetting, '') AS setting_code, nullif(URN, '') AS URN,
            row_number() OVER (PARTITION BY la, year, UPN, ReceivedDate
                ORDER BY PlacementRank NULLS LAST, EntryDate DESC NULLS LAST, URN, SENsetting) AS rn
        FROM clean.synergy.sen2_placement_detail
    ) x
    WHERE rn = 1
),
need AS (
    SELECT la, year, UPN, ReceivedDate, SENtype
    FROM (
        SELECT la, year, UPN, ReceivedDate, SENtype,
            row_number() OVER (PARTITION BY la, year, UPN, ReceivedDate ORDER BY SENtypeRank NULLS LAST, SENtype) AS rn
        FROM clean.synergy.sen2_sen_need
    ) x
    WHERE rn = 1
),
person AS (
    SELECT la, UPN, PersonBirthDate
    FROM (
        SELECT la, UPN, PersonBirthDate,
            row_number() OVER (PARTITION BY la, UPN ORDER BY year DESC, PersonBirthDate NULLS LAST) AS rn
        FROM clean.synergy.sen2_person
        WHERE PersonBirthDate IS NOT NULL
    ) x
    WHERE rn = 1
),
rows_ AS (
    SELECT
        np.la AS la_code,
        np.UPN AS upn,
        np.ReceivedDate AS received_date,
        np.year AS return_year,
        ret.reference_date,
        np.year = lp.last_year AS is_latest_return,
        lp.first_year AS first_return_year,
        lp.last_year AS last_return_year,
        lp.start_date AS plan_start,
        lp.cease_date,
        lp.cease_reason,
        CASE
            WHEN lp.cease_date IS NOT NULL THEN lp.cease_date
            WHEN li.last_listed_year < ll.last_year THEN lr.reference_date
        END AS end_date,
        person.PersonBirthDate AS birth_date,
        coalesce(pl.setting_code, ct.setting_type, CASE WHEN pl.URN IS NOT NULL THEN 'URN' END) AS setting,
        pl.URN AS urn,
        need.SENtype AS primary_need,
        ap.last_review
    FROM np
    JOIN ret ON ret.la = np.la AND ret.year = np.year
    JOIN plan_latest lp ON lp.la = np.la AND lp.UPN = np.UPN AND lp.ReceivedDate = np.ReceivedDate
    JOIN la_last ll ON ll.la = np.la
    JOIN listed li ON li.la = np.la AND li.UPN = np.UPN AND li.ReceivedDate = np.ReceivedDate
    LEFT JOIN ret lr ON lr.la = np.la AND lr.year = li.last_listed_year
    LEFT JOIN person ON person.la = np.la AND person.UPN = np.UPN
    LEFT JOIN pl ON pl.la = np.la AND pl.year = np.year AND pl.UPN = np.UPN AND pl.ReceivedDate = np.ReceivedDate
    LEFT JOIN cost_type ct ON ct.la = np.la AND ct.placement_urn = pl.URN
    LEFT JOIN need ON need.la = np.la AND need.year = np.year AND need.UPN = np.UPN AND need.ReceivedDate = np.ReceivedDate
    LEFT JOIN ap ON ap.la = np.la AND ap.year = np.year AND ap.UPN = np.UPN AND ap.ReceivedDate = np.ReceivedDate
)
SELECT
    *,
    coalesce(setting = 'ISS', false) AS independent_special,
    plan_start <= reference_date AND (cease_date IS NULL OR cease_date > reference_date) AS active_at_reference
FROM rows_
ORDER BY la_code, upn, received_date, return_year
