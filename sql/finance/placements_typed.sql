-- name: marts.finance.placements_typed
-- grain: one row per placement (council, child, placement start), as marts.staging.placements
-- description: Children's placements from the repaired SSDA903 episodes put into the placement
--   types and provider types a council's coding map uses for placement spend, by PLACE and
--   PLACE_PROVIDER: K2 children's homes and R1 care homes are Residential, In-house when the
--   provider is the council (PR1), else Private; K1 secure units Secure (Other LA); S1
--   residential schools Residential school (Independent); H5 and K3 Supported accommodation
--   (Private); U1-U3 Connected carers (In-house); U4-U6 Fostering (In-house) or Fostering (IFA)
--   (Private) with a private or voluntary agency (PR4, PR5); A3-A6 Adoption (Voluntary). Other
--   placements (placed with parents, NHS, custody, …) have no type.
SELECT
    la_code,
    child_id,
    placement_start,
    placement_end,
    placement_type AS place,
    provider AS place_provider,
    CASE
        WHEN placement_type IN ('K2', 'R1') THEN 'Residential'
        WHEN placement_type = 'K1' THEN 'Secure'
        WHEN placement_type = 'S1' THEN 'Residential school'
        WHEN placement_type IN ('H5', 'K3') THEN 'Supported accommodation'
        WHEN placement_type IN ('U1', 'U2', 'U3') THEN 'Connected carers'
        WHEN placement_type IN ('U4', 'U5', 'U6') AND provider IN ('PR4', 'PR5') THEN 'Fostering (IFA)'
        WHEN placement_type IN ('U4', 'U5', 'U6') THEN 'Fostering'
        WHEN placement_type IN ('A3', 'A4', 'A5', 'A6') THEN 'Adoption'
    END AS placement_type,
    CASE
        WHEN placement_type IN ('K2', 'R1') AND provider = 'PR1' THEN 'In-house'
        WHEN placement_type IN ('K2', 'R1') THEN 'Private'
        WHEN placement_type = 'K1' THEN 'Other LA'
        WHEN placement_type = 'S1' THEN 'Independent'
        WHEN placement_type IN ('H5', 'K3') THEN 'Private'
        WHEN placement_type IN ('U1', 'U2', 'U3') THEN 'In-house'
        WHEN placement_type IN ('U4', 'U5', 'U6') AND provider IN ('PR4', 'PR5') THEN 'Private'
        WHEN placement_type IN ('U4', 'U5', 'U6') THEN 'In-house'
        WHEN placement_type IN ('A3', 'A4', 'A5', 'A6') THEN 'Voluntary'
    END AS provider_type
FROM marts.staging.placements
