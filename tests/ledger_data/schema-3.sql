-- A SQLite ledger at schema version 3 (payers, before categories), written by the code of main at
-- d102564 and dumped with sqlite3's iterdump: the three rows of the known-answer vector of
-- tests/test_ledger_tamper.py (HASH_1, HASH_2, HEAD), then a grant borne by the 优抚 subsidy (row 4,
-- HASH_4 of tests/test_ledger_migration.py), hashed with its payer and without a category.
BEGIN TRANSACTION;
CREATE TABLE ledger_settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO "ledger_settings" VALUES('pseudonymisation','none');
CREATE TABLE postings (
            seq INTEGER PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('grant', 'reversal')),
            visit_id TEXT NOT NULL, line_id TEXT NOT NULL, rule_id TEXT NOT NULL,
            fingerprint TEXT NOT NULL, patient_key TEXT NOT NULL, item TEXT NOT NULL,
            business_date TEXT NOT NULL, year INTEGER NOT NULL,
            amount_fen INTEGER NOT NULL CHECK (amount_fen >= 0),
            requested_fen INTEGER NOT NULL CHECK (requested_fen >= 0),
            granted_fen INTEGER NOT NULL CHECK (granted_fen >= 0),
            year_cap_fen INTEGER CHECK (year_cap_fen >= 0),
            reverses INTEGER UNIQUE REFERENCES postings (seq),
            reason TEXT, posted_at TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL, payer TEXT NOT NULL DEFAULT 'hospital' CHECK (payer <> ''));
INSERT INTO "postings" VALUES(1,'grant','V1','1','r1','sha256:0123456789abcdef','P1','bed','2026-03-02',2026,1000,500,300,300,NULL,NULL,'2026-03-02T08:30:00.123456Z','0000000000000000000000000000000000000000000000000000000000000000','e3b83f28f4de9fe34e7f2b65d11f0c0dab5c694582cc56cc0e9ed03b26f488af','hospital');
INSERT INTO "postings" VALUES(2,'grant','V1','2','r2','sha256:0123456789abcdef','P1','换药','2026-03-02',2026,2000,1000,1000,NULL,NULL,NULL,'2026-03-02T08:30:00.123456Z','e3b83f28f4de9fe34e7f2b65d11f0c0dab5c694582cc56cc0e9ed03b26f488af','bc0a08b2dcb3e566300af7aa6a5be74107837bcdcc7ca87ac9841f0c2bc191e2','hospital');
INSERT INTO "postings" VALUES(3,'reversal','V1','1','r1','sha256:0123456789abcdef','P1','bed','2026-03-02',2026,1000,500,300,300,1,'挂错号','2026-03-02T08:30:00.123456Z','bc0a08b2dcb3e566300af7aa6a5be74107837bcdcc7ca87ac9841f0c2bc191e2','e789552f258fdeae4733cc2c8dfd7baba049439b25be17ac00bd0e704dce8538','hospital');
INSERT INTO "postings" VALUES(4,'grant','V1','3','r1','sha256:0123456789abcdef','P1','bed','2026-03-02',2026,1000,500,300,300,NULL,NULL,'2026-03-02T08:30:00.123456Z','e789552f258fdeae4733cc2c8dfd7baba049439b25be17ac00bd0e704dce8538','f33d0d8c2490277b430eb43fa0487e7d1356f87a9b051f2cced5f273a08de267','youfu_medical_subsidy');
CREATE TABLE shuangyong_schema (version INTEGER NOT NULL);
INSERT INTO "shuangyong_schema" VALUES(1);
INSERT INTO "shuangyong_schema" VALUES(2);
INSERT INTO "shuangyong_schema" VALUES(3);
CREATE UNIQUE INDEX postings_grant_once ON postings (visit_id, line_id, rule_id, fingerprint) WHERE kind = 'grant';
CREATE INDEX postings_cap ON postings (patient_key, rule_id, year);
CREATE TRIGGER postings_no_update BEFORE UPDATE ON postings BEGIN SELECT RAISE(ABORT, 'shuangyong ledger rows are append-only'); END;
CREATE TRIGGER postings_no_delete BEFORE DELETE ON postings BEGIN SELECT RAISE(ABORT, 'shuangyong ledger rows are append-only'); END;
CREATE TRIGGER ledger_settings_no_update BEFORE UPDATE ON ledger_settings BEGIN SELECT RAISE(ABORT, 'shuangyong ledger settings are fixed'); END;
CREATE TRIGGER ledger_settings_no_delete BEFORE DELETE ON ledger_settings BEGIN SELECT RAISE(ABORT, 'shuangyong ledger settings are fixed'); END;
CREATE INDEX postings_visit ON postings (visit_id);
COMMIT;
