-- name: marts.education.indicator_values
-- grain: one row per council, education indicator and school census term
-- description: Education indicators per school census (period_start and period_end the term as
--   census_term names it: autumn September-December, spring January-March, summer April-August;
--   window 'census term'), from marts.education.pupils, defined in
--   marts.education.indicator_catalogue. The joined views read social care straight from
--   clean.mosaic: a pupil is a child in need on the census day when a CIN census episode
--   (cin_details, UPN from cin_children of the same return; latest return winning per child and
--   referral date) started on or before the census day and had not closed before it; looked
--   after when an SSDA903 episode (UPN from ssda903_header of the same return; latest return
--   winning per child and DECOM) started on or before the census day and had not ceased before it.
--   The absence measures (overall and persistent absence, and persistent absence of children in
--   need and in care) count pupils aged 5 to 15 at the start of the academic year (31 August),
--   as the DfE's absence statistics do; pupils with no birth date are left out of them.
--   `coverage` is 'full': each value is its census's own.
WITH pupils AS (
    -- compulsory school age as the DfE's absence statistics take it: 5 to 15 at the start of the
    -- academic year (31 August before the census day); no birth date, not counted
    SELECT *,
        coalesce(age_on(birth_date, make_date(CAST(extract(year FROM census_day) AS INT)
            - CASE WHEN extract(month FROM census_day) < 9 THEN 1 ELSE 0 END, 8, 31)) BETWEEN 5 AND 15, false) AS aged_5_15
    FROM marts.education.pupils
),
cin_ep AS (
    SELECT la, UPN, CINreferralDate, CINclosureDate FROM (
        SELECT d.la, c.UPN, d.CINreferralDate, d.CINclosureDate,
            row_number() OVER (PARTITION BY d.la, c.UPN, d.CINreferralDate ORDER BY d.year DESC) AS rn
        FROM clean.mosaic.cin_details d
        JOIN clean.mosaic.cin_children c ON c.la = d.la AND c.year = d.year AND c.LAchildID = d.LAchildID
        WHERE c.UPN IS NOT NULL AND d.CINreferralDate IS NOT NULL
    ) x WHERE rn = 1
),
cla_ep AS (
    SELECT la, UPN, DECOM, DEC FROM (
        SELECT e.la, h.UPN, e.DECOM, e.DEC,
            row_number() OVER (PARTITION BY e.la, h.UPN, e.DECOM ORDER BY e.year DESC) AS rn
        FROM clean.mosaic.ssda903_episodes e
        JOIN clean.mosaic.ssda903_header h ON h.la = e.la AND h.year = e.year AND h.CHILD = e.CHILD
        WHERE h.UPN IS NOT NULL AND e.DECOM IS NOT NULL
    ) x WHERE rn = 1
),
flags AS (
    SELECT p.la_code, p.census, p.upn,
        bool_or(c.UPN IS NOT NULL) AS cin,
        bool_or(e.UPN IS NOT NULL) AS cla
    FROM pupils p
    LEFT JOIN cin_ep c ON c.la = p.la_code AND c.UPN = p.upn
        AND c.CINreferralDate <= p.census_day AND (c.CINclosureDate IS NULL OR c.CINclosureDate >= p.census_day)
    LEFT JOIN cla_ep e ON e.la = p.la_code AND e.UPN = p.upn
        AND e.DECOM <= p.census_day AND (e.DEC IS NULL OR e.DEC >= p.census_day)
    GROUP BY p.la_code, p.census, p.upn
),
t AS (
    SELECT p.la_code, p.census, min(p.term_start) AS term_start, min(p.term_end) AS term_end,
        count(*) AS pupils,
        count(*) FILTER (WHERE p.fsm_eligible) AS fsm,
        count(*) FILTER (WHERE p.sen_provision = 'K') AS sen_support,
        count(*) FILTER (WHERE p.sen_provision = 'E') AS ehcp,
        sum(CASE WHEN p.sessions_possible > 0 AND p.aged_5_15 THEN p.absence_sessions ELSE 0 END) AS absence_sessions,
        sum(CASE WHEN p.sessions_possible > 0 AND p.aged_5_15 THEN p.sessions_possible ELSE 0 END) AS sessions_possible,
        count(*) FILTER (WHERE p.sessions_possible > 0 AND p.aged_5_15) AS with_sessions,
        count(*) FILTER (WHERE p.persistent_absentee AND p.aged_5_15) AS persistent,
        sum(p.suspensions) AS suspensions,
        sum(p.permanent_exclusions) AS perms,
        count(*) FILTER (WHERE f.cin AND p.sessions_possible > 0 AND p.aged_5_15) AS cin_with_sessions,
        count(*) FILTER (WHERE f.cin AND p.persistent_absentee AND p.aged_5_15) AS cin_persistent,
        count(*) FILTER (WHERE f.cla AND p.sessions_possible > 0 AND p.aged_5_15) AS cla_with_sessions,
        count(*) FILTER (WHERE f.cla AND p.persistent_absentee AND p.aged_5_15) AS cla_persistent,
        count(*) FILTER (WHERE f.cin OR f.cla) AS cin_cla,
        count(*) FILTER (WHERE (f.cin OR f.cla) AND p.sen_provision = 'E') AS cin_cla_ehcp
    FROM pupils p
    JOIN flags f ON f.la_code = p.la_code AND f.census = p.census AND f.upn = p.upn
    GROUP BY p.la_code, p.census
),
v AS (
    -- one row per council, census and indicator: t is computed once and each of its rows
    -- unpivoted against the list of indicators (a UNION ALL of one SELECT per indicator would
    -- compute t, and its joins over every pupil, once per indicator)
    SELECT t.la_code, i.indicator_id, t.term_start, t.term_end,
        CASE i.indicator_id
            WHEN 'pupils_on_roll' THEN CAST(pupils AS DOUBLE)
            WHEN 'fsm_pct' THEN CAST(fsm AS DOUBLE)
            WHEN 'sen_support_pct' THEN CAST(sen_support AS DOUBLE)
            WHEN 'ehcp_pupils_pct' THEN CAST(ehcp AS DOUBLE)
            WHEN 'overall_absence_pct' THEN CAST(absence_sessions AS DOUBLE)
            WHEN 'persistent_absence_pct' THEN CAST(persistent AS DOUBLE)
            WHEN 'suspension_rate' THEN CAST(suspensions AS DOUBLE)
            WHEN 'permanent_exclusion_rate' THEN CAST(perms AS DOUBLE)
            WHEN 'cin_pupils_persistent_absence_pct' THEN CAST(cin_persistent AS DOUBLE)
            WHEN 'cla_pupils_persistent_absence_pct' THEN CAST(cla_persistent AS DOUBLE)
            WHEN 'cin_cla_with_ehcp_pct' THEN CAST(cin_cla_ehcp AS DOUBLE)
        END AS numerator,
        CASE i.indicator_id
            WHEN 'pupils_on_roll' THEN CAST(NULL AS DOUBLE)
            WHEN 'overall_absence_pct' THEN CAST(sessions_possible AS DOUBLE)
            WHEN 'persistent_absence_pct' THEN CAST(with_sessions AS DOUBLE)
            WHEN 'cin_pupils_persistent_absence_pct' THEN CAST(cin_with_sessions AS DOUBLE)
            WHEN 'cla_pupils_persistent_absence_pct' THEN CAST(cla_with_sessions AS DOUBLE)
            WHEN 'cin_cla_with_ehcp_pct' THEN CAST(cin_cla AS DOUBLE)
            ELSE CAST(pupils AS DOUBLE)
        END AS denominator,
        CASE i.indicator_id
            WHEN 'pupils_on_roll' THEN CAST(pupils AS DOUBLE)
            WHEN 'fsm_pct' THEN 100.0 * fsm / pupils
            WHEN 'sen_support_pct' THEN 100.0 * sen_support / pupils
            WHEN 'ehcp_pupils_pct' THEN 100.0 * ehcp / pupils
            WHEN 'overall_absence_pct' THEN CASE WHEN sessions_possible > 0 THEN 100.0 * absence_sessions / sessions_possible END
            WHEN 'persistent_absence_pct' THEN CASE WHEN with_sessions > 0 THEN 100.0 * persistent / with_sessions END
            WHEN 'suspension_rate' THEN 100.0 * suspensions / pupils
            WHEN 'permanent_exclusion_rate' THEN 100.0 * perms / pupils
            WHEN 'cin_pupils_persistent_absence_pct' THEN CASE WHEN cin_with_sessions > 0 THEN 100.0 * cin_persistent / cin_with_sessions END
            WHEN 'cla_pupils_persistent_absence_pct' THEN CASE WHEN cla_with_sessions > 0 THEN 100.0 * cla_persistent / cla_with_sessions END
            WHEN 'cin_cla_with_ehcp_pct' THEN CASE WHEN cin_cla > 0 THEN 100.0 * cin_cla_ehcp / cin_cla END
        END AS value,
        i.unit
    FROM t
    CROSS JOIN (VALUES
        ('pupils_on_roll', 'count'),
        ('fsm_pct', 'percent'),
        ('sen_support_pct', 'percent'),
        ('ehcp_pupils_pct', 'percent'),
        ('overall_absence_pct', 'percent'),
        ('persistent_absence_pct', 'percent'),
        ('suspension_rate', 'per 100 pupils'),
        ('permanent_exclusion_rate', 'per 100 pupils'),
        ('cin_pupils_persistent_absence_pct', 'percent'),
        ('cla_pupils_persistent_absence_pct', 'percent'),
        ('cin_cla_with_ehcp_pct', 'percent')
    ) AS i(indicator_id, unit)
)
SELECT la_code, indicator_id, CAST(term_start AS DATE) AS period_start, CAST(term_end AS DATE) AS period_end,
    'census term' AS "window", numerator, denominator, CAST(value AS DOUBLE) AS value, unit, 'full' AS coverage
FROM v
ORDER BY la_code, indicator_id, period_end
