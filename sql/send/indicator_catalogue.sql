-- name: marts.send.indicator_catalogue
-- grain: one row per SEND indicator
-- description: What each id in marts.send.indicator_values means: definition, numerator,
--   denominator, window, unit, polarity (higher is better / lower is better / context), the
--   sources it is read from and the published definition it follows; every choice written down.
SELECT indicator_id, name, area, definition, numerator, denominator, "window", unit, polarity, sources, reference
FROM (VALUES
  ('ehcp_at_period_end', 'EHC plans at the month end', 'send',
   'EHC plans active at the end of the month: issued (StartDate) on or before the month end and not ended on or before it. A plan ceasing on the month end is not counted. Latest SEN2 return wins for each plan (UPN and request date); a plan a later return drops without a CeaseDate ends on the census day of the last return listing it. Months run January of the year before the first return to December of the year before the latest; plans with no UPN cannot be keyed and are left out.',
   'active EHC plans', 'none', 'month end', 'count', 'context',
   'clean.synergy.sen2_named_plan, sen2_header', 'DfE SEN2 guide (EHC plans maintained at census day); STANDARDS.md 5'),
  ('ehcp_rate_per_10k', 'EHC plans per 10,000 aged 0-25', 'send',
   'EHC plans active at the month end held by people aged 0-25 on that day (age_on, 29 February birthdays on 1 March; no birth date counts) per 10,000 population aged 0-25 from the latest ONS mid-year estimate not after the month end year (else the earliest loaded).',
   'active EHC plans of 0-25 year olds', 'population aged 0-25 (clean.reference.population, summed over sex)', 'month end', 'per 10,000 aged 0-25', 'context',
   'clean.synergy.sen2_*, clean.reference.population', 'DfE Education, health and care plans (EES) rate per 10,000 population 0-25'),
  ('ehcna_requests', 'Requests for an EHC needs assessment', 'send',
   'Initial requests for an EHC needs assessment received (ReceivedDate) in the 12 months to the month end, one per child and received date, latest return winning.',
   'requests received', 'none', '12 months to period end', 'count', 'context',
   'clean.synergy.sen2_requests', 'DfE SEN2 guide module 2'),
  ('ehcp_issued_within_20wks_pct', 'EHC plans issued within 20 weeks (excluding exceptions)', 'send',
   'Of EHC plans issued (named plan StartDate) in the 12 months to the month end whose assessment has no Week20 exception, the share issued at most 140 days (20 weeks; exactly 20 weeks is in time) after the request was received. Plans with Week20 true (an exception to the 20-week limit applies) are left out of both numerator and denominator.',
   'plans issued within 20 weeks, no exception', 'plans issued, no exception', '12 months to period end', 'percent', 'higher is better',
   'clean.synergy.sen2_requests, sen2_assessment, sen2_named_plan', 'SEND Regulations 2014 reg. 13; DfE SEN2 guide (Week20); EES EHC plans timeliness excluding exceptions'),
  ('ehcp_independent_special_pct', 'EHC plans placed in independent special schools', 'send',
   'Of plans active on the SEN2 census day with a placement recorded, the share whose rank-1 placement is an independent special school: setting ISS, the setting type clean.synergy.ehcp_placement_costs gives the placement URN (SEN2 carries a URN, not the type). Non-maintained special schools (SNM) are not counted. Per return: the placement is only in the return.',
   'active plans placed in ISS', 'active plans with a placement', 'SEN2 census day', 'percent', 'lower is better',
   'clean.synergy.sen2_placement_detail, ehcp_placement_costs', 'DfE SEN2 guide module 5b; code list sen2.setting_type'),
  ('ehcp_annual_review_in_time_pct', 'EHC plans reviewed within 12 months', 'send',
   'Of plans active on the SEN2 census day that were issued at least 12 months before it, the share whose latest annual review (LastReview, else ReviewMeeting) is in the 12 months up to and including the census day. Per return.',
   'plans reviewed in the last 12 months', 'plans issued 12+ months before census day', 'SEN2 census day', 'percent', 'higher is better',
   'clean.synergy.sen2_active_plans', 'SEND Code of Practice 9.166 (review at least every 12 months); DfE SEN2 guide module 5a')
) AS t(indicator_id, name, area, definition, numerator, denominator, "window", unit, polarity, sources, reference)
ORDER BY indicator_id
