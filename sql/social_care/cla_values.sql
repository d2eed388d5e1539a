-- name: marts.social_care.cla_values
-- grain: one row per council, children in care, care leaver or adoption indicator and period
-- description: (value and unit are worked out from `kind` in marts.social_care.indicator_values)
--   Children in care, care leaver and adoption indicators of
--   marts.indicators.indicator_values; definitions in marts.social_care.indicator_catalogue.
--   Month-end counts and rates (a period of care ending on the month end is not counted), flows
--   over the 12 months to the month end, placement measures from the 903 placements. Health,
--   dental, and care leaver measures exist where the exports say them: at each SSDA903 return's
--   31 March (OC2, OC3) and at the end of each month with an Annex A snapshot (lists 8 and 9);
--   care leavers in the DfE's age groups, 19 to 21 (the headline ids) and 17 to 18 (`*_17_18_pct`).
--   Long-term stability follows NI 063 (the adoption rule included). `coverage`: how much of the
--   month or window the 903 returns and Annex A list 8 snapshots loaded cover
--   (marts.social_care.months); for the measures only the 903 carries (placements, long-term
--   stability, missing episodes), how much the 903 returns cover: an Annex A-only council has
--   none of them, not a count of nothing; 'full' for the per-return measures.
WITH m AS (
    SELECT * FROM marts.social_care.months
),
uasc AS (
    -- UASC on a day: in the 903 UASC table with no date ceased to be UASC, or a later one; or
    -- flagged UASC in an Annex A list 8 row for that period of care
    SELECT la AS la_code, "CHILD" AS child_id, CAST(NULL AS DATE) AS period_start, max("DUC") AS until
    FROM clean.mosaic.ssda903_uasc GROUP BY la, "CHILD"
    UNION ALL
    SELECT DISTINCT la, "Child Unique ID", "Date Started to be Looked After", CAST(NULL AS DATE)
    FROM clean.mosaic.annex_a_list_8_cla
    WHERE "Unaccompanied Asylum Seeking Child (UASC) within the Last 12 Months (Y/N)" = 'Y'
),
in_care AS (
    SELECT * FROM marts.social_care.cla_month_ends
),
placement_now AS (
    SELECT c.la_code, c.month_end, c.child_id, max(pl.placement_start) AS placement_start,
           first_value(pl.previous_placement_start ORDER BY pl.placement_start DESC) AS previous_placement_start
    FROM in_care c
    JOIN marts.staging.placements pl ON pl.la_code = c.la_code AND pl.child_id = c.child_id
        AND pl.placement_start <= c.month_end AND (pl.placement_end IS NULL OR pl.placement_end > c.month_end)
    GROUP BY c.la_code, c.month_end, c.child_id
),
provider_now AS (
    -- the provider of the 903 episode open at the month end (a placement's provider can change
    -- with the same carer, RNE T or U: the month end's is the one the DfE counts at 31 March)
    SELECT c.la_code, c.month_end, c.child_id, bool_or(e.place_provider IN ('PR4', 'PR5')) AS external
    FROM in_care c
    JOIN marts.staging.care_episodes e ON e.la_code = c.la_code AND e.child_id = c.child_id
        AND e.decom <= c.month_end AND (e.dec IS NULL OR e.dec > c.month_end)
    GROUP BY c.la_code, c.month_end, c.child_id
),
adoptive_now AS (
    -- placed for adoption at the month end (the 903 episode open at it has PLACE A3-A6), with the
    -- start of the adoptive placement: the first A3-A6 episode of the current placement
    SELECT c.la_code, c.month_end, c.child_id, min(e.decom) AS adoptive_start
    FROM in_care c
    JOIN placement_now pn ON pn.la_code = c.la_code AND pn.month_end = c.month_end AND pn.child_id = c.child_id
    JOIN marts.staging.care_episodes e ON e.la_code = c.la_code AND e.child_id = c.child_id
        AND e.decom >= pn.placement_start AND e.decom <= c.month_end AND e.place IN ('A3', 'A4', 'A5', 'A6')
    GROUP BY c.la_code, c.month_end, c.child_id
    HAVING bool_or(e.dec IS NULL OR e.dec > c.month_end)
),
placements_12m AS (
    SELECT c.la_code, c.month_end, c.child_id, count(pl.child_id) AS placements
    FROM in_care c
    JOIN m ON m.la_code = c.la_code AND m.month_end = c.month_end
    JOIN marts.staging.placements pl ON pl.la_code = c.la_code AND pl.child_id = c.child_id
        AND pl.placement_start <= c.month_end AND (pl.placement_end IS NULL OR pl.placement_end >= m.window_start)
    GROUP BY c.la_code, c.month_end, c.child_id
),
is_uasc AS (
    -- a UASC is a child: never at 18 or over, whichever source flags them (Annex A's flag has no
    -- date it ceased, the 903's DUC is usually the 18th birthday)
    SELECT DISTINCT c.la_code, c.month_end, c.child_id
    FROM in_care c
    JOIN uasc u ON u.la_code = c.la_code AND u.child_id = c.child_id
        AND (u.period_start IS NULL OR u.period_start = c.period_start)
        AND (u.until IS NULL OR u.until > c.month_end)
    WHERE c.birth_date IS NULL OR age_on(c.birth_date, c.month_end) < 18
),
latest_review AS (
    SELECT c.la_code, c.month_end, c.child_id, max(r.review_date) AS review_date
    FROM in_care c
    JOIN marts.staging.cla_reviews r ON r.la_code = c.la_code AND r.child_id = c.child_id
        AND r.review_date >= c.period_start AND r.review_date <= c.month_end
    GROUP BY c.la_code, c.month_end, c.child_id
),
stock AS (
    SELECT c.la_code, c.month_start, c.month_end,
           count(*) AS cla,
           count(u.child_id) AS uasc,
           count(pn.child_id) AS with_placement,
           count(pn.child_id) FILTER (WHERE pv.external) AS external,
           count(p12.child_id) AS with_placements_known,
           count(p12.child_id) FILTER (WHERE p12.placements >= 3) AS three_plus,
           count(*) FILTER (WHERE c.birth_date IS NOT NULL AND age_on(c.birth_date, c.month_end) < 16
               AND c.period_start <= CAST(c.month_end - INTERVAL '30 months' AS DATE) AND pn.child_id IS NOT NULL) AS lts_due,
           -- NI 063: in the same placement 2 years or more, or placed for adoption with the adoptive
           -- placement and the placement before it together lasting 2 years or more (adopted by
           -- their foster carers, RNE T or U, the two are one placement already)
           count(*) FILTER (WHERE c.birth_date IS NOT NULL AND age_on(c.birth_date, c.month_end) < 16
               AND c.period_start <= CAST(c.month_end - INTERVAL '30 months' AS DATE)
               AND (pn.placement_start <= CAST(c.month_end - INTERVAL '2 years' AS DATE)
                    OR (an.child_id IS NOT NULL
                        AND CASE WHEN an.adoptive_start = pn.placement_start THEN pn.previous_placement_start ELSE pn.placement_start END
                            <= CAST(c.month_end - INTERVAL '2 years' AS DATE)))) AS lts_stable,
           count(*) FILTER (WHERE add_working_days(c.period_start, 20) <= c.month_end) AS review_due,
           count(*) FILTER (WHERE add_working_days(c.period_start, 20) <= c.month_end
               AND lr.review_date >= CAST(c.month_end - INTERVAL '6 months' AS DATE)) AS reviewed
    FROM in_care c
    LEFT JOIN is_uasc u ON u.la_code = c.la_code AND u.month_end = c.month_end AND u.child_id = c.child_id
    LEFT JOIN placement_now pn ON pn.la_code = c.la_code AND pn.month_end = c.month_end AND pn.child_id = c.child_id
    LEFT JOIN provider_now pv ON pv.la_code = c.la_code AND pv.month_end = c.month_end AND pv.child_id = c.child_id
    LEFT JOIN adoptive_now an ON an.la_code = c.la_code AND an.month_end = c.month_end AND an.child_id = c.child_id
    LEFT JOIN placements_12m p12 ON p12.la_code = c.la_code AND p12.month_end = c.month_end AND p12.child_id = c.child_id
    LEFT JOIN latest_review lr ON lr.la_code = c.la_code AND lr.month_end = c.month_end AND lr.child_id = c.child_id
    GROUP BY c.la_code, c.month_start, c.month_end
),
flows AS (
    SELECT m.la_code, m.month_end,
           count(*) FILTER (WHERE p.period_start >= m.window_start) AS starts,
           count(*) FILTER (WHERE p.period_end <= m.month_end AND NOT p.end_inferred) AS ceased
    FROM m
    LEFT JOIN marts.staging.care_periods p ON p.la_code = m.la_code
        AND (p.period_start BETWEEN m.window_start AND m.month_end OR p.period_end BETWEEN m.window_start AND m.month_end)
    GROUP BY m.la_code, m.month_end
),
looked_after_in_window AS (
    SELECT DISTINCT m.la_code, m.month_end, p.child_id, p.period_start, p.period_end
    FROM m
    JOIN marts.staging.care_periods p ON p.la_code = m.la_code
        AND p.period_start <= m.month_end AND (p.period_end IS NULL OR p.period_end >= m.window_start)
),
missing AS (
    SELECT m.la_code, m.month_end,
           count(DISTINCT l.child_id) AS looked_after,
           count(DISTINCT me.child_id) AS went_missing
    FROM m
    LEFT JOIN looked_after_in_window l ON l.la_code = m.la_code AND l.month_end = m.month_end
    LEFT JOIN marts.staging.missing_episodes me ON me.la_code = l.la_code AND me.child_id = l.child_id AND me.kind = 'M'
        AND me.start_date BETWEEN greatest(m.window_start, l.period_start) AND least(m.month_end, coalesce(l.period_end, m.month_end))
    GROUP BY m.la_code, m.month_end
),
adoption AS (
    SELECT m.la_code, m.month_end,
           count(a.child_id) FILTER (WHERE a.placed_date IS NOT NULL AND a.entered_care IS NOT NULL) AS with_placement,
           sum(CAST(a.placed_date - a.entered_care AS DOUBLE)) FILTER (WHERE a.placed_date IS NOT NULL AND a.entered_care IS NOT NULL) AS entry_to_placement_days,
           count(a.child_id) FILTER (WHERE a.match_date IS NOT NULL AND a.placement_order_date IS NOT NULL) AS with_match,
           sum(CAST(a.match_date - a.placement_order_date AS DOUBLE)) FILTER (WHERE a.match_date IS NOT NULL AND a.placement_order_date IS NOT NULL) AS order_to_match_days
    FROM m LEFT JOIN marts.staging.adoptions a ON a.la_code = m.la_code AND a.adoption_order_date BETWEEN m.window_start AND m.month_end
    GROUP BY m.la_code, m.month_end
),
health_903 AS (
    SELECT la_code, reference_date AS month_end, 'ssda903' AS source,
           count(*) AS cohort, count(*) FILTER (WHERE health_assessment) AS health, count(*) FILTER (WHERE teeth_check) AS dental
    FROM marts.staging.cla_health
    GROUP BY la_code, reference_date
),
health_aa AS (
    -- Annex A: looked after for 12 months at the snapshot's month end; health assessment and
    -- dental check in the 12 months to it
    SELECT la AS la_code, CAST(month_end(CAST(snapshot || '-01' AS DATE)) AS DATE) AS month_end, 'annex_a' AS source,
           count(*) AS cohort,
           count(*) FILTER (WHERE "Date of Last Health Assessment" > CAST(month_end(CAST(snapshot || '-01' AS DATE)) - INTERVAL '12 months' AS DATE)) AS health,
           count(*) FILTER (WHERE "Date of Last Dental Check" > CAST(month_end(CAST(snapshot || '-01' AS DATE)) - INTERVAL '12 months' AS DATE)) AS dental
    FROM clean.mosaic.annex_a_list_8_cla
    WHERE "Date Ceased to be Looked After" IS NULL
      AND "Date Started to be Looked After" <= CAST(month_end(CAST(snapshot || '-01' AS DATE)) - INTERVAL '12 months' AS DATE)
    GROUP BY la, snapshot
),
health AS (
    SELECT * FROM health_903
    UNION ALL
    SELECT h.* FROM health_aa h
    LEFT JOIN health_903 n ON n.la_code = h.la_code AND n.month_end = h.month_end
    WHERE n.la_code IS NULL
),
leavers_aged AS (
    -- the DfE's age groups: 19 to 21 (the headline) and 17 to 18, by age on the as-at date (for the
    -- 903 OC3, 31 March: the age the young person turned in the collection year)
    SELECT *,
           CASE WHEN age_on(birth_date, as_at) BETWEEN 19 AND 21 THEN '19_21'
                WHEN age_on(birth_date, as_at) BETWEEN 17 AND 18 THEN '17_18' END AS age_group
    FROM marts.staging.care_leavers
    WHERE birth_date IS NOT NULL
),
leavers_by_source AS (
    SELECT la_code, as_at AS month_end, source, age_group,
           count(*) AS cohort,
           count(*) FILTER (WHERE in_touch) AS in_touch,
           count(*) FILTER (WHERE suitable_accommodation) AS suitable,
           count(*) FILTER (WHERE eet) AS eet
    FROM leavers_aged
    WHERE age_group IS NOT NULL
    GROUP BY la_code, as_at, source, age_group
),
leavers AS (
    SELECT l.* FROM leavers_by_source l
    WHERE l.source = 'ssda903'
       OR NOT EXISTS (SELECT 1 FROM leavers_by_source n WHERE n.la_code = l.la_code AND n.month_end = l.month_end AND n.source = 'ssda903')
),
f AS (
    SELECT m.la_code, m.month_start, m.window_start, m.month_end, m.population_0_17 AS pop, m.cla_month, m.cla_12m, m.ssda903_month, m.ssda903_12m,
           coalesce(s.cla, 0) AS cla, coalesce(s.uasc, 0) AS uasc, s.with_placement, s.external,
           s.with_placements_known, s.three_plus, s.lts_due, s.lts_stable, s.review_due, s.reviewed,
           fl.starts, fl.ceased, mi.looked_after, mi.went_missing,
           ad.with_placement AS adopted_placed, ad.entry_to_placement_days, ad.with_match, ad.order_to_match_days
    FROM m
    LEFT JOIN stock s ON s.la_code = m.la_code AND s.month_end = m.month_end
    JOIN flows fl ON fl.la_code = m.la_code AND fl.month_end = m.month_end
    JOIN missing mi ON mi.la_code = m.la_code AND mi.month_end = m.month_end
    JOIN adoption ad ON ad.la_code = m.la_code AND ad.month_end = m.month_end
),
v (la_code, period_start, period_end, "window", indicator_id, numerator, denominator, kind, coverage) AS (
    SELECT la_code, month_start, month_end, 'month end', 'cla_at_period_end', cla, NULL, 'count', cla_month FROM f
    UNION ALL SELECT la_code, month_start, month_end, 'month end', 'cla_rate_per_10k', cla, pop, 'per10k', cla_month FROM f
    UNION ALL SELECT la_code, window_start, month_end, '12 months to period end', 'cla_starts', starts, NULL, 'count', cla_12m FROM f
    UNION ALL SELECT la_code, window_start, month_end, '12 months to period end', 'cla_ceased', ceased, NULL, 'count', cla_12m FROM f
    UNION ALL SELECT la_code, window_start, month_end, '12 months to period end', 'cla_3plus_placements_pct', three_plus, with_placements_known, 'percent', ssda903_12m FROM f
    UNION ALL SELECT la_code, month_start, month_end, 'month end', 'cla_long_term_stability_pct', lts_stable, lts_due, 'percent', ssda903_month FROM f
    UNION ALL SELECT la_code, month_start, month_end, 'month end', 'cla_placed_external_pct', external, with_placement, 'percent', ssda903_month FROM f
    UNION ALL SELECT la_code, month_start, month_end, 'month end', 'cla_uasc_at_period_end', uasc, NULL, 'count', cla_month FROM f
    UNION ALL SELECT la_code, window_start, month_end, '12 months to period end', 'cla_missing_children_pct', went_missing, looked_after, 'percent', ssda903_12m FROM f
    UNION ALL SELECT la_code, month_start, month_end, 'month end', 'cla_reviews_in_time_pct', reviewed, review_due, 'percent', cla_month FROM f
    UNION ALL SELECT la_code, window_start, month_end, '12 months to period end', 'adoption_entry_to_placement_avg_days', entry_to_placement_days, adopted_placed, 'days', cla_12m FROM f
    UNION ALL SELECT la_code, window_start, month_end, '12 months to period end', 'adoption_order_to_match_avg_days', order_to_match_days, with_match, 'days', cla_12m FROM f
    UNION ALL SELECT la_code, CAST(month_end - INTERVAL '12 months' + INTERVAL '1 day' AS DATE), month_end,
        CASE source WHEN 'ssda903' THEN 'SSDA903 OC2 at 31 March' ELSE 'Annex A list 8 at month end' END,
        'cla_health_assessment_pct', health, cohort, 'percent', 'full' FROM health
    UNION ALL SELECT la_code, CAST(month_end - INTERVAL '12 months' + INTERVAL '1 day' AS DATE), month_end,
        CASE source WHEN 'ssda903' THEN 'SSDA903 OC2 at 31 March' ELSE 'Annex A list 8 at month end' END,
        'cla_dental_check_pct', dental, cohort, 'percent', 'full' FROM health
    UNION ALL SELECT la_code, CAST(month_end - INTERVAL '12 months' + INTERVAL '1 day' AS DATE), month_end,
        CASE source WHEN 'ssda903' THEN 'SSDA903 OC3 at 31 March' ELSE 'Annex A list 9 at month end' END,
        'care_leavers_in_touch_pct', in_touch, cohort, 'percent', 'full' FROM leavers WHERE age_group = '19_21'
    UNION ALL SELECT la_code, CAST(month_end - INTERVAL '12 months' + INTERVAL '1 day' AS DATE), month_end,
        CASE source WHEN 'ssda903' THEN 'SSDA903 OC3 at 31 March' ELSE 'Annex A list 9 at month end' END,
        'care_leavers_suitable_accommodation_pct', suitable, cohort, 'percent', 'full' FROM leavers WHERE age_group = '19_21'
    UNION ALL SELECT la_code, CAST(month_end - INTERVAL '12 months' + INTERVAL '1 day' AS DATE), month_end,
        CASE source WHEN 'ssda903' THEN 'SSDA903 OC3 at 31 March' ELSE 'Annex A list 9 at month end' END,
        'care_leavers_eet_pct', eet, cohort, 'percent', 'full' FROM leavers WHERE age_group = '19_21'
    UNION ALL SELECT la_code, CAST(month_end - INTERVAL '12 months' + INTERVAL '1 day' AS DATE), month_end,
        CASE source WHEN 'ssda903' THEN 'SSDA903 OC3 at 31 March' ELSE 'Annex A list 9 at month end' END,
        'care_leavers_in_touch_17_18_pct', in_touch, cohort, 'percent', 'full' FROM leavers WHERE age_group = '17_18'
    UNION ALL SELECT la_code, CAST(month_end - INTERVAL '12 months' + INTERVAL '1 day' AS DATE), month_end,
        CASE source WHEN 'ssda903' THEN 'SSDA903 OC3 at 31 March' ELSE 'Annex A list 9 at month end' END,
        'care_leavers_suitable_accommodation_17_18_pct', suitable, cohort, 'percent', 'full' FROM leavers WHERE age_group = '17_18'
    UNION ALL SELECT la_code, CAST(month_end - INTERVAL '12 months' + INTERVAL '1 day' AS DATE), month_end,
        CASE source WHEN 'ssda903' THEN 'SSDA903 OC3 at 31 March' ELSE 'Annex A list 9 at month end' END,
        'care_leavers_eet_17_18_pct', eet, cohort, 'percent', 'full' FROM leavers WHERE age_group = '17_18'
)
SELECT
    la_code,
    indicator_id,
    CAST(period_start AS DATE) AS period_start,
    CAST(period_end AS DATE) AS period_end,
    "window",
    CAST(numerator AS DOUBLE) AS numerator,
    CAST(denominator AS DOUBLE) AS denominator,
    kind,
    coverage
FROM v
ORDER BY la_code, indicator_id, period_end
