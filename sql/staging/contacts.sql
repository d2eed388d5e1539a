-- name: marts.staging.contacts
-- grain: one row per contact: council, child, contact date, contact source
-- description: Contacts with children's social care, from Ofsted Annex A list 1 (no statutory
--   return carries contacts). A contact in several snapshots is one row; `last_seen` is the end of
--   the month of the latest snapshot that listed it. Each snapshot covers the months before it
--   (six in the Annex A template), so monthly snapshots together give the whole history.
SELECT
    la AS la_code,
    "Child Unique ID" AS child_id,
    "Date of Contact" AS contact_date,
    "Contact Source" AS contact_source,
    max(CAST(snapshot || '-01' AS DATE) + INTERVAL '1 month' - INTERVAL '1 day') AS last_seen
FROM clean.mosaic.annex_a_list_1_contacts
WHERE "Date of Contact" IS NOT NULL
GROUP BY la, "Child Unique ID", "Date of Contact", "Contact Source"
