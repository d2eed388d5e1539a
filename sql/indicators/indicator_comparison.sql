-- name: marts.indicators.indicator_comparison
-- grain: one row per council, indicator and reporting year a benchmark is loaded for
-- description: Each council's value beside the published England, region and statistical
--   neighbour values (clean.reference.benchmarks). DfE reporting years end on 31 March, so a
--   benchmark for time_period 2025 sits beside the council's value for the period ending
--   31 March 2025, and so does one for 2024-25, 202425 (Explore Education Statistics) or 2024/25. Publishers' ids are mapped to Lantern's in `ids` below (a council adds rows
--   there for benchmarks it loads under other names). The neighbour value is the benchmark file's
--   own statistical-neighbour row for the council where it has one, else the mean of the
--   council's neighbours' (clean.reference.statistical_neighbours) local authority rows.
--   `difference` is the council's value minus England's; `better_than_england` reads it with the
--   indicator's polarity (NULL for context indicators).
WITH ids (benchmark_id, indicator_id) AS (
    VALUES
        ('cin_referrals_per_10000', 'referrals_rate_per_10k'),
        ('re_referrals_pct', 're_referrals_12m_pct'),
        ('assessments_within_45_days_pct', 'assessments_within_45wd_pct'),
        ('cin_rate_per_10000', 'cin_rate_per_10k'),
        ('cpp_rate_per_10000', 'cpp_rate_per_10k'),
        ('cla_rate_per_10000', 'cla_rate_per_10k'),
        ('ehcp_pct_pupils', 'ehcp_pupils_pct')
),
b AS (
    SELECT coalesce(i.indicator_id, x.indicator_id) AS indicator_id,
           -- the year the period ends in: 2024, 2023-24, 202324 and 2023/24 are all 2024
           TRY_CAST(substr(regexp_replace(x.time_period, '[^0-9]', '', 'g'), 1, 4) AS INT)
             + CASE WHEN length(regexp_replace(x.time_period, '[^0-9]', '', 'g')) >= 6 THEN 1 ELSE 0 END AS year,
           x.area_level, x.area_code, x.region_code, x.la_code, x.value
    FROM clean.reference.benchmarks x
    LEFT JOIN ids i ON i.benchmark_id = x.indicator_id
    WHERE x.value IS NOT NULL AND x.time_period IS NOT NULL
),
councils AS (
    SELECT la_code, region_code FROM marts.reference.councils
),
v AS (
    SELECT v.la_code, v.indicator_id, v.period_end, v.value,
           CAST(extract(year FROM v.period_end) AS INT) AS year
    FROM marts.indicators.indicator_values v
    WHERE (extract(month FROM v.period_end) = 3 AND extract(day FROM v.period_end) = 31)
       OR v.indicator_id IN (SELECT indicator_id FROM marts.education.indicator_catalogue)
),
v_year AS (
    -- one value per council, indicator and reporting year: the period ending 31 March, else
    -- (education, per census term) the latest period ending in that reporting year
    SELECT la_code, indicator_id, year, period_end, value FROM (
        SELECT *, row_number() OVER (PARTITION BY la_code, indicator_id, year ORDER BY period_end DESC) AS rn
        FROM v
    ) x WHERE rn = 1
),
england AS (
    SELECT indicator_id, year, avg(value) AS value FROM b WHERE area_level = 'England' GROUP BY indicator_id, year
),
region AS (
    SELECT indicator_id, year, area_code AS region_code, avg(value) AS value FROM b WHERE area_level = 'Region' GROUP BY indicator_id, year, area_code
),
sn_row AS (
    SELECT indicator_id, year, la_code, avg(value) AS value FROM b WHERE area_level = 'Statistical neighbours' GROUP BY indicator_id, year, la_code
),
sn_mean AS (
    SELECT n.la_code, b.indicator_id, b.year, avg(b.value) AS value, count(*) AS neighbours
    FROM clean.reference.statistical_neighbours n
    JOIN b ON b.la_code = n.neighbour_la_code AND b.area_level = 'Local authority'
    GROUP BY n.la_code, b.indicator_id, b.year
),
cat AS (
    SELECT indicator_id, polarity FROM marts.indicators.indicator_catalogue
)
SELECT
    v.la_code,
    v.indicator_id,
    v.year AS reporting_year,
    v.period_end,
    v.value,
    e.value AS england,
    r.value AS region,
    coalesce(s.value, m.value) AS statistical_neighbours,
    v.value - e.value AS difference,
    CASE c.polarity
        WHEN 'higher is better' THEN v.value > e.value
        WHEN 'lower is better' THEN v.value < e.value
    END AS better_than_england
FROM v_year v
LEFT JOIN councils co ON co.la_code = v.la_code
LEFT JOIN england e ON e.indicator_id = v.indicator_id AND e.year = v.year
LEFT JOIN region r ON r.indicator_id = v.indicator_id AND r.year = v.year AND r.region_code = co.region_code
LEFT JOIN sn_row s ON s.indicator_id = v.indicator_id AND s.year = v.year AND s.la_code = v.la_code
LEFT JOIN sn_mean m ON m.indicator_id = v.indicator_id AND m.year = v.year AND m.la_code = v.la_code
LEFT JOIN cat c ON c.indicator_id = v.indicator_id
WHERE e.value IS NOT NULL OR r.value IS NOT NULL OR s.value IS NOT NULL OR m.value IS NOT NULL
ORDER BY v.la_code, v.indicator_id, v.year
