-- name: marts.education.pupils
-- grain: one row per council, school census (census=YYYY-term) and pupil (UPN)
-- description: Pupils on roll in each school census (clean.census.pupil_on_roll; a pupil in two
--   censuses has a row in each; subsidiary dual registrations, enrolstatus S, are left out and a
--   UPN listed twice in one census counts once, its first row by pupilonrolltableid). census_day
--   is the DfE census day (autumn: first Thursday of October; spring: third Thursday of January;
--   summer: third Thursday of May). fsm_eligible: an FSM period starting on or before the census
--   day and not ended before it. sen_provision: E (EHC plan), K (SEN support), N. Absence as the
--   census reports it (one term in arrears, as DfE collects it): sessions_possible is
--   termlysessionspossible; absence_sessions sums the census session rows whose reason is an
--   absence code (authorised C, C1, C2, E, H, I, J1, M, R, S, T; unauthorised G, N, O, U; not X,
--   Y, Z, # or attendance codes); persistent_absentee when absence_sessions is at least 10 % of a
--   positive sessions_possible (exactly 10 % counts). suspensions: exclusion rows with category
--   SUSP or FIXD (lunchtime LNCH not counted); permanent_exclusions: category PERM.
WITH p AS (
    SELECT la, census, upn, pupilonrolltableid, senprovision, ncyearactual, dob, termlysessionspossible,
        row_number() OVER (PARTITION BY la, census, upn ORDER BY pupilonrolltableid) AS rn
    FROM clean.census.pupil_on_roll
    WHERE upn IS NOT NULL AND coalesce(enrolstatus, '') <> 'S'
),
d AS (
    SELECT la, census, upn, pupilonrolltableid, senprovision, ncyearactual, dob, termlysessionspossible,
        CAST(split_part(census, '-', 1) AS INT) AS y,
        split_part(census, '-', 2) AS term
    FROM p WHERE rn = 1
),
d2 AS (
    SELECT *, make_date(y, CASE term WHEN 'autumn' THEN 10 WHEN 'spring' THEN 1 ELSE 5 END, 1) AS first_day
    FROM d
),
d3 AS (
    SELECT *,
        CAST(CAST(CAST(first_day AS INT) + (11 - CAST(extract(dow FROM first_day) AS INT)) % 7
            + CASE WHEN term = 'autumn' THEN 0 ELSE 14 END AS INT) AS DATE) AS census_day
    FROM d2
),
census_days AS (
    -- the census day of each census an FSM period is listed in (as d3 works it out per pupil)
    SELECT census,
        CAST(CAST(CAST(first_day AS INT) + (11 - CAST(extract(dow FROM first_day) AS INT)) % 7
            + CASE WHEN term = 'autumn' THEN 0 ELSE 14 END AS INT) AS DATE) AS census_day
    FROM (
        SELECT census, term, make_date(y, CASE term WHEN 'autumn' THEN 10 WHEN 'spring' THEN 1 ELSE 5 END, 1) AS first_day
        FROM (
            SELECT census, CAST(split_part(census, '-', 1) AS INT) AS y, split_part(census, '-', 2) AS term
            FROM (SELECT DISTINCT census FROM clean.census.fsm_periods) c
        ) c2
    ) c3
),
fsm AS (
    -- pupils with an FSM period covering the census day (the LEFT JOIN below keeps those of d3)
    SELECT DISTINCT f.la, f.census, f.pupilonrolltableid
    FROM clean.census.fsm_periods f
    JOIN census_days cd ON cd.census = f.census
    WHERE f.fsmstartdate <= cd.census_day AND (f.fsmenddate IS NULL OR f.fsmenddate >= cd.census_day)
),
abs AS (
    SELECT la, census, pupilonrolltableid, sum(sessions) AS absence_sessions
    FROM clean.census.sessions_on_roll
    WHERE attendancereason IN ('C', 'C1', 'C2', 'E', 'H', 'I', 'J1', 'M', 'R', 'S', 'T', 'G', 'N', 'O', 'U')
    GROUP BY la, census, pupilonrolltableid
),
exc AS (
    SELECT la, census, pupilonrolltableid,
        count(*) FILTER (WHERE category IN ('SUSP', 'FIXD')) AS suspensions,
        count(*) FILTER (WHERE category = 'PERM') AS permanent_exclusions
    FROM clean.census.exclusions_on_roll
    GROUP BY la, census, pupilonrolltableid
)
SELECT
    d3.la AS la_code,
    d3.census,
    d3.upn,
    d3.census_day,
    CASE d3.term WHEN 'autumn' THEN make_date(d3.y, 9, 1) WHEN 'spring' THEN make_date(d3.y, 1, 1) ELSE make_date(d3.y, 4, 1) END AS term_start,
    CASE d3.term WHEN 'autumn' THEN make_date(d3.y, 12, 31) WHEN 'spring' THEN make_date(d3.y, 3, 31) ELSE make_date(d3.y, 8, 31) END AS term_end,
    d3.ncyearactual AS nc_year,
    d3.dob AS birth_date,
    d3.senprovision AS sen_provision,
    fsm.pupilonrolltableid IS NOT NULL AS fsm_eligible,
    d3.termlysessionspossible AS sessions_possible,
    coalesce(abs.absence_sessions, 0) AS absence_sessions,
    CASE WHEN d3.termlysessionspossible > 0
         THEN coalesce(abs.absence_sessions, 0) * 10 >= d3.termlysessionspossible END AS persistent_absentee,
    coalesce(exc.suspensions, 0) AS suspensions,
    coalesce(exc.permanent_exclusions, 0) AS permanent_exclusions
FROM d3
LEFT JOIN fsm ON fsm.la = d3.la AND fsm.census = d3.census AND fsm.pupilonrolltableid = d3.pupilonrolltableid
LEFT JOIN abs ON abs.la = d3.la AND abs.census = d3.census AND abs.pupilonrolltableid = d3.pupilonrolltableid
LEFT JOIN exc ON exc.la = d3.la AND exc.census = d3.census AND exc.pupilonrolltableid = d3.pupilonrolltableid
ORDER BY la_code, census, upn
