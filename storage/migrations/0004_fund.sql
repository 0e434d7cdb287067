-- The revolving fund: club loan rules, loans with their schedules, the append-only ledger,
-- balances derived from it by triggers, payment reports and loan requests.
-- Money is INTEGER đồng; calendar days (club time) are 'YYYY-MM-DD'; moments are UTC text.

-- Each club's loan rules (its quy chế). Every change is a new row: the latest row is in force,
-- the earlier ones say who changed what and when.
CREATE TABLE loan_rules (
    id INTEGER PRIMARY KEY,
    club_id INTEGER NOT NULL REFERENCES clubs(id),
    rate_bp INTEGER NOT NULL CHECK (rate_bp BETWEEN 0 AND 500),  -- 150 = 1.5 % a month
    term_months INTEGER NOT NULL CHECK (term_months BETWEEN 1 AND 60),
    schedule TEXT NOT NULL CHECK (schedule IN ('equal_principal', 'interest_only', 'lump_sum')),
    due_day INTEGER CHECK (due_day BETWEEN 1 AND 31),  -- NULL: the club's meeting day
    max_amount INTEGER NOT NULL CHECK (max_amount > 0),
    poor_first INTEGER NOT NULL CHECK (poor_first IN (0, 1)),
    changed_by INTEGER REFERENCES members(id),
    changed_at TEXT NOT NULL
) STRICT;
CREATE INDEX loan_rules_club ON loan_rules(club_id, id);

-- A loan's terms are fixed when it is given. A loan carried over from the paper notebook
-- starts at its outstanding balance (principal) and its next due date (first_due).
CREATE TABLE loans (
    id INTEGER PRIMARY KEY,
    club_id INTEGER NOT NULL REFERENCES clubs(id),
    member_id INTEGER NOT NULL REFERENCES members(id),
    principal INTEGER NOT NULL CHECK (principal > 0),
    purpose TEXT NOT NULL,
    rate_bp INTEGER NOT NULL CHECK (rate_bp BETWEEN 0 AND 500),
    term_months INTEGER NOT NULL CHECK (term_months BETWEEN 1 AND 60),
    schedule TEXT NOT NULL CHECK (schedule IN ('equal_principal', 'interest_only', 'lump_sum')),
    start_date TEXT NOT NULL,
    first_due TEXT NOT NULL,
    due_day INTEGER NOT NULL CHECK (due_day BETWEEN 1 AND 31),
    carried_over INTEGER NOT NULL CHECK (carried_over IN (0, 1)),
    request_id INTEGER,
    created_by INTEGER REFERENCES members(id),
    created_at TEXT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE
) STRICT;
CREATE INDEX loans_member ON loans(member_id);

-- The repayment schedule, written with the loan. cum_total = what is due up to and including
-- this instalment, so arrears are one comparison with what was paid.
CREATE TABLE installments (
    loan_id INTEGER NOT NULL REFERENCES loans(id),
    number INTEGER NOT NULL,
    due TEXT NOT NULL,
    principal INTEGER NOT NULL CHECK (principal >= 0),
    interest INTEGER NOT NULL CHECK (interest >= 0),
    cum_total INTEGER NOT NULL,
    PRIMARY KEY (loan_id, number)
) STRICT, WITHOUT ROWID;

