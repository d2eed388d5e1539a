-- name: marts.send.indicator_catalogue
-- grain: one row per SEND indicator
-- description: What each id in marts.send.indicator_values means: definition, numerator,
--   denominator, window, unit, polarity (higher is better / lower is better / context), the
--   sources it is read from and the published definition it follows; every choice written down.
--   `dfe_source` names the DfE publication and measure each follows; `departures` every way it
--   differs.
SELECT indicator_id, name, area, definition, numerator, denominator, "window", unit, polarity, sources, reference, dfe_source, departures
FROM (VALUES
  ('ehcp_at_period_end', 'EHC plans at the month end', 'send',
   'EHC plans active at the end of the month: issued (StartDate) on or before the month end and not ended on or before it. A plan ceasing on the month end is not counted. Returns are merged per plan (UPN and request date), the latest clean copy winning, so a copy quarantined in a later return erases nothing; a plan no later return lists in any module, without a CeaseDate, ends on the census day of the last return listing it. Months run January of the year before the first return to December of the year before the latest; plans with no UPN cannot be keyed and are left out.',
   'active EHC plans', 'none', 'month end', 'count', 'context',
   'clean.synergy.sen2_named_plan, sen2_header', 'DfE SEN2 guide (EHC plans maintained at census day); STANDARDS.md 5', 'DfE Education, health and care plans (Explore Education Statistics, from SEN2): EHC plans maintained at the January census', 'Every month end between returns, from issue and cease dates (the DfE publishes the census day only). A plan a later return stops listing is open up to the last return that listed it; a quarantined copy erases nothing.'),
  ('ehcp_rate_per_10k', 'EHC plans per 10,000 aged 0-25', 'send',
   'EHC plans active at the month end held by people aged 0-25 on that day (age_on, 29 February birthdays on 1 March; no birth date counts) per 10,000 population aged 0-25 from the latest ONS mid-year estimate not after the month end year (else the earliest loaded).',
   'active EHC plans of 0-25 year olds', 'population aged 0-25 (clean.reference.population, summed over sex)', 'month end', 'per 10,000 aged 0-25', 'context',
   'clean.synergy.sen2_*, clean.reference.population', 'DfE Education, health and care plans (EES) rate per 10,000 population 0-25', 'DfE Education, health and care plans (Explore Education Statistics, from SEN2): EHC plans per 10,000 population aged 0 to 25', 'Every month end. Population: the latest ONS mid-year estimate not after the month''s year (not the social care rule of the financial year''s mid-year).'),
  ('ehcna_requests', 'Requests for an EHC needs assessment', 'send',
   'Initial requests for an EHC needs assessment received (ReceivedDate) in the 12 months to the month end, one per child and received date, each from the latest return with a clean copy; a request only its assessment or named plan lists (the request row quarantined) counts.',
   'requests received', 'none', '12 months to period end', 'count', 'context',
   'clean.synergy.sen2_requests', 'DfE SEN2 guide module 2', 'DfE Education, health and care plans (Explore Education Statistics, from SEN2): initial requests for an EHC needs assessment in the calendar year', 'Rolling 12 months to every month end. A request only a named plan or assessment lists (its request row quarantined) counts.'),
  ('ehcp_issued_within_20wks_pct', 'EHC plans issued within 20 weeks (excluding exceptions)', 'send',
   'Of EHC plans issued (named plan StartDate) in the 12 months to the month end whose assessment has no Week20 exception, the share issued at most 140 days (20 weeks; exactly 20 weeks is in time) after the request was received. Plans with Week20 true (an exception to the 20-week limit applies) are left out of both numerator and denominator. The request, assessment and named plan each come from the latest return with a clean copy of that module, so a named plan quarantined in the latest return keeps the issue date earlier returns give.',
   'plans issued within 20 weeks, no exception', 'plans issued, no exception', '12 months to period end', 'percent', 'higher is better',
   'clean.synergy.sen2_requests, sen2_assessment, sen2_named_plan', 'SEND Regulations 2014 reg. 13; DfE SEN2 guide (Week20); EES EHC plans timeliness excluding exceptions', 'DfE Education, health and care plans (Explore Education Statistics, from SEN2): new EHC plans issued within 20 weeks, excluding exceptions', 'Rolling 12 months to every month end (the DfE publishes the calendar year). Each module from the latest return with a clean copy, so a plan quarantined in the latest return keeps its issue date.'),
  ('ehcp_independent_special_pct', 'EHC plans placed in independent special schools', 'send',
   'Of plans active on the SEN2 census day with a placement recorded, the share whose rank-1 placement is an independent special school: setting ISS, the setting type clean.synergy.ehcp_placement_costs gives the placement URN (SEN2 carries a URN, not the type). Non-maintained special schools (SNM) are not counted. Per return: the placement is only in the return.',
   'active plans placed in ISS', 'active plans with a placement', 'SEN2 census day', 'percent', 'lower is better',
   'clean.synergy.sen2_placement_detail, ehcp_placement_costs', 'DfE SEN2 guide module 5b; code list sen2.setting_type', 'DfE Education, health and care plans (Explore Education Statistics, from SEN2): EHC plans by establishment type (independent special schools)', 'The setting type comes from the council''s placement costs list (SEN2 carries a URN); non-maintained special schools are not counted.'),
  ('ehcp_annual_review_in_time_pct', 'EHC plans reviewed within 12 months', 'send',
   'Of plans active on the SEN2 census day that were issued at least 12 months before it, the share whose latest annual review (LastReview, else ReviewMeeting) is in the 12 months up to and including the census day. Per return.',
   'plans reviewed in the last 12 months', 'plans issued 12+ months before census day', 'SEN2 census day', 'percent', 'higher is better',
   'clean.synergy.sen2_active_plans', 'SEND Code of Practice 9.166 (review at least every 12 months); DfE SEN2 guide module 5a', 'None as published: SEN2 module 5a; SEND Code of Practice 9.166', 'Not a DfE measure: the latest annual review in the 12 months to the census day.')
) AS t(indicator_id, name, area, definition, numerator, denominator, "window", unit, polarity, sources, reference, dfe_source, departures)
ORDER BY indicator_id
