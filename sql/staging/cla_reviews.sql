-- name: marts.staging.cla_reviews
-- grain: one row per statutory review of a looked-after child: council, child, review date
-- description: Statutory (IRO) reviews of looked-after children: SSDA903 Reviews (REVIEW, with
--   REVIEW_CODE the child's participation) from any return, and Annex A list 8's "Date of Latest
--   Statutory Review" from any snapshot, once each.
SELECT la_code, child_id, review_date, max(participation) AS participation
FROM (
    SELECT la AS la_code, "CHILD" AS child_id, "REVIEW" AS review_date, "REVIEW_CODE" AS participation
    FROM clean.mosaic.ssda903_reviews
    WHERE "REVIEW" IS NOT NULL
    UNION ALL
    SELECT la, "Child Unique ID", "Date of Latest Statutory Review", CAST(NULL AS VARCHAR)
    FROM clean.mosaic.annex_a_list_8_cla
    WHERE "Date of Latest Statutory Review" IS NOT NULL
) r
GROUP BY la_code, child_id, review_date