-- Every movement of money, never changed: a mistake is undone by a reversal row that carries
-- the same kind, the negated amounts and `reverses` = the corrected entry.
--   principal: change of the loan's outstanding principal (disbursement +, repayment -)
--   interest:  interest received
--   cash:      change of the cash the fund holds (disbursement -, repayment and contributions +)
CREATE TABLE ledger (
    id INTEGER PRIMARY KEY,
    club_id INTEGER NOT NULL REFERENCES clubs(id),
    kind TEXT NOT NULL CHECK (kind IN
        ('disbursement', 'opening', 'repayment', 'contribution', 'capital')),
    loan_id INTEGER REFERENCES loans(id),
    member_id INTEGER REFERENCES members(id),
    principal INTEGER NOT NULL DEFAULT 0,
    interest INTEGER NOT NULL DEFAULT 0,
    cash INTEGER NOT NULL DEFAULT 0,
    day TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    reverses INTEGER UNIQUE REFERENCES ledger(id),
    recorded_by INTEGER REFERENCES members(id),
    confirmed_by INTEGER REFERENCES members(id),
    source TEXT NOT NULL DEFAULT '',
    idempotency_key TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    CHECK ((kind IN ('disbursement', 'opening', 'repayment')) = (loan_id IS NOT NULL)),
    -- An original entry moves money the way its kind says (a reversal negates one).
    CHECK (reverses IS NOT NULL OR CASE kind
        WHEN 'disbursement' THEN principal > 0 AND interest = 0 AND cash = -principal
        WHEN 'opening' THEN principal > 0 AND interest = 0 AND cash = 0
        WHEN 'repayment' THEN principal <= 0 AND interest >= 0 AND cash = interest - principal
            AND cash > 0
        ELSE principal = 0 AND interest = 0 AND cash > 0 END)
) STRICT;
CREATE INDEX ledger_club ON ledger(club_id, id);
CREATE INDEX ledger_loan ON ledger(loan_id) WHERE loan_id IS NOT NULL;
CREATE INDEX ledger_member ON ledger(member_id) WHERE member_id IS NOT NULL;

CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger
BEGIN
    SELECT RAISE(ABORT, 'the ledger is append-only: record a reversal instead');
END;
CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger
BEGIN
    SELECT RAISE(ABORT, 'the ledger is append-only: record a reversal instead');
END;
CREATE TRIGGER loans_no_update BEFORE UPDATE ON loans
BEGIN
    SELECT RAISE(ABORT, 'loans are fixed when given');
END;
CREATE TRIGGER loans_no_delete BEFORE DELETE ON loans
BEGIN
    SELECT RAISE(ABORT, 'loans are fixed when given');
END;
CREATE TRIGGER installments_no_change BEFORE UPDATE ON installments
BEGIN
    SELECT RAISE(ABORT, 'schedules are fixed when the loan is given');
END;
CREATE TRIGGER installments_no_delete BEFORE DELETE ON installments
BEGIN
    SELECT RAISE(ABORT, 'schedules are fixed when the loan is given');
END;

-- A loan's entries belong to the loan's club and borrower.
CREATE TRIGGER ledger_loan_matches BEFORE INSERT ON ledger WHEN NEW.loan_id IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'a loan entry must be in the loan''s club and of its borrower')
    WHERE NOT EXISTS (
        SELECT 1 FROM loans l WHERE l.id = NEW.loan_id AND l.club_id = NEW.club_id
        AND l.member_id IS NEW.member_id
    );
END;

-- A reversal must exactly undo an entry that is not itself a reversal.
CREATE TRIGGER ledger_reversal_matches BEFORE INSERT ON ledger WHEN NEW.reverses IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'a reversal must negate an original entry of the same club')
    WHERE NOT EXISTS (
        SELECT 1 FROM ledger o WHERE o.id = NEW.reverses AND o.reverses IS NULL
        AND o.club_id = NEW.club_id AND o.kind = NEW.kind
        AND o.loan_id IS NEW.loan_id AND o.member_id IS NEW.member_id
        AND o.principal = -NEW.principal AND o.interest = -NEW.interest AND o.cash = -NEW.cash
    );
END;

-- Balances derived from the ledger, kept by triggers in the same transaction. The CHECKs
-- make a write that would leave a loan's balance negative fail as a whole. (Cash is checked
-- before a loan is given; a reversal may show that money counted earlier never came.)
CREATE TABLE loan_balances (
    loan_id INTEGER PRIMARY KEY REFERENCES loans(id),
    club_id INTEGER NOT NULL REFERENCES clubs(id),
    member_id INTEGER NOT NULL REFERENCES members(id),
    outstanding INTEGER NOT NULL CHECK (outstanding >= 0),
    principal_paid INTEGER NOT NULL CHECK (principal_paid >= 0),
    interest_paid INTEGER NOT NULL CHECK (interest_paid >= 0)
) STRICT;
CREATE INDEX loan_balances_open ON loan_balances(club_id, member_id) WHERE outstanding > 0;

