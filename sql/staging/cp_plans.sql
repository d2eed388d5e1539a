-- name: marts.staging.cp_plans
-- grain: one row per child protection plan: council, child, plan start date
-- description: Child protection plans from the CIN census (ChildProtectionPlans, with Reviews) and
--   Ofsted Annex A list 7, taken together: a plan in several returns or snapshots is one row, each
--   field from the latest that carries it (returns as at 31 March of their year, snapshots as at
--   the end of their month; the census wins a tie). A copy of a plan quarantined in a later return
--   erases nothing: the plan keeps what the clean copies say, and a return or snapshot with a
--   quarantined plan of the child's still lists the child's open plans. `end_date`: the plan's end
--   date; a plan left open by the last return or snapshot that listed it, and missing from the
--   council's later ones, ends the day after that return's 31 March or that snapshot's month end
--   (so it is open on every date an export showed it open, and not known after;
--   `end_inferred`); NULL while open. `previous_plans`: earlier plans the child had (CIN NumberOfPreviousCPP, Annex A
--   "Number of Previous Child Protection Plans"). `reviews`: review conference dates known for
--   the plan (CIN CPPreviewDate in any return, Annex A "Date of latest review conference" in any
--   snapshot) counted; `latest_review` the last of them (marts.staging.cp_reviews lists them).
WITH seen AS (
    SELECT la AS la_code, "LAchildID" AS child_id, "CPPstartDate" AS start_date, "CPPendDate" AS end_date,
           "InitialCategoryOfAbuse" AS initial_category, "LatestCategoryOfAbuse" AS latest_category,
           CAST("NumberOfPreviousCPP" AS BIGINT) AS previous_plans,
           'cin_census' AS source, CAST(year || '-03-31' AS DATE) AS as_at, 1 AS priority
    FROM clean.mosaic.cin_cp_plans
    UNION ALL
    SELECT la, "Child Unique ID", "Child Protection Plan Start Date", "Child Protection Plan End Date",
           "Initial Category of Abuse", "Latest Category of Abuse",
           CAST("Number of Previous Child Protection Plans" AS BIGINT),
           'annex_a', CAST(snapshot || '-01' AS DATE) + INTERVAL '1 month' - INTERVAL '1 day', 2
    FROM clean.mosaic.annex_a_list_7_cp
),
review_dates AS (
    SELECT la AS la_code, "LAchildID" AS child_id, "CPPstartDate" AS start_date, "CPPreviewDate" AS review_date
    FROM clean.mosaic.cin_cp_reviews
    WHERE "CPPreviewDate" IS NOT NULL
    UNION
    SELECT la, "Child Unique ID", "Child Protection Plan Start Date", "Date of latest review conference"
    FROM clean.mosaic.annex_a_list_7_cp
    WHERE "Date of latest review conference" IS NOT NULL
),
reviews AS (
    SELECT la_code, child_id, start_date, count(DISTINCT review_date) AS reviews,
           max(review_date) AS latest_review
    FROM review_dates
    GROUP BY la_code, child_id, start_date
),
plans AS (
    SELECT
        la_code,
        child_id,
        start_date,
        first_value(end_date ORDER BY as_at DESC, priority) AS end_date,
        first_value(initial_category ORDER BY as_at DESC, priority) AS initial_category,
        first_value(latest_category ORDER BY as_at DESC, priority) AS latest_category,
        first_value(previous_plans ORDER BY as_at DESC, priority) AS previous_plans,
        first_value(source ORDER BY as_at DESC, priority) AS source,
        max(as_at) AS last_seen
    FROM seen
    WHERE start_date IS NOT NULL
    GROUP BY la_code, child_id, start_date
),
quarantined AS (
    -- returns and snapshots in which a copy of one of the child's plans was quarantined
    SELECT la AS la_code, "LAchildID" AS child_id, CAST(year || '-03-31' AS DATE) AS as_at
    FROM quarantine.mosaic.cin_cp_plans WHERE "LAchildID" IS NOT NULL
    UNION ALL
    SELECT la, "Child Unique ID", CAST(CAST(snapshot || '-01' AS DATE) + INTERVAL '1 month' - INTERVAL '1 day' AS DATE)
    FROM quarantine.mosaic.annex_a_list_7_cp WHERE "Child Unique ID" IS NOT NULL
),
q_last AS (
    SELECT la_code, child_id, max(as_at) AS q_last_seen FROM quarantined GROUP BY la_code, child_id
),
listed AS (
    -- an open plan is listed up to its last clean sighting, or a later export with a quarantined
    -- plan of the child's (the quarantined copy may be this plan's)
    SELECT p.*,
           CASE WHEN p.end_date IS NULL AND q.q_last_seen > p.last_seen THEN q.q_last_seen ELSE p.last_seen END AS listed_until
    FROM plans p
    LEFT JOIN q_last q ON q.la_code = p.la_code AND q.child_id = p.child_id
),
latest AS (
    SELECT la_code, max(as_at) AS council_last_seen
    FROM (SELECT la_code, last_seen AS as_at FROM plans UNION ALL SELECT la_code, as_at FROM quarantined) x
    GROUP BY la_code
)
SELECT
    p.la_code,
    p.child_id,
    p.start_date,
    coalesce(p.end_date, CASE WHEN p.listed_until < l.council_last_seen THEN CAST(p.listed_until + INTERVAL '1 day' AS DATE) END) AS end_date,
    p.end_date IS NULL AND p.listed_until < l.council_last_seen AS end_inferred,
    p.initial_category,
    p.latest_category,
    p.previous_plans,
    r.reviews,
    r.latest_review,
    p.source,
    p.last_seen
FROM listed p
JOIN latest l ON l.la_code = p.la_code
LEFT JOIN reviews r ON r.la_code = p.la_code AND r.child_id = p.child_id AND r.start_date = p.start_date
