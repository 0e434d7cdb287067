-- The monthly report reads a club's care links (clients, volunteers, clients not visited);
-- without this index every club's report read the links of all clubs.
CREATE INDEX care_links_club ON care_links(club_id, assigned_at);
