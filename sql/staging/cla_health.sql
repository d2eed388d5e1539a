-- name: marts.staging.cla_health
-- grain: one row per council, SSDA903 return (collection year) and child in its OC2 table
-- description: Health of children looked after continuously for 12 months at 31 March (SSDA903
--   OC2): whether their annual health assessment (HEALTH_ASSESSMENT) and dental check
--   (TEETH_CHECK) were up to date, immunisations, the under-5s' development check (HEALTH_CHECK,
--   "health promotion" in the 903 validator's rule 545), SDQ score. The return is the only place the 903 says this,
--   so these are per return; `reference_date` is the return's 31 March.
SELECT
    la AS la_code,
    CAST(year AS INT) AS return_year,
    make_date(CAST(year AS INT), 3, 31) AS reference_date,
    "CHILD" AS child_id,
    "HEALTH_ASSESSMENT" = '1' AS health_assessment,
    "HEALTH_CHECK" = '1' AS development_check,
    "TEETH_CHECK" = '1' AS teeth_check,
    "IMMUNISATIONS" = '1' AS immunisations,
    "SDQ_SCORE" AS sdq_score
FROM clean.mosaic.ssda903_oc2
