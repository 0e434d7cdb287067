-- As ../0018_areas.sql: clubs and association grants keyed on the official units by code
-- (NULL = not converted yet / the whole province).
ALTER TABLE clubs ADD COLUMN province_code BIGINT;
ALTER TABLE clubs ADD COLUMN commune_code BIGINT;
ALTER TABLE operators ADD COLUMN province_code BIGINT;
ALTER TABLE operators ADD COLUMN commune_code BIGINT;
CREATE INDEX clubs_area ON clubs(province_code, commune_code);
