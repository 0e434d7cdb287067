-- Areas as they are since 1 July 2025: 34 provinces and, below them, communes (xã, phường,
-- đặc khu); districts are abolished. A club and an association grant are keyed on the
-- official units by their codes (the codes of the `vietnam-provinces` package, bot/areas.py).
-- NULL = not converted yet: the club keeps its typed text (`ishc-bot club move-area` converts
-- it), and the text columns hold the official names once converted; `district` stays only as
-- an optional historical label.
ALTER TABLE clubs ADD COLUMN province_code INTEGER;
ALTER TABLE clubs ADD COLUMN commune_code INTEGER;
-- A grant: its province's code, and its commune's (NULL = the whole province). Grants given
-- before this migration keep their text only and are matched by text, as before.
ALTER TABLE operators ADD COLUMN province_code INTEGER;
ALTER TABLE operators ADD COLUMN commune_code INTEGER;
-- Reports by area read the clubs of one province (or commune) by code.
CREATE INDEX clubs_area ON clubs(province_code, commune_code);
