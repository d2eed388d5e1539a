-- name: marts.send.ehcna_requests
-- grain: one row per council, child (UPN) and request received date
-- description: Requests for an EHC needs assessment from the SEN2 returns (XML or Blade, which land
--   identical clean.synergy.sen2_* tables keyed by UPN and ReceivedDate). Returns are merged per
--   record and per module, with the precedence every staging model uses: each module's fields
--   (the request, its assessment, its named plan) come from the latest return whose copy of
--   that module is clean, so a copy quarantined in a later return erases nothing the earlier
--   returns hold (a named plan quarantined in the latest return keeps the issue date an earlier
--   return gives). A request is any UPN and ReceivedDate one of the three modules lists;
--   `return_year` is the latest return listing it in any of them. Each row carries the request's
--   assessment outcome, the date the plan was issued (the named plan's StartDate) and the
--   20-week timeliness. days_to_plan counts days from ReceivedDate to the plan's StartDate;
--   issued_within_20wks is true when that is at most 140 days (20 weeks exactly is in time).
--   week20_exception is the SEN2 Week20 flag (an exception to the 20-week limit applies); such
--   plans are left out of the timeliness measure (in_20wk_measure false), as the SEN2 guidance
--   and the DfE's published figure do.
WITH r AS (
    SELECT la, year, UPN, ReceivedDate, RequestSource, RequestOutcome, RequestOutcomeDate,
        row_number() OVER (PARTITION BY la, UPN, ReceivedDate ORDER BY year DESC) AS rn
    FROM clean.synergy.sen2_requests
    WHERE UPN IS NOT NULL AND ReceivedDate IS NOT NULL
),
a_years AS (
    SELECT la, year, UPN, ReceivedDate, max(AssessmentOutcome) AS assessment_outcome,
        max(AssessmentOutcomeDate) AS assessment_outcome_date, bool_or(Week20) AS week20
    FROM clean.synergy.sen2_assessment
    WHERE UPN IS NOT NULL AND ReceivedDate IS NOT NULL
    GROUP BY la, year, UPN, ReceivedDate
),
a AS (
    SELECT * FROM (
        SELECT *, row_number() OVER (PARTITION BY la, UPN, ReceivedDate ORDER BY year DESC) AS rn FROM a_years
    ) x WHERE rn = 1
),
p_years AS (
    SELECT la, year, UPN, ReceivedDate, min(StartDate) AS plan_issued
    FROM clean.synergy.sen2_named_plan
    WHERE UPN IS NOT NULL AND ReceivedDate IS NOT NULL AND StartDate IS NOT NULL
    GROUP BY la, year, UPN, ReceivedDate
),
p AS (
    SELECT * FROM (
        SELECT *, row_number() OVER (PARTITION BY la, UPN, ReceivedDate ORDER BY year DESC) AS rn FROM p_years
    ) x WHERE rn = 1
),
keys AS (
    SELECT la, UPN, ReceivedDate, max(year) AS return_year FROM (
        SELECT la, UPN, ReceivedDate, year FROM r
        UNION ALL SELECT la, UPN, ReceivedDate, year FROM a_years
        UNION ALL SELECT la, UPN, ReceivedDate, year FROM p_years
    ) k
    GROUP BY la, UPN, ReceivedDate
)
SELECT
    k.la AS la_code,
    k.UPN AS upn,
    k.ReceivedDate AS received_date,
    k.return_year,
    r.RequestSource AS request_source,
    r.RequestOutcome AS request_outcome,
    r.RequestOutcomeDate AS request_outcome_date,
    a.assessment_outcome,
    a.assessment_outcome_date,
    p.plan_issued,
    CAST(p.plan_issued - k.ReceivedDate AS BIGINT) AS days_to_plan,
    coalesce(a.week20, false) AS week20_exception,
    p.plan_issued IS NOT NULL AND NOT coalesce(a.week20, false) AS in_20wk_measure,
    CASE WHEN p.plan_issued IS NULL THEN NULL
         ELSE CAST(p.plan_issued - k.ReceivedDate AS BIGINT) <= 140 END AS issued_within_20wks
FROM keys k
LEFT JOIN r ON r.la = k.la AND r.UPN = k.UPN AND r.ReceivedDate = k.ReceivedDate AND r.rn = 1
LEFT JOIN a ON a.la = k.la AND a.UPN = k.UPN AND a.ReceivedDate = k.ReceivedDate
LEFT JOIN p ON p.la = k.la AND p.UPN = k.UPN AND p.ReceivedDate = k.ReceivedDate
ORDER BY la_code, received_date, upn
