package sampler

import (
	"errors"
	"testing"

	"github.com/lib/pq"
)

// The references of cases are foreign keys: an insert or a key-changing
// update with a dangling reference is refused, and so is deleting or
// re-keying a row that a case refers to, with the foreign key's error.
func TestCasesReferencesStillChecked(t *testing.T) {
	db := frameDB(t)
	var wave, user, household int64
	if err := db.Get(&wave, `INSERT INTO waves (name) VALUES ('w') RETURNING id`); err != nil {
		t.Fatal(err)
	}
	if err := db.Get(&user, `INSERT INTO users (username, password_hash, role) VALUES ('caller', 'x', 'interviewer') RETURNING id`); err != nil {
		t.Fatal(err)
	}
	if err := db.Get(&household, `INSERT INTO household_frame (district_code, street, community, household_id, address, ordinal)
		VALUES ('500101', 's', 'c', 'h1', 'a', 1) RETURNING id`); err != nil {
		t.Fatal(err)
	}
	fkError := func(t *testing.T, err error, constraint string) {
		t.Helper()
		var pqErr *pq.Error
		if !errors.As(err, &pqErr) || pqErr.Code != "23503" || pqErr.Constraint != constraint {
			t.Errorf("got %v, want a violation of %s", err, constraint)
		}
	}
	for _, tc := range []struct {
		name, insert, constraint string
	}{
		{"wave", `INSERT INTO cases (wave_id, phone) VALUES ($1 + 1000, '13902300001')`, "cases_wave_id_fkey"},
		{"district", `INSERT INTO cases (wave_id, district_code, phone) VALUES ($1, '599999', '13902300001')`, "cases_district_code_fkey"},
		{"holder", `INSERT INTO cases (wave_id, held_by, phone) VALUES ($1, 99999, '13902300001')`, "cases_held_by_fkey"},
		{"household", `INSERT INTO cases (wave_id, mode, household_id) VALUES ($1, 'door', 99999)`, "cases_household_id_fkey"},
		{"assignee", `INSERT INTO cases (wave_id, mode, assigned_to) VALUES ($1, 'door', 99999)`, "cases_assigned_to_fkey"},
		{"one bad row of many", `INSERT INTO cases (wave_id, district_code, phone)
			SELECT $1, CASE WHEN i = 500 THEN '599999' ELSE '500101' END, '139023' || lpad(i::text, 5, '0') FROM generate_series(1, 1000) i`,
			"cases_district_code_fkey"},
	} {
		t.Run("insert "+tc.name, func(t *testing.T) {
			_, err := db.Exec(tc.insert, wave)
			fkError(t, err, tc.constraint)
		})
	}
	var c int64
	if err := db.Get(&c, `INSERT INTO cases (wave_id, district_code, held_by, phone) VALUES ($1, '500101', $2, '13902300001') RETURNING id`, wave, user); err != nil {
		t.Fatal(err)
	}
	var door int64
	if err := db.Get(&door, `INSERT INTO cases (wave_id, district_code, mode, household_id) VALUES ($1, '500101', 'door', $2) RETURNING id`, wave, household); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, update, constraint string
	}{
		{"wave", `UPDATE cases SET wave_id = wave_id + 1000 WHERE id = $1`, "cases_wave_id_fkey"},
		{"district", `UPDATE cases SET district_code = '599999' WHERE id = $1`, "cases_district_code_fkey"},
		{"holder", `UPDATE cases SET held_by = 99999 WHERE id = $1`, "cases_held_by_fkey"},
		{"household", `UPDATE cases SET household_id = 99999 WHERE id = $1`, "cases_household_id_fkey"},
		{"assignee", `UPDATE cases SET assigned_to = 99999 WHERE id = $1`, "cases_assigned_to_fkey"},
	} {
		t.Run("update "+tc.name, func(t *testing.T) {
			_, err := db.Exec(tc.update, c)
			fkError(t, err, tc.constraint)
		})
	}
	// Updates that keep or clear the keys pass.
	if _, err := db.Exec(`UPDATE cases SET status = 'pending', held_by = NULL, district_code = '500102' WHERE id = $1`, c); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, change, constraint string
		arg                      int64
	}{
		{"wave", `DELETE FROM waves WHERE id = $1`, "cases_wave_id_fkey", wave},
		{"re-keyed wave", `UPDATE waves SET id = id + 1000 WHERE id = $1`, "cases_wave_id_fkey", wave},
		{"district", `DELETE FROM districts WHERE code = '500102' AND $1 > 0`, "cases_district_code_fkey", 1},
		{"household", `DELETE FROM household_frame WHERE id = $1`, "cases_household_id_fkey", household},
	} {
		t.Run("referenced "+tc.name, func(t *testing.T) {
			_, err := db.Exec(tc.change, tc.arg)
			fkError(t, err, tc.constraint)
		})
	}
	if _, err := db.Exec(`UPDATE cases SET held_by = $2 WHERE id = $1`, c, user); err != nil {
		t.Fatal(err)
	}
	_, err := db.Exec(`DELETE FROM users WHERE id = $1`, user)
	fkError(t, err, "cases_held_by_fkey")
	if _, err := db.Exec(`UPDATE cases SET held_by = NULL, assigned_to = $2 WHERE id = $1`, c, user); err != nil {
		t.Fatal(err)
	}
	_, err = db.Exec(`DELETE FROM users WHERE id = $1`, user)
	fkError(t, err, "cases_assigned_to_fkey")
	// A row no case refers to can go.
	if _, err := db.Exec(`UPDATE cases SET assigned_to = NULL WHERE id = $1`, c); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`DELETE FROM users WHERE id = $1`, user); err != nil {
		t.Fatal(err)
	}
}
