-- name: marts.staging.icpcs
-- grain: one row per initial child protection conference: council, child, conference date
-- description: Initial child protection conferences, from the section 47 enquiries that record
--   one (marts.staging.s47_enquiries), with the enquiry they followed and the working days from
--   the enquiry's start (the strategy discussion) to the conference: DfE's 15-working-day
--   measure counts working days after the start day up to and including the conference day
--   (England and Wales bank holidays).
SELECT
    la_code,
    child_id,
    icpc_date,
    start_date AS s47_start_date,
    working_days(start_date, icpc_date) AS working_days_from_s47,
    icpc_to_cpp,
    source
FROM marts.staging.s47_enquiries
WHERE icpc_date IS NOT NULL
