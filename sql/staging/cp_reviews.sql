-- name: marts.staging.cp_reviews
-- grain: one row per child protection review conference: council, child, plan start, review date
-- description: Review conferences of child protection plans: every CPPreviewDate of the CIN census
--   (any return) and every "Date of latest review conference" of Annex A list 7 (any snapshot;
--   Annex A only gives the latest, so monthly snapshots are needed to see them all), once each.
SELECT la AS la_code, "LAchildID" AS child_id, "CPPstartDate" AS plan_start, "CPPreviewDate" AS review_date
FROM clean.mosaic.cin_cp_reviews
WHERE "CPPreviewDate" IS NOT NULL AND "CPPstartDate" IS NOT NULL
UNION
SELECT la, "Child Unique ID", "Child Protection Plan Start Date", "Date of latest review conference"
FROM clean.mosaic.annex_a_list_7_cp
WHERE "Date of latest review conference" IS NOT NULL AND "Child Protection Plan Start Date" IS NOT NULL
