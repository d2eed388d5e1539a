-- name: marts.finance.placements_typed
-- grain: one row per placement (council, child, placement start), as marts.staging.placements
-- description: Children's placements from the repaired SSDA903 episodes put into the placement
--   types and provider types a council's coding map uses for placement spend, by PLACE and
--   PLACE_PROVIDER: K2 children's homes, R1 care homes and Z1 other placements (in practice mostly
--   unregistered homes, which councils pay from the external residential budget) are Residential,
--   In-house when the provider is the council (PR1), else Private; K1 secure units Secure (Other
--   LA); S1 residential schools Residential school (Independent); H5 and K3 Supported
--   accommodation (Private); U1-U3 Connected carers (In-house); U4-U6 Fostering (In-house) or
--   Fostering (IFA) (Private) with a private or voluntary agency (PR4, PR5); A3-A6 Adoption
--   (Voluntary). Other placements (placed with parents, NHS, custody, …) have no type.
WITH types (place, provider, placement_type, provider_type) AS (
    -- provider NULL: any provider without a row of its own
    VALUES
        ('K2', 'PR1', 'Residential', 'In-house'), ('K2', NULL, 'Residential', 'Private'),
        ('R1', 'PR1', 'Residential', 'In-house'), ('R1', NULL, 'Residential', 'Private'),
        ('Z1', 'PR1', 'Residential', 'In-house'), ('Z1', NULL, 'Residential', 'Private'),
        ('K1', NULL, 'Secure', 'Other LA'),
        ('S1', NULL, 'Residential school', 'Independent'),
        ('H5', NULL, 'Supported accommodation', 'Private'), ('K3', NULL, 'Supported accommodation', 'Private'),
        ('U1', NULL, 'Connected carers', 'In-house'), ('U2', NULL, 'Connected carers', 'In-house'), ('U3', NULL, 'Connected carers', 'In-house'),
        ('U4', 'PR4', 'Fostering (IFA)', 'Private'), ('U4', 'PR5', 'Fostering (IFA)', 'Private'), ('U4', NULL, 'Fostering', 'In-house'),
        ('U5', 'PR4', 'Fostering (IFA)', 'Private'), ('U5', 'PR5', 'Fostering (IFA)', 'Private'), ('U5', NULL, 'Fostering', 'In-house'),
        ('U6', 'PR4', 'Fostering (IFA)', 'Private'), ('U6', 'PR5', 'Fostering (IFA)', 'Private'), ('U6', NULL, 'Fostering', 'In-house'),
        ('A3', NULL, 'Adoption', 'Voluntary'), ('A4', NULL, 'Adoption', 'Voluntary'),
        ('A5', NULL, 'Adoption', 'Voluntary'), ('A6', NULL, 'Adoption', 'Voluntary')
),
matched AS (
    SELECT p.la_code, p.child_id, p.placement_start, p.placement_end, p.placement_type AS place, p.provider AS place_provider,
           t.placement_type, t.provider_type,
           row_number() OVER (PARTITION BY p.la_code, p.child_id, p.placement_start ORDER BY t.provider NULLS LAST) AS rn
    FROM marts.staging.placements p
    LEFT JOIN types t ON t.place = p.placement_type AND (t.provider = p.provider OR t.provider IS NULL)
)
SELECT la_code, child_id, placement_start, placement_end, place, place_provider, placement_type, provider_type
FROM matched
WHERE rn = 1
