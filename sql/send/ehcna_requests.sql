-- name: marts.send.ehcna_requests
-- grain: one row per council, child (UPN) and request received date
-- description: Requests for an EHC needs assessment from the SEN2 returns (XML or Blade, which land
--   identical clean.synergy.sen2_* tables keyed by UPN and ReceivedDate), each taken from the latest
--   return (highest collection year) that carries it, with that return's assessment outcome, the
--   date the plan was issued (the named plan's StartDate) and the 20-week timeliness. days_to_plan
--   counts days from ReceivedDate to the plan's StartDate; issued_within_20wks is true when that is
--   at most 140 days (20 weeks exactly is in time). week20_exception is the SEN2 Week20 flag (an
--   exception to the 20-week limit applies); such plans are left out of the timeliness measure
--   (in_20wk_measure false), as the SEN2 guidance and the DfE's published figure do.
WITH r AS (
    SELECT la, year, UPN, ReceivedDate, RequestSource, RequestOutcome, RequestOutcomeDate,
        row_number() OVER (PARTITION BY la, UPN, ReceivedDate ORDER BY year DESC) AS rn
    FROM clean.synergy.sen2_requests
    WHERE UPN IS NOT NULL AND ReceivedDate IS NOT NULL
),
a AS (
    SELECT la, year, UPN, ReceivedDate, max(AssessmentOutcome) AS assessment_outcome,
        max(AssessmentOutcomeDate) AS assessment_outcome_date, bool_or(Week20) AS week20
    FROM clean.synergy.sen2_assessment
    GROUP BY la, year, UPN, ReceivedDate
),
p AS (
    SELECT la, year, UPN, ReceivedDate, min(StartDate) AS plan_issued
    FROM clean.synergy.sen2_named_plan
    GROUP BY la, year, UPN, ReceivedDate
)
SELECT
    r.la AS la_code,
    r.UPN AS upn,
    r.ReceivedDate AS received_date,
    r.year AS return_year,
    r.RequestSource AS request_source,
    r.RequestOutcome AS request_outcome,
    r.RequestOutcomeDate AS request_outcome_date,
    a.assessment_outcome,
    a.assessment_outcome_date,
    p.plan_issued,
    CAST(p.plan_issued - r.ReceivedDate AS BIGINT) AS days_to_plan,
    coalesce(a.week20, false) AS week20_exception,
    p.plan_issued IS NOT NULL AND NOT coalesce(a.week20, false) AS in_20wk_measure,
    CASE WHEN p.plan_issued IS NULL THEN NULL
         ELSE CAST(p.plan_issued - r.ReceivedDate AS BIGINT) <= 140 END AS issued_within_20wks
FROM r
LEFT JOIN a ON a.la = r.la AND a.year = r.year AND a.UPN = r.UPN AND a.ReceivedDate = r.ReceivedDate
LEFT JOIN p ON p.la = r.la AND p.year = r.year AND p.UPN = r.UPN AND p.ReceivedDate = r.ReceivedDate
WHERE r.rn = 1
ORDER BY la_code, received_date, upn
