-- Active members per club are counted for every fund summary (/quy, the association's view).
CREATE INDEX members_club_status ON members(club_id, status);
