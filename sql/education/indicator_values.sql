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
WITH pupils AS (
    SELECT * FROM marts.education.pupils
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
        sum(CASE WHEN p.sessions_possible > 0 THEN p.absence_sessions ELSE 0 END) AS absence_sessions,
        sum(CASE WHEN p.sessions_possible > 0 THEN p.sessions_possible ELSE 0 END) AS sessions_possible,
        count(*) FILTER (WHERE p.sessions_possible > 0) AS with_sessions,
        count(*) FILTER (WHERE p.persistent_absentee) AS persistent,
        sum(p.suspensions) AS suspensions,
        sum(p.permanent_exclusions) AS perms,
        count(*) FILTER (WHERE f.cin AND p.sessions_possible > 0) AS cin_with_sessions,
        count(*) FILTER (WHERE f.cin AND p.persistent_absentee) AS cin_persistent,
        count(*) FILTER (WHERE f.cla AND p.sessions_possible > 0) AS cla_with_sessions,
        count(*) FILTER (WHERE f.cla AND p.persistent_absentee) AS cla_persistent,
        count(*) FILTER (WHERE f.cin OR f.cla) AS cin_cla,
        count(*) FILTER (WHERE (f.cin OR f.cla) AND p.sen_provision = 'E') AS cin_cla_ehcp
    FROM pupils p
    JOIN flags f ON f.la_code = p.la_code AND f.census = p.census AND f.upn = p.upn
    GROUP BY p.la_code, p.census
),
v AS (
    SELECT la_code, 'pupils_on_roll' AS indicator_id, term_start, term_end,
        CAST(pupils AS DOUBLE) AS numerator, CAST(NULL AS DOUBLE) AS denominator, CAST(pupils AS DOUBLE) AS value, 'count' AS unit FROM t
    UNION ALL SELECT la_code, 'fsm_pct', term_start, term_end, CAST(fsm AS DOUBLE), CAST(pupils AS DOUBLE), 100.0 * fsm / pupils, 'percent' FROM t
    UNION ALL SELECT la_code, 'sen_support_pct', term_start, term_end, CAST(sen_support AS DOUBLE), CAST(pupils AS DOUBLE), 100.0 * sen_support / pupils, 'percent' FROM t
    UNION ALL SELECT la_code, 'ehcp_pupils_pct', term_start, term_end, CAST(ehcp AS DOUBLE), CAST(pupils AS DOUBLE), 100.0 * ehcp / pupils, 'percent' FROM t
    UNION ALL SELECT la_code, 'overall_absence_pct', term_start, term_end, CAST(absence_sessions AS DOUBLE), CAST(sessions_possible AS DOUBLE),
        CASE WHEN sessions_possible > 0 THEN 100.0 * absence_sessions / sessions_possible END, 'percent' FROM t
    UNION ALL SELECT la_code, 'persistent_absence_pct', term_start, term_end, CAST(persistent AS DOUBLE), CAST(with_sessions AS DOUBLE),
        CASE WHEN with_sessions > 0 THEN 100.0 * persistent / with_sessions END, 'percent' FROM t
    UNION ALL SELECT la_code, 'suspension_rate', term_start, term_end, CAST(suspensions AS DOUBLE), CAST(pupils AS DOUBLE), 100.0 * suspensions / pupils, 'per 100 pupils' FROM t
    UNION ALL SELECT la_code, 'permanent_exclusion_rate', term_start, term_end, CAST(perms AS DOUBLE), CAST(pupils AS DOUBLE), 100.0 * perms / pupils, 'per 100 pupils' FROM t
    UNION ALL SELECT la_code, 'cin_pupils_persistent_absence_pct', term_start, term_end, CAST(cin_persistent AS DOUBLE), CAST(cin_with_sessions AS DOUBLE),
        CASE WHEN cin_with_sessions > 0 THEN 100.0 * cin_persistent / cin_with_sessions END, 'percent' FROM t
    UNION ALL SELECT la_code, 'cla_pupils_persistent_absence_pct', term_start, term_end, CAST(cla_persistent AS DOUBLE), CAST(cla_with_sessions AS DOUBLE),
        CASE WHEN cla_with_sessions > 0 THEN 100.0 * cla_persistent / cla_with_sessions END, 'percent' FROM t
    UNION ALL SELECT la_code, 'cin_cla_with_ehcp_pct', term_start, term_end, CAST(cin_cla_ehcp AS DOUBLE), CAST(cin_cla AS DOUBLE),
        CASE WHEN cin_cla > 0 THEN 100.0 * cin_cla_ehcp / cin_cla END, 'percent' FROM t
)
SELECT la_code, indicator_id, CAST(term_start AS DATE) AS period_start, CAST(term_end AS DATE) AS period_end,
    'census term' AS "window", numerator, denominator, CAST(value AS DOUBLE) AS value, unit
FROM v
ORDER BY la_code, indicator_id, period_end