CREATE TABLE fund_balances (
    club_id INTEGER PRIMARY KEY REFERENCES clubs(id),
    cash INTEGER NOT NULL DEFAULT 0,
    lent_out INTEGER NOT NULL DEFAULT 0,
    disbursed INTEGER NOT NULL DEFAULT 0,
    repaid INTEGER NOT NULL DEFAULT 0,
    interest INTEGER NOT NULL DEFAULT 0,
    contributions INTEGER NOT NULL DEFAULT 0,
    capital INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TRIGGER ledger_loan_balance AFTER INSERT ON ledger WHEN NEW.loan_id IS NOT NULL
BEGIN
    INSERT INTO loan_balances (loan_id, club_id, member_id, outstanding, principal_paid,
                               interest_paid)
    SELECT l.id, l.club_id, l.member_id, 0, 0, 0 FROM loans l WHERE l.id = NEW.loan_id
    ON CONFLICT (loan_id) DO NOTHING;
    UPDATE loan_balances SET
        outstanding = outstanding + NEW.principal,
        principal_paid = principal_paid
            + CASE WHEN NEW.kind = 'repayment' THEN -NEW.principal ELSE 0 END,
        interest_paid = interest_paid + NEW.interest
    WHERE loan_id = NEW.loan_id;
END;

CREATE TRIGGER ledger_fund_balance AFTER INSERT ON ledger
BEGIN
    INSERT INTO fund_balances (club_id) VALUES (NEW.club_id) ON CONFLICT DO NOTHING;
    UPDATE fund_balances SET
        cash = cash + NEW.cash,
        lent_out = lent_out + NEW.principal,
        disbursed = disbursed
            + CASE WHEN NEW.kind IN ('disbursement', 'opening') THEN NEW.principal ELSE 0 END,
        repaid = repaid + CASE WHEN NEW.kind = 'repayment' THEN -NEW.principal ELSE 0 END,
        interest = interest + NEW.interest,
        contributions = contributions
            + CASE WHEN NEW.kind = 'contribution' THEN NEW.cash ELSE 0 END,
        capital = capital + CASE WHEN NEW.kind = 'capital' THEN NEW.cash ELSE 0 END
    WHERE club_id = NEW.club_id;
END;

-- A member's report of a payment, waiting for the treasurer to confirm the cash arrived.
CREATE TABLE payment_reports (
    id INTEGER PRIMARY KEY,
    club_id INTEGER NOT NULL REFERENCES clubs(id),
    loan_id INTEGER NOT NULL REFERENCES loans(id),
    member_id INTEGER NOT NULL REFERENCES members(id),
    amount INTEGER NOT NULL CHECK (amount > 0),
    day TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'confirmed', 'rejected')),
    reported_at TEXT NOT NULL,
    decided_by INTEGER REFERENCES members(id),
    decided_at TEXT,
    reason TEXT,
    entry_id INTEGER REFERENCES ledger(id),
    idempotency_key TEXT NOT NULL UNIQUE
) STRICT;
CREATE INDEX payment_reports_pending ON payment_reports(club_id, id) WHERE status = 'pending';

-- A member's request for a loan, waiting in the board's queue.
CREATE TABLE loan_requests (
    id INTEGER PRIMARY KEY,
    club_id INTEGER NOT NULL REFERENCES clubs(id),
    member_id INTEGER NOT NULL REFERENCES members(id),
    amount INTEGER NOT NULL CHECK (amount > 0),
    purpose TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'approved', 'declined')),
    requested_at TEXT NOT NULL,
    decided_by INTEGER REFERENCES members(id),
    decided_at TEXT,
    reason TEXT,
    loan_id INTEGER REFERENCES loans(id),
    idempotency_key TEXT NOT NULL UNIQUE
) STRICT;
CREATE INDEX loan_requests_pending ON loan_requests(club_id, id) WHERE status = 'pending';
