-- name: marts.social_care.front_door_values
-- grain: one row per council, front-door indicator (contacts, referrals, assessments, s47
--   enquiries and ICPCs) and month
-- description: (value and unit are worked out from `kind` in marts.social_care.indicator_values)
--   The front-door indicators of marts.indicators.indicator_values, each over the 12
--   months to the month end (window_start to month_end, both included), from the staging event
--   tables; definitions in marts.social_care.indicator_catalogue. `coverage` says how much of the
--   window the sources loaded cover (marts.social_care.months: contacts from Annex A list 1, the
--   rest from the CIN census and Annex A lists 3 to 7).
WITH m AS (
    SELECT * FROM marts.social_care.months
),
contacts AS (
    SELECT c.la_code, c.child_id, c.contact_date, c.contact_source,
           count(r.child_id) > 0 AS converted
    FROM marts.staging.contacts c
    LEFT JOIN marts.staging.referrals r ON r.la_code = c.la_code AND r.child_id = c.child_id
        AND r.referral_date >= c.contact_date AND r.referral_date <= add_working_days(c.contact_date, 5)
    GROUP BY c.la_code, c.child_id, c.contact_date, c.contact_source
),
referrals AS (
    SELECT r.la_code, r.child_id, r.referral_date, r.referral_source, r.referral_nfa,
           count(p.child_id) > 0 OR coalesce(max(r.referrals_last_12m), 0) > 0 AS re_referral
    FROM marts.staging.referrals r
    LEFT JOIN marts.staging.referrals p ON p.la_code = r.la_code AND p.child_id = r.child_id
        AND p.referral_date < r.referral_date
        AND p.referral_date >= CAST(r.referral_date - INTERVAL '12 months' AS DATE)
    GROUP BY r.la_code, r.child_id, r.referral_date, r.referral_source, r.referral_nfa
),
assessments AS (
    SELECT la_code, child_id, start_date, authorisation_date, assessed_as_needing_support,
           working_days(start_date, authorisation_date) AS working_days
    FROM marts.staging.assessments
    WHERE authorisation_date IS NOT NULL AND authorisation_date >= start_date
),
icpcs AS (
    SELECT i.la_code, i.child_id, i.icpc_date, i.working_days_from_s47,
           count(p.child_id) > 0 AS led_to_plan
    FROM marts.staging.icpcs i
    LEFT JOIN marts.staging.cp_plans p ON p.la_code = i.la_code AND p.child_id = i.child_id
        AND p.start_date >= i.icpc_date AND p.start_date <= CAST(i.icpc_date + INTERVAL '45 days' AS DATE)
    GROUP BY i.la_code, i.child_id, i.icpc_date, i.working_days_from_s47
),
c AS (
    SELECT m.la_code, m.month_end,
           count(x.child_id) AS contacts,
           count(x.child_id) FILTER (WHERE x.converted) AS converted
    FROM m LEFT JOIN contacts x ON x.la_code = m.la_code AND x.contact_date BETWEEN m.window_start AND m.month_end
    GROUP BY m.la_code, m.month_end
),
r AS (
    SELECT m.la_code, m.month_end,
           count(x.child_id) AS referrals,
           count(x.child_id) FILTER (WHERE x.re_referral) AS re_referrals,
           count(x.child_id) FILTER (WHERE x.referral_nfa) AS nfa,
           count(x.child_id) FILTER (WHERE x.referral_source = '6') AS police,
           count(x.child_id) FILTER (WHERE x.referral_source LIKE '3%') AS health,
           count(x.child_id) FILTER (WHERE x.referral_source = '2A') AS schools
    FROM m LEFT JOIN referrals x ON x.la_code = m.la_code AND x.referral_date BETWEEN m.window_start AND m.month_end
    GROUP BY m.la_code, m.month_end
),
a AS (
    SELECT m.la_code, m.month_end,
           count(x.child_id) AS assessments,
           count(x.child_id) FILTER (WHERE x.working_days <= 45) AS within_45,
           avg(CAST(x.working_days AS DOUBLE)) AS avg_working_days,
           sum(CAST(x.working_days AS DOUBLE)) AS sum_working_days,
           count(x.child_id) FILTER (WHERE x.assessed_as_needing_support IS NOT NULL) AS with_outcome,
           count(x.child_id) FILTER (WHERE NOT x.assessed_as_needing_support) AS nfa
    FROM m LEFT JOIN assessments x ON x.la_code = m.la_code AND x.authorisation_date BETWEEN m.window_start AND m.month_end
    GROUP BY m.la_code, m.month_end
),
s AS (
    SELECT m.la_code, m.month_end,
           count(x.child_id) AS s47,
           count(x.child_id) FILTER (WHERE x.icpc_date IS NOT NULL) AS with_icpc
    FROM m LEFT JOIN marts.staging.s47_enquiries x ON x.la_code = m.la_code AND x.start_date BETWEEN m.window_start AND m.month_end
    GROUP BY m.la_code, m.month_end
),
i AS (
    SELECT m.la_code, m.month_end,
           count(x.child_id) AS icpcs,
           count(x.child_id) FILTER (WHERE x.working_days_from_s47 <= 15) AS within_15,
           count(x.child_id) FILTER (WHERE x.led_to_plan) AS to_plan
    FROM m LEFT JOIN icpcs x ON x.la_code = m.la_code AND x.icpc_date BETWEEN m.window_start AND m.month_end
    GROUP BY m.la_code, m.month_end
),
f AS (
    SELECT m.la_code, m.window_start, m.month_end, m.population_0_17 AS pop, m.cin_12m, m.contacts_12m,
           c.contacts, c.converted, r.referrals, r.re_referrals, r.nfa AS referrals_nfa, r.police, r.health, r.schools,
           a.assessments, a.within_45, a.sum_working_days, a.with_outcome, a.nfa AS assessments_nfa,
           s.s47, s.with_icpc, i.icpcs, i.within_15, i.to_plan
    FROM m
    JOIN c ON c.la_code = m.la_code AND c.month_end = m.month_end
    JOIN r ON r.la_code = m.la_code AND r.month_end = m.month_end
    JOIN a ON a.la_code = m.la_code AND a.month_end = m.month_end
    JOIN s ON s.la_code = m.la_code AND s.month_end = m.month_end
    JOIN i ON i.la_code = m.la_code AND i.month_end = m.month_end
),
with_contacts AS (
    -- contacts are only in Annex A list 1: a council that does not supply it has no contact figures
    SELECT f.* FROM f WHERE f.la_code IN (SELECT DISTINCT la_code FROM marts.staging.contacts)
),
v (la_code, period_start, period_end, indicator_id, numerator, denominator, kind, coverage) AS (
    SELECT la_code, window_start, month_end, 'contacts', contacts, NULL, 'count', contacts_12m FROM with_contacts
    UNION ALL SELECT la_code, window_start, month_end, 'contacts_rate_per_10k', contacts, pop, 'per10k', contacts_12m FROM with_contacts
    UNION ALL SELECT la_code, window_start, month_end, 'contact_conversion_pct', converted, contacts, 'percent', contacts_12m FROM with_contacts
    UNION ALL SELECT la_code, window_start, month_end, 'referrals', referrals, NULL, 'count', cin_12m FROM f
    UNION ALL SELECT la_code, window_start, month_end, 'referrals_rate_per_10k', referrals, pop, 'per10k', cin_12m FROM f
    UNION ALL SELECT la_code, window_start, month_end, 're_referrals_12m_pct', re_referrals, referrals, 'percent', cin_12m FROM f
    UNION ALL SELECT la_code, window_start, month_end, 'referrals_nfa_pct', referrals_nfa, referrals, 'percent', cin_12m FROM f
    UNION ALL SELECT la_code, window_start, month_end, 'referrals_from_police_pct', police, referrals, 'percent', cin_12m FROM f
    UNION ALL SELECT la_code, window_start, month_end, 'referrals_from_health_pct', health, referrals, 'percent', cin_12m FROM f
    UNION ALL SELECT la_code, window_start, month_end, 'referrals_from_schools_pct', schools, referrals, 'percent', cin_12m FROM f
    UNION ALL SELECT la_code, window_start, month_end, 'assessments', assessments, NULL, 'count', cin_12m FROM f
    UNION ALL SELECT la_code, window_start, month_end, 'assessments_rate_per_10k', assessments, pop, 'per10k', cin_12m FROM f
    UNION ALL SELECT la_code, window_start, month_end, 'assessments_within_45wd_pct', within_45, assessments, 'percent', cin_12m FROM f
    UNION ALL SELECT la_code, window_start, month_end, 'assessment_avg_working_days', sum_working_days, assessments, 'working days', cin_12m FROM f
    UNION ALL SELECT la_code, window_start, month_end, 'assessments_nfa_pct', assessments_nfa, with_outcome, 'percent', cin_12m FROM f
    UNION ALL SELECT la_code, window_start, month_end, 's47_enquiries', s47, NULL, 'count', cin_12m FROM f
    UNION ALL SELECT la_code, window_start, month_end, 's47_rate_per_10k', s47, pop, 'per10k', cin_12m FROM f
    UNION ALL SELECT la_code, window_start, month_end, 's47_to_icpc_pct', with_icpc, s47, 'percent', cin_12m FROM f
    UNION ALL SELECT la_code, window_start, month_end, 'icpc_within_15wd_pct', within_15, icpcs, 'percent', cin_12m FROM f
    UNION ALL SELECT la_code, window_start, month_end, 'icpc_to_cpp_pct', to_plan, icpcs, 'percent', cin_12m FROM f
)
SELECT
    la_code,
    indicator_id,
    CAST(period_start AS DATE) AS period_start,
    CAST(period_end AS DATE) AS period_end,
    '12 months to period end' AS "window",
    CAST(numerator AS DOUBLE) AS numerator,
    CAST(denominator AS DOUBLE) AS denominator,
    kind,
    coverage
FROM v
ORDER BY la_code, indicator_id, period_end
