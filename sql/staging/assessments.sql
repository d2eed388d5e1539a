-- name: marts.staging.assessments
-- grain: one row per child and family assessment: council, child, assessment start date
-- description: Assessments from the CIN census (Assessments) and Ofsted Annex A list 4, taken
--   together; an assessment in several returns or snapshots is one row, each field from the
--   latest that carries it (returns as at 31 March of their year, snapshots as at the end of their
--   month; the census wins a tie). `referral_date` is the referral the census files it under
--   (Annex A does not say). `assessed_as_needing_support`: Annex A's "assessed as requiring LA
--   children's social care support"; from the census, false when the CIN episode closed with
--   RC8 or RC9 (case closed after assessment: no further action, or referred to early help)
--   with no section 47 enquiry in the episode, true when the assessment is authorised otherwise.
WITH seen AS (
    SELECT a.la AS la_code, a."LAchildID" AS child_id, a."AssessmentActualStartDate" AS start_date,
           a."AssessmentAuthorisationDate" AS authorisation_date, a."CINreferralDate" AS referral_date,
           CASE WHEN d."ReasonForClosure" IN ('RC8', 'RC9') AND s."LAchildID" IS NULL THEN false
                WHEN a."AssessmentAuthorisationDate" IS NOT NULL THEN true END AS needs_support,
           'cin_census' AS source, CAST(a.year || '-03-31' AS DATE) AS as_at, 1 AS priority
    FROM clean.mosaic.cin_assessments a
    LEFT JOIN clean.mosaic.cin_details d ON d.la = a.la AND d.year = a.year
        AND d."LAchildID" = a."LAchildID" AND d."CINreferralDate" = a."CINreferralDate"
    LEFT JOIN (SELECT DISTINCT la, year, "LAchildID", "CINreferralDate" FROM clean.mosaic.cin_section47) s
        ON s.la = a.la AND s.year = a.year AND s."LAchildID" = a."LAchildID" AND s."CINreferralDate" = a."CINreferralDate"
    UNION ALL
    SELECT la, "Child Unique ID", "Continuous Assessment Start Date",
           "Continuous Assessment Date of Authorisation", NULL,
           "Was the child assessed as requiring LA children's social care support?" = 'Y',
           'annex_a', CAST(snapshot || '-01' AS DATE) + INTERVAL '1 month' - INTERVAL '1 day', 2
    FROM clean.mosaic.annex_a_list_4_assessments
)
SELECT
    la_code,
    child_id,
    start_date,
    first_value(authorisation_date ORDER BY as_at DESC, priority) AS authorisation_date,
    first_value(referral_date ORDER BY as_at DESC, priority) FILTER (WHERE source = 'cin_census') AS referral_date,
    first_value(needs_support ORDER BY as_at DESC, priority) FILTER (WHERE needs_support IS NOT NULL) AS assessed_as_needing_support,
    first_value(source ORDER BY as_at DESC, priority) AS source,
    max(as_at) AS last_seen
FROM seen
WHERE start_date IS NOT NULL
GROUP BY la_code, child_id, start_date
